/**
 * Structured logging for every role: JSON lines (pino) by default, human-readable when
 * stdout is a terminal (pino-pretty), level from config or WATTFLOW_LOG_LEVEL.
 */
import { type Static } from '@sinclair/typebox';
import { pino, type Logger } from 'pino';
import { ConfigSection, Enum, type EnvAlias } from './config.js';

export type { Logger };

/** The `log` section of the app configuration. */
export const logSection = ConfigSection({
  level: Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  format: Enum(['auto', 'json', 'pretty'], { default: 'auto' }),
});
export type LogConfig = Static<typeof logSection>;

export const logAliases: EnvAlias[] = [{ env: 'WATTFLOW_LOG_LEVEL', path: '/log/level', parse: (v) => v }];

export interface LogOptions {
  level?: string;
  /** 'json' forces JSON lines, 'pretty' forces human-readable output, 'auto' picks by TTY. */
  format?: 'json' | 'pretty' | 'auto';
}

export function createLogger(options: LogOptions = {}): Logger {
  const level = process.env.WATTFLOW_LOG_LEVEL ?? options.level ?? 'info';
  const format = options.format ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  if (pretty) {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that discards everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

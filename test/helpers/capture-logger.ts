/** A logger whose lines the test can read (level trace): to assert what a component logs and at which level. */
import { pino, type Logger } from 'pino';

export interface CapturedLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export function captureLogger(): { logger: Logger; lines: CapturedLine[] } {
  const lines: CapturedLine[] = [];
  const logger = pino({ level: 'trace', base: undefined, timestamp: false }, { write: (s: string) => void lines.push(JSON.parse(s) as CapturedLine) });
  return { logger, lines };
}

/** pino's numeric levels. */
export const LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

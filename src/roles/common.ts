/**
 * What the long-running roles share: the common flags (--config, --port, --host), loading the
 * app configuration (exit 2 with file, JSON path and reason when invalid), the logger, the
 * fabric for the configured kind, and running components until SIGTERM/SIGINT.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadAppConfig, type AppConfig } from '../app-config.js';
import type { Component } from '../core/component.js';
import { ConfigError } from '../core/config.js';
import { runUntilSignal } from '../core/lifecycle.js';
import { createLogger, type Logger } from '../core/logger.js';
import type { Fabric } from '../fabric/fabric.js';
import { kafkaSecurityOptions, kafkaSecurityWarnings } from '../fabric/kafka-security.js';
import { MemoryFabric } from '../fabric/memory-fabric.js';

export const commonOptions = {
  config: { type: 'string', short: 'c' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export class UsageError extends Error {}

export function parseRoleArgs<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...commonOptions, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function loadRoleConfig(values: { config?: string; port?: string; host?: string }): AppConfig {
  const overrides: Record<string, unknown> = {};
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer 0..65535, got "${values.port}"`);
    overrides['/http/port'] = port;
  }
  if (values.host !== undefined) overrides['/http/host'] = values.host;
  return loadAppConfig(values.config, overrides);
}

export function roleLogger(cfg: AppConfig, role: string): Logger {
  return createLogger({ level: cfg.log.level, format: cfg.log.format }).child({ role });
}

export async function createFabric(cfg: AppConfig, logger: Logger): Promise<Fabric> {
  if (cfg.fabric.kind === 'kafka') {
    // SASL/TLS files are read now: a missing one is a ConfigError (exit 2) before anything starts
    const security = kafkaSecurityOptions(cfg.fabric.kafka);
    for (const w of kafkaSecurityWarnings(security)) logger.warn(w);
    const { createKafkaFabric } = await import('../fabric/kafka-fabric.js');
    const fabric = createKafkaFabric({ brokers: cfg.fabric.kafka.brokers, clientId: cfg.fabric.kafka.clientId, logger, defaultPartitions: cfg.fabric.kafka.partitions, consumer: cfg.fabric.kafka.consumer, client: security });
    // one connection with these settings: a refused login or an untrusted certificate fails the
    // start at once with the reason (mechanism, user, broker), instead of retries and a timeout
    try {
      await fabric.checkConnection();
    } catch (err) {
      await fabric.close().catch(() => undefined);
      throw err;
    }
    return fabric;
  }
  return new MemoryFabric({
    onHandlerError: (err) => logger.error({ err }, 'in-process consumer failed; the batch will be delivered again'),
  });
}

/** A component that closes the fabric last (it is stopped after the stages, in reverse order). */
export function fabricComponent(fabric: Fabric): Component {
  return { name: `fabric-${fabric.kind}`, stop: () => fabric.close() };
}

export async function serve(cfg: AppConfig, logger: Logger, components: Component[], banner?: (url: string) => void): Promise<void> {
  await runUntilSignal(components, {
    host: cfg.http.host,
    port: cfg.http.port,
    logger,
    bodyLimit: cfg.http.bodyLimitBytes,
    limits: cfg.http,
    onListening: (url) => {
      logger.info({ url }, 'listening');
      banner?.(url);
    },
  });
}

export { ConfigError };

/**
 * What the long-running roles share: the common flags (--config, --port, --host), loading the
 * app configuration (exit 2 with file, JSON path and reason when invalid), the logger, the
 * fabric for the configured kind, and running components until SIGTERM/SIGINT.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadAppConfig, type AppConfig } from '../app-config.js';
import type { Component } from '../core/component.js';
import { ConfigError } from '../core/config.js';
import { authSummary, serverAuthOf, setClientToken, type AuthAppConfig } from '../core/auth.js';
import { runUntilSignal } from '../core/lifecycle.js';
import { createLogger, type Logger } from '../core/logger.js';
import type { Fabric } from '../fabric/fabric.js';
import { kafkaSecurityOptions, kafkaSecurityWarnings } from '../fabric/kafka/security.js';
import { MemoryFabric } from '../fabric/memory/memory-fabric.js';
import { closest } from '../core/suggest.js';
import { UsageError } from '../core/usage-error.js';

export { UsageError };

export const commonOptions = {
  config: { type: 'string', short: 'c' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export function parseRoleArgs<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  const all = { ...commonOptions, ...options };
  try {
    return parseArgs({ args, options: all, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(argsErrorMessage(err as Error & { code?: string }, all));
  }
}

/** Node's parseArgs errors in wattflow's words: the option, what is wrong, and the closest known option. */
function argsErrorMessage(err: Error & { code?: string }, options: NonNullable<ParseArgsConfig['options']>): string {
  const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) {
    const bare = flag.split('=')[0]!;
    const guess = closest(bare.replace(/^-+/, ''), Object.keys(options));
    return `unknown option ${bare}${guess ? ` — did you mean --${guess}?` : ''}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // "Option '-p, --port <value>' argument missing" / "Option '--json' does not take an argument"
    const long = /--([\w-]+)/.exec(err.message)?.[1];
    const opt = long ? `--${long}` : flag ?? 'an option';
    if (/argument missing/.test(err.message)) return `${opt} needs a value (${opt} VALUE)`;
    if (/does not take an argument/.test(err.message)) return `${opt} takes no value`;
    return `${opt}: ${err.message}`;
  }
  return err.message;
}

/** The app configuration with --port/--host (and a role's own flag overrides: pointer → value) applied. */
export function roleConfig(values: { config?: string; port?: string; host?: string }, extra: Record<string, unknown> = {}): AppConfig {
  const overrides: Record<string, unknown> = { ...extra };
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer 0..65535, got "${values.port}"`);
    overrides['/http/port'] = port;
  }
  if (values.host !== undefined) overrides['/http/host'] = values.host;
  return loadAppConfig(values.config, overrides);
}

/** A server role's configuration: roleConfig, checked (checkedServerConfig). */
export function loadRoleConfig(values: { config?: string; port?: string; host?: string }, extra: Record<string, unknown> = {}): AppConfig {
  return checkedServerConfig(roleConfig(values, extra));
}

/**
 * A server role's configuration, checked before anything starts: the tokens (file) load and the
 * bind is allowed (beyond loopback only with a token, mTLS or auth.allowUnauthenticated; else
 * ConfigError, exit 2). Sets the token this process sends to other wattflow servers.
 */
export function checkedServerConfig<C extends AuthAppConfig>(cfg: C): C {
  const auth = serverAuthOf(cfg);
  // without a configured client token, this process's own HTTP calls to itself (the registry
  // probing the in-process worker under `up`, …) use a token only this server accepts (scope read)
  processToken.set(cfg, processToken.get(cfg) ?? (cfg.auth.clientToken === undefined && auth.enabled ? auth.issueProcessToken(['read']) : undefined));
  setClientToken(cfg.auth.clientToken ?? processToken.get(cfg));
  return cfg;
}
const processToken = new WeakMap<object, string | undefined>();

export function roleLogger(cfg: AppConfig, role: string): Logger {
  return createLogger({ level: cfg.log.level, format: cfg.log.format }).child({ role });
}

export async function createFabric(cfg: AppConfig, logger: Logger): Promise<Fabric> {
  if (cfg.fabric.kind === 'kafka') {
    // SASL/TLS files are read now: a missing one is a ConfigError (exit 2) before anything starts
    const security = kafkaSecurityOptions(cfg.fabric.kafka);
    for (const w of kafkaSecurityWarnings(security)) logger.warn(w);
    const { createKafkaFabric } = await import('../fabric/kafka/kafka-fabric.js');
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
  const budget = cfg.fabric.memory;
  return new MemoryFabric({
    maxMessages: budget.maxMessages,
    maxBytes: budget.maxBytes,
    retainMessages: budget.retainConsumed,
    metrics: true,
    onHandlerError: (err) => logger.error({ err }, 'in-process consumer failed; the batch will be delivered again'),
    onEvicted: ({ topic, messages, total }) =>
      logger.warn({ topic, messages, total }, 'in-process bus over its memory budget: evicted messages of topics nobody consumes (logged at most every 10 s; wattflow_bus_evicted_messages_total)'),
  });
}

/** A component that closes the fabric last (it is stopped after the stages, in reverse order). */
export function fabricComponent(fabric: Fabric): Component {
  return { name: `fabric-${fabric.kind}`, stop: () => fabric.close() };
}

export async function serve(cfg: AppConfig, logger: Logger, components: Component[], banner?: (url: string, auth: string) => void): Promise<void> {
  checkedServerConfig(cfg);
  const auth = serverAuthOf(cfg);
  const authLine = authSummary(auth, cfg);
  if (auth.enabled) logger.info({ tokens: auth.tokenNames }, `authentication: ${authLine}`);
  else logger.warn(`authentication is ${authLine}`);
  // SIGHUP re-reads the tokens file (secret rotation); a bad file keeps the previous tokens
  const authComponent: Component[] = cfg.auth.tokensFile ? [{ name: 'auth-tokens', reload: async () => auth.reload() }] : [];
  await runUntilSignal([...components, ...authComponent], {
    host: cfg.http.host,
    port: cfg.http.port,
    logger,
    bodyLimit: cfg.http.bodyLimitBytes,
    limits: cfg.http,
    auth,
    ...(cfg.http.tls ? { tls: cfg.http.tls } : {}),
    onListening: (url) => {
      logger.info({ url }, 'listening');
      banner?.(url, authLine);
    },
  });
}

export { ConfigError };

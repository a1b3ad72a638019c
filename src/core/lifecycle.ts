/**
 * Runs a set of components as one process: builds the shared HTTP server, starts the
 * components in order, listens, and on SIGTERM/SIGINT stops accepting requests, then stops the
 * components in reverse order (each flushes and commits) and exits. SIGHUP reloads.
 */
import type { FastifyInstance } from 'fastify';
import type { Component } from './component.js';
import type { Logger } from './logger.js';
import { buildServer } from './server.js';
import type { HttpLimits } from './http-limits.js';
import type { Authenticator } from './auth.js';
import { schemeOf, type TlsConfig } from './tls.js';
import { portError } from './instance.js';

export interface RunOptions {
  host: string;
  port: number;
  logger: Logger;
  bodyLimit?: number;
  /** Server limits: timeouts, connection cap, body size, JSON depth (the app config's `http` section; src/core/http-limits.ts). */
  limits?: Partial<HttpLimits>;
  /** Bearer tokens and scopes (src/core/auth.ts); absent: auth off. */
  auth?: Authenticator;
  /** TLS / mutual TLS (src/core/tls.ts). */
  tls?: TlsConfig;
  /** Called once the server listens, with its base URL. */
  onListening?: (url: string) => void;
  /** Maximum time a graceful stop may take before the process exits anyway (ms). */
  stopTimeoutMs?: number;
}

export interface RunningApp {
  url: string;
  app: FastifyInstance;
  stop(): Promise<void>;
  reload(): Promise<void>;
}

export async function startComponents(components: Component[], opts: RunOptions): Promise<RunningApp> {
  const log = opts.logger;
  const app = await buildServer(components, { logger: log, bodyLimit: opts.bodyLimit, ...(opts.limits ? { limits: opts.limits } : {}), ...(opts.auth ? { auth: opts.auth } : {}), ...(opts.tls ? { tls: opts.tls } : {}) });
  const started: Component[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info('stopping');
      await app.close().catch((err) => log.warn({ err }, 'http server close failed'));
      for (const c of [...started].reverse()) {
        try {
          await c.stop?.();
          log.debug({ component: c.name }, 'component stopped');
        } catch (err) {
          log.error({ err, component: c.name }, 'component failed to stop cleanly');
        }
      }
      log.info('stopped');
    })();
    return stopping;
  };
  try {
    for (const c of components) {
      await c.start?.();
      started.push(c);
      log.debug({ component: c.name }, 'component started');
    }
    try {
      await app.listen({ host: opts.host, port: opts.port });
    } catch (err) {
      // a port in use (or not allowed) is the operator's to fix: one clear line, not a stack
      throw portError(err, opts.host, opts.port) ?? err;
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  const url = `${schemeOf(app)}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  for (const c of components) c.listening?.(url);
  opts.onListening?.(url);
  const reload = async (): Promise<void> => {
    for (const c of components) {
      try {
        await c.reload?.();
      } catch (err) {
        log.error({ err, component: c.name }, 'reload failed; keeping the previous configuration');
      }
    }
  };
  return { url, app, stop, reload };
}

/** Runs until SIGTERM/SIGINT; resolves after the graceful stop. */
export async function runUntilSignal(components: Component[], opts: RunOptions): Promise<void> {
  const running = await startComponents(components, opts);
  await new Promise<void>((resolveDone) => {
    const onStop = (signal: string) => {
      opts.logger.info({ signal }, 'signal received, shutting down gracefully');
      const timer = setTimeout(() => {
        opts.logger.error('graceful stop timed out; exiting');
        process.exit(1);
      }, opts.stopTimeoutMs ?? 30_000);
      timer.unref();
      running.stop().then(resolveDone, resolveDone);
    };
    process.once('SIGTERM', () => onStop('SIGTERM'));
    process.once('SIGINT', () => onStop('SIGINT'));
    process.on('SIGHUP', () => {
      opts.logger.info('SIGHUP: reloading configuration');
      void running.reload();
    });
  });
}

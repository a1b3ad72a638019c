/**
 * The HTTP server every long-running role exposes (Fastify): the components' own routes plus
 * the operational endpoints /metrics (Prometheus text), /healthz (process alive) and /readyz
 * (all components ready, else 503 naming what is not).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from './logger.js';
import type { Component } from './component.js';
import { collectDefaultMetrics, registry } from './metrics.js';
import { installAuth, type Authenticator } from './auth.js';
import { httpsOptions, type TlsConfig } from './tls.js';
import { applyServerLimits, fastifyLimitOptions, httpLimits, installInputGuards, type HttpLimits } from './http-limits.js';

export interface ServerOptions {
  logger: Logger;
  /** Maximum request body in bytes (default 10 MiB). */
  bodyLimit?: number;
  /** Server limits (timeouts, connection cap, body size, JSON depth; src/core/http-limits.ts); defaults for those absent. */
  limits?: Partial<HttpLimits>;
  /** Bearer tokens and scopes (src/core/auth.ts); absent or without tokens: every caller has every scope. */
  auth?: Authenticator;
  /** TLS / mutual TLS (src/core/tls.ts). */
  tls?: TlsConfig;
}

export async function buildServer(components: Component[], opts: ServerOptions): Promise<FastifyInstance> {
  collectDefaultMetrics();
  const limits = httpLimits({ ...(opts.bodyLimit !== undefined ? { bodyLimitBytes: opts.bodyLimit } : {}), ...opts.limits });
  const app: FastifyInstance = Fastify({
    loggerInstance: opts.logger.child({ module: 'http' }) as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    ...fastifyLimitOptions(limits),
    ...(opts.tls ? { https: httpsOptions(opts.tls) } : {}),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  applyServerLimits(app, limits);
  // before any route: the depth-checked JSON parser, the error and not-found answers (src/core/http-limits.ts)
  installInputGuards(app, limits, opts.logger);
  // before any route: every route's declared scope is recorded and checked (src/core/auth.ts)
  installAuth(app, opts.auth, opts.logger);
  app.get('/metrics', { config: { auth: 'public' } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  app.get('/healthz', { config: { auth: 'public' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { auth: 'public' } }, async (_req, reply) => {
    const notReady: Record<string, string> = {};
    for (const c of components) {
      const r = c.ready ? c.ready() : true;
      if (r !== true) notReady[c.name] = r;
    }
    if (Object.keys(notReady).length > 0) {
      reply.code(503);
      return { status: 'not ready', components: notReady };
    }
    return { status: 'ready', components: components.map((c) => c.name) };
  });
  for (const c of components) await c.routes?.(app);
  return app;
}

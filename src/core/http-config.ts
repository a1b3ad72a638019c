/**
 * The `http` section of the app configuration: where every role's server listens, its limits
 * (src/core/http-limits.ts) and TLS (src/core/tls.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigSection, type EnvAlias } from './config.js';
import { tlsSchema } from './tls.js';

export const httpSection = ConfigSection({
  host: Type.String({ default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8000 }),
  /** Largest request body of a route without its own limit (the Vehicle API's is vehicle.api.bodyLimitBytes, a registry upload's follows registry.maxArtifactBytes). */
  bodyLimitBytes: Type.Integer({ minimum: 1024, default: 10 * 1024 * 1024 }),
  /** Deepest nesting of arrays/objects in a JSON body (any route, NDJSON lines, the registry's metadata header): deeper → 400. */
  maxJsonDepth: Type.Integer({ minimum: 2, maximum: 10000, default: 64 }),
  /** A request must be received whole (headers and body) within this (ms); else 408 and the connection is closed. 0 = no limit. */
  requestTimeoutMs: Type.Integer({ minimum: 0, default: 60_000 }),
  /** The request headers must be received within this (ms; at most requestTimeoutMs). */
  headersTimeoutMs: Type.Integer({ minimum: 1, default: 15_000 }),
  /** An idle keep-alive connection is closed after this (ms). */
  keepAliveTimeoutMs: Type.Integer({ minimum: 1, default: 72_000 }),
  /** A socket with no traffic either way is closed after this (ms). 0 = never. */
  socketTimeoutMs: Type.Integer({ minimum: 0, default: 120_000 }),
  /** Most open connections (sockets) of the server; further ones are closed as they are accepted. 0 = no cap. */
  maxConnections: Type.Integer({ minimum: 0, default: 1024 }),
  /** TLS / mutual TLS on the server (src/core/tls.ts). */
  tls: Type.Optional(tlsSchema),
});
export type HttpConfig = Static<typeof httpSection>;

export const httpAliases: EnvAlias[] = [
  { env: 'PORT', path: '/http/port' },
  { env: 'WATTFLOW_HOST', path: '/http/host', parse: (v) => v },
];

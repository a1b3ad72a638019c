/**
 * KServe V2 / Open Inference Protocol over gRPC (`inference.GRPCInferenceService`, the vendored
 * proto/kserve/grpc_predict_v2.proto) beside the REST server: the same providers through the same
 * core (v2-server.ts), so a request gets the same answer either way; the message mapping is
 * v2-grpc-codec.ts. Bearer tokens from the `authorization` metadata, TLS from `http.tls`, message
 * size `grpc.maxMessageBytes`. Methods, scopes and status mapping: docs/registry.md, "KServe V2 over gRPC".
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { FastifyInstance } from 'fastify';
import { callerHasScope, countAuthFailure, OPEN_CALLER, serverAuthOf, type Caller, type Scope } from '../../core/auth.js';
import type { Component } from '../../core/component.js';
import type { Logger } from '../../core/logger.js';
import { counter } from '../../core/metrics.js';
import type { AuthAppConfig } from '../../core/auth.js';
import type { TlsConfig } from '../../core/tls.js';
import type { GrpcConfig } from './grpc-config.js';
import { bad, fromAnswer, grpcResponseOf, restBodyOf, V2GrpcError, type InferRequest } from './v2-grpc-codec.js';
import { v2CoreOf, type V2Answer, type V2Core } from './v2-server.js';

export { decodeRaw, encodeRaw, grpcResponseOf, restBodyOf, V2GrpcError } from './v2-grpc-codec.js';

/** The vendored official proto (proto/ at the project root, beside src/ and dist/). */
export const V2_PROTO_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'proto', 'kserve', 'grpc_predict_v2.proto');

const requests = counter<'method' | 'code'>({
  name: 'wattflow_v2_grpc_requests_total',
  help: 'KServe V2 gRPC calls (inference.GRPCInferenceService), per method and gRPC status code name',
  labelNames: ['method', 'code'],
});

// grpc-js prints its own errors on stderr (e.g. "No address added" for a busy port): the component logs them instead (GRPC_VERBOSITY still wins)
if (process.env.GRPC_VERBOSITY === undefined) grpc.setLogVerbosity(grpc.logVerbosity.NONE);

let loaded: grpc.ServiceDefinition | undefined;
/** The service definition from the vendored proto (loaded once). */
export function v2ServiceDefinition(): grpc.ServiceDefinition {
  if (!loaded) {
    const pkg = protoLoader.loadSync(V2_PROTO_FILE, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    loaded = (grpc.loadPackageDefinition(pkg).inference as unknown as { GRPCInferenceService: { service: grpc.ServiceDefinition } }).GRPCInferenceService.service;
  }
  return loaded;
}

export interface V2GrpcOptions {
  core: () => V2Core | undefined;
  /** Authenticates the metadata's `authorization` value; null = auth off. */
  authenticate: ((header: string | undefined) => { ok: true; caller: Caller } | { ok: false; error: string }) | null;
  logger: Logger;
}

/** The service implementation over a V2 core (exported for tests; the component below serves it). */
export function v2GrpcHandlers(o: V2GrpcOptions): grpc.UntypedServiceImplementation {
  const unary =
    (method: string, scope: Scope | 'public', fn: (req: never, caller: Caller | null, core: V2Core) => Promise<unknown> | unknown) =>
    (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const done = (err: V2GrpcError | null, value?: unknown) => {
        requests.inc({ method, code: grpc.status[err ? err.code : grpc.status.OK] ?? 'UNKNOWN' });
        if (err) callback({ code: err.code, details: err.message, metadata: new grpc.Metadata() } as grpc.ServiceError);
        else callback(null, value);
      };
      void (async () => {
        try {
          const core = o.core();
          if (!core) throw new V2GrpcError(grpc.status.UNAVAILABLE, 'no V2 models are served by this process');
          let caller: Caller | null = null;
          if (o.authenticate && scope !== 'public') {
            const header = call.metadata.get('authorization')[0];
            const r = o.authenticate(typeof header === 'string' ? header : header?.toString('utf8'));
            if (!r.ok) {
              countAuthFailure(header === undefined ? 'missing_token' : 'invalid_token');
              throw new V2GrpcError(grpc.status.UNAUTHENTICATED, r.error); // the HTTP answer's words: gRPC metadata "authorization" is the header
            }
            caller = r.caller;
            if (!callerHasScope(caller, scope)) {
              countAuthFailure('scope');
              throw new V2GrpcError(grpc.status.PERMISSION_DENIED, `${method} needs scope "${scope}"; token "${caller.name}" has ${[...caller.scopes].join(', ') || 'none'}`);
            }
          } else if (!o.authenticate) caller = OPEN_CALLER;
          done(null, await fn(call.request as never, caller, core));
        } catch (err) {
          if (err instanceof V2GrpcError) return done(err);
          o.logger.error({ err, method }, 'V2 gRPC call failed');
          done(new V2GrpcError(grpc.status.INTERNAL, `internal error in ${method}; it is logged`));
        }
      })();
    };

  const answer = (a: V2Answer) => {
    if (a.status !== 200) throw fromAnswer(a);
    return a.body as Record<string, unknown>;
  };
  const opt = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

  return {
    ServerLive: unary('ServerLive', 'public', () => ({ live: true })),
    ServerReady: unary('ServerReady', 'public', (_r, _c, core) => ({ ready: core.ready().status === 200 })),
    ServerMetadata: unary('ServerMetadata', 'read', (_r, _c, core) => core.serverMetadata()),
    ModelReady: unary('ModelReady', 'read', (r: { name: string; version: string }, _c, core) => ({ ready: answer(core.modelReady(r.name, opt(r.version))).ready === true })),
    ModelMetadata: unary('ModelMetadata', 'read', (r: { name: string; version: string }, _c, core) => {
      const m = answer(core.modelMetadata(r.name, opt(r.version))) as { name: string; versions?: string[]; platform: string; inputs?: unknown[]; outputs?: unknown[] };
      return { name: m.name, versions: m.versions ?? [], platform: m.platform, inputs: m.inputs ?? [], outputs: m.outputs ?? [] };
    }),
    ModelInfer: unary('ModelInfer', 'read', async (r: InferRequest, caller, core) => {
      if (!r.model_name) throw bad('model_name is required');
      const { body, raw } = restBodyOf(r);
      const a = await core.infer(r.model_name, opt(r.model_version), body, caller);
      return grpcResponseOf(answer(a) as never, raw);
    }),
  };
}

/** The gRPC component: binds `grpc.host:grpc.port` at start (see the module comment). */
export interface V2GrpcComponent extends Component {
  /** `host:port` once listening. */
  address(): string | undefined;
  /** The `up` banner's line. */
  bannerLine(): string;
}

/** The port the configuration gives (grpc.port, else http.port + 1, else 0 with http.port 0). */
export function grpcPortOf(cfg: { grpc: GrpcConfig; http: { port: number } }): number {
  if (cfg.grpc.port !== undefined) return cfg.grpc.port;
  return cfg.http.port === 0 ? 0 : Math.min(65535, cfg.http.port + 1);
}

/**
 * The V2 gRPC server of a process. `optional` (wattflow up): a port that cannot be bound is
 * logged and the banner says so, instead of failing the start.
 */
/** The sections the gRPC server reads: its own, the HTTP server's (host, port, TLS) and the tokens. */
export type V2GrpcHostConfig = AuthAppConfig & { grpc: GrpcConfig; http: { host: string; port: number; tls?: TlsConfig } };

export function v2GrpcComponent(cfg: V2GrpcHostConfig, logger: Logger, opts: { optional?: boolean } = {}): V2GrpcComponent {
  const log = logger.child({ module: 'v2-grpc' });
  let app: FastifyInstance | undefined;
  let server: grpc.Server | undefined;
  let bound: string | undefined;
  let problem: string | undefined;
  const host = cfg.grpc.host ?? cfg.http.host;
  const port = grpcPortOf(cfg);
  return {
    name: 'v2-grpc',
    routes: (a) => {
      app = a;
    },
    async start() {
      if (!cfg.grpc.enabled) return;
      if (!app || !v2CoreOf(app)) {
        problem = 'no V2 models on this process';
        return;
      }
      const auth = serverAuthOf(cfg);
      const core = v2CoreOf(app);
      let service: grpc.ServiceDefinition;
      try {
        service = v2ServiceDefinition();
      } catch (err) {
        problem = `cannot load ${V2_PROTO_FILE}: ${(err as Error).message.split('\n')[0]}`;
        if (!opts.optional) throw new Error(`KServe V2 gRPC: ${problem}`);
        log.error(`KServe V2 gRPC not started: ${problem}`);
        return;
      }
      server = new grpc.Server({ 'grpc.max_receive_message_length': cfg.grpc.maxMessageBytes, 'grpc.max_send_message_length': cfg.grpc.maxMessageBytes });
      server.addService(service, v2GrpcHandlers({ core: () => core, authenticate: auth.enabled ? (h) => auth.authenticate(h) : null, logger: log }));
      const tls = cfg.http.tls;
      const creds = tls
        ? grpc.ServerCredentials.createSsl(tls.caFile ? readFileSync(tls.caFile) : null, [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }], tls.requireClientCert === true)
        : grpc.ServerCredentials.createInsecure();
      const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      try {
        const got = await new Promise<number>((res, rej) => server!.bindAsync(target, creds, (err, p) => (err ? rej(err) : res(p))));
        bound = `${host.includes(':') ? `[${host}]` : host}:${got}`;
        log.info({ address: bound, tls: Boolean(tls) }, 'KServe V2 gRPC listening');
      } catch (err) {
        server.forceShutdown();
        server = undefined;
        const hint = 'set grpc.port (GRPC_PORT, WATTFLOW__grpc__port; 0 = any free port) or grpc.enabled: false';
        problem = `cannot listen on ${target}: ${(err as Error).message.split('\n')[0]}`;
        if (!opts.optional) throw new Error(`KServe V2 gRPC: ${problem} (${hint})`);
        log.error({ address: target, err: (err as Error).message }, `KServe V2 gRPC not started: ${problem} (${hint})`);
      }
    },
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      await new Promise<void>((res) => {
        const timer = setTimeout(() => {
          s.forceShutdown();
          res();
        }, 2000);
        timer.unref();
        s.tryShutdown(() => {
          clearTimeout(timer);
          res();
        });
      });
    },
    address: () => bound,
    bannerLine: () =>
      `  gRPC V2:      ${!cfg.grpc.enabled ? 'off (grpc.enabled: false)' : bound ? `${bound}   (inference.GRPCInferenceService, KServe V2 / Open Inference Protocol)` : `not listening: ${problem ?? 'not started'}`}`,
  };
}

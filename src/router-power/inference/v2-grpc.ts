/**
 * KServe V2 / Open Inference Protocol over gRPC: `inference.GRPCInferenceService` (the official
 * proto, vendored in proto/kserve/grpc_predict_v2.proto) beside the REST server, serving the
 * same providers through the same core (v2-server.ts `V2Core`): one handler, two transports —
 * a request gets the same answer either way.
 *
 *   ServerLive, ServerReady                 public (probes), as /v2/health/*
 *   ServerMetadata, ModelMetadata, ModelReady, ModelInfer   scope `read` (and `ingest` when an
 *                                           infer writes vehicle predictions, checked by the provider)
 *
 * ModelInfer maps the request onto the REST body the providers take: each input's typed
 * `contents` (the field of its datatype: fp32_contents for FP32, fp64_contents for FP64,
 * int_contents, int64_contents, uint_contents, uint64_contents, bool_contents, bytes_contents)
 * or its `raw_input_contents` entry (little-endian, row-major; BYTES as 4-byte length + bytes),
 * the requested outputs, and the parameters (bool, int64, string; a string holding a JSON list or
 * object — e.g. the vehicle predictor's per-row `missing` — is read as that JSON). The answer's
 * outputs are typed contents, or `raw_output_contents` when the request sent raw inputs (as
 * Triton's clients expect); its parameters are bool/int64 params, other numbers and JSON values
 * as string params (the proto has no double). Refusals keep the REST message and map the status:
 * 400 INVALID_ARGUMENT, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND,
 * 413 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, others INTERNAL.
 *
 * Authentication: the same bearer tokens as HTTP (src/core/auth.ts), from the gRPC metadata
 * `authorization: Bearer <token>`. TLS: the `http.tls` certificate and key (and client CA with
 * requireClientCert) when configured. Message size: `grpc.maxMessageBytes` both ways.
 * The server is a component (`v2GrpcComponent`): it binds at start, after every component has
 * registered its V2 provider on the app, and stops with the process.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '../../app-config.js';
import { callerHasScope, countAuthFailure, OPEN_CALLER, serverAuthOf, type Caller, type Scope } from '../../core/auth.js';
import type { Component } from '../../core/component.js';
import type { Logger } from '../../core/logger.js';
import { counter } from '../../core/metrics.js';
import { v2CoreOf, type V2Answer, type V2Core } from './v2-server.js';

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

const STATUS_OF: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  403: grpc.status.PERMISSION_DENIED,
  404: grpc.status.NOT_FOUND,
  413: grpc.status.RESOURCE_EXHAUSTED,
  503: grpc.status.UNAVAILABLE,
};

/** A refusal or failure with its gRPC status. */
export class V2GrpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

function fromAnswer(a: V2Answer): V2GrpcError {
  const msg = (a.body as { error?: unknown } | undefined)?.error;
  return new V2GrpcError(STATUS_OF[a.status] ?? grpc.status.INTERNAL, typeof msg === 'string' ? msg : `status ${a.status}`);
}

// ------------------------------------------------------------------ tensors

interface Contents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: number[];
  uint_contents?: number[];
  uint64_contents?: number[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}
type ContentsField = keyof Contents;

const FIELD_OF: Record<string, ContentsField> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};
const RAW_SIZE: Record<string, number> = { BOOL: 1, INT8: 1, UINT8: 1, INT16: 2, UINT16: 2, INT32: 4, UINT32: 4, FP32: 4, INT64: 8, UINT64: 8, FP64: 8 };

const bad = (message: string) => new V2GrpcError(grpc.status.INVALID_ARGUMENT, message);

/** Raw little-endian bytes of a tensor → its values. */
export function decodeRaw(buf: Buffer, datatype: string, what: string): unknown[] {
  if (datatype === 'BYTES') {
    const out: string[] = [];
    for (let o = 0; o < buf.length; ) {
      if (o + 4 > buf.length) throw bad(`${what}: raw BYTES content is cut inside an element's 4-byte length at byte ${o}`);
      const n = buf.readUInt32LE(o);
      if (o + 4 + n > buf.length) throw bad(`${what}: raw BYTES element at byte ${o} says ${n} bytes, only ${buf.length - o - 4} follow`);
      out.push(buf.toString('utf8', o + 4, o + 4 + n));
      o += 4 + n;
    }
    return out;
  }
  const size = RAW_SIZE[datatype];
  if (size === undefined) throw bad(`${what}: raw contents of datatype ${JSON.stringify(datatype)} are not supported (FP32, FP64, INT*, UINT*, BOOL, BYTES)`);
  if (buf.length % size !== 0) throw bad(`${what}: raw contents of ${buf.length} bytes are not a whole number of ${datatype} elements (${size} bytes each)`);
  const n = buf.length / size;
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    switch (datatype) {
      case 'FP32': out[i] = buf.readFloatLE(o); break;
      case 'FP64': out[i] = buf.readDoubleLE(o); break;
      case 'INT8': out[i] = buf.readInt8(o); break;
      case 'UINT8': out[i] = buf.readUInt8(o); break;
      case 'INT16': out[i] = buf.readInt16LE(o); break;
      case 'UINT16': out[i] = buf.readUInt16LE(o); break;
      case 'INT32': out[i] = buf.readInt32LE(o); break;
      case 'UINT32': out[i] = buf.readUInt32LE(o); break;
      case 'INT64': out[i] = Number(buf.readBigInt64LE(o)); break;
      case 'UINT64': out[i] = Number(buf.readBigUInt64LE(o)); break;
      default: out[i] = buf.readUInt8(o) !== 0;
    }
  }
  return out;
}

/** Values → raw little-endian bytes (FP32, FP64, BYTES: what the providers answer). */
export function encodeRaw(values: readonly unknown[], datatype: string): Buffer {
  if (datatype === 'BYTES') {
    const parts = values.map((v) => Buffer.from(String(v), 'utf8'));
    const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.writeUInt32LE(p.length, o);
      p.copy(out, o + 4);
      o += 4 + p.length;
    }
    return out;
  }
  const size = datatype === 'FP32' ? 4 : 8;
  const out = Buffer.alloc(values.length * size);
  values.forEach((v, i) => (datatype === 'FP32' ? out.writeFloatLE(Number(v), i * size) : out.writeDoubleLE(Number(v), i * size)));
  return out;
}

interface InferParameter {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param';
  bool_param?: boolean;
  int64_param?: number;
  string_param?: string;
}

function paramValue(p: InferParameter): unknown {
  switch (p.parameter_choice) {
    case 'bool_param':
      return p.bool_param;
    case 'int64_param':
      return p.int64_param;
    case 'string_param': {
      const s = p.string_param ?? '';
      if (/^\s*[[{]/.test(s)) {
        try {
          return JSON.parse(s) as unknown;
        } catch {
          return s;
        }
      }
      return s;
    }
    default:
      return undefined;
  }
}

function paramsOf(map: Record<string, InferParameter> | undefined): Record<string, unknown> | undefined {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return undefined;
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of entries) out[k] = paramValue(v);
  return out;
}

function toParam(v: unknown): InferParameter {
  if (typeof v === 'boolean') return { bool_param: v };
  if (typeof v === 'number' && Number.isSafeInteger(v)) return { int64_param: v };
  if (typeof v === 'string') return { string_param: v };
  if (typeof v === 'number') return { string_param: String(v) };
  return { string_param: JSON.stringify(v) };
}

interface InferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, InferParameter>;
  inputs: Array<{ name: string; datatype: string; shape: number[]; parameters?: Record<string, InferParameter>; contents?: Contents | null }>;
  outputs: Array<{ name: string; parameters?: Record<string, InferParameter> }>;
  raw_input_contents: Buffer[];
}

/** A ModelInferRequest as the REST body the providers take (`raw`: the request sent raw inputs). */
export function restBodyOf(req: InferRequest): { body: Record<string, unknown>; raw: boolean } {
  const raw = (req.raw_input_contents ?? []).length > 0;
  if (raw && req.raw_input_contents.length !== req.inputs.length) {
    throw bad(`raw_input_contents has ${req.raw_input_contents.length} entries for ${req.inputs.length} inputs (one per input, in order)`);
  }
  const inputs = req.inputs.map((inp, i) => {
    const what = `input ${inp.name || i}`;
    const given = Object.entries(inp.contents ?? {}).filter(([, v]) => Array.isArray(v) && v.length > 0).map(([k]) => k as ContentsField);
    let data: unknown[];
    if (raw) {
      if (given.length > 0) throw bad(`${what}: contents (${given.join(', ')}) and raw_input_contents must not both be given`);
      data = decodeRaw(req.raw_input_contents[i]!, inp.datatype, what);
    } else {
      const field = FIELD_OF[inp.datatype];
      const other = given.filter((g) => g !== field);
      if (other.length > 0) throw bad(`${what}: datatype ${inp.datatype} takes ${field ?? 'no typed contents'}, got ${other.join(', ')}`);
      const values = field ? ((inp.contents?.[field] ?? []) as unknown[]) : [];
      data = field === 'bytes_contents' ? (values as Buffer[]).map((b) => b.toString('utf8')) : values;
    }
    const params = paramsOf(inp.parameters);
    return { name: inp.name, shape: inp.shape, datatype: inp.datatype, data, ...(params ? { parameters: params } : {}) };
  });
  const params = paramsOf(req.parameters);
  return {
    body: {
      ...(req.id ? { id: req.id } : {}),
      inputs,
      ...(req.outputs.length ? { outputs: req.outputs.map((o) => ({ name: o.name })) } : {}),
      ...(params ? { parameters: params } : {}),
    },
    raw,
  };
}

interface RestOutput {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

/** A REST infer answer as a ModelInferResponse (raw output contents when `raw`). */
export function grpcResponseOf(body: { model_name: string; model_version: string; id?: unknown; parameters?: Record<string, unknown>; outputs: RestOutput[] }, raw: boolean): Record<string, unknown> {
  const parameters: Record<string, InferParameter> = {};
  for (const [k, v] of Object.entries(body.parameters ?? {})) parameters[k] = toParam(v);
  const outputs = body.outputs.map((o) => {
    const base = { name: o.name, datatype: o.datatype, shape: o.shape };
    if (raw) return base;
    const field = FIELD_OF[o.datatype] ?? 'fp64_contents';
    const values = field === 'bytes_contents' ? o.data.map((v) => Buffer.from(String(v), 'utf8')) : o.data;
    return { ...base, contents: { [field]: values } };
  });
  return {
    model_name: body.model_name,
    model_version: body.model_version,
    id: body.id === undefined ? '' : String(body.id),
    parameters,
    outputs,
    raw_output_contents: raw ? body.outputs.map((o) => encodeRaw(o.data, o.datatype)) : [],
  };
}

// ------------------------------------------------------------------ the service

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
export function grpcPortOf(cfg: Pick<AppConfig, 'grpc' | 'http'>): number {
  if (cfg.grpc.port !== undefined) return cfg.grpc.port;
  return cfg.http.port === 0 ? 0 : Math.min(65535, cfg.http.port + 1);
}

/**
 * The V2 gRPC server of a process. `optional` (wattflow up): a port that cannot be bound is
 * logged and the banner says so, instead of failing the start.
 */
export function v2GrpcComponent(cfg: AppConfig, logger: Logger, opts: { optional?: boolean } = {}): V2GrpcComponent {
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

/**
 * The KServe V2 gRPC messages and the REST bodies the V2 providers take (v2-grpc.ts's codec):
 * typed `contents` and little-endian `raw_*_contents` tensors, parameters, and the mapping of a
 * REST answer's status onto a gRPC status.
 */
import * as grpc from '@grpc/grpc-js';
import type { V2Answer } from './v2-server.js';

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

export function fromAnswer(a: V2Answer): V2GrpcError {
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

export const bad = (message: string) => new V2GrpcError(grpc.status.INVALID_ARGUMENT, message);

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

export interface InferRequest {
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

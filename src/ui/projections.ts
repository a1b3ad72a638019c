/**
 * What each view of the web UI shows, projected from the pipeline's messages: a router's state
 * from an ML message (or its stored record after a restart), a vehicle's from the predictor's
 * scored vector, a dead letter's summary.
 */
import type { IncomingMessage } from '../fabric/fabric.js';
import type { RouterConfig } from '../router-power/experiment.js';
import type { MlMessage } from '../router-power/messages.js';
import { mlRecord } from '../sinks/ml-record.js';
import type { LatestRow } from '../storage/types.js';
import type { Scored } from '../vehicle/predictor/sinks.js';
import { round } from '../api/downsample.js';

/** What the hub knows of a router: its latest prediction, flat. */
export interface RouterState {
  id: string;
  /** Time of the prediction's counters (epoch ms). */
  t: number;
  power: number | null;
  occupation: number | null;
  packet_length: number | null;
  packet_rate: number | null;
  byte_rate_mbps: number | null;
  power_rate_occupation: number | null;
  power_rate_packet_length: number | null;
  /** The model in use as shown: `formula dummy:huawei` or `ne40@3`. */
  model: string;
  model_type: string;
  model_version: string;
  router_type: string;
}

export interface VehicleState {
  id: string;
  t: number;
  seq: number;
  score: number | null;
  label: string;
  threshold: number;
  model: string;
  flags: Array<{ rule: string; message: string }>;
  out_of_range: string[];
  missing: string[];
  filled: string[];
  values: Record<string, number | null>;
  top: Array<{ signal: string; z: number }>;
}

export interface DeadLetterSummary {
  stage: string;
  reason: string;
  topic: string;
  key: string;
  offset: string;
  received_at: string;
  /** The original message, cut at 2 KB. */
  value: string;
}

/**
 * An ML message as far as the hub reads it (the sinks validate them fully and dead-letter the
 * invalid ones; the hub only needs the shape mlRecord reads, and skips anything else) — a full
 * schema validation here would double the CPU spent per prediction.
 */
export function mlShaped(msg: IncomingMessage): MlMessage | undefined {
  let doc: unknown = msg.json;
  if (doc === undefined) {
    try {
      doc = JSON.parse(msg.value);
    } catch {
      return undefined;
    }
  }
  const d = doc as Partial<MlMessage> | null;
  if (!d || typeof d !== 'object' || !Array.isArray(d.input_ml_metrics) || !Array.isArray(d.output_ml_metrics)) return undefined;
  if (typeof d.epoch_timestamp !== 'string' && typeof d.epoch_timestamp !== 'number') return undefined;
  if (!d.input_ml_metrics.every((m) => m && typeof m === 'object') || !d.output_ml_metrics.every((m) => m && typeof m === 'object')) return undefined;
  return d as MlMessage;
}

/** The model as shown to a person: the formula or name@version. */
export function modelLabel(meta: { model_type?: unknown; model?: unknown; version?: unknown } | undefined, fallback: string): string {
  const model = typeof meta?.model === 'string' ? meta.model : undefined;
  if (!model) return fallback === 'dummy' ? 'formula' : fallback;
  if (meta?.model_type === 'dummy' || model.startsWith('dummy:')) return `formula ${model}`;
  return typeof meta?.version === 'string' && meta.version !== '' ? `${model}@${meta.version}` : model;
}

type ModelMeta = { model_type?: unknown; model?: unknown; version?: unknown };

/** A router's state from a valid ML message; undefined when the sinks would not store it either. */
export function routerStateFromMl(routerId: string, ml: MlMessage, router: RouterConfig | undefined): RouterState | undefined {
  const rec = mlRecord(routerId, ml, router);
  if ('error' in rec) return undefined;
  const meta = (ml as { ml_metadata?: ModelMeta }).ml_metadata;
  const f = rec.fields;
  return {
    id: routerId,
    t: Math.round(rec.tsMs),
    ...measuredFields(f),
    model: modelLabel(meta, router?.modelType ?? 'dummy'),
    model_type: typeof meta?.model_type === 'string' ? meta.model_type : (router?.modelType ?? 'dummy'),
    model_version: typeof meta?.version === 'string' ? meta.version : '',
    router_type: rec.tags.router_type,
  };
}

/** A router's state from its latest stored record (the embedded storage, after a restart). */
export function routerStateFromStored(id: string, latest: LatestRow, router: RouterConfig | undefined): RouterState {
  let meta: ModelMeta | undefined;
  try {
    meta = latest.doc ? (JSON.parse(latest.doc) as { ml_metadata?: typeof meta }).ml_metadata : undefined;
  } catch {
    meta = undefined;
  }
  const f = latest.fields;
  return {
    id,
    t: latest.tsMs,
    ...measuredFields(f),
    model: modelLabel(meta, latest.tags.model ?? router?.modelType ?? 'dummy'),
    model_type: typeof meta?.model_type === 'string' ? meta.model_type : (router?.modelType ?? 'dummy'),
    model_version: typeof meta?.version === 'string' ? meta.version : '',
    router_type: latest.tags.router_type ?? router?.routerType ?? '',
  };
}

/** A vehicle's state from one of the predictor's scored vectors. */
export function vehicleStateOf({ vector: v, prediction: p }: Scored): VehicleState {
  return {
    id: v.vehicleId,
    t: v.ts,
    seq: v.seq,
    score: p.score === null ? null : round(p.score),
    label: p.label,
    threshold: round(p.threshold),
    model: `${p.modelName}@${p.modelVersion}`,
    flags: v.flags.map((f) => ({ rule: f.rule, message: f.message })),
    out_of_range: v.outOfRange,
    missing: v.missing,
    filled: v.filled,
    values: Object.fromEntries(Object.entries(v.values).map(([k, x]) => [k, x === null ? null : round(x)])),
    top: p.top.slice(0, 3).map((t) => ({ signal: t.signal, z: round(t.z) })),
  };
}

/** The summary of a `<topic>.dlq` message shown on the Pipeline page. */
export function deadLetterSummaryOf(msg: IncomingMessage): DeadLetterSummary {
  let doc: Partial<DeadLetterSummary> & { value?: unknown } = {};
  try {
    doc = (msg.json ?? JSON.parse(msg.value)) as typeof doc;
  } catch {
    doc = { reason: 'the dead letter itself is not JSON', value: msg.value };
  }
  const text = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
  return {
    stage: text(doc.stage) || 'unknown',
    reason: text(doc.reason),
    topic: text(doc.topic) || msg.topic.replace(/\.dlq$/, ''),
    key: text(doc.key) || msg.key,
    offset: text(doc.offset),
    received_at: text(doc.received_at) || new Date(msg.timestamp).toISOString(),
    value: text(doc.value).slice(0, 2048),
  };
}

const num = (v: number | undefined): number | null => (v === undefined ? null : round(v));

/** A router's measured fields (from the stored record), each a number or null. */
function measuredFields(f: Record<string, number | undefined>) {
  return {
    power: num(f.power),
    occupation: num(f.occupation),
    packet_length: num(f.packet_length),
    packet_rate: num(f.packet_rate),
    byte_rate_mbps: num(f.byte_rate_mbps),
    power_rate_occupation: num(f.power_rate_occupation),
    power_rate_packet_length: num(f.power_rate_packet_length),
  };
}

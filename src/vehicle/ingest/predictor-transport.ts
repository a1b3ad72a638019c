/**
 * The forwarder's transports to the vehicle predictor: HTTP (Open Inference Protocol V2 infer
 * requests by default, or the plain JSON `POST /v1/vehicle/predict`) and an in-process call
 * (`wattflow up`). A 4xx that retrying cannot help is a PermanentForwardError.
 */
import { clientAuthHeaders } from '../../core/auth.js';
import type { AlignedVector } from '../align/vector.js';
import type { VehiclePrediction } from '../predictor/prediction.js';
import { PermanentForwardError, type SendBatch, type Transport } from './forwarder.js';

async function postJson(url: string, body: unknown, timeoutMs: number): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...clientAuthHeaders() },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, text: await res.text() };
}

/** 4xx other than 401/403/408/429: the batch is invalid, retrying cannot help. 401/403: this process's token is wrong (configuration, not data): retried, kept in the journal. */
function checkStatus({ status, text }: { status: number; text: string }): void {
  if (status === 401 || status === 403) throw new Error(`HTTP ${status}: ${text.slice(0, 300)} — the predictor refused this process's token: set WATTFLOW_TOKEN (auth.clientToken) to a token with scopes read and ingest`);
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw new PermanentForwardError(`HTTP ${status}: ${text.slice(0, 300)}`);
  if (status !== 200) throw new Error(`HTTP ${status}: ${text.slice(0, 300)}`);
}

export interface HttpTransportOptions {
  /** `v2` (default): Open Inference Protocol infer requests; `json`: the plain `POST /v1/vehicle/predict`. */
  protocol?: 'v2' | 'json';
  /** V2 model name (default: the model the predictor serves, from `GET /v2/models`). */
  model?: string;
}

/**
 * The V2 infer request of a batch of vectors (the format src/vehicle/predictor/v2-endpoint.ts
 * documents): the model features as the `features` tensor, the rest of each vector as
 * per-row request parameters.
 */
export function v2RequestOf(vectors: readonly AlignedVector[], features: readonly string[]): Record<string, unknown> {
  const F = features.length;
  const data = new Array<number>(vectors.length * F);
  const isFeature = new Set(features);
  const missing: string[][] = [];
  const absent: string[][] = [];
  const values: Array<Record<string, number | null>> = [];
  vectors.forEach((v, i) => {
    const miss: string[] = [];
    const gone: string[] = [];
    for (let j = 0; j < F; j++) {
      const x = v.values[features[j]!];
      if (x === null || x === undefined) {
        data[i * F + j] = 0;
        (x === null ? miss : gone).push(features[j]!);
      } else data[i * F + j] = x;
    }
    const extra: Record<string, number | null> = {};
    for (const [k, x] of Object.entries(v.values)) {
      if (isFeature.has(k)) continue;
      if (x === null) miss.push(k);
      else extra[k] = x;
    }
    for (const k of v.missing) if (!miss.includes(k)) miss.push(k);
    missing.push(miss);
    absent.push(gone);
    values.push(extra);
  });
  return {
    parameters: {
      vehicle_id: vectors.map((v) => v.vehicleId),
      timestamp: vectors.map((v) => v.ts),
      seq: vectors.map((v) => v.seq),
      flags: vectors.map((v) => v.flags.map((f) => ({ rule: f.rule, message: f.message, signals: f.signals }))),
      out_of_range: vectors.map((v) => v.outOfRange),
      filled: vectors.map((v) => v.filled),
      missing,
      absent,
      values,
    },
    inputs: [{ name: 'features', datatype: 'FP32', shape: [vectors.length, F], data }],
  };
}

/**
 * HTTP transport to the predictor. V2 (default): the model's metadata (`GET /v2/models/{name}`,
 * feature order and version) is fetched once and cached; infer requests go to
 * `/v2/models/{name}/versions/{version}/infer`, so a reloaded model (new version: 404) makes the
 * transport fetch the metadata again and resend. JSON: `POST <base>/v1/vehicle/predict` with
 * `{vectors}` → `{predictions}`.
 */
export function httpTransport(baseUrl: string, timeoutMs: number, opts: HttpTransportOptions = {}): Transport {
  if (opts.protocol === 'json') {
    const url = new URL('/v1/vehicle/predict', baseUrl).toString();
    return {
      target: baseUrl,
      async send(vectors) {
        const r = await postJson(url, { vectors }, timeoutMs);
        checkStatus(r);
        const body = JSON.parse(r.text) as { predictions?: VehiclePrediction[] };
        return body.predictions ?? [];
      },
    };
  }
  let meta: { name: string; version: string; features: string[] } | undefined;
  const getJson = async (path: string): Promise<{ status: number; body: unknown; text: string }> => {
    const res = await fetch(new URL(path, baseUrl), { headers: clientAuthHeaders(), signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body, text };
  };
  const metadata = async () => {
    let name = opts.model;
    if (name === undefined) {
      const r = await getJson('/v2/models');
      if (r.status !== 200) throw new Error(`GET /v2/models: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
      name = (r.body as { models?: Array<{ name?: string }> })?.models?.[0]?.name;
      if (!name) throw new Error('GET /v2/models: the predictor serves no model');
    }
    const r = await getJson(`/v2/models/${encodeURIComponent(name)}`);
    if (r.status === 404) throw new PermanentForwardError(`model ${name}: ${r.text.slice(0, 300)}`);
    if (r.status === 401 || r.status === 403) checkStatus(r);
    if (r.status !== 200) throw new Error(`GET /v2/models/${name}: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
    const b = r.body as { versions?: string[]; parameters?: { features?: string[]; version?: string } };
    const features = b.parameters?.features;
    const version = b.parameters?.version ?? b.versions?.[0];
    if (!Array.isArray(features) || typeof version !== 'string') throw new Error(`GET /v2/models/${name}: no features/version in the metadata`);
    return { name, version, features };
  };
  return {
    target: baseUrl,
    async send(vectors) {
      for (let attempt = 0; ; attempt++) {
        meta ??= await metadata();
        const m = meta;
        const url = new URL(`/v2/models/${encodeURIComponent(m.name)}/versions/${encodeURIComponent(m.version)}/infer`, baseUrl).toString();
        const r = await postJson(url, v2RequestOf(vectors, m.features), timeoutMs);
        if (r.status === 404 && attempt === 0) {
          meta = undefined; // the model was replaced: learn its new version and features
          continue;
        }
        checkStatus(r);
        const body = JSON.parse(r.text) as { parameters?: { predictions?: VehiclePrediction[] } };
        return body.parameters?.predictions ?? [];
      }
    },
  };
}

/** In-process transport (`wattflow up`): calls the predictor directly. */
export function inProcessTransport(send: SendBatch): Transport {
  return { target: 'in-process predictor', send };
}

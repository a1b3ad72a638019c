/**
 * The Open Inference Protocol (KServe V2 REST) on the vehicle predictor, next to the plain JSON
 * endpoint (json-endpoint.ts); both score through VehiclePredictor, so they agree exactly:
 *
 *   GET  /v2  ·  /v2/health/live  ·  /v2/health/ready
 *   GET  /v2/models                                 the served model (convenience, not in the spec)
 *   GET  /v2/models/{name}[/versions/{v}]           metadata
 *   GET  /v2/models/{name}[/versions/{v}]/ready
 *   POST /v2/models/{name}[/versions/{v}]/infer
 *
 * {name} is the vehicle model's name (`vehicle-anomaly` unless trained with another), {v} its
 * version: the registry version when the model came from the registry (`--model NAME@REF`; the
 * content hash is then `parameters.artifact_version`), else the artifact's content hash; either
 * is accepted in a path. Tensors:
 *   input  `features`  FP32 (FP64 accepted) [N, F]: one row per vector, the columns the model's
 *          features in the metadata's order (`parameters.features`); values in catalog units,
 *          used at the precision sent (not rounded to single precision). Missing features are
 *          named in the `missing` parameter (their cells are ignored; any number, e.g. 0).
 *   output `score`     FP32 [N]: the anomaly score in (0, 1] (rounded to single precision, as
 *          declared; `parameters.predictions` keeps the full one); -1 when the label is
 *          insufficient_data (too few features present).
 *   output `label`     BYTES [N]: normal | anomaly | implausible | insufficient_data.
 * Per-row context travels in the request's `parameters` (a scalar applies to every row, an
 * array gives one entry per row): `vehicle_id`, `timestamp` (epoch ms, the vector's tick),
 * `seq`, `flags` (per row: plausibility rules, as strings or {rule, message, signals}),
 * `out_of_range`, `filled`, `missing` (per row: signal ids; also accepted on the input's
 * `parameters`), `absent` (per row: features the vehicle has never reported — not in the
 * vector at all, unlike missing ones; their cells are ignored too), `values` (per row: {signal: value} of signals that are not model features, so
 * the stored `vehicle_measurement` keeps them). With `vehicle_id` (and then `timestamp`) the
 * predictions are written to the sink like the JSON endpoint's (InfluxDB `prediction` +
 * `vehicle_measurement`, or the embedded store) and returned in the response's
 * `parameters.predictions`; without it the request only scores (nothing is written) — what a
 * KServe client sending just the tensor gets. Writing needs scope `ingest` as well as `read`
 * (src/core/auth.ts): a caller without it gets 403 and nothing is written. Errors answer
 * `{"error": "..."}`: 400 (bad request), 403 (write without scope ingest), 404 (unknown
 * model/version), 413 (too many rows), 503 (sink failed; retry).
 *
 * The routes are src/router-power/inference/v2-server.ts's, shared with any other V2 provider on
 * the same server (the inference workers' power models under `wattflow up`); this module is
 * the provider.
 */
import type { FastifyInstance } from 'fastify';
import { callerHasScope, forbiddenAnswer } from '../../core/auth.js';
import type { Logger } from '../../core/logger.js';
import { inferErrorStatus, inferInputs, requestedOutputs, tensorNumbers, tensorShape, V2BadRequest } from '../../router-power/inference/v2-protocol.js';
import { registerV2Provider, type V2Answer, type V2InferContext, type V2Provider } from '../../router-power/inference/v2-server.js';
import type { AlignedVector } from '../align/vector.js';
import { VEHICLE_ID_PATTERN } from '../store/store.js';
import { modelInfo, MAX_VECTORS_PER_REQUEST } from './json-endpoint.js';
import type { VehiclePrediction } from './prediction.js';
import { countStageMessages } from '../../energy/stage-cpu.js';
import { predictSeconds } from '../metrics.js';
import type { VehiclePredictor } from './predictor.js';
import type { VehicleModel } from '../model/anomaly-model.js';

const PLATFORM = 'wattflow_isolation_forest';
export const V2_INPUT = 'features';
export const V2_OUTPUTS = ['score', 'label'] as const;
/** `score` of a row without one (insufficient_data). */
export const NO_SCORE = -1;

/** The version V2 answers name: the registry's when the model came from the registry, else the content hash. */
export const servedVersion = (m: VehicleModel): string => m.registry?.version ?? m.version;

/** The V2 model metadata of the predictor's model. */
export function v2Metadata(predictor: VehiclePredictor): Record<string, unknown> {
  const m = predictor.model;
  return {
    name: m.name,
    versions: [servedVersion(m)],
    platform: PLATFORM,
    inputs: [{ name: V2_INPUT, datatype: 'FP32', shape: [-1, m.features.length] }],
    outputs: [
      { name: 'score', datatype: 'FP32', shape: [-1] },
      { name: 'label', datatype: 'BYTES', shape: [-1] },
    ],
    parameters: {
      ...modelInfo(predictor),
      features: [...m.features],
      labels: ['normal', 'anomaly', 'implausible', 'insufficient_data'],
      no_score: NO_SCORE,
      ...(m.registry ? { artifact_version: m.version, registry_version: m.registry.version } : {}),
    },
  };
}

type Params = Record<string, unknown>;

/** A per-row parameter: a scalar for every row, or an array of n entries. */
function perRow<T>(params: Params, key: string, n: number, check: (x: unknown) => x is T, what: string): T[] | undefined {
  const x = params[key];
  if (x === undefined) return undefined;
  if (Array.isArray(x)) {
    if (x.length !== n) throw new V2BadRequest(`parameters.${key}: ${x.length} entries for ${n} rows`);
    x.forEach((e, i) => {
      if (!check(e)) throw new V2BadRequest(`parameters.${key}[${i}] must be ${what}, got ${JSON.stringify(e)}`);
    });
    return x as T[];
  }
  if (!check(x)) throw new V2BadRequest(`parameters.${key} must be ${what} (or an array of one per row), got ${JSON.stringify(x)}`);
  return new Array<T>(n).fill(x);
}

/** A per-row list parameter (`[[...], [...]]`, one list per row). */
function perRowLists<T>(params: Params, key: string, n: number, check: (x: unknown) => x is T, what: string): T[][] | undefined {
  const x = params[key];
  if (x === undefined) return undefined;
  if (!Array.isArray(x) || x.length !== n || !x.every(Array.isArray)) throw new V2BadRequest(`parameters.${key} must be one array per row (${n} rows) of ${what}`);
  return (x as unknown[][]).map((row, i) =>
    row.map((e, j) => {
      if (!check(e)) throw new V2BadRequest(`parameters.${key}[${i}][${j}] must be ${what}, got ${JSON.stringify(e)}`);
      return e;
    }),
  );
}

const isString = (x: unknown): x is string => typeof x === 'string';
const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);
const isVehicleId = (x: unknown): x is string => typeof x === 'string' && VEHICLE_ID_PATTERN.test(x);
const isFlag = (x: unknown): x is string | { rule: string; message?: unknown; signals?: unknown } =>
  typeof x === 'string' || (!!x && typeof x === 'object' && typeof (x as { rule?: unknown }).rule === 'string');
const isValues = (x: unknown): x is Record<string, number | null> =>
  !!x && typeof x === 'object' && !Array.isArray(x) && Object.values(x).every((v) => v === null || (typeof v === 'number' && Number.isFinite(v)));

export interface DecodedRequest {
  vectors: AlignedVector[];
  /** Write to the sink (a vehicle id was given). */
  write: boolean;
}

/** The aligned vectors an infer request describes (see the module comment). */
export function decodeV2Request(body: unknown, features: readonly string[], now = Date.now()): DecodedRequest {
  const inputs = inferInputs(body);
  const F = features.length;
  const shapeHint = `FP32 [N, ${F}]: ${features.join(', ')}`;
  if (inputs.length !== 1) throw new V2BadRequest(`expected 1 input "${V2_INPUT}" (${shapeHint}), got ${inputs.length}`);
  const inp = inputs[0]!;
  if (inp.name !== V2_INPUT) throw new V2BadRequest(`unknown input ${JSON.stringify(inp.name)}: the model's input is "${V2_INPUT}" (${shapeHint})`);
  const shape = tensorShape(inp, `input ${V2_INPUT}`);
  if (shape.length !== 2 || shape[1] !== F) throw new V2BadRequest(`input ${V2_INPUT}: shape must be [N, ${F}] (${features.join(', ')}), got [${shape.join(', ')}]`);
  const n = shape[0]!;
  if (n > MAX_VECTORS_PER_REQUEST) throw Object.assign(new V2BadRequest(`more than ${MAX_VECTORS_PER_REQUEST} rows in one request`), { status: 413 });
  const data = tensorNumbers(inp, n * F, `input ${V2_INPUT}`);
  const rp = (body as { parameters?: unknown }).parameters ?? {};
  const ip = inp.parameters ?? {};
  if (typeof rp !== 'object' || Array.isArray(rp) || rp === null) throw new V2BadRequest('"parameters" must be an object');
  if (typeof ip !== 'object' || Array.isArray(ip) || ip === null) throw new V2BadRequest(`input ${V2_INPUT}: "parameters" must be an object`);
  const params = rp as Params;
  const ids = perRow(params, 'vehicle_id', n, isVehicleId, 'a vehicle id (1-64 of A-Z a-z 0-9 _ . : -)');
  const ts = perRow(params, 'timestamp', n, isInt, 'epoch milliseconds (integer)');
  if (ids && !ts) throw new V2BadRequest('parameters.timestamp (epoch ms of each row) is required with parameters.vehicle_id');
  const seq = perRow(params, 'seq', n, isInt, 'an integer');
  const flags = perRowLists(params, 'flags', n, isFlag, 'rule ids or {rule, message, signals}');
  const outOfRange = perRowLists(params, 'out_of_range', n, isString, 'signal ids');
  const filled = perRowLists(params, 'filled', n, isString, 'signal ids');
  const missingReq = perRowLists(params, 'missing', n, isString, 'signal ids');
  const missingInp = perRowLists(ip as Params, 'missing', n, isString, 'signal ids');
  const absent = perRowLists(params, 'absent', n, isString, 'feature ids');
  const extra = perRow(params, 'values', n, isValues, 'an object {signal: number|null}');
  const vectors: AlignedVector[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const missing = new Set([...(missingReq?.[i] ?? []), ...(missingInp?.[i] ?? [])]);
    // no prototype: names from the request ("constructor", "toString") are plain keys here
    const values = Object.create(null) as Record<string, number | null>;
    const gone = new Set(absent?.[i] ?? []);
    for (let j = 0; j < F; j++) {
      const f = features[j]!;
      if (!gone.has(f)) values[f] = missing.has(f) ? null : data[i * F + j]!;
    }
    for (const [k, v] of Object.entries(extra?.[i] ?? {})) {
      if (Object.hasOwn(values, k)) throw new V2BadRequest(`parameters.values[${i}].${k}: a model feature goes in the "${V2_INPUT}" tensor`);
      values[k] = v;
    }
    for (const k of missing) values[k] ??= null;
    vectors[i] = {
      vehicleId: ids?.[i] ?? 'v2-request',
      ts: ts?.[i] ?? now,
      seq: seq?.[i] ?? i,
      values,
      sourceTs: {},
      missing: Object.entries(values).filter(([, v]) => v === null).map(([k]) => k),
      filled: filled?.[i] ?? [],
      outOfRange: outOfRange?.[i] ?? [],
      flags: (flags?.[i] ?? []).map((f) =>
        typeof f === 'string' ? { rule: f, message: '', signals: [] } : { rule: f.rule, message: String(f.message ?? ''), signals: Array.isArray(f.signals) ? f.signals.map(String) : [] },
      ),
    };
  }
  return { vectors, write: ids !== undefined };
}

/** The vehicle predictor as a V2 provider (see src/router-power/inference/v2-server.ts). */
export function vehicleV2Provider(predictor: VehiclePredictor, logger: Logger, opts: { predict: boolean; ready: () => true | string }): V2Provider {
  const matches = (name: string, version?: string) =>
    name === predictor.model.name && (version === undefined || version === predictor.model.version || version === predictor.model.registry?.version);

  const infer = async ({ body: reqBody, caller }: V2InferContext): Promise<V2Answer> => {
    const started = performance.now();
    const model = predictor.model;
    let decoded: DecodedRequest;
    let wanted: string[];
    const body = (reqBody ?? {}) as { id?: unknown; outputs?: unknown };
    try {
      decoded = decodeV2Request(reqBody, model.features);
      wanted = requestedOutputs(body, V2_OUTPUTS, V2_OUTPUTS);
    } catch (err) {
      const status = (err as { status?: number }).status ?? inferErrorStatus(err);
      if (status >= 500) throw err; // a failure, not a bad request: the server logs it and answers 500 with the request id
      return { status, body: { error: (err as Error).message } };
    }
    // the request writes to the sink (InfluxDB, embedded storage) only for a caller allowed to ingest:
    // a refusal, not a silent `written: false` (a forwarder with the wrong token would lose predictions unnoticed)
    if (decoded.write && !callerHasScope(caller, 'ingest')) {
      return forbiddenAnswer(caller, 'ingest', 'writing predictions (parameters.vehicle_id; without it the request only scores)');
    }
    // infer scores; the handler hands the results to the prediction sink only when the request asks for it (and may)
    const scored = predictor.score(decoded.vectors);
    let predictions: VehiclePrediction[];
    if (decoded.write) {
      try {
        countStageMessages('vehicle-predictor', scored.length);
        predictions = await predictor.write(scored);
        predictSeconds.observe((performance.now() - started) / 1000); // scored and written, as the other paths count it
      } catch (err) {
        logger.warn({ err: (err as Error).message, vectors: decoded.vectors.length }, 'prediction batch failed (sink)');
        return { status: 503, body: { error: `could not write the predictions: ${(err as Error).message}` }, headers: { 'retry-after': '1' } };
      }
    } else {
      predictions = scored.map((s) => s.prediction);
    }
    const n = predictions.length;
    const outputs = wanted.map((w) =>
      w === 'score'
        ? // FP32 as declared: the score rounded to single precision (it used to carry the double, which a gRPC client's fp32_contents could not)
          { name: w, datatype: 'FP32', shape: [n], data: predictions.map((p) => Math.fround(p.score ?? NO_SCORE)) }
        : { name: w, datatype: 'BYTES', shape: [n], data: predictions.map((p) => p.label) },
    );
    return {
      status: 200,
      body: {
        model_name: model.name,
        model_version: servedVersion(model),
        ...(body.id !== undefined ? { id: body.id } : {}),
        parameters: {
          ...(model.registry ? { artifact_version: model.version } : {}),
          processing_time_ms: performance.now() - started,
          threshold: model.threshold,
          written: decoded.write,
          ...(decoded.write ? { predictions } : {}),
        },
        outputs,
      },
    };
  };

  return {
    label: 'this vehicle predictor',
    serverName: 'wattflow-vehicle-predictor',
    extensions: [],
    models: () => [{ name: predictor.model.name, version: servedVersion(predictor.model), platform: PLATFORM }],
    ready: opts.ready,
    resolve: (name, version) => (matches(name, version) ? servedVersion(predictor.model) : undefined),
    metadata: () => v2Metadata(predictor),
    modelReady: () => opts.ready() === true,
    ...(opts.predict ? { infer } : {}),
  };
}

/** Serves the predictor's model on the app's V2 server (shared with any other provider on the app). */
export function registerPredictV2(app: FastifyInstance, predictor: VehiclePredictor, logger: Logger, opts: { predict: boolean; ready: () => true | string }): void {
  registerV2Provider(app, vehicleV2Provider(predictor, logger, opts));
}

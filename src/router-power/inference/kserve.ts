/**
 * The Open Inference Protocol (KServe V2 REST, as Triton and KServe serve it) on every
 * inference worker, over the models the worker currently serves:
 *
 *   GET  /v2                                      server metadata
 *   GET  /v2/health/live | /v2/health/ready       liveness / readiness
 *   GET  /v2/models/{name}[/versions/{v}]         model metadata (inputs, outputs, versions)
 *   GET  /v2/models/{name}[/versions/{v}]/ready   model readiness
 *   POST /v2/models/{name}[/versions/{v}]/infer   inference
 *   POST /v2/repository/index                     loaded models (Triton's repository extension)
 *   GET  /v2/models                               loaded models (convenience, not in the spec)
 *
 * An infer request carries the model's input tensor as the model metadata describes it —
 * name = the graph input (`input` for wattflow models), datatype FP32 (FP64 accepted), shape
 * [N, 2] in the column order and units of the model's `features` — with `data` flat
 * (row-major) or nested. Alternatively two inputs named after the features
 * (`PacketSize_B`, `Throughput_Percentage`), each [N] or [N, 1]. The response's output
 * (`output`, FP32 [N, 1]) is the power in W, computed by the same onnxruntime session as the
 * pipeline's predictions, so both agree exactly. Asking for the outputs `dpower_doccupation`
 * and/or `dpower_dpacket_length` adds the variation rates (FP64, per unit of occupation
 * fraction and per byte, same finite differences as the pipeline). Errors answer
 * `{"error": "..."}` with 400 (bad request), 404 (unknown model/version) or 503 (not ready).
 *
 * The routes themselves are v2-server.ts's, shared with any other V2 provider on the same
 * server (the vehicle predictor under `wattflow up`); this module is the provider.
 */
import type { FastifyInstance } from 'fastify';
import { counter } from '../../core/metrics.js';
import type { PowerFeatureRow } from '../../ml/runtime/onnx-power-model.js';
import { compareVersions } from '../../registry/catalog.js';
import type { ModelPredictor } from './model-predictor.js';
import { inferErrorStatus, inferInputs, requestedOutputs, tensorNumbers, tensorShape, V2BadRequest, type V2InferInput } from './v2-protocol.js';
import { registerV2Provider, type V2Answer, type V2InferContext, type V2Provider } from './v2-server.js';

const requests = counter<'model' | 'code'>({
  name: 'wattflow_kserve_requests_total',
  help: 'KServe V2 infer requests, per model and HTTP status (model="other" for a name this worker does not serve)',
  labelNames: ['model', 'code'],
});

/** The `model` label of a request: the name when this worker serves it, else "other" — a label from request data would grow a series per name sent. */
export const OTHER_MODEL = 'other';

const PLATFORM = 'onnxruntime_onnx';

export const SENSITIVITY_OUTPUTS = { dpower_doccupation: 'dPower_dThroughput', dpower_dpacket_length: 'dPower_dPacketSize' } as const;

export interface KServeSource {
  served(): Array<{ predictor: ModelPredictor; routers: string[] }>;
  ready(): boolean;
  epsilon: number;
}

type InferInput = V2InferInput;
const BadRequest = V2BadRequest;
const shapeOf = tensorShape;

function numbers(input: InferInput, expectCount: number, what: string): number[] {
  return tensorNumbers(input, expectCount, what, (v) => (v < 0 ? `is negative (${v}); power features are non-negative` : undefined));
}

/** The [N, 2] float rows, graph column order, from the request inputs. */
function parseInputs(body: unknown, p: ModelPredictor): { raw: Float32Array; n: number } {
  const inputs = inferInputs(body);
  const features = p.metadata.features.map((f) => f.name);
  const inputName = p.model.info.inputName;
  if (inputs.length === 1) {
    const inp = inputs[0] as InferInput;
    if (inp.name !== inputName) throw new BadRequest(`unknown input ${JSON.stringify(inp.name)}: the model's input is "${inputName}" (FP32 [N, 2]: ${features.join(', ')})`);
    const shape = shapeOf(inp, `input ${inputName}`);
    if (shape.length !== 2 || shape[1] !== 2) throw new BadRequest(`input ${inputName}: shape must be [N, 2] (${features.join(', ')}), got [${shape.join(', ')}]`);
    const n = shape[0]!;
    return { raw: Float32Array.from(numbers(inp, n * 2, `input ${inputName}`)), n };
  }
  if (inputs.length !== 2) throw new BadRequest(`expected 1 input "${inputName}" [N, 2] or 2 inputs named ${features.join(' and ')}, got ${inputs.length}`);
  const byName = new Map((inputs as InferInput[]).map((i) => [i.name, i]));
  let n = -1;
  const cols = features.map((f) => {
    const inp = byName.get(f);
    if (!inp) throw new BadRequest(`missing input "${f}" (inputs by feature: ${features.join(', ')})`);
    const shape = shapeOf(inp, `input ${f}`);
    if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) throw new BadRequest(`input ${f}: shape must be [N] or [N, 1], got [${shape.join(', ')}]`);
    if (n >= 0 && shape[0] !== n) throw new BadRequest(`inputs have different batch sizes (${n} and ${shape[0]})`);
    n = shape[0]!;
    return numbers(inp, n, `input ${f}`);
  });
  const raw = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) for (let c = 0; c < 2; c++) raw[i * 2 + c] = cols[c]![i]!;
  return { raw, n };
}

/** Caller-unit rows (bytes, occupation fraction) from graph-order model-unit rows. */
function callerRows(raw: Float32Array, n: number, p: ModelPredictor): PowerFeatureRow[] {
  const f = p.metadata.features;
  const col = (name: string) => f.findIndex((x) => x.name === name);
  const cs = col('PacketSize_B');
  const cx = col('Throughput_Percentage');
  const xUnit = f[cx]!.unit;
  const xScale = xUnit === 'percent' || xUnit === '%' ? 100 : 1;
  const rows: PowerFeatureRow[] = new Array(n);
  for (let i = 0; i < n; i++) rows[i] = { PacketSize_B: raw[i * 2 + cs]!, Throughput_Percentage: raw[i * 2 + cx]! / xScale };
  return rows;
}

/**
 * Refuses a request whose predictions are not finite numbers — a model overflowing on extreme
 * inputs — since JSON would carry them as null. One value per row.
 */
function checkFinite(what: string, data: ArrayLike<number> | undefined, raw: Float32Array): void {
  if (!data) return;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new V2BadRequest(`row ${i}: the model's ${what} is not a finite number for the inputs (${raw[i * 2]}, ${raw[i * 2 + 1]}), outside what it can predict`);
  }
}

/** The inference worker's power models as a V2 provider (see v2-server.ts). */
export function kserveProvider(src: KServeSource): V2Provider {
  const versionsOf = (name: string) =>
    src
      .served()
      .filter((s) => s.predictor.info.model === name)
      .sort((a, b) => compareVersions(a.predictor.info.version, b.predictor.info.version));

  /** The named version, else the one serving most routers (newest load on a tie). */
  const pick = (name: string, version?: string): ModelPredictor | undefined => {
    const all = versionsOf(name);
    if (version !== undefined) return all.find((s) => s.predictor.info.version === version)?.predictor;
    return [...all].sort((a, b) => b.routers.length - a.routers.length || b.predictor.loadedAt.getTime() - a.predictor.loadedAt.getTime())[0]?.predictor;
  };

  const metadata = (p: ModelPredictor) => {
    const info = p.model.info;
    const outRank = info.outputShape.length === 1 ? [-1] : [-1, 1];
    return {
      name: p.info.model,
      versions: versionsOf(p.info.model).map((s) => s.predictor.info.version),
      platform: PLATFORM,
      inputs: [{ name: info.inputName, datatype: 'FP32', shape: [-1, 2] }],
      outputs: [{ name: info.outputName, datatype: 'FP32', shape: outRank }],
      parameters: {
        version: p.info.version,
        model_type: p.info.model_type,
        router_type: p.metadata.router_type,
        features: p.metadata.features,
        target: p.metadata.target,
        sha256: p.sha256,
        extra_outputs: Object.keys(SENSITIVITY_OUTPUTS),
      },
    };
  };

  const label = (name: string): string => (src.served().some((s) => s.predictor.info.model === name) ? name : OTHER_MODEL);

  const infer = async ({ name, version, body: reqBody }: V2InferContext): Promise<V2Answer> => {
    const started = performance.now();
    const model = label(name);
    if (!src.ready()) {
      requests.inc({ model, code: '503' });
      return { status: 503, body: { error: 'this worker is not ready' } };
    }
    const p = pick(name, version);
    if (!p) {
      // unloaded between dispatch and now
      requests.inc({ model, code: '404' });
      return { status: 404, body: { error: `model "${name}" version "${version}" is not served by this worker` } };
    }
    try {
      const body = reqBody as { id?: unknown; outputs?: unknown };
      const { raw, n } = parseInputs(body, p);
      const outName = p.model.info.outputName;
      const wanted = requestedOutputs(body, [outName, ...Object.keys(SENSITIVITY_OUTPUTS)], [outName]);
      const outputs: Array<{ name: string; datatype: string; shape: number[]; data: number[] }> = [];
      const power = wanted.includes(outName) ? await p.use((m) => m.predictBatch(raw)) : undefined;
      const sens = wanted.some((w) => w in SENSITIVITY_OUTPUTS)
        ? await p.use((m) => m.predictWithSensitivities(callerRows(raw, n, p), src.epsilon))
        : undefined;
      checkFinite(outName, power, raw);
      if (sens) for (const [w, field] of Object.entries(SENSITIVITY_OUTPUTS)) checkFinite(w, sens[field], raw);
      for (const w of wanted) {
        if (w === outName) {
          const shape = p.model.info.outputShape.length === 1 ? [n] : [n, 1];
          outputs.push({ name: w, datatype: 'FP32', shape, data: Array.from(power!) });
        } else {
          const field = SENSITIVITY_OUTPUTS[w as keyof typeof SENSITIVITY_OUTPUTS];
          outputs.push({ name: w, datatype: 'FP64', shape: [n, 1], data: Array.from(sens![field]) });
        }
      }
      requests.inc({ model, code: '200' });
      return {
        status: 200,
        body: {
          model_name: p.info.model,
          model_version: p.info.version,
          ...(body.id !== undefined ? { id: body.id } : {}),
          parameters: { processing_time_ms: performance.now() - started },
          outputs,
        },
      };
    } catch (err) {
      const status = inferErrorStatus(err);
      requests.inc({ model, code: String(status) });
      if (status >= 500) throw err; // a failure, not a bad request: the server logs it and answers 500 with the request id (not its message)
      return { status, body: { error: (err as Error).message } };
    }
  };

  return {
    label: 'this worker',
    serverName: 'wattflow',
    extensions: ['model_repository'],
    models: () =>
      src.served().map((s) => ({ name: s.predictor.info.model, version: s.predictor.info.version, platform: PLATFORM, listing: { routers: s.routers } })),
    ready: () => src.ready(),
    resolve: (name, version) => pick(name, version)?.info.version,
    metadata: (name, version) => metadata(pick(name, version)!),
    modelReady: () => src.ready(),
    infer,
    onInferAnswered: (name, status) => requests.inc({ model: label(name), code: String(status) }),
  };
}

/** Serves the worker's models on the app's V2 server (shared with any other provider on the app). */
export function registerKServeRoutes(app: FastifyInstance, src: KServeSource): void {
  registerV2Provider(app, kserveProvider(src));
}

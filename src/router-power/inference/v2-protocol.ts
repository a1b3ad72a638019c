/**
 * Pieces of the Open Inference Protocol (KServe V2 REST) shared by the providers of the V2
 * server (v2-server.ts: one per app, its routes dispatch to the provider serving the model) —
 * the inference workers' power models (kserve.ts) and the vehicle predictor
 * (src/vehicle/predictor/v2-endpoint.ts): the request's tensor decoding and validation (shape,
 * datatype, flat or nested `data`), the `outputs` selection, and the error answers
 * (`{"error": "..."}` with 400 for a bad request; 404 comes from v2-server.ts, 503 from the providers).
 */

/** One element of an infer request's `inputs`, as received (validated by the helpers below). */
export interface V2InferInput {
  name?: unknown;
  shape?: unknown;
  datatype?: unknown;
  data?: unknown;
  parameters?: unknown;
}

/** The largest finite float32. */
const FP32_MAX = 3.4028234663852886e38;

/** An infer request's tensor or body is invalid: the answer is 400 with this message. */
export class V2BadRequest extends Error {}

/** `data` flattened row-major (nested arrays allowed, as the protocol permits). */
export function flattenTensorData(data: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(data)) for (const d of data) flattenTensorData(d, out);
  else out.push(data);
  return out;
}

/** The input's shape: a non-empty array of non-negative integers. */
export function tensorShape(input: V2InferInput, what: string): number[] {
  const s = input.shape;
  if (!Array.isArray(s) || s.length === 0 || !s.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new V2BadRequest(`${what}: shape must be an array of non-negative integers, got ${JSON.stringify(s)}`);
  }
  return s as number[];
}

/**
 * The input's values: datatype FP32 (or FP64), exactly `expectCount` finite numbers; `check`
 * may refuse a value (returns the reason, appended to "value i").
 */
export function tensorNumbers(input: V2InferInput, expectCount: number, what: string, check?: (v: number) => string | undefined): number[] {
  const dt = input.datatype;
  if (dt !== 'FP32' && dt !== 'FP64') throw new V2BadRequest(`${what}: datatype must be FP32 (or FP64), got ${JSON.stringify(dt)}`);
  const values = flattenTensorData(input.data);
  if (values.length !== expectCount) throw new V2BadRequest(`${what}: shape says ${expectCount} values, data has ${values.length}`);
  return values.map((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new V2BadRequest(`${what}: value ${i} is not a finite number (${JSON.stringify(v)})`);
    if (dt === 'FP32' && Math.abs(v) > FP32_MAX) throw new V2BadRequest(`${what}: value ${i} (${v}) is outside the FP32 range (±${FP32_MAX}); send FP64 or a smaller value`);
    const problem = check?.(v);
    if (problem) throw new V2BadRequest(`${what}: value ${i} ${problem}`);
    return v;
  });
}

/** The request's non-empty `inputs` array (the body must be a JSON object). */
export function inferInputs(body: unknown): V2InferInput[] {
  if (!body || typeof body !== 'object') throw new V2BadRequest('the request body must be a JSON object with "inputs"');
  const inputs = (body as { inputs?: unknown }).inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) throw new V2BadRequest('"inputs" must be a non-empty array');
  inputs.forEach((x, i) => {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) throw new V2BadRequest(`inputs[${i}] must be an object {name, shape, datatype, data}, got ${JSON.stringify(x)}`);
  });
  return inputs as V2InferInput[];
}

/** The output names a request asks for (`outputs: [{name}]`), else `defaults`; unknown names are refused. */
export function requestedOutputs(body: { outputs?: unknown }, known: readonly string[], defaults: readonly string[]): string[] {
  if (body.outputs === undefined) return [...defaults];
  if (!Array.isArray(body.outputs)) throw new V2BadRequest('"outputs" must be an array of {"name": …}');
  const wanted = body.outputs.map((o: unknown) => String((o as { name?: unknown })?.name));
  for (const w of wanted) if (!known.includes(w)) throw new V2BadRequest(`unknown output "${w}" (outputs: ${known.join(', ')})`);
  return wanted;
}

/** HTTP status of an error thrown while answering an infer request: 400 for a bad request, else 500. */
export function inferErrorStatus(err: unknown): 400 | 500 {
  return err instanceof V2BadRequest || (err as { code?: string }).code === 'BAD_INPUT' ? 400 : 500;
}

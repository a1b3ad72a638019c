/**
 * The vehicle predictor's Open Inference Protocol (KServe V2) endpoint: metadata, a request
 * shaped as the KServe docs show scores exactly as the predictor's own path (and writes
 * nothing), the forwarder's V2 request carries everything the sinks write (same points as the
 * JSON path), a V2 push through a listening predictor keeps the latest prediction, and bad
 * requests are answered 400/404 with the reason.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import type { AlignedVector } from '../../src/vehicle/align/vector.js';
import { buildVehiclePredictor } from '../../src/vehicle/components.js';
import { httpTransport, v2RequestOf } from '../../src/vehicle/ingest/predictor-transport.js';
import { IsolationForestModel } from '../../src/vehicle/model/anomaly-model.js';
import { trainVehicleModel, vectorsFromLog } from '../../src/vehicle/model/train.js';
import { predictionPoints, type PredictionSink, type Scored } from '../../src/vehicle/predictor/sinks.js';
import { decodeV2Request, NO_SCORE } from '../../src/vehicle/predictor/v2-endpoint.js';
import { defaultCatalog } from '../../src/vehicle/catalog/signals.js';
import { readFileSync } from 'node:fs';
import { DS1, DS2, vector, vehicleCfg } from './helpers.js';

const logger = silentLogger();
const model = new IsolationForestModel(trainVehicleModel({ files: [DS1, DS2], trees: 20 }).artifact);

class CaptureSink implements PredictionSink {
  readonly name = 'capture';
  items: Scored[] = [];
  async write(items: readonly Scored[]): Promise<void> {
    this.items.push(...items);
  }
  async close(): Promise<void> {}
}

/** Real vectors from a log (feature values, missing and non-feature signals, flags). */
function logVectors(file: string, vehicleId: string): AlignedVector[] {
  return vectorsFromLog(readFileSync(file, 'utf8'), file, {
    alignment: { cadenceMs: 1000, maxAgeMs: 5000 },
    catalog: defaultCatalog,
    baseMs: Date.UTC(2025, 0, 1),
    vehicleId,
  }).vectors;
}

const post = async (url: string, body: unknown) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

const noSourceTs = (v: AlignedVector) => ({ ...v, sourceTs: {} });

describe('vehicle predictor: Open Inference Protocol (KServe V2)', () => {
  const sink = new CaptureSink();
  let app: RunningApp;
  let base: string;
  const F = model.features.length;
  before(async () => {
    const pred = buildVehiclePredictor({ v: vehicleCfg(), mode: 'push', model, sink, logger });
    app = await startComponents([pred.component], { host: '127.0.0.1', port: 0, logger });
    base = `${app.url}/v2/models/${model.name}`;
  });
  after(() => app.stop());

  test('health and metadata: FP32 [N, F] input with the features in model order; score FP32 [N], label BYTES [N]', async () => {
    assert.deepEqual(await (await fetch(`${app.url}/v2/health/ready`)).json(), { ready: true });
    const meta = (await (await fetch(base)).json()) as any;
    assert.equal(meta.name, model.name);
    assert.deepEqual(meta.versions, [model.version]);
    assert.deepEqual(meta.inputs, [{ name: 'features', datatype: 'FP32', shape: [-1, F] }]);
    assert.deepEqual(meta.outputs, [
      { name: 'score', datatype: 'FP32', shape: [-1] },
      { name: 'label', datatype: 'BYTES', shape: [-1] },
    ]);
    assert.deepEqual(meta.parameters.features, [...model.features]);
    assert.equal(meta.parameters.threshold, model.threshold);
    assert.equal((await fetch(`${base}/versions/${model.version}/ready`)).status, 200);
  });

  test('a request shaped as the KServe docs show scores as the predictor does, and writes nothing', async () => {
    const vectors = logVectors(DS2, 'car-v2').filter((v) => model.features.every((f) => v.values[f] !== null && v.values[f] !== undefined)).slice(0, 5);
    assert.equal(vectors.length, 5);
    const rows = vectors.map((v) => model.features.map((f) => v.values[f] as number));
    const r = await post(`${base}/infer`, { id: 'req-1', inputs: [{ name: 'features', shape: [5, F], datatype: 'FP32', data: rows }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.id, 'req-1');
    assert.equal(r.body.model_name, model.name);
    assert.equal(r.body.model_version, model.version);
    const byName = Object.fromEntries((r.body.outputs as any[]).map((o) => [o.name, o]));
    assert.deepEqual(byName.score.shape, [5]);
    assert.equal(byName.score.datatype, 'FP32');
    assert.equal(byName.label.datatype, 'BYTES');
    // same as the model on the same values (flags and non-feature signals aside, which only change the label)
    const own = vectors.map((v) => model.score({ ...v, flags: [], outOfRange: [] }));
    assert.deepEqual(byName.score.data, own.map((s) => Math.fround(s.score ?? NO_SCORE))); // FP32 as declared
    assert.deepEqual(byName.label.data, own.map((s) => s.label));
    // flat data gives the same answer
    const flat = await post(`${base}/versions/${model.version}/infer`, { inputs: [{ name: 'features', shape: [5, F], datatype: 'FP64', data: rows.flat() }], outputs: [{ name: 'score' }] });
    assert.equal(flat.status, 200);
    assert.deepEqual(flat.body.outputs, [byName.score]);
    assert.equal(flat.body.parameters.written, false);
    assert.equal(sink.items.length, 0);
  });

  test('the forwarder\'s V2 request carries the whole vector: the sink writes the same points as the JSON path', async () => {
    const vectors = logVectors(DS1, 'car-a').slice(0, 40);
    assert.ok(vectors.some((v) => v.missing.length > 0 || Object.keys(v.values).some((k) => !model.features.includes(k))), 'vectors with missing or non-feature signals');
    const decoded = decodeV2Request(JSON.parse(JSON.stringify(v2RequestOf(vectors, model.features))), model.features);
    assert.equal(decoded.write, true);
    const strip = (v: AlignedVector) => ({ ...noSourceTs(v), values: Object.fromEntries(Object.entries(v.values).sort(([a], [b]) => a.localeCompare(b))), missing: [...v.missing].sort(), flags: v.flags });
    assert.deepEqual(decoded.vectors.map(strip), vectors.map(strip));
    sink.items = [];
    const r = await post(`${base}/infer`, v2RequestOf(vectors, model.features));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const viaV2 = sink.items.splice(0);
    const j = await post(`${app.url}/v1/vehicle/predict`, { vectors });
    assert.equal(j.status, 200);
    const viaJson = sink.items.splice(0);
    const points = (items: Scored[]) => items.flatMap((i) => predictionPoints({ vector: i.vector, prediction: { ...i.prediction, predictedAt: 0 } }));
    const sortFields = (ps: ReturnType<typeof points>) => ps.map((p) => ({ ...p, fields: Object.fromEntries(Object.entries(p.fields).sort(([a], [b]) => a.localeCompare(b))) }));
    assert.deepEqual(sortFields(points(viaV2)), sortFields(points(viaJson)));
    const preds = (r.body.parameters.predictions as any[]).map((p) => ({ ...p, predictedAt: 0 }));
    assert.deepEqual(preds, (j.body.predictions as any[]).map((p) => ({ ...p, predictedAt: 0 })));
  });

  test('httpTransport (V2 by default) returns the predictions; json protocol still works', async () => {
    const vs = [vector({ vehicle_speed: 50, engine_speed: 1500 }, { vehicleId: 'car-t', seq: 1 })];
    const v2 = await httpTransport(app.url, 5000).send(vs);
    const json = await httpTransport(app.url, 5000, { protocol: 'json' }).send(vs);
    assert.equal(v2.length, 1);
    assert.deepEqual({ ...v2[0], predictedAt: 0 }, { ...json[0], predictedAt: 0 });
    await assert.rejects(httpTransport(app.url, 5000, { model: 'nope' }).send(vs), /model nope: .*not served/);
  });

  test('bad requests: 400 with the reason (shape, datatype, input, values, parameters, outputs); 404 for an unknown model or version', async () => {
    sink.items = [];
    const ok = { name: 'features', shape: [1, F], datatype: 'FP32', data: new Array(F).fill(1) };
    const cases: Array<[unknown, RegExp]> = [
      [{ inputs: [{ ...ok, shape: [1, F + 1] }] }, new RegExp(`shape must be \\[N, ${F}\\]`)],
      [{ inputs: [{ ...ok, shape: [2, F] }] }, /shape says \d+ values, data has \d+/],
      [{ inputs: [{ ...ok, datatype: 'INT32' }] }, /datatype must be FP32/],
      [{ inputs: [{ ...ok, name: 'input' }] }, /unknown input "input": the model's input is "features"/],
      [{ inputs: [{ ...ok, data: [...ok.data.slice(1), 'x'] }] }, /is not a finite number/],
      [{ inputs: [] }, /"inputs" must be a non-empty array/],
      [{ inputs: [ok], parameters: { vehicle_id: 'car 1', timestamp: 1 } }, /parameters.vehicle_id must be a vehicle id/],
      [{ inputs: [ok], parameters: { vehicle_id: 'car-1' } }, /parameters.timestamp .* is required/],
      [{ inputs: [ok], parameters: { vehicle_id: ['a', 'b'], timestamp: 1 } }, /parameters.vehicle_id: 2 entries for 1 rows/],
      [{ inputs: [ok], outputs: [{ name: 'power' }] }, /unknown output "power" \(outputs: score, label\)/],
    ];
    for (const [body, reason] of cases) {
      const r = await post(`${base}/infer`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error, reason);
    }
    const unknown = await post(`${app.url}/v2/models/nope/infer`, { inputs: [ok] });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error, new RegExp(`model "nope" is not served .*serving: ${model.name}@${model.version}`));
    const version = await post(`${base}/versions/000000/infer`, { inputs: [ok] });
    assert.equal(version.status, 404);
    assert.equal((await fetch(`${app.url}/v2/models/nope`)).status, 404);
    assert.equal(sink.items.length, 0);
  });
});

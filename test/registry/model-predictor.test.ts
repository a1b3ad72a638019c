/**
 * ModelPredictor: predictions equal OnnxPowerModel.predictWithSensitivities (ε from the
 * configuration), concurrent callers share one runtime call (micro-batching), a caller never
 * waits much longer than the configured delay, batches respect maxBatchRows, and a retired
 * model finishes its in-flight calls before its session is released.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OnnxPowerModel } from '../../src/ml/runtime/onnx-power-model.js';
import { ModelPredictor } from '../../src/router-power/inference/model-predictor.js';
import { trained } from './helpers.js';

async function predictor(opts: { maxDelayMs?: number; maxBatchRows?: number; epsilon?: number } = {}) {
  const a = await trained();
  const p = await ModelPredictor.load(a.onnx, a.metadata, opts);
  const calls: number[] = [];
  const orig = p.model.predictWithSensitivities.bind(p.model);
  p.model.predictWithSensitivities = async (rows, eps, o) => {
    calls.push(rows.length);
    return orig(rows, eps, o);
  };
  return { p, calls, onnx: a.onnx, metadata: a.metadata };
}

const rows = (n: number, off = 0) => Array.from({ length: n }, (_, i) => ({ occupation: ((i + off) % 10) / 10, packetLength: 64 + ((i + off) % 15) * 100 }));

test('predictions equal predictWithSensitivities with the configured epsilon', async () => {
  const { p, onnx, metadata } = await predictor({ epsilon: 0.02 });
  const ref = await OnnxPowerModel.load(onnx, metadata);
  const input = rows(20);
  const got = await p.predict(input);
  const want = await ref.predictWithSensitivities(input.map((r) => ({ PacketSize_B: r.packetLength, Throughput_Percentage: r.occupation })), 0.02);
  got.forEach((g, i) => {
    assert.equal(g.power, want.power[i]);
    assert.equal(g.dPowerDOccupation, want.dPower_dThroughput[i]);
    assert.equal(g.dPowerDPacketLength, want.dPower_dPacketSize[i]);
  });
  assert.deepEqual(p.info, { model_type: 'polynomial', model: 'm', version: '1', router_type: 'huawei' }); // the model's router type (ml_metadata)
  await ref.close();
  await p.close();
});

test('concurrent callers share one runtime call and each gets its own rows back', async () => {
  const { p, calls } = await predictor();
  const inputs = Array.from({ length: 10 }, (_, k) => rows(k + 1, k * 7));
  const results = await Promise.all(inputs.map((r) => p.predict(r)));
  assert.deepEqual(calls, [55], 'one call for the 10 callers of the same turn');
  const single = await p.predict(inputs[6]!);
  assert.deepEqual(results[6], single, 'same values as a call on its own');
  await p.close();
});

test('rows arriving while a call runs go together in the next one, within the delay bound', async () => {
  const { p, calls } = await predictor({ maxDelayMs: 2 });
  const first = p.predict(rows(500));
  await new Promise((r) => setImmediate(r)); // the first call is running now
  const t0 = performance.now();
  const later = await Promise.all([p.predict(rows(3)), p.predict(rows(4)), p.predict(rows(5))]);
  const waited = performance.now() - t0;
  await first;
  assert.equal(later.length, 3);
  assert.ok(calls.length <= 3, `at most one call for the first batch and one or two for the late rows, got ${calls}`);
  assert.ok(calls.slice(1).reduce((a, b) => a + b, 0) === 12);
  assert.ok(waited < 250, `late callers answered in ${waited.toFixed(1)} ms`);
  await p.close();
});

test('a micro-batch never exceeds maxBatchRows (a larger single call runs alone)', async () => {
  const { p, calls } = await predictor({ maxBatchRows: 10 });
  await Promise.all([p.predict(rows(6)), p.predict(rows(6)), p.predict(rows(3)), p.predict(rows(25))]);
  assert.ok(calls.every((n, i) => n <= 10 || calls.length - 1 === i || n === 25), `calls ${calls}`);
  assert.equal(calls.reduce((a, b) => a + b, 0), 40);
  await p.close();
});

test('retire waits for in-flight calls, then releases the session', async () => {
  const { p } = await predictor();
  const pending = p.predict(rows(100));
  p.retire();
  const out = await pending;
  assert.equal(out.length, 100);
  await new Promise((r) => setTimeout(r, 10));
  await assert.rejects(p.predict(rows(1)), /unloaded/);
});

/**
 * Random forest and MLP training: held-out R² on a smooth nonlinear two-feature target with
 * noise, ONNX (onnxruntime) vs in-process equivalence, seeded determinism (same ONNX sha256),
 * and structural checks of the exported graphs.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { createRng, r2, type Dataset } from '../../src/ml/dataset/index.js';
import { decodeModelSummary, sha256Hex } from '../../src/ml/onnx/index.js';
import { trainModel, type MlpModel, type RandomForestModel } from '../../src/ml/train/index.js';

const FEATURES = ['PacketSize_B', 'Throughput_Percentage'];

/** Smooth nonlinear target, noise σ = 2 W. */
function smoothData(rows: number, seed: number): Dataset {
  const rng = createRng(seed);
  const X = new Float64Array(rows * 2);
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const s = 64 + rng.next() * 1436;
    const x = rng.next();
    const u = s / 1500;
    X[r * 2] = s;
    X[r * 2 + 1] = x;
    y[r] = 700 + 40 * Math.sin(3 * x) + 25 * u * u - 10 * x * u + 2 * rng.normal();
  }
  return { featureNames: FEATURES, targetName: 'power_W', rows, X, y };
}

async function runOnnx(bytes: Uint8Array, X: Float64Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const n = X.length / 2;
    const res = await s.run({ input: new ort.Tensor('float32', Float32Array.from(X), [n, 2]) });
    assert.deepEqual(res.output!.dims, [n, 1]);
    return res.output!.data as Float32Array;
  } finally {
    await s.release();
  }
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.abs(b[i]!));
  return m;
}

const train = smoothData(2500, 1);
const test_ = smoothData(600, 2);

describe('random forest', () => {
  let rf: RandomForestModel;
  before(() => {
    rf = trainModel({ modelType: 'rf', X: train.X, y: train.y, featureNames: FEATURES, seed: 42 });
  });

  test('defaults: 50 trees, R² >= 0.95 on held-out data', () => {
    assert.equal(rf.trees.length, 50);
    assert.equal(rf.hyper.nEstimators, 50);
    const score = r2(test_.y, rf.predict(test_.X));
    assert.ok(score >= 0.95, `rf held-out R² ${score}`);
  });

  test('onnxruntime TreeEnsembleRegressor equals in-process predictions within 1e-5 relative', async () => {
    const bytes = rf.toOnnx();
    const s = decodeModelSummary(bytes);
    assert.deepEqual(s.nodeOpTypes, ['TreeEnsembleRegressor']);
    assert.deepEqual(s.opsets, [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
    ]);
    assert.equal(s.irVersion, 8);
    // Include training rows: they sit exactly on split neighbourhoods, where float32 rounding matters.
    const rel = maxRelDiff(await runOnnx(bytes, test_.X), rf.predict(test_.X));
    assert.ok(rel <= 1e-5, `max relative difference ${rel}`);
    const relTrain = maxRelDiff(await runOnnx(bytes, train.X), rf.predict(train.X));
    assert.ok(relTrain <= 1e-5, `max relative difference on training rows ${relTrain}`);
  });

  test('fixed seed gives the same ONNX sha256; another seed does not', () => {
    const small = { X: train.X.subarray(0, 1200), y: train.y.subarray(0, 600), featureNames: FEATURES };
    const hyper = { nEstimators: 10 };
    const a = trainModel({ modelType: 'rf', ...small, seed: 7, hyper });
    const b = trainModel({ modelType: 'rf', ...small, seed: 7, hyper });
    const c = trainModel({ modelType: 'rf', ...small, seed: 8, hyper });
    assert.equal(sha256Hex(a.toOnnx()), sha256Hex(b.toOnnx()));
    assert.notEqual(sha256Hex(a.toOnnx()), sha256Hex(c.toOnnx()));
  });

  test('hyper-parameters are honoured and validated', () => {
    const m = trainModel({
      modelType: 'rf',
      X: train.X.subarray(0, 1000),
      y: train.y.subarray(0, 500),
      featureNames: FEATURES,
      hyper: { nEstimators: 3, maxDepth: 2, minSamplesLeaf: 10, maxFeatures: 1, bootstrap: false },
    });
    assert.equal(m.trees.length, 3);
    for (const t of m.trees) assert.ok(t.feature.length <= 7, 'depth 2 → at most 7 nodes');
    assert.throws(() => trainModel({ modelType: 'rf', X: train.X, y: train.y, featureNames: FEATURES, hyper: { nEstimators: 0 } }), RangeError);
    // Random feature subsets (one of two features per split) still learn the target.
    const sub = trainModel({ modelType: 'rf', X: train.X, y: train.y, featureNames: FEATURES, seed: 5, hyper: { nEstimators: 20, maxFeatures: 0.5 } });
    assert.equal(sub.hyper.maxFeatures, 0.5);
    assert.ok(r2(test_.y, sub.predict(test_.X)) > 0.9);
  });
});

describe('MLP', () => {
  let mlp: MlpModel;
  before(() => {
    mlp = trainModel({ modelType: 'mlp', X: train.X, y: train.y, featureNames: FEATURES, seed: 3, hyper: { epochs: 80 } });
  });

  test('default architecture 64-32-16-8 with ReLU reaches R² >= 0.95 on held-out data', () => {
    assert.deepEqual(
      mlp.layers.map((l) => [l.inputs, l.outputs]),
      [
        [2, 64],
        [64, 32],
        [32, 16],
        [16, 8],
        [8, 1],
      ],
    );
    const score = r2(test_.y, mlp.predict(test_.X));
    assert.ok(score >= 0.95, `mlp held-out R² ${score} after ${mlp.training.epochsRun} epochs`);
  });

  test('graph takes raw features and outputs watts: MatMul/Add/Relu only, equal to in-process within 1e-5', async () => {
    const bytes = mlp.toOnnx();
    const ops = decodeModelSummary(bytes).nodeOpTypes;
    assert.deepEqual([...new Set(ops)].sort(), ['Add', 'MatMul', 'Relu']);
    assert.equal(ops.filter((o) => o === 'Relu').length, 4);
    const onnx = await runOnnx(bytes, test_.X);
    const rel = maxRelDiff(onnx, mlp.predict(test_.X));
    assert.ok(rel <= 1e-5, `max relative difference ${rel}`);
    // Raw features in, watts out: predictions are in the target's range, no external scaling.
    assert.ok(Math.abs(onnx[0]! - test_.y[0]!) < 10);
  });

  test('fixed seed gives the same ONNX sha256; another seed does not', () => {
    const small = { X: train.X.subarray(0, 800), y: train.y.subarray(0, 400), featureNames: FEATURES };
    const hyper = { epochs: 5, hiddenLayers: [16, 8] };
    const a = trainModel({ modelType: 'mlp', ...small, seed: 1, hyper });
    const b = trainModel({ modelType: 'mlp', ...small, seed: 1, hyper });
    const c = trainModel({ modelType: 'mlp', ...small, seed: 2, hyper });
    assert.equal(sha256Hex(a.toOnnx()), sha256Hex(b.toOnnx()));
    assert.notEqual(sha256Hex(a.toOnnx()), sha256Hex(c.toOnnx()));
    assert.equal(a.training.epochsRun, 5);
  });

  test('invalid hyper-parameters are rejected', () => {
    const base = { modelType: 'mlp' as const, X: train.X, y: train.y, featureNames: FEATURES };
    assert.throws(() => trainModel({ ...base, hyper: { hiddenLayers: [] } }), RangeError);
    assert.throws(() => trainModel({ ...base, hyper: { learningRate: 0 } }), RangeError);
    assert.throws(() => trainModel({ ...base, hyper: { batchSize: 1.5 } }), RangeError);
  });
});

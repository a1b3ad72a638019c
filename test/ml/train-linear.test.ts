/**
 * Linear / polynomial least squares: coefficients against an independent normal-equations solve
 * (Gaussian elimination written here), exact recovery on exactly-polynomial data, ONNX export
 * equivalence with onnxruntime, determinism.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { createRng, generateSyntheticPower } from '../../src/ml/dataset/index.js';
import { sha256Hex } from '../../src/ml/onnx/index.js';
import { polynomialTerms, trainModel } from '../../src/ml/train/index.js';

const FEATURES = ['PacketSize_B', 'Throughput_Percentage'];

async function runOnnx(bytes: Uint8Array, X: Float64Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const n = X.length / 2;
    const res = await s.run({ input: new ort.Tensor('float32', Float32Array.from(X), [n, 2]) });
    const out = res.output!;
    assert.deepEqual(out.dims, [n, 1]);
    return out.data as Float32Array;
  } finally {
    await s.release();
  }
}

function assertRelClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const d = Math.abs(actual[i]! - e);
    assert.ok(d <= rel * Math.max(Math.abs(e), 1e-12), `${what}[${i}]: ${actual[i]} vs ${e} (rel ${d / Math.abs(e)})`);
  }
}

/** Independent OLS: equilibrated normal equations solved by Gaussian elimination with partial pivoting. */
function normalEquations(X: Float64Array, y: Float64Array, terms: number[][]): number[] {
  const n = y.length;
  const p = terms.length + 1;
  const row = (r: number): number[] => [
    1,
    ...terms.map((t) => X[r * 2]! ** t[0]! * X[r * 2 + 1]! ** t[1]!),
  ];
  const scale = new Array<number>(p).fill(0);
  for (let r = 0; r < n; r++) row(r).forEach((v, c) => (scale[c] = Math.max(scale[c]!, Math.abs(v))));
  const A = Array.from({ length: p }, () => new Array<number>(p + 1).fill(0));
  for (let r = 0; r < n; r++) {
    const a = row(r).map((v, c) => v / scale[c]!);
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < p; j++) A[i]![j]! += a[i]! * a[j]!;
      A[i]![p]! += a[i]! * y[r]!;
    }
  }
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[piv]![c]!)) piv = r;
    [A[c], A[piv]] = [A[piv]!, A[c]!];
    for (let r = 0; r < p; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / A[c]![c]!;
      for (let k = c; k <= p; k++) A[r]![k]! -= f * A[c]![k]!;
    }
  }
  return A.map((rowA, c) => rowA[p]! / rowA[c]! / scale[c]!);
}

function exactPolynomialData(n: number, seed: number) {
  const rng = createRng(seed);
  const X = new Float64Array(n * 2);
  const y = new Float64Array(n);
  // intercept, s, x, s², s·x, x²  (scikit-learn PolynomialFeatures order)
  const coef = [700, -0.0008, 3, 1e-6, -0.002, 20];
  for (let r = 0; r < n; r++) {
    const s = 64 + rng.next() * 1436;
    const x = rng.next();
    X[r * 2] = s;
    X[r * 2 + 1] = x;
    y[r] = coef[0]! + coef[1]! * s + coef[2]! * x + coef[3]! * s * s + coef[4]! * s * x + coef[5]! * x * x;
  }
  return { X, y, coef };
}

describe('linear and polynomial least squares', () => {
  test('polynomial terms follow scikit-learn order', () => {
    assert.deepEqual(polynomialTerms(2, 2), [
      [1, 0],
      [0, 1],
      [2, 0],
      [1, 1],
      [0, 2],
    ]);
    assert.equal(polynomialTerms(2, 3).length, 9);
  });

  test('degree-2 polynomial recovers the generating coefficients on exactly-polynomial data', () => {
    const { X, y, coef } = exactPolynomialData(500, 11);
    const m = trainModel({ modelType: 'polynomial', X, y, featureNames: FEATURES });
    const got = [m.intercept, ...m.coefficients];
    got.forEach((g, i) => assert.ok(Math.abs(g - coef[i]!) <= 1e-9 * Math.max(Math.abs(coef[i]!), 1e-3), `coef ${i}: ${g} vs ${coef[i]}`));
    assert.deepEqual(
      m.namedCoefficients().map((c) => c.term),
      ['1', 'PacketSize_B', 'Throughput_Percentage', 'PacketSize_B^2', 'PacketSize_B*Throughput_Percentage', 'Throughput_Percentage^2'],
    );
  });

  test('linear model recovers an exact plane and accepts rows as arrays', () => {
    const rows = [
      [64, 0.1],
      [1500, 0.2],
      [700, 0.9],
      [300, 0.5],
    ];
    const y = rows.map(([s, x]) => 650 - 0.0008 * s! + 12 * x!);
    const m = trainModel({ modelType: 'linear', X: rows, y, featureNames: FEATURES });
    assert.ok(Math.abs(m.intercept - 650) < 1e-9);
    assert.ok(Math.abs(m.coefficients[0]! + 0.0008) < 1e-12);
    assert.ok(Math.abs(m.coefficients[1]! - 12) < 1e-9);
    assertRelClose(m.predict([[1000, 0.3]]), [650 - 0.8 + 3.6], 1e-12, 'predict');
  });

  test('on noisy data the coefficients equal the independent normal-equations solution', () => {
    const ds = generateSyntheticPower({ rows: 1500, seed: 5 });
    for (const [modelType, degree] of [
      ['linear', 1],
      ['polynomial', 2],
    ] as const) {
      const m = trainModel({ modelType, X: ds.X, y: ds.y, featureNames: FEATURES });
      const expected = normalEquations(ds.X, ds.y, polynomialTerms(2, degree));
      assertRelClose([m.intercept, ...m.coefficients], expected, 1e-6, modelType);
    }
  });

  test('exported ONNX (onnxruntime) equals in-process predictions within 1e-5 relative', async () => {
    const ds = generateSyntheticPower({ rows: 800, seed: 9 });
    for (const modelType of ['linear', 'polynomial'] as const) {
      const m = trainModel({ modelType, X: ds.X, y: ds.y, featureNames: FEATURES });
      const onnx = await runOnnx(m.toOnnx(), ds.X);
      assertRelClose(onnx, m.predict(ds.X), 1e-5, modelType);
    }
    const cubic = trainModel({ modelType: 'polynomial', X: ds.X, y: ds.y, featureNames: FEATURES, hyper: { degree: 3 } });
    assertRelClose(await runOnnx(cubic.toOnnx(), ds.X), cubic.predict(ds.X), 1e-5, 'cubic');
  });

  test('same data gives byte-identical ONNX; no-intercept option works', () => {
    const ds = generateSyntheticPower({ rows: 300, seed: 2 });
    const a = trainModel({ modelType: 'polynomial', X: ds.X, y: ds.y, featureNames: FEATURES });
    const b = trainModel({ modelType: 'polynomial', X: ds.X, y: ds.y, featureNames: FEATURES });
    assert.equal(sha256Hex(a.toOnnx()), sha256Hex(b.toOnnx()));
    const c = trainModel({ modelType: 'linear', X: ds.X, y: ds.y, featureNames: FEATURES, hyper: { fitIntercept: false } });
    assert.equal(c.intercept, 0);
    assert.deepEqual(c.hyper, { fitIntercept: false });
  });

  test('rank-deficient data and bad degree are rejected', () => {
    const X = [
      [100, 0.5],
      [200, 0.5],
      [300, 0.5],
      [400, 0.5],
    ];
    assert.throws(() => trainModel({ modelType: 'linear', X, y: [1, 2, 3, 4], featureNames: FEATURES }), /rank deficient/);
    assert.throws(
      () => trainModel({ modelType: 'polynomial', X, y: [1, 2, 3, 4], featureNames: FEATURES, hyper: { degree: 7 } }),
      /degree/,
    );
  });
});

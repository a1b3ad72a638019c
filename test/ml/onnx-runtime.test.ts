/**
 * OnnxPowerModel: batched prediction on one session, feature order and units taken from the
 * metadata, sha256 / feature checks, and finite-difference sensitivities in one runtime call.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRng } from '../../src/ml/dataset/index.js';
import {
  DataType,
  encodeModel,
  metadataProps,
  node,
  OnnxModelError,
  sha256Hex,
  tensorValueInfo,
  type ModelMetadata,
  type OnnxModelErrorCode,
  type TensorProto,
} from '../../src/ml/onnx/index.js';
import { OnnxPowerModel } from '../../src/ml/runtime/index.js';
import { trainModel } from '../../src/ml/train/index.js';

const FEATURES = ['PacketSize_B', 'Throughput_Percentage'] as const;
// Exact quadratic: P = 700 − 0.0008 s + 3 x + 1e-6 s² − 0.002 s x + 20 x²
const P = (s: number, x: number) => 700 - 0.0008 * s + 3 * x + 1e-6 * s * s - 0.002 * s * x + 20 * x * x;
const dPdx = (s: number, x: number) => 3 - 0.002 * s + 40 * x;
const dPds = (s: number, x: number) => -0.0008 + 2e-6 * s - 0.002 * x;

function quadData(n: number, order: readonly string[] = FEATURES, occupationScale = 1) {
  const rng = createRng(4);
  const X = new Float64Array(n * 2);
  const y = new Float64Array(n);
  const sCol = order.indexOf('PacketSize_B');
  for (let r = 0; r < n; r++) {
    const s = 64 + rng.next() * 1436;
    const x = rng.next();
    X[r * 2 + sCol] = s;
    X[r * 2 + (1 - sCol)] = x * occupationScale;
    y[r] = P(s, x);
  }
  return { X, y };
}

function baseMeta(features: Array<{ name: string; unit: string }>): Omit<ModelMetadata, 'created_at' | 'sha256'> {
  return {
    schema_version: 1,
    name: 'quad',
    version: '1',
    router_type: 'test-router',
    model_type: 'polynomial',
    features,
    target: { name: 'power', unit: 'W' },
  };
}

const ROWS = [
  { PacketSize_B: 64, Throughput_Percentage: 0.05 },
  { PacketSize_B: 576, Throughput_Percentage: 0.5 },
  { PacketSize_B: 1500, Throughput_Percentage: 0.95 },
  { PacketSize_B: 900, Throughput_Percentage: 0.3 },
];

async function expectCode(p: Promise<unknown>, code: OnnxModelErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof OnnxModelError && err.code === code);
}

describe('OnnxPowerModel', () => {
  const { X, y } = quadData(400);
  const poly = trainModel({ modelType: 'polynomial', X, y, featureNames: FEATURES });
  const meta = baseMeta([
    { name: 'PacketSize_B', unit: 'bytes' },
    { name: 'Throughput_Percentage', unit: 'fraction' },
  ]);
  const bytes = poly.toOnnx({ metadataProps: metadataProps(meta) });

  test('predictBatch and predictRows match the in-process model; empty batch needs no run', async () => {
    const m = await OnnxPowerModel.load(bytes, { ...meta, created_at: new Date(0).toISOString(), sha256: sha256Hex(bytes) });
    try {
      assert.deepEqual(m.featureOrder, ['PacketSize_B', 'Throughput_Percentage']);
      const flat = Float32Array.from(ROWS.flatMap((r) => [r.PacketSize_B, r.Throughput_Percentage]));
      const expected = poly.predict(flat);
      const got = await m.predictBatch(flat);
      const gotRows = await m.predictRows(ROWS);
      for (let i = 0; i < ROWS.length; i++) {
        assert.ok(Math.abs(got[i]! - expected[i]!) <= 1e-5 * expected[i]!);
        assert.equal(gotRows[i], got[i]);
        assert.ok(Math.abs(got[i]! - P(ROWS[i]!.PacketSize_B, ROWS[i]!.Throughput_Percentage)) < 1e-3);
      }
      assert.equal((await m.predictBatch(new Float32Array(0))).length, 0);
      await expectCode(m.predictBatch(new Float32Array(3)), 'BAD_INPUT');
      await expectCode(m.predictRows([{ PacketSize_B: Number.NaN, Throughput_Percentage: 0 }]), 'BAD_INPUT');
      // Concurrent calls on the same session.
      const many = await Promise.all(Array.from({ length: 8 }, () => m.predictBatch(flat)));
      for (const r of many) assert.deepEqual([...r], [...got]);
    } finally {
      await m.close();
    }
    await expectCode(m.predictBatch(new Float32Array(2)), 'BAD_INPUT');
  });

  test('forward sensitivities: 3 rows per input, one runtime call, match analytic derivatives', async () => {
    const m = await OnnxPowerModel.load(bytes);
    try {
      let calls = 0;
      let batchLen = 0;
      const orig = m.predictBatch.bind(m);
      m.predictBatch = async (f: Float32Array) => {
        calls++;
        batchLen = f.length;
        return orig(f);
      };
      const eps = 0.01;
      const r = await m.predictWithSensitivities(ROWS, eps);
      assert.equal(calls, 1);
      assert.equal(batchLen, ROWS.length * 3 * 2);
      assert.equal(r.scheme, 'forward');
      assert.deepEqual(r.steps, { Throughput_Percentage: 0.01, PacketSize_B: 1 });
      ROWS.forEach(({ PacketSize_B: s, Throughput_Percentage: x }, i) => {
        assert.ok(Math.abs(r.power[i]! - P(s, x)) < 1e-3);
        // Forward difference of a quadratic: exact derivative + (curvature × step) / 2.
        const fx = dPdx(s, x) + 20 * eps;
        assert.ok(Math.abs(r.dPower_dThroughput[i]! - fx) < 0.02, `dP/dx row ${i}: ${r.dPower_dThroughput[i]} vs ${fx}`);
        const fs = dPds(s, x) + 1e-6;
        assert.ok(Math.abs(r.dPower_dPacketSize[i]! - fs) < 2e-4, `dP/ds row ${i}: ${r.dPower_dPacketSize[i]} vs ${fs}`);
      });
    } finally {
      await m.close();
    }
  });

  test('central sensitivities: 5 rows per input, no curvature bias', async () => {
    const m = await OnnxPowerModel.load(bytes);
    try {
      const r = await m.predictWithSensitivities(ROWS, 0.02, { scheme: 'central', packetStepB: 8 });
      ROWS.forEach(({ PacketSize_B: s, Throughput_Percentage: x }, i) => {
        assert.ok(Math.abs(r.dPower_dThroughput[i]! - dPdx(s, x)) < 0.005);
        assert.ok(Math.abs(r.dPower_dPacketSize[i]! - dPds(s, x)) < 2e-5);
      });
      await expectCode(m.predictWithSensitivities(ROWS, 0), 'BAD_INPUT');
    } finally {
      await m.close();
    }
  });

  test('feature order and percent unit come from metadata (explicit or embedded in the ONNX)', async () => {
    const swapped = ['Throughput_Percentage', 'PacketSize_B'] as const;
    const d = quadData(400, swapped, 100);
    const model = trainModel({ modelType: 'polynomial', X: d.X, y: d.y, featureNames: swapped });
    const smeta = baseMeta([
      { name: 'Throughput_Percentage', unit: 'percent' },
      { name: 'PacketSize_B', unit: 'bytes' },
    ]);
    const b = model.toOnnx({ metadataProps: metadataProps(smeta) });
    for (const m of [await OnnxPowerModel.load(b), await OnnxPowerModel.load(b, smeta)]) {
      try {
        assert.deepEqual(m.featureOrder, ['Throughput_Percentage', 'PacketSize_B']);
        const out = await m.predictRows(ROWS);
        ROWS.forEach(({ PacketSize_B: s, Throughput_Percentage: x }, i) => assert.ok(Math.abs(out[i]! - P(s, x)) < 2e-3));
        const sens = await m.predictWithSensitivities(ROWS, 0.01, { scheme: 'central' });
        ROWS.forEach(({ PacketSize_B: s, Throughput_Percentage: x }, i) => {
          assert.ok(Math.abs(sens.dPower_dThroughput[i]! - dPdx(s, x)) < 0.01, 'derivative per unit fraction');
        });
      } finally {
        await m.close();
      }
    }
  });

  test('a foreign model without metadata assumes [PacketSize_B, Throughput_Percentage]', async () => {
    const m = await OnnxPowerModel.load(poly.toOnnx());
    try {
      assert.deepEqual(m.featureOrder, ['PacketSize_B', 'Throughput_Percentage']);
      assert.equal(m.metadata.target?.unit, 'W');
    } finally {
      await m.close();
    }
  });

  test('a double-precision (skl2onnx DoubleTensorType-like) model runs through the same API', async () => {
    const dbl = (name: string, dims: number[], v: number[]): TensorProto => ({
      name,
      dims,
      data_type: DataType.DOUBLE,
      raw_data: new Uint8Array(Float64Array.from(v).buffer),
    });
    const vi = (name: string, t: number, dims: Array<number | string>) => tensorValueInfo(name, t, dims);
    const b = encodeModel({
      ir_version: 8,
      producer_name: 'skl2onnx',
      producer_version: 'x',
      opset_import: [{ domain: '', version: 17 }],
      metadata_props: [],
      graph: {
        name: 'g',
        node: [node('MatMul', ['X', 'W'], ['mm'], 'mm'), node('Add', ['mm', 'B'], ['variable'], 'add')],
        initializer: [dbl('W', [2, 1], [-0.0008, 20]), dbl('B', [1], [700])],
        input: [vi('X', DataType.DOUBLE, ['None', 2])],
        output: [vi('variable', DataType.DOUBLE, ['None', 1])],
      },
    });
    const m = await OnnxPowerModel.load(b);
    try {
      assert.equal(m.info.inputType, 'float64');
      const out = await m.predictRows(ROWS);
      assert.ok(out instanceof Float32Array);
      ROWS.forEach((r, i) => assert.ok(Math.abs(out[i]! - (700 - 0.0008 * r.PacketSize_B + 20 * r.Throughput_Percentage)) < 1e-3));
      const sens = await m.predictWithSensitivities(ROWS, 0.01, { scheme: 'central', packetStepB: 10 });
      sens.dPower_dThroughput.forEach((d) => assert.ok(Math.abs(d - 20) < 0.01));
    } finally {
      await m.close();
    }
  });

  test('sha256 mismatch, wrong features, unknown unit, corrupt bytes → typed errors', async () => {
    const full = { ...meta, created_at: new Date(0).toISOString(), sha256: 'f'.repeat(64) };
    await expectCode(OnnxPowerModel.load(bytes, full), 'SHA256_MISMATCH');
    const unchecked = await OnnxPowerModel.load(bytes, full, { verifySha256: false });
    await unchecked.close();
    await expectCode(
      OnnxPowerModel.load(bytes, { features: [{ name: 'PacketSize_B', unit: 'bytes' }, { name: 'Load', unit: 'fraction' }] }),
      'FEATURES_MISMATCH',
    );
    await expectCode(
      OnnxPowerModel.load(bytes, {
        features: [
          { name: 'PacketSize_B', unit: 'kbit' },
          { name: 'Throughput_Percentage', unit: 'fraction' },
        ],
      }),
      'FEATURES_MISMATCH',
    );
    await expectCode(OnnxPowerModel.load(new Uint8Array([1, 2, 3, 4, 5])), 'CORRUPT');
  });
});

/**
 * Prediction benchmark of the ONNX power models on one core (onnxruntime-node CPU,
 * intraOpNumThreads = 1, one reused session per model): per model type, single-row latency
 * (p50/p99 µs per predictBatch call), batched throughput (predictions/s with batches of 1024)
 * and sensitivity throughput (input rows/s through predictWithSensitivities: 3 graph rows each).
 * Models are trained on synthetic data first (small MLP training budget: only speed matters here).
 *
 *   node --import tsx bench/predict.bench.ts
 */
import { generateSyntheticPower } from '../src/ml/dataset/index.js';
import { OnnxPowerModel, type PowerFeatureRow } from '../src/ml/runtime/index.js';
import { MODEL_TYPES, trainModel, type ModelType, type TrainOptions } from '../src/ml/train/index.js';

const BATCH = 1024;
const SINGLE_CALLS = 3000;
const SINGLE_WARMUP = 300;
const BATCH_SECONDS = 1.5;
const SENS_SECONDS = 1.0;
const TARGET: Record<ModelType, number> = { linear: 100_000, polynomial: 100_000, rf: 20_000, mlp: 20_000 };

const now = (): number => Number(process.hrtime.bigint()) / 1e3; // µs

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function timeLoop(seconds: number, fn: () => Promise<unknown>): Promise<{ calls: number; us: number }> {
  const start = now();
  let calls = 0;
  while (now() - start < seconds * 1e6) {
    await fn();
    calls++;
  }
  return { calls, us: now() - start };
}

const data = generateSyntheticPower({ rows: 10_000, seed: 7 });
const query = generateSyntheticPower({ rows: BATCH, seed: 8 });
const batch = Float32Array.from(query.X);
const rows: PowerFeatureRow[] = Array.from({ length: BATCH }, (_, i) => ({
  PacketSize_B: query.X[i * 2]!,
  Throughput_Percentage: query.X[i * 2 + 1]!,
}));

const results: string[][] = [];
let failed = 0;
const t0 = now();
for (const modelType of MODEL_TYPES) {
  const trainStart = now();
  const n = modelType === 'mlp' ? 3000 : data.rows;
  const model = trainModel({
    modelType,
    X: data.X.subarray(0, n * 2),
    y: data.y.subarray(0, n),
    featureNames: data.featureNames,
    seed: 1,
    hyper: modelType === 'mlp' ? { epochs: 20 } : undefined,
  } as TrainOptions);
  const trainMs = (now() - trainStart) / 1e3;
  const bytes = model.toOnnx();
  const rt = await OnnxPowerModel.load(bytes, undefined, { intraOpNumThreads: 1 });
  try {
    // Single-row latency.
    const one = batch.subarray(0, 2);
    const lat = new Float64Array(SINGLE_CALLS);
    for (let i = 0; i < SINGLE_WARMUP; i++) await rt.predictBatch(one);
    for (let i = 0; i < SINGLE_CALLS; i++) {
      const s = now();
      await rt.predictBatch(one);
      lat[i] = now() - s;
    }
    lat.sort();
    // Batched throughput.
    for (let i = 0; i < 20; i++) await rt.predictBatch(batch);
    const b = await timeLoop(BATCH_SECONDS, () => rt.predictBatch(batch));
    const perSec = (b.calls * BATCH) / (b.us / 1e6);
    // Sensitivities (forward: 3 graph rows per input row).
    const s = await timeLoop(SENS_SECONDS, () => rt.predictWithSensitivities(rows));
    const sensPerSec = (s.calls * BATCH) / (s.us / 1e6);
    const ok = perSec >= TARGET[modelType];
    if (!ok) failed++;
    results.push([
      modelType,
      `${(bytes.length / 1024).toFixed(1)} KiB`,
      trainMs.toFixed(0),
      quantile(lat, 0.5).toFixed(1),
      quantile(lat, 0.99).toFixed(1),
      Math.round(perSec).toLocaleString('en-US'),
      Math.round(sensPerSec).toLocaleString('en-US'),
      `${TARGET[modelType].toLocaleString('en-US')} ${ok ? 'ok' : 'MISSED'}`,
    ]);
  } finally {
    await rt.close();
  }
}

const header = ['model', 'onnx size', 'train ms', 'single p50 µs', 'single p99 µs', `batch ${BATCH} pred/s`, 'sensitivities rows/s', 'target pred/s'];
const widths = header.map((h, i) => Math.max(h.length, ...results.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
console.log(`onnxruntime-node CPU, intraOpNumThreads=1, node ${process.version}`);
console.log(line(header));
console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
for (const r of results) console.log(line(r));
console.log(`total ${((now() - t0) / 1e6).toFixed(1)} s`);
if (failed) {
  console.error(`${failed} model type(s) below the throughput target`);
  process.exitCode = 1;
}

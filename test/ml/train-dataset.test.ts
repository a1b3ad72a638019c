/** Dataset handling for training: CSV loading and its errors, seeded split, metrics, RNG. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  createRng,
  DatasetError,
  datasetToCsv,
  generateSyntheticPower,
  loadCsvDataset,
  parseCsvDataset,
  regressionMetrics,
  syntheticPowerW,
  trainTestSplit,
} from '../../src/ml/dataset/index.js';

const COLS = { features: ['PacketSize_B', 'Throughput_Percentage'], target: 'power_W' };
const FIXTURE = new URL('../fixtures/power/huawei-synthetic.csv', import.meta.url).pathname;

function catchErr(fn: () => unknown): DatasetError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DatasetError, `expected DatasetError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a DatasetError');
}

describe('CSV loading', () => {
  test('loads the fixture, columns chosen by name in the requested order', async () => {
    const ds = await loadCsvDataset(FIXTURE, COLS);
    assert.equal(ds.rows, 2000);
    assert.deepEqual(ds.featureNames, COLS.features);
    assert.equal(ds.X.length, 4000);
    const swapped = await loadCsvDataset(FIXTURE, { features: ['Throughput_Percentage', 'PacketSize_B'], target: 'power_W' });
    assert.equal(swapped.X[0], ds.X[1]);
    assert.equal(swapped.X[1], ds.X[0]);
    for (let i = 0; i < ds.rows; i++) {
      assert.ok(ds.X[i * 2]! >= 64 && ds.X[i * 2]! <= 1500);
      assert.ok(ds.X[i * 2 + 1]! >= 0 && ds.X[i * 2 + 1]! <= 1);
    }
  });

  test('extra columns, quotes, CRLF and BOM are handled', () => {
    const text = '\ufeffid,power_W,"PacketSize_B",Throughput_Percentage\r\nA,700.5,"64",0.5\r\nB,701,1500,1\r\n';
    const ds = parseCsvDataset(text, COLS);
    assert.equal(ds.rows, 2);
    assert.deepEqual([...ds.X], [64, 0.5, 1500, 1]);
    assert.deepEqual([...ds.y], [700.5, 701]);
  });

  test('non-numeric value: error names file, line and column', () => {
    const text = 'PacketSize_B,Throughput_Percentage,power_W\n64,0.1,700\n128,abc,701\n';
    const e = catchErr(() => parseCsvDataset(text, COLS, 'data/x.csv'));
    assert.equal(e.file, 'data/x.csv');
    assert.equal(e.line, 3);
    assert.equal(e.column, 'Throughput_Percentage');
    assert.match(e.message, /data\/x\.csv:3: non-numeric value "abc" in column "Throughput_Percentage"/);
  });

  test('missing value and short row are reported with their line', () => {
    const e1 = catchErr(() => parseCsvDataset('PacketSize_B,Throughput_Percentage,power_W\n64,0.1,700\n\n64,,700\n', COLS, 'f.csv'));
    assert.equal(e1.line, 4);
    assert.equal(e1.column, 'Throughput_Percentage');
    assert.match(e1.message, /missing value/);
    const e2 = catchErr(() => parseCsvDataset('PacketSize_B,Throughput_Percentage,power_W\n64,0.1\n', COLS, 'f.csv'));
    assert.equal(e2.line, 2);
    assert.equal(e2.column, 'power_W');
  });

  test('unknown column, empty file, no rows, unreadable file', async () => {
    const e = catchErr(() => parseCsvDataset('a,b,c\n1,2,3\n', COLS, 'g.csv'));
    assert.equal(e.column, 'PacketSize_B');
    assert.match(e.message, /not found in header \(have: a, b, c\)/);
    assert.match(catchErr(() => parseCsvDataset('', COLS)).message, /empty/);
    assert.match(catchErr(() => parseCsvDataset('PacketSize_B,Throughput_Percentage,power_W\n', COLS)).message, /no data rows/);
    await assert.rejects(loadCsvDataset('/nonexistent/x.csv', COLS), (err: unknown) => err instanceof DatasetError && /cannot read/.test(err.message));
  });

  test('datasetToCsv round-trips', async () => {
    const ds = generateSyntheticPower({ rows: 50, seed: 3 });
    const dir = await mkdtemp(join(tmpdir(), 'wattflow-ds-'));
    const file = join(dir, 'd.csv');
    await writeFile(file, datasetToCsv(ds, 6));
    const back = await loadCsvDataset(file, COLS);
    assert.deepEqual([...back.X], [...ds.X]);
    assert.deepEqual([...back.y], [...ds.y]);
  });
});

describe('split, metrics, rng', () => {
  test('seeded split is reproducible, disjoint and complete', () => {
    const ds = generateSyntheticPower({ rows: 100, seed: 1 });
    const a = trainTestSplit(ds, { testFraction: 0.25, seed: 4 });
    const b = trainTestSplit(ds, { testFraction: 0.25, seed: 4 });
    const c = trainTestSplit(ds, { testFraction: 0.25, seed: 5 });
    assert.equal(a.test.rows, 25);
    assert.equal(a.train.rows, 75);
    assert.deepEqual([...a.test.y], [...b.test.y]);
    assert.notDeepEqual([...a.test.y], [...c.test.y]);
    const all = [...a.train.y, ...a.test.y].sort((p, q) => p - q);
    assert.deepEqual(all, [...ds.y].sort((p, q) => p - q));
    assert.throws(() => trainTestSplit(ds, { testFraction: 1 }), RangeError);
  });

  test('metrics on known values', () => {
    const m = regressionMetrics([100, 200, 300, 400], [110, 190, 300, 440]);
    assert.equal(m.MAE, 15);
    assert.equal(m.MSE, (100 + 100 + 0 + 1600) / 4);
    assert.ok(Math.abs(m.MAPE - ((10 / 100 + 10 / 200 + 0 + 40 / 400) / 4) * 100) < 1e-12);
    const smape = ((20 / 210 + 20 / 390 + 0 + 80 / 840) / 4) * 100;
    assert.ok(Math.abs(m.SMAPE - smape) < 1e-12);
    assert.ok(Math.abs(m.R2 - (1 - 1800 / 50000)) < 1e-12);
    assert.equal(regressionMetrics([1, 2], [1, 2]).R2, 1);
    assert.throws(() => regressionMetrics([1], [1, 2]), RangeError);
  });

  test('rng is deterministic per seed with sane distributions', () => {
    const a = createRng(123);
    const b = createRng(123);
    const xs = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
    const r = createRng(7);
    let sum = 0;
    let sq = 0;
    const N = 20000;
    for (let i = 0; i < N; i++) {
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    assert.ok(Math.abs(sum / N) < 0.03);
    assert.ok(Math.abs(sq / N - 1) < 0.05);
  });

  test('synthetic generator is seeded and near the documented noise level', () => {
    const a = generateSyntheticPower({ rows: 2000, seed: 42 });
    const b = generateSyntheticPower({ rows: 2000, seed: 42 });
    assert.deepEqual([...a.y], [...b.y]);
    let absErr = 0;
    for (let i = 0; i < a.rows; i++) absErr += Math.abs(a.y[i]! - syntheticPowerW(a.X[i * 2]!, a.X[i * 2 + 1]!));
    const noiseMae = absErr / a.rows;
    assert.ok(noiseMae > 1.15 && noiseMae < 1.45, `noise MAE ${noiseMae}`);
  });

  test('the fixture is exactly what the documented generator command writes', async () => {
    const text = await readFile(FIXTURE, 'utf8');
    assert.equal(text, datasetToCsv(generateSyntheticPower({ rows: 2000, seed: 42, noiseW: 1.6, baseW: 700 }), 4));
  });
});

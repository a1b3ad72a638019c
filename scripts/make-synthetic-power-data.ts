/**
 * Writes a synthetic router power CSV (columns PacketSize_B, Throughput_Percentage, power_W) from
 * the seeded generator in src/ml/dataset/synthetic.ts: the reference dummy formula plus a
 * packet-rate term and Gaussian noise. The data is SYNTHETIC, not measured.
 *
 *   node --import tsx scripts/make-synthetic-power-data.ts [--rows 2000] [--seed 42]
 *        [--noise 1.6] [--base 700] [--out test/fixtures/power/huawei-synthetic.csv]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { datasetToCsv } from '../src/ml/dataset/csv.js';
import { generateSyntheticPower } from '../src/ml/dataset/synthetic.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '42' },
    noise: { type: 'string', default: '1.6' },
    base: { type: 'string', default: '700' },
    out: { type: 'string', default: 'test/fixtures/power/huawei-synthetic.csv' },
  },
});

const num = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${v}`);
  return n;
};
const rows = num('rows', values.rows);
if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer, got ${values.rows}`);
const ds = generateSyntheticPower({
  rows,
  seed: num('seed', values.seed),
  noiseW: num('noise', values.noise),
  baseW: num('base', values.base),
});
const out = values.out!;
await mkdir(dirname(out), { recursive: true });
await writeFile(out, datasetToCsv(ds, 4));
console.log(`wrote ${rows} synthetic rows to ${out}`);

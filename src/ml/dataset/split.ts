/**
 * Seeded train/test split of a Dataset (shuffled row indices, the first `testFraction` go to the
 * test set) plus row selection helpers.
 */
import { createRng } from './rng.js';
import type { Dataset } from './types.js';

/** Returns a new Dataset with the given rows (in that order). */
export function selectRows(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const cols = ds.featureNames.length;
  const n = indices.length;
  const X = new Float64Array(n * cols);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = indices[i]!;
    if (r < 0 || r >= ds.rows) throw new RangeError(`row index ${r} out of range 0..${ds.rows - 1}`);
    for (let c = 0; c < cols; c++) X[i * cols + c] = ds.X[r * cols + c]!;
    y[i] = ds.y[r]!;
  }
  return { featureNames: ds.featureNames, targetName: ds.targetName, rows: n, X, y, source: ds.source };
}

export interface SplitOptions {
  /** Fraction of rows for the test set, in (0, 1). Default 0.2. */
  testFraction?: number;
  /** Seed of the shuffle. Default 0. */
  seed?: number;
}

/** Seeded random split; the same seed and data always give the same split. */
export function trainTestSplit(ds: Dataset, options: SplitOptions = {}): { train: Dataset; test: Dataset } {
  const f = options.testFraction ?? 0.2;
  if (!(f > 0 && f < 1)) throw new RangeError(`testFraction must be in (0, 1), got ${f}`);
  const nTest = Math.round(ds.rows * f);
  if (nTest < 1 || nTest >= ds.rows) {
    throw new RangeError(`cannot split ${ds.rows} rows with testFraction ${f}: a side would be empty`);
  }
  const idx = new Int32Array(ds.rows);
  for (let i = 0; i < ds.rows; i++) idx[i] = i;
  createRng(options.seed ?? 0).shuffle(idx);
  return { test: selectRows(ds, idx.subarray(0, nTest)), train: selectRows(ds, idx.subarray(nTest)) };
}

/**
 * Random forest regression (CART trees, variance reduction, bootstrap, seeded), written here
 * because the npm options (ml-random-forest / ml-cart) do not expose a stable tree structure to
 * export to ai.onnx.ml.TreeEnsembleRegressor, sort at every node (too slow for 50 trees × 10k rows
 * on one core) and do not round split thresholds to float32 as onnxruntime compares them.
 *
 * Training works on float32-rounded features, and thresholds are float32 values chosen so that
 * `x <= threshold` routes every training sample exactly as during training; prediction in process
 * applies the same float32 comparisons, so it matches onnxruntime's BRANCH_LEQ traversal exactly
 * (only the final float32 vs float64 averaging differs, ~1e-7 relative).
 *
 * Algorithm: features are presorted once; each tree expands its bootstrap sample into per-feature
 * sorted index lists, and each split stably partitions those lists (O(n·F) per tree level).
 */
import { createRng, type Rng } from '../dataset/rng.js';
import { toRowMajor, type FeatureInput } from '../dataset/types.js';
import { treeEnsembleModelBytes, type FlatTree } from '../onnx/graphs.js';
import type { OnnxExportOptions, RandomForestHyper, TrainedModel } from './types.js';

export interface ResolvedForestHyper {
  nEstimators: number;
  maxDepth: number;
  minSamplesLeaf: number;
  minSamplesSplit: number;
  maxFeatures: number;
  bootstrap: boolean;
}

export function resolveForestHyper(h: RandomForestHyper = {}): ResolvedForestHyper {
  const minSamplesLeaf = h.minSamplesLeaf ?? 5;
  const r: ResolvedForestHyper = {
    nEstimators: h.nEstimators ?? 50,
    maxDepth: h.maxDepth ?? 10,
    minSamplesLeaf,
    minSamplesSplit: h.minSamplesSplit ?? 2 * minSamplesLeaf,
    maxFeatures: h.maxFeatures ?? 1.0,
    bootstrap: h.bootstrap ?? true,
  };
  const posInt = (k: keyof ResolvedForestHyper, min: number) => {
    const v = r[k] as number;
    if (!Number.isInteger(v) || v < min) throw new RangeError(`rf hyper ${k} must be an integer >= ${min}, got ${v}`);
  };
  posInt('nEstimators', 1);
  posInt('maxDepth', 0);
  posInt('minSamplesLeaf', 1);
  posInt('minSamplesSplit', 2);
  if (!(r.maxFeatures > 0)) throw new RangeError(`rf hyper maxFeatures must be > 0, got ${r.maxFeatures}`);
  return r;
}

export class RandomForestModel implements TrainedModel {
  readonly modelType = 'rf' as const;
  constructor(
    readonly featureNames: readonly string[],
    readonly trees: readonly FlatTree[],
    readonly seed: number,
    readonly hyper: Record<string, unknown>,
  ) {}

  /** Total number of nodes over all trees. */
  get nodeCount(): number {
    return this.trees.reduce((a, t) => a + t.feature.length, 0);
  }

  predict(batch: FeatureInput): Float64Array {
    const F = this.featureNames.length;
    const { data, rows } = toRowMajor(batch, F, 'batch');
    const out = new Float64Array(rows);
    const x = new Float32Array(F);
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < F; f++) x[f] = data[r * F + f]!;
      let sum = 0;
      for (const t of this.trees) {
        let n = 0;
        while (t.left[n]! >= 0) n = x[t.feature[n]!]! <= t.threshold[n]! ? t.left[n]! : t.right[n]!;
        sum += t.value[n]!;
      }
      out[r] = sum / this.trees.length;
    }
    return out;
  }

  toOnnx(options: OnnxExportOptions = {}): Uint8Array {
    return treeEnsembleModelBytes(this.trees, this.featureNames.length, options.graphName ?? 'wattflow_rf', options);
  }
}

interface TrainContext {
  X: Float32Array;
  y: Float64Array;
  n: number;
  F: number;
  hp: ResolvedForestHyper;
  nTry: number;
  /** Globally presorted row indices per feature. */
  sorted: Int32Array[];
}

function buildTree(ctx: TrainContext, rng: Rng): FlatTree {
  const { X, y, n, F, hp } = ctx;
  // Sample multiplicities (bootstrap) and per-feature sorted sample lists.
  const counts = new Int32Array(n);
  if (hp.bootstrap) for (let i = 0; i < n; i++) counts[rng.int(n)]!++;
  else counts.fill(1);
  const lists: Int32Array[] = [];
  for (let f = 0; f < F; f++) {
    const list = new Int32Array(n);
    let k = 0;
    for (const i of ctx.sorted[f]!) for (let c = counts[i]!; c > 0; c--) list[k++] = i;
    lists.push(list);
  }
  const tmp = new Int32Array(n);
  const goLeft = new Uint8Array(n);
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const newNode = (): number => {
    feature.push(0);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    value.push(0);
    return feature.length - 1;
  };
  const featOrder = Array.from({ length: F }, (_, f) => f);
  const stack: Array<{ id: number; start: number; end: number; depth: number }> = [
    { id: newNode(), start: 0, end: n, depth: 0 },
  ];
  while (stack.length > 0) {
    const { id, start, end, depth } = stack.pop()!;
    const count = end - start;
    const l0 = lists[0]!;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let k = start; k < end; k++) {
      const v = y[l0[k]!]!;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    value[id] = Math.fround(sum / count);
    if (depth >= hp.maxDepth || count < hp.minSamplesSplit || count < 2 * hp.minSamplesLeaf || min === max) continue;
    // Candidate features (a seeded subset when maxFeatures < F).
    let cands = featOrder;
    if (ctx.nTry < F) cands = rng.shuffle(featOrder.slice()).slice(0, ctx.nTry).sort((a, b) => a - b);
    const parentScore = (sum * sum) / count;
    let bestScore = parentScore + 1e-12 * Math.abs(parentScore);
    let bestF = -1;
    let bestT = 0;
    for (const f of cands) {
      const list = lists[f]!;
      let sL = 0;
      const last = end - hp.minSamplesLeaf;
      for (let k = start; k < last; k++) {
        const i = list[k]!;
        sL += y[i]!;
        const nL = k - start + 1;
        if (nL < hp.minSamplesLeaf) continue;
        const a = X[i * F + f]!;
        const b = X[list[k + 1]! * F + f]!;
        if (!(a < b)) continue;
        const sR = sum - sL;
        const score = (sL * sL) / nL + (sR * sR) / (count - nL);
        if (score > bestScore) {
          bestScore = score;
          bestF = f;
          let t = Math.fround((a + b) / 2);
          if (!(t < b)) t = a;
          bestT = t;
        }
      }
    }
    if (bestF < 0) continue;
    // Partition every feature list stably into left (x <= t) then right.
    for (let k = start; k < end; k++) {
      const i = l0[k]!;
      goLeft[i] = X[i * F + bestF]! <= bestT ? 1 : 0;
    }
    let nLeft = 0;
    for (let f = 0; f < F; f++) {
      const list = lists[f]!;
      let a = start;
      let b = 0;
      for (let k = start; k < end; k++) {
        const i = list[k]!;
        if (goLeft[i]) list[a++] = i;
        else tmp[b++] = i;
      }
      list.set(tmp.subarray(0, b), a);
      nLeft = a - start;
    }
    feature[id] = bestF;
    threshold[id] = bestT;
    const li = newNode();
    const ri = newNode();
    left[id] = li;
    right[id] = ri;
    stack.push({ id: ri, start: start + nLeft, end, depth: depth + 1 });
    stack.push({ id: li, start, end: start + nLeft, depth: depth + 1 });
  }
  return {
    feature: Int32Array.from(feature),
    threshold: Float32Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float32Array.from(value),
  };
}

export function trainRandomForest(
  X: FeatureInput,
  y: ArrayLike<number>,
  featureNames: readonly string[],
  seed: number,
  hyper: RandomForestHyper = {},
): RandomForestModel {
  const hp = resolveForestHyper(hyper);
  const F = featureNames.length;
  const { data, rows: n } = toRowMajor(X, F);
  if (y.length !== n) throw new RangeError(`y has ${y.length} values for ${n} rows`);
  if (n < 2) throw new RangeError('random forest needs at least 2 rows');
  const Xf = Float32Array.from(data);
  const yy = Float64Array.from(y);
  const sorted: Int32Array[] = [];
  for (let f = 0; f < F; f++) {
    const idx = Array.from({ length: n }, (_, i) => i);
    idx.sort((a, b) => Xf[a * F + f]! - Xf[b * F + f]! || a - b);
    sorted.push(Int32Array.from(idx));
  }
  const nTry = hp.maxFeatures <= 1 ? Math.max(1, Math.round(hp.maxFeatures * F)) : Math.min(F, Math.floor(hp.maxFeatures));
  const ctx: TrainContext = { X: Xf, y: yy, n, F, hp, nTry, sorted };
  const rng = createRng(seed);
  const trees: FlatTree[] = [];
  for (let t = 0; t < hp.nEstimators; t++) trees.push(buildTree(ctx, rng.fork()));
  return new RandomForestModel(featureNames, trees, seed, { ...hp });
}

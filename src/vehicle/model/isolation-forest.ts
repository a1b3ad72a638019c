/**
 * Isolation forest (Liu, Ting & Zhou 2008): an unsupervised anomaly detector. Each tree splits
 * a random subsample on a random feature at a uniform random threshold until points are
 * isolated (or a depth limit); anomalies are isolated in few splits. The score of x is
 * 2^(−E[h(x)] / c(ψ)) with h the path length (plus c(size) at a leaf) and c(ψ) the average
 * path length of an unsuccessful BST search: ≈ 0.5 for ordinary points, → 1 for anomalies.
 *
 * Trees are stored as flat arrays (JSON-friendly, compact): for node i, `f[i]` is the split
 * feature (−1 for a leaf), `s[i]` the threshold (or the leaf's size), `l[i]`/`r[i]` children.
 */
import type { Rng } from '../../ml/dataset/rng.js';

export interface IsolationTree {
  f: number[];
  s: number[];
  l: number[];
  r: number[];
}

export interface IsolationForest {
  sampleSize: number;
  trees: IsolationTree[];
}

const EULER = 0.5772156649015329;

/** Average path length of an unsuccessful search in a BST of n nodes. */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER) - (2 * (n - 1)) / n;
}

/** Rounds a threshold to 7 significant digits (smaller artifacts; splits stay between samples). */
function round7(x: number): number {
  return Number(x.toPrecision(7));
}

function buildTree(rows: readonly Float64Array[], idx: number[], maxDepth: number, rng: Rng): IsolationTree {
  const tree: IsolationTree = { f: [], s: [], l: [], r: [] };
  const dims = rows[0]?.length ?? 0;
  const grow = (ids: number[], depth: number): number => {
    const node = tree.f.length;
    tree.f.push(-1);
    tree.s.push(ids.length);
    tree.l.push(-1);
    tree.r.push(-1);
    if (depth >= maxDepth || ids.length <= 1) return node;
    // features that still vary among these points
    const candidates: Array<{ d: number; lo: number; hi: number }> = [];
    for (let d = 0; d < dims; d++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const i of ids) {
        const x = rows[i]![d]!;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      if (hi > lo) candidates.push({ d, lo, hi });
    }
    if (candidates.length === 0) return node;
    const c = candidates[rng.int(candidates.length)]!;
    let split = round7(c.lo + rng.next() * (c.hi - c.lo));
    if (!(split > c.lo && split <= c.hi)) split = c.hi; // rounding landed outside: still separates lo from hi
    const left: number[] = [];
    const right: number[] = [];
    for (const i of ids) (rows[i]![c.d]! < split ? left : right).push(i);
    tree.f[node] = c.d;
    tree.s[node] = split;
    tree.l[node] = grow(left, depth + 1);
    tree.r[node] = grow(right, depth + 1);
    return node;
  };
  grow(idx, 0);
  return tree;
}

export interface ForestOptions {
  trees: number;
  sampleSize: number;
  rng: Rng;
}

export function fitIsolationForest(rows: readonly Float64Array[], opts: ForestOptions): IsolationForest {
  if (rows.length < 2) throw new Error(`isolation forest: need at least 2 training rows, got ${rows.length}`);
  const psi = Math.min(opts.sampleSize, rows.length);
  const maxDepth = Math.ceil(Math.log2(psi));
  const trees: IsolationTree[] = [];
  const all = rows.map((_, i) => i);
  for (let t = 0; t < opts.trees; t++) {
    // subsample without replacement (partial Fisher-Yates)
    const pool = all.slice();
    for (let i = 0; i < psi; i++) {
      const j = i + opts.rng.int(pool.length - i);
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    trees.push(buildTree(rows, pool.slice(0, psi), maxDepth, opts.rng));
  }
  return { sampleSize: psi, trees };
}

function pathLength(tree: IsolationTree, x: ArrayLike<number>): number {
  let node = 0;
  let depth = 0;
  for (;;) {
    const f = tree.f[node]!;
    if (f < 0) return depth + averagePathLength(tree.s[node]!);
    node = x[f]! < tree.s[node]! ? tree.l[node]! : tree.r[node]!;
    depth++;
  }
}

/** Anomaly score in (0, 1]: ≈ 0.5 and below ordinary, towards 1 anomalous. */
export function isolationScore(forest: IsolationForest, x: ArrayLike<number>): number {
  let sum = 0;
  for (const t of forest.trees) sum += pathLength(t, x);
  const mean = sum / forest.trees.length;
  return Math.pow(2, -mean / averagePathLength(forest.sampleSize));
}

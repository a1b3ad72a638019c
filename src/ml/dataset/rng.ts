/**
 * Seeded pseudo-random numbers for everything in src/ml that must be reproducible (train/test
 * split, bootstrap samples, weight initialisation, mini-batch shuffling, synthetic data).
 *
 * Written by hand on purpose: it is ~30 lines (SplitMix32 seeding a Mulberry32-style generator
 * plus Box-Muller), and a model's ONNX sha256 depends on the exact random stream. Depending on an
 * external generator would let a library upgrade silently change every "fixed-seed" model.
 */

/** A deterministic generator of uniform floats in [0, 1). */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal N(0, 1) (Box-Muller, uses two uniforms per call pair). */
  normal(): number;
  /** Shuffles `a` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T;
  /** A new independent generator derived from this one's stream (for sub-tasks, e.g. one per tree). */
  fork(): Rng;
}

function splitmix32(seed: number): number {
  let z = (seed + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Creates a generator from an integer seed (any JS number; it is reduced to 32 bits). */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  let state = splitmix32(Math.trunc(seed) | 0);
  let spare: number | undefined;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    int: (n) => Math.floor(next() * n),
    normal: () => {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    shuffle: (a) => {
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const tmp = a[i];
        a[i] = a[j];
        a[j] = tmp;
      }
      return a;
    },
    fork: () => createRng(Math.floor(next() * 4294967296) ^ 0x5bd1e995),
  };
  return rng;
}

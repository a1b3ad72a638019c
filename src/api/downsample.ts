/**
 * Server-side downsampling for charts: a long series becomes at most `n` points, one per
 * equal-width time bucket, each carrying the bucket's mean, minimum and maximum (so a chart
 * keeps the envelope of spikes), timed at the mean time of the bucket's points. Buckets
 * without points are left out: a gap stays visible as a gap.
 */

export interface TimedValue {
  tsMs: number;
  value: number;
}

export interface BucketPoint {
  tsMs: number;
  value: number;
  min: number;
  max: number;
  /** Points in the bucket. */
  n: number;
}

/** Points (oldest first) within [fromMs, toMs] reduced to at most `n` buckets; fewer points than `n` pass through. */
export function downsample(points: readonly TimedValue[], fromMs: number, toMs: number, n: number): BucketPoint[] {
  if (points.length <= n) return points.map((p) => ({ tsMs: p.tsMs, value: p.value, min: p.value, max: p.value, n: 1 }));
  const span = Math.max(1, toMs - fromMs);
  const width = span / n;
  const out: BucketPoint[] = [];
  let bucket = -1;
  let sumT = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  let count = 0;
  const flush = () => {
    if (count > 0) out.push({ tsMs: Math.round(sumT / count), value: sum / count, min, max, n: count });
  };
  for (const p of points) {
    const b = Math.min(n - 1, Math.max(0, Math.floor((p.tsMs - fromMs) / width)));
    if (b !== bucket) {
      flush();
      bucket = b;
      sumT = sum = count = 0;
      min = Infinity;
      max = -Infinity;
    }
    sumT += p.tsMs;
    sum += p.value;
    if (p.value < min) min = p.value;
    if (p.value > max) max = p.value;
    count++;
  }
  flush();
  return out;
}

/** The last values of a series reduced to `n` values by index buckets (means): a sparkline. */
export function sparkline(values: ArrayLike<number>, n: number): number[] {
  const len = values.length;
  if (len <= n) return Array.from(values, (v) => round(v));
  const out: number[] = [];
  for (let b = 0; b < n; b++) {
    const from = Math.floor((b * len) / n);
    const to = Math.floor(((b + 1) * len) / n);
    let s = 0;
    for (let i = from; i < to; i++) s += values[i]!;
    out.push(round(s / Math.max(1, to - from)));
  }
  return out;
}

/** Four significant digits are plenty on screen, and keep the JSON short. */
export const round = (v: number): number => (Number.isFinite(v) ? Number(v.toPrecision(5)) : v);

/**
 * Series identity for duplicate detection and OpenMetrics grouping: canonical series keys,
 * metric group keys, and the record of series seen in one family.
 */
import { escapeLabelValue } from './lexer.js';
import type { MetricLabel } from './types.js';

/** A family's duplicate-detection record (kept on the parser's family state). */
export interface SeriesRecord {
  /** Every key with its first timestamp (NaN: none), once keys stopped increasing... */
  keys: Map<string, number> | null;
  /** ...and `key\0timestamp` of series exposed as several points in time. */
  points: Set<string> | null;
}

/** Canonical series key: name{a="v",b="w"} with labels sorted by name and values escaped. */
export function seriesKey(name: string, labels: readonly MetricLabel[]): string {
  if (labels.length === 0) return name;
  const sorted = [...labels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${name}{${sorted.map((l) => `${l.name}="${escapeLabelValue(l.value)}"`).join(',')}}`;
}

/** A metric's identity within its family: labels sorted by name, without `drop`. */
export function groupKey(labels: readonly MetricLabel[], drop: string): string {
  const n = labels.length;
  if (n === 0) return '';
  if (n === 1) {
    const l = labels[0]!;
    return l.name === drop ? '' : `${l.name}="${escapeLabelValue(l.value)}"`;
  }
  const kept = drop === '' ? [...labels] : labels.filter((l) => l.name !== drop);
  kept.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return kept.map((l) => `${l.name}="${escapeLabelValue(l.value)}"`).join(',');
}

/**
 * Record one occurrence of a series; false if it is a duplicate. A repeated series is allowed
 * only as another point in time: every occurrence carries a timestamp, all different in
 * Prometheus text; in OpenMetrics equal timestamps are allowed too (the suite's
 * duplicate_timestamps cases; their order is checked by metricPoint).
 */
export function addPoint(st: SeriesRecord, key: string, ts: number | undefined, om: boolean): boolean {
  const keys = st.keys!;
  const first = keys.get(key);
  if (first === undefined) {
    keys.set(key, ts ?? NaN);
    return true;
  }
  if (ts === undefined || Number.isNaN(first)) return false;
  if (om) return true;
  const points = (st.points ??= new Set<string>());
  points.add(`${key}\u0000${first}`);
  const point = `${key}\u0000${ts}`;
  if (points.has(point)) return false;
  points.add(point);
  return true;
}

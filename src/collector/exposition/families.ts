/**
 * What the parser knows about metric families: the types and the series names each owns (family
 * name + suffix, as bit masks), the per-family state of a parse, series identity (duplicate
 * detection, OpenMetrics metric grouping) and name filtering (which lines a `names` parse reads).
 */
import { escapeLabelValue, quote } from './lexer.js';
import type { MetricFamily, MetricLabel, MetricType } from './types.js';

export const SUF_BARE = 1;
export const SUF_TOTAL = 2;
export const SUF_CREATED = 4;
export const SUF_BUCKET = 8;
export const SUF_SUM = 16;
export const SUF_COUNT = 32;
export const SUF_GSUM = 64;
export const SUF_GCOUNT = 128;
export const SUF_INFO = 256;

export const SUFFIXES: ReadonlyArray<readonly [string, number]> = [
  ['_total', SUF_TOTAL],
  ['_bucket', SUF_BUCKET],
  ['_sum', SUF_SUM],
  ['_count', SUF_COUNT],
  ['_gsum', SUF_GSUM],
  ['_gcount', SUF_GCOUNT],
  ['_info', SUF_INFO],
  ['_created', SUF_CREATED],
];

/** Which series names (family name + suffix) belong to a family of each type. */
export const TYPE_MASK: Readonly<Record<MetricType, number>> = {
  counter: SUF_BARE | SUF_TOTAL | SUF_CREATED,
  gauge: SUF_BARE,
  histogram: SUF_BUCKET | SUF_SUM | SUF_COUNT | SUF_CREATED,
  gaugehistogram: SUF_BUCKET | SUF_GSUM | SUF_GCOUNT,
  summary: SUF_BARE | SUF_SUM | SUF_COUNT | SUF_CREATED,
  info: SUF_BARE | SUF_INFO,
  stateset: SUF_BARE,
  untyped: SUF_BARE,
  unknown: SUF_BARE,
};

export const TYPES = new Map<string, MetricType>(
  (Object.keys(TYPE_MASK) as MetricType[]).map((t) => [t, t]),
);

export function suffixList(type: MetricType, name: string): string {
  const mask = TYPE_MASK[type];
  const out: string[] = [];
  if (mask & SUF_BARE) out.push(name);
  for (const [s, bit] of SUFFIXES) if (mask & bit) out.push(name + s);
  return out.join(', ');
}

export function hasLabel(labels: readonly MetricLabel[], name: string): boolean {
  for (let i = 0; i < labels.length; i++) if (labels[i]!.name === name) return true;
  return false;
}

/** The parser's state of one family. */
export interface FamState {
  fam: MetricFamily;
  mask: number;
  hasType: boolean;
  hasHelp: boolean;
  hasUnit: boolean;
  /** Created by a sample line rather than by HELP/TYPE/UNIT. */
  implicit: boolean;
  /** OpenMetrics: another family has started since this one (it may not continue). */
  closed: boolean;
  /** Duplicate detection: the greatest series key so far while keys only increased... */
  lastKey: string;
  /** ...and, once they did not, every key with its first timestamp (NaN: none)... */
  keys: Map<string, number> | null;
  /** ...and `key\0timestamp` of series exposed as several points in time. */
  points: Set<string> | null;
  /** OpenMetrics: the current metric (label set, minus le/quantile/state) and its timestamp... */
  group: string | null;
  groupTs: number | undefined;
  /** ...and every metric seen in this family with the line it started on. */
  groups: Map<string, number> | null;
}

export function newFamState(name: string, implicit: boolean, om: boolean): FamState {
  return {
    fam: { name, help: '', type: om ? 'unknown' : 'untyped', samples: [] },
    mask: SUF_BARE,
    hasType: false,
    hasHelp: false,
    hasUnit: false,
    implicit,
    closed: false,
    lastKey: '',
    keys: null,
    points: null,
    group: null,
    groupTs: undefined,
    groups: null,
  };
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
export function addPoint(st: FamState, key: string, ts: number | undefined, om: boolean): boolean {
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

/**
 * OpenMetrics: a metric (the sample's label set, minus `le` of histogram buckets, `quantile`
 * of summary quantiles and the state label of a stateset) is one group of lines: once another
 * metric of the family has started it may not continue, and within it timestamps do not go
 * backwards (compared at the microsecond, the precision kept), as client_python's parser (the
 * suite's reference) checks it. Unlike client_python, lines without a timestamp may sit
 * beside lines with one (the specification's own examples put `_created` without a
 * timestamp next to a timestamped `_total`). Records the point; returns the error, or null.
 */
export function metricPoint(st: FamState, suffix: number, name: string, labels: MetricLabel[], ts: number | undefined, lineNo: number): string | null {
  const type = st.fam.type;
  const drop =
    suffix === SUF_BUCKET ? 'le' : type === 'summary' && suffix === SUF_BARE ? 'quantile' : type === 'stateset' ? st.fam.name : '';
  const g = groupKey(labels, drop);
  if (g === st.group) {
    if (ts === undefined) return null;
    const prev = st.groupTs;
    if (prev !== undefined && ts < prev) {
      return `timestamp of ${quote(name)} goes backwards (${ts / 1000} s after ${prev / 1000} s; OpenMetrics requires a metric's timestamps in increasing order)`;
    }
    st.groupTs = ts;
    return null;
  }
  const groups = (st.groups ??= new Map());
  const first = groups.get(g);
  if (first !== undefined) {
    return `metric ${quote(`${st.fam.name}{${g}}`)} of family ${quote(st.fam.name)} continues after another metric started (first seen on line ${first}; OpenMetrics requires each metric's lines to be contiguous)`;
  }
  groups.set(g, lineNo);
  st.group = g;
  st.groupTs = ts;
  return null;
}

/** Names a name-filtered parse must look at: sample lines and metadata lines. */
export class NameIndex {
  readonly wanted: ReadonlySet<string>;
  private readonly sampleNames = new Set<string>();
  private readonly metaNames = new Set<string>();
  /** Bit 1: some sample name has this length; bit 2: some metadata name has (index ≤ 255). */
  private readonly lengths = new Uint8Array(256);

  constructor(names: Iterable<string>) {
    const wanted = new Set<string>();
    for (const n of names) wanted.add(String(n));
    this.wanted = wanted;
    for (const n of wanted) {
      this.addSample(n);
      this.addMeta(n);
      for (const [s] of SUFFIXES) {
        this.addSample(n + s);
        this.addMeta(n + s);
        if (n.length > s.length && n.endsWith(s)) this.addMeta(n.slice(0, -s.length));
      }
    }
  }

  private addSample(n: string): void {
    this.sampleNames.add(n);
    if (n.length < 256) this.lengths[n.length]! |= 1;
  }

  private addMeta(n: string): void {
    this.metaNames.add(n);
    if (n.length < 256) this.lengths[n.length]! |= 2;
  }

  /** Cheap pre-check: could a sample name of this length be wanted? */
  sampleLength(len: number): boolean {
    return len >= 256 || (this.lengths[len]! & 1) !== 0;
  }

  /** Could this sample name belong to a wanted family? */
  sample(name: string): boolean {
    return this.sampleNames.has(name);
  }

  /** Cheap pre-check: could a metadata line's name of this length be needed? */
  metaLength(len: number): boolean {
    return len >= 256 || (this.lengths[len]! & 2) !== 0;
  }

  meta(name: string): boolean {
    return this.metaNames.has(name);
  }
}

/** Keep families named in `names` whole; of the others, only samples whose name is listed. */
export function filterByNames(families: readonly MetricFamily[], names: ReadonlySet<string>): MetricFamily[] {
  const out: MetricFamily[] = [];
  for (const fam of families) {
    if (names.has(fam.name)) {
      if (fam.samples.length > 0) out.push(fam);
      continue;
    }
    const kept = fam.samples.filter((s) => names.has(s.name));
    if (kept.length > 0) out.push(kept.length === fam.samples.length ? fam : { ...fam, samples: kept });
  }
  return out;
}

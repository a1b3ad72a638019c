/**
 * Metric family types and the series names each owns (family name + suffix, e.g. a histogram's
 * `_bucket`, `_sum`, `_count`, `_created`), as bit masks the parser tests in one operation.
 */
import type { MetricLabel, MetricType } from './types.js';

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

/**
 * Conversion of parsed metric families into the collector's JSON document, the message the
 * ACROSS node-exporter collector publishes (see docs/collector-json.md):
 *
 *   { "node_exporter": "r1:9100", "epoch_timestamp": "1745233635.2172275",
 *     "metrics": [ { "name", "description", "type",
 *                    "values": [ { "labels": [ { "name", "value" } ], "value": "2.434326851e+09" } ] } ] }
 *
 * Values keep the exporter's original text. Additive extensions, present only when they carry
 * information (so plain counters and gauges from a Prometheus-text exporter are exactly like
 * the reference): `series` on values of histogram/summary/gaugehistogram families and on any
 * value whose series name differs from the family name; `timestamp_ms` when the exposition
 * line has a timestamp; `exemplar` for OpenMetrics exemplars; `unit` on a metric with an
 * OpenMetrics UNIT line. Pure: the clock is read only when no epoch is given.
 */
import type { MetricFamily, MetricSample } from './types.js';

export interface CollectorLabel {
  name: string;
  value: string;
}

export interface CollectorExemplar {
  labels: CollectorLabel[];
  value: string;
  timestamp_ms?: number;
}

export interface CollectorValue {
  labels: CollectorLabel[];
  /** The value exactly as the exporter wrote it. */
  value: string;
  /** Extension: the series name (e.g. `x_bucket`), for histogram/summary members etc. */
  series?: string;
  /** Extension: the sample's own timestamp (ms since the epoch), only if it had one. */
  timestamp_ms?: number;
  /** Extension: OpenMetrics exemplar. */
  exemplar?: CollectorExemplar;
}

export interface CollectorMetric {
  name: string;
  /** HELP text, "" when none. */
  description: string;
  /** Declared type; `untyped` (Prometheus text) / `unknown` (OpenMetrics) when none. */
  type: string;
  /** Extension: OpenMetrics UNIT. */
  unit?: string;
  values: CollectorValue[];
}

export interface CollectorDocument {
  /** `host:port` of the scraped node exporter. */
  node_exporter: string;
  /** Scrape time in seconds, formatted like Python's `str(time.time())`. */
  epoch_timestamp: string;
  metrics: CollectorMetric[];
}

export interface ToCollectorJsonOptions {
  /** `host:port` of the node exporter, e.g. `r1:9100`. */
  nodeExporter: string;
  /** Scrape time in seconds since the epoch (default: now, sub-millisecond precision). */
  epochSeconds?: number;
}

/** Family types whose values always carry `series`. */
const MULTI_SERIES_TYPES: ReadonlySet<string> = new Set(['histogram', 'gaugehistogram', 'summary']);

/** Seconds since the epoch with sub-millisecond precision (like Python's `time.time()`). */
export function currentEpochSeconds(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

/**
 * Format seconds like Python's `str(float)`: shortest round-trip digits (which JavaScript's
 * number-to-string also produces) and a `.0` on whole numbers, e.g. `1745233635.2172275`,
 * `1745233635.0`. Non-finite input is a programming error (RangeError).
 */
export function formatEpochSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) throw new RangeError(`epoch seconds must be finite, got ${seconds}`);
  const s = String(seconds);
  return Number.isInteger(seconds) && !s.includes('e') ? `${s}.0` : s;
}

function copyLabels(labels: MetricSample['labels']): CollectorLabel[] {
  const out: CollectorLabel[] = new Array<CollectorLabel>(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    out[i] = { name: l.name, value: l.value };
  }
  return out;
}

/** One family → one `metrics[]` entry (key order as in the reference document). */
export function familyToCollectorMetric(family: MetricFamily): CollectorMetric {
  const multi = MULTI_SERIES_TYPES.has(family.type);
  const values: CollectorValue[] = new Array<CollectorValue>(family.samples.length);
  for (let i = 0; i < family.samples.length; i++) {
    const s = family.samples[i]!;
    const v: CollectorValue = { labels: copyLabels(s.labels), value: s.value };
    if (multi || s.name !== family.name) v.series = s.name;
    if (s.timestampMs !== undefined) v.timestamp_ms = s.timestampMs;
    if (s.exemplar !== undefined) {
      const ex: CollectorExemplar = { labels: copyLabels(s.exemplar.labels), value: s.exemplar.value };
      if (s.exemplar.timestampMs !== undefined) ex.timestamp_ms = s.exemplar.timestampMs;
      v.exemplar = ex;
    }
    values[i] = v;
  }
  const metric: CollectorMetric =
    family.unit === undefined
      ? { name: family.name, description: family.help, type: family.type, values }
      : { name: family.name, description: family.help, type: family.type, unit: family.unit, values };
  return metric;
}

/** Families (e.g. from `parseAndFilter`) → the collector document. */
export function toCollectorJson(families: readonly MetricFamily[], options: ToCollectorJsonOptions): CollectorDocument {
  const epoch = options.epochSeconds ?? currentEpochSeconds();
  return {
    node_exporter: options.nodeExporter,
    epoch_timestamp: formatEpochSeconds(epoch),
    metrics: families.map(familyToCollectorMetric),
  };
}

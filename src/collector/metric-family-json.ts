/**
 * The metric-family JSON the collector produces (docs/collector-json.md) and TD messages carry
 * in `metrics`: the reference's fields only. The collector's additive extensions (series,
 * timestamp_ms, exemplar, unit) are typed in exposition/to-collector-json.ts.
 */

export interface LabelPair {
  name: string;
  value: string;
}

export interface MetricValue {
  labels: LabelPair[];
  value: string;
}

export interface MetricFamilyJson {
  name: string;
  description: string;
  type: string;
  values: MetricValue[];
}

/**
 * Data types shared by the exposition parser, the filters and the collector-JSON conversion:
 * parsed metric families, samples, labels, exemplars and the typed parse error.
 */

/** Which text format the input is in. `auto` picks OpenMetrics iff the last line is `# EOF`. */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

/**
 * Family types of both formats. Prometheus text 0.0.4 knows counter, gauge, histogram, summary
 * and untyped; OpenMetrics 1.0 adds gaugehistogram, info, stateset and calls untyped `unknown`.
 */
export type MetricType =
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'gaugehistogram'
  | 'summary'
  | 'info'
  | 'stateset'
  | 'untyped'
  | 'unknown';

/** One label pair; `value` is unescaped (`\"` → `"`, `\\` → `\`, `\n` → newline). */
export interface MetricLabel {
  name: string;
  value: string;
}

/** An OpenMetrics exemplar: `# {trace_id="abc"} 1.0 1234.5` after a sample. */
export interface Exemplar {
  labels: MetricLabel[];
  /** The exemplar value exactly as written. */
  value: string;
  numeric: number;
  /** Exemplar timestamp converted from seconds to milliseconds, when present. */
  timestampMs?: number;
}

/** One sample line. */
export interface MetricSample {
  /** The series name as written, e.g. `http_request_duration_seconds_bucket`. */
  name: string;
  /** Labels in exposition order. */
  labels: MetricLabel[];
  /** The value exactly as written by the exporter, e.g. `2.434326851e+09`, `+Inf`, `NaN`. */
  value: string;
  /** The value as a number (`NaN`, `±Infinity` for the special values). */
  numeric: number;
  /**
   * Sample timestamp in milliseconds since the epoch, only when the line has one: the integer
   * as written in Prometheus text, seconds × 1000 (rounded to the microsecond) in OpenMetrics.
   */
  timestampMs?: number;
  /** OpenMetrics exemplar, only when the line has one. */
  exemplar?: Exemplar;
}

/** A metric family: its metadata and every sample that belongs to it, in input order. */
export interface MetricFamily {
  name: string;
  /** HELP text, unescaped; "" when there is no HELP line. */
  help: string;
  /** Declared TYPE (lower case); `untyped` (Prometheus text) / `unknown` (OpenMetrics) if none. */
  type: MetricType;
  /** OpenMetrics `# UNIT`, only when declared. */
  unit?: string;
  samples: MetricSample[];
}

/**
 * Thrown for any input the parser rejects. `line` and `column` are 1-based (column counts
 * UTF-16 code units from the start of the line); `reason` says what was wrong; `message` is
 * `line N: reason`.
 */
export class ExpositionParseError extends Error {
  override readonly name = 'ExpositionParseError';
  readonly line: number;
  readonly column: number;
  readonly reason: string;

  constructor(line: number, column: number, reason: string) {
    super(`line ${line}: ${reason}`);
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

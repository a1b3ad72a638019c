/** Types of the InfluxDB writer's contract: options, the write error, the summary and stats. */

/** Tuning beyond the configuration section (all optional). */
export interface InfluxWriterOptions {
  /** Label of this writer's metrics (default 'influx'). */
  name?: string;
  /** Bodies of at least this many bytes are gzip-compressed (default 64 KiB; Infinity: never). */
  gzipThresholdBytes?: number;
  /** First retry delay (ms, default 200); doubles per attempt up to retryMaxMs (default 30 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Upper bound for a server's Retry-After (ms, default 5 min). */
  retryAfterMaxMs?: number;
  /** Jitter source (tests). */
  random?: () => number;
}

export type InfluxWriteErrorKind = 'rejected' | 'unavailable' | 'closed';

export class InfluxWriteError extends Error {
  constructor(
    message: string,
    readonly kind: InfluxWriteErrorKind,
    /** HTTP status of the refusal (rejected), or of the last attempt (unavailable; 0 = network). */
    readonly status: number,
    /** The server's error body (truncated). */
    readonly body: string,
    /** How many of the caller's points failed. */
    public points: number,
  ) {
    super(message);
    this.name = 'InfluxWriteError';
  }

  /** True when the same points may succeed later (server unavailable), false when refused. */
  get retriable(): boolean {
    return this.kind === 'unavailable';
  }
}

export interface WriteSummary {
  /** Points accepted by InfluxDB. */
  written: number;
  /** Points that could not be encoded at all (skipped, reported). */
  skippedPoints: number;
  /** Fields or tags left out of otherwise written points (non-finite numbers, …). */
  skippedFields: number;
}

export interface WriteOptions {
  /** Send without waiting for the batch to fill or the flush interval (the caller awaits). */
  immediate?: boolean;
}

export interface WriterStats {
  buffered: number;
  peakBuffered: number;
  written: number;
  failed: number;
  retried: number;
  requests: number;
  skippedPoints: number;
  skippedFields: number;
}

/** The result of delivering one line. */
export type Outcome = { ok: true } | { ok: false; kind: 'rejected' | 'unavailable'; status: number; body: string; message: string };

export const OK: Outcome = { ok: true };

/** Longest server body kept in logs and errors. */
export const MAX_BODY_LOG = 2000;

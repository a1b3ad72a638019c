/**
 * The embedded time-series storage of the single-process mode (no server): what the store
 * sinks write (one row per message: a series, a timestamp, numeric fields, tags and the full
 * message) and what the APIs read (latest state, series list, a field's history), plus a small
 * key-value table for other modules' metadata (e.g. the model registry).
 *
 * Two implementations share this interface: SQLite in a file (sqlite-store.ts, the default
 * when a directory is configured) and in memory (memory-store.ts: tests, no directory).
 * Series names are chosen by the callers and namespaced by a prefix: `router/r1`, `vehicle/v1`.
 *
 * Semantics both implementations guarantee (the shared test suite checks them):
 *  - timestamps are integer milliseconds (fractional input is rounded);
 *  - a row with the same series and timestamp as a stored one replaces it (so at-least-once
 *    redelivery is idempotent);
 *  - `latest` is the row with the greatest timestamp (a late, older row does not replace it);
 *  - only finite numbers are stored as fields (NaN/Infinity are left out);
 *  - retention: rows older than `retentionHours` (by their timestamp) are deleted by prune(),
 *    which runs periodically (and once soon after opening); a series whose latest row is older
 *    disappears with it.
 */

export interface SeriesRow {
  series: string;
  tsMs: number;
  fields: Record<string, number>;
  tags?: Record<string, string>;
  /** The full message the row came from (e.g. the ML message JSON); kept for the latest row. */
  doc?: string;
}

export interface LatestRow {
  tsMs: number;
  fields: Record<string, number>;
  tags: Record<string, string>;
  doc?: string;
}

export interface SeriesInfo {
  series: string;
  latestTsMs: number;
}

export interface RangePoint {
  tsMs: number;
  value: number;
}

export interface KvEntry<T = unknown> {
  key: string;
  value: T;
  updatedMs: number;
}

export interface TimeSeriesStore {
  readonly kind: 'sqlite' | 'memory';
  /** Appends rows (all or none: one transaction). */
  append(rows: readonly SeriesRow[]): Promise<void>;
  /** The latest row of a series, undefined when the series is unknown. */
  latest(series: string): Promise<LatestRow | undefined>;
  /** Series (optionally those starting with `prefix`), sorted by name, with their latest timestamp. */
  listSeries(prefix?: string): Promise<SeriesInfo[]>;
  /**
   * A field's values with fromMs ≤ t ≤ toMs, oldest first; at most `limit` (default 10,000)
   * points — the oldest ones, so that a caller can page on from the last timestamp + 1.
   * Rows without that field are skipped.
   */
  range(series: string, field: string, fromMs: number, toMs: number, limit?: number): Promise<RangePoint[]>;
  /** Applies retention now (relative to `nowMs`, default the clock); returns rows deleted. */
  prune(nowMs?: number): Promise<number>;

  /** Key-value metadata: values are JSON (stored as JSON text). */
  kvGet<T = unknown>(key: string): Promise<T | undefined>;
  kvPut(key: string, value: unknown): Promise<void>;
  /** true when the key existed. */
  kvDelete(key: string): Promise<boolean>;
  /** Entries whose key starts with `prefix` (all when absent), sorted by key. */
  kvList<T = unknown>(prefix?: string): Promise<Array<KvEntry<T>>>;

  /** Stops the retention timer and closes the store (idempotent). */
  close(): Promise<void>;
}

export interface StoreOptions {
  /** History kept per series, in hours. */
  retentionHours: number;
  /** How often retention runs (ms; default: retention / 10, between 10 s and 1 h). */
  pruneIntervalMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

export const DEFAULT_RANGE_LIMIT = 10_000;

export function pruneInterval(opts: StoreOptions): number {
  if (opts.pruneIntervalMs !== undefined) return opts.pruneIntervalMs;
  return Math.min(3_600_000, Math.max(10_000, (opts.retentionHours * 3_600_000) / 10));
}

/** Only finite numbers are stored; returns a new object (or the same when nothing is dropped). */
export function finiteFields(fields: Record<string, number>): Record<string, number> {
  for (const v of Object.values(fields)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      const out: Record<string, number> = {};
      for (const [k, x] of Object.entries(fields)) if (typeof x === 'number' && Number.isFinite(x)) out[k] = x;
      return out;
    }
  }
  return fields;
}

export function validateRow(row: SeriesRow): void {
  if (typeof row.series !== 'string' || row.series === '') throw new TypeError('store row: series must be a non-empty string');
  if (typeof row.tsMs !== 'number' || !Number.isFinite(row.tsMs)) throw new TypeError(`store row ${row.series}: tsMs must be a finite number`);
  if (row.fields === null || typeof row.fields !== 'object') throw new TypeError(`store row ${row.series}: fields must be an object`);
}

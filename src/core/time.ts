/**
 * Time stamps and durations read once for every part that takes them from people or clients
 * (history queries, the Vehicle API, replay): epoch seconds or milliseconds (told apart by size),
 * ISO 8601 / RFC 3339 dates, `now` and relative times such as `-15m`, durations `500ms`/`30s`/
 * `15m`/`2h`/`1d`; and the range a Date can hold.
 */

/** The largest time a Date holds (ms from the epoch, either way). */
export const MAX_DATE_MS = 8.64e15;

/** Epoch numbers below this (in magnitude) are seconds: 1e11 s is the year 5138, 1e11 ms is 1973. */
export const EPOCH_SECONDS_BELOW = 1e11;

/** Milliseconds per duration unit. */
export const DURATION_UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export type DurationUnit = keyof typeof DURATION_UNIT_MS;

/** Epoch seconds or milliseconds → ms (not rounded). */
export function epochToMs(n: number): number {
  return Math.abs(n) < EPOCH_SECONDS_BELOW ? n * 1000 : n;
}

/** Epoch seconds or milliseconds → integer ms, or undefined when not a finite number. */
export function normalizeTimestamp(ts: unknown): number | undefined {
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return undefined;
  return Math.round(epochToMs(ts));
}

/** Within the range of a Date. */
export function isDateMs(ms: number): boolean {
  return Math.abs(ms) <= MAX_DATE_MS;
}

/** An epoch-ms time stamp for a message: ISO 8601, or the raw number when beyond what a Date can hold. */
export function formatTs(ms: number): string {
  return isDateMs(ms) ? new Date(ms).toISOString() : `${ms} ms since the epoch`;
}

/** `500ms`, `30s`, `1.5m`, `2h`, `1d` → ms; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  return m ? Number(m[1]) * DURATION_UNIT_MS[m[2] as DurationUnit] : undefined;
}

export interface ParseTimeOptions {
  /** Accept `now` and `-<duration>` (relative to nowMs). */
  relative?: boolean;
  /** The clock for relative times (default Date.now()). */
  nowMs?: number;
  /** Accept a sign on epoch numbers (`-5`, `+1700000000`). */
  signed?: boolean;
  /** `auto` (default): seconds below EPOCH_SECONDS_BELOW, else ms; `ms`: integers are always ms. */
  epoch?: 'auto' | 'ms';
}

/**
 * A time given as text → ms since the epoch (not range-checked: see isDateMs), or undefined when
 * unreadable: `now`/`-15m` (with `relative`), an epoch number, or a date Date.parse reads
 * (ISO 8601 / RFC 3339).
 */
export function parseTime(text: string, opts: ParseTimeOptions = {}): number | undefined {
  if (opts.relative) {
    if (text === 'now') return opts.nowMs ?? Date.now();
    if (text.startsWith('-')) {
      const d = parseDuration(text.slice(1));
      if (d !== undefined) return (opts.nowMs ?? Date.now()) - d;
    }
  }
  const numeric = opts.epoch === 'ms' ? /^\d+$/ : opts.signed ? /^[+-]?\d+(\.\d+)?$/ : /^\d+(\.\d+)?$/;
  if (numeric.test(text)) return opts.epoch === 'ms' ? Number(text) : epochToMs(Number(text));
  const d = Date.parse(text);
  return Number.isFinite(d) ? d : undefined;
}

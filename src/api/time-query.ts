/**
 * Parsing of the `from`/`to` query parameters of the history endpoints: epoch seconds, epoch
 * milliseconds, ISO-8601 dates, or relative times such as `-15m`, `-2h`, `-1d`, `now` — within
 * the range of a Date (else an error, not a time that later fails to format).
 */
export function parseTimeParam(raw: string | undefined, fallbackMs: number, nowMs = Date.now()): number | { error: string } {
  if (raw === undefined || raw === '') return fallbackMs;
  if (typeof raw !== 'string') return { error: 'give a single time' };
  const t = parseTime(raw.trim(), nowMs);
  if (typeof t !== 'number') return t;
  if (!(Math.abs(t) <= MAX_DATE_MS)) return { error: `time "${raw.slice(0, 100)}" is outside the range of dates (±${MAX_DATE_MS} ms from 1970, years -271821 to 275760)` };
  return t;
}

/** The largest time a Date holds (ms from the epoch, either way). */
export const MAX_DATE_MS = 8.64e15;

function parseTime(s: string, nowMs: number): number | { error: string } {
  if (s === 'now') return nowMs;
  const rel = /^-(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s);
  if (rel) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
    return nowMs - Number(rel[1]) * unit;
  }
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    return n < 1e11 ? n * 1000 : n; // below 1e11 it is seconds (1e11 s is the year 5138)
  }
  const d = Date.parse(s);
  if (Number.isFinite(d)) return d;
  return { error: `cannot read time "${s.slice(0, 100)}": use epoch seconds or ms, ISO-8601, or -15m/-2h/-1d/now` };
}

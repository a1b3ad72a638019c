/**
 * The `from`/`to` query parameters of the history endpoints: epoch seconds, epoch milliseconds,
 * ISO-8601 dates, or relative times such as `-15m`, `-2h`, `-1d`, `now` (read by core/time.ts) —
 * within the range of a Date (else an error, not a time that later fails to format).
 */
import { isDateMs, MAX_DATE_MS, parseTime } from '../core/time.js';

export { MAX_DATE_MS } from '../core/time.js';

export function parseTimeParam(raw: string | undefined, fallbackMs: number, nowMs = Date.now()): number | { error: string } {
  if (raw === undefined || raw === '') return fallbackMs;
  if (typeof raw !== 'string') return { error: 'give a single time' };
  const s = raw.trim();
  const t = parseTime(s, { relative: true, nowMs });
  if (t === undefined) return { error: `cannot read time "${s.slice(0, 100)}": use epoch seconds or ms, ISO-8601, or -15m/-2h/-1d/now` };
  if (!isDateMs(t)) return { error: `time "${raw.slice(0, 100)}" is outside the range of dates (±${MAX_DATE_MS} ms from 1970, years -271821 to 275760)` };
  return t;
}

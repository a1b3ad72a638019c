/**
 * Parsing of the `from`/`to` query parameters of the history endpoints: epoch seconds, epoch
 * milliseconds, ISO-8601 dates, or relative times such as `-15m`, `-2h`, `-1d`, `now`.
 */
export function parseTimeParam(raw: string | undefined, fallbackMs: number, nowMs = Date.now()): number | { error: string } {
  if (raw === undefined || raw === '') return fallbackMs;
  const s = raw.trim();
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
  return { error: `cannot read time "${raw}": use epoch seconds or ms, ISO-8601, or -15m/-2h/-1d/now` };
}

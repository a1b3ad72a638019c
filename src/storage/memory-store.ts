/**
 * The in-memory TimeSeriesStore: same semantics as the SQLite one (see types.ts), nothing on
 * disk. Used by tests and when no storage directory is configured. Per series: the rows sorted
 * by timestamp (appends are almost always at the end; binary search otherwise) and the latest.
 */
import {
  DEFAULT_RANGE_LIMIT,
  finiteFields,
  pruneInterval,
  validateRow,
  type KvEntry,
  type LatestRow,
  type RangePoint,
  type SeriesInfo,
  type SeriesRow,
  type StoreOptions,
  type TimeSeriesStore,
} from './types.js';

interface Sample {
  tsMs: number;
  fields: Record<string, number>;
}

interface Series {
  samples: Sample[];
  latest: LatestRow;
}

/** First index whose tsMs ≥ ts. */
function lowerBound(samples: Sample[], ts: number): number {
  let lo = 0;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (samples[mid]!.tsMs < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryStore implements TimeSeriesStore {
  readonly kind = 'memory' as const;
  private readonly series = new Map<string, Series>();
  private readonly kv = new Map<string, { json: string; updatedMs: number }>();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly opts: StoreOptions) {
    this.now = opts.now ?? Date.now;
    const every = pruneInterval(opts);
    if (every > 0) {
      this.timer = setInterval(() => void this.prune(), every);
      this.timer.unref();
    }
  }

  private check(): void {
    if (this.closed) throw new Error('store is closed');
  }

  async append(rows: readonly SeriesRow[]): Promise<void> {
    this.check();
    for (const row of rows) validateRow(row); // all or none
    for (const row of rows) {
      const tsMs = Math.round(row.tsMs);
      const fields = { ...finiteFields(row.fields) };
      let s = this.series.get(row.series);
      const latest: LatestRow = { tsMs, fields, tags: { ...(row.tags ?? {}) }, ...(row.doc !== undefined ? { doc: row.doc } : {}) };
      if (!s) {
        s = { samples: [], latest };
        this.series.set(row.series, s);
      } else if (tsMs >= s.latest.tsMs) s.latest = latest;
      const last = s.samples[s.samples.length - 1];
      if (!last || last.tsMs < tsMs) s.samples.push({ tsMs, fields });
      else {
        const i = lowerBound(s.samples, tsMs);
        if (s.samples[i]?.tsMs === tsMs) s.samples[i] = { tsMs, fields };
        else s.samples.splice(i, 0, { tsMs, fields });
      }
    }
  }

  async latest(series: string): Promise<LatestRow | undefined> {
    this.check();
    const l = this.series.get(series)?.latest;
    return l ? { tsMs: l.tsMs, fields: { ...l.fields }, tags: { ...l.tags }, ...(l.doc !== undefined ? { doc: l.doc } : {}) } : undefined;
  }

  async listSeries(prefix = ''): Promise<SeriesInfo[]> {
    this.check();
    const out: SeriesInfo[] = [];
    for (const [name, s] of this.series) if (name.startsWith(prefix)) out.push({ series: name, latestTsMs: s.latest.tsMs });
    return out.sort((a, b) => (a.series < b.series ? -1 : a.series > b.series ? 1 : 0));
  }

  async range(series: string, field: string, fromMs: number, toMs: number, limit = DEFAULT_RANGE_LIMIT): Promise<RangePoint[]> {
    this.check();
    const s = this.series.get(series);
    const out: RangePoint[] = [];
    if (!s) return out;
    for (let i = lowerBound(s.samples, fromMs); i < s.samples.length && out.length < limit; i++) {
      const sample = s.samples[i]!;
      if (sample.tsMs > toMs) break;
      const v = sample.fields[field];
      if (v !== undefined && Object.hasOwn(sample.fields, field)) out.push({ tsMs: sample.tsMs, value: v });
    }
    return out;
  }

  async prune(nowMs = this.now()): Promise<number> {
    if (this.closed) return 0;
    const cutoff = nowMs - this.opts.retentionHours * 3_600_000;
    let deleted = 0;
    for (const [name, s] of this.series) {
      const keep = lowerBound(s.samples, cutoff);
      if (keep > 0) {
        s.samples.splice(0, keep);
        deleted += keep;
      }
      if (s.latest.tsMs < cutoff) this.series.delete(name);
    }
    return deleted;
  }

  async kvGet<T = unknown>(key: string): Promise<T | undefined> {
    this.check();
    const e = this.kv.get(key);
    return e ? (JSON.parse(e.json) as T) : undefined;
  }

  async kvPut(key: string, value: unknown): Promise<void> {
    this.check();
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`kvPut ${key}: value is not JSON-serialisable`);
    this.kv.set(key, { json, updatedMs: this.now() });
  }

  async kvDelete(key: string): Promise<boolean> {
    this.check();
    return this.kv.delete(key);
  }

  async kvList<T = unknown>(prefix = ''): Promise<Array<KvEntry<T>>> {
    this.check();
    return [...this.kv.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, e]) => ({ key, value: JSON.parse(e.json) as T, updatedMs: e.updatedMs }));
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.closed = true;
  }
}

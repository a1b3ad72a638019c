/**
 * A small InfluxQL reader for the web UI's history when predictions go to InfluxDB (influx.url
 * set: the vehicle predictor then writes `prediction` points there instead of the embedded
 * storage). InfluxDB 1.x `/query` (and 2.x's v1-compatible `/query` with a token and a DBRP
 * mapping), the same credentials as the writer.
 */
import type { InfluxConfig } from '../sinks/config.js';

export interface InfluxRow {
  tsMs: number;
  values: Record<string, unknown>;
}

/** Quotes a string literal for InfluxQL ('…' with \ and ' escaped). */
export const influxString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export async function influxSelect(cfg: InfluxConfig, q: string, timeoutMs = 5000): Promise<InfluxRow[]> {
  if (!cfg.url) throw new Error('influx.url is not set');
  const base = cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`;
  const u = new URL('query', base);
  u.searchParams.set('db', cfg.database);
  if (cfg.retentionPolicy) u.searchParams.set('rp', cfg.retentionPolicy);
  u.searchParams.set('q', q);
  u.searchParams.set('epoch', 'ms');
  const headers: Record<string, string> = {};
  if (cfg.token !== undefined) headers.authorization = `Token ${cfg.token}`;
  else if (cfg.username !== undefined) headers.authorization = `Basic ${Buffer.from(`${cfg.username}:${cfg.password ?? ''}`).toString('base64')}`;
  const res = await fetch(u, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const json = (await res.json()) as { error?: string; results?: Array<{ error?: string; series?: Array<{ columns: string[]; values: unknown[][] }> }> };
  const err = json.error ?? json.results?.[0]?.error;
  if (err || res.status >= 400) throw new Error(`InfluxDB: ${err ?? `HTTP ${res.status}`}`);
  const rows: InfluxRow[] = [];
  for (const s of json.results?.[0]?.series ?? []) {
    for (const v of s.values) {
      const values: Record<string, unknown> = {};
      s.columns.forEach((c, i) => (values[c] = v[i]));
      rows.push({ tsMs: Number(values.time), values });
    }
  }
  return rows;
}

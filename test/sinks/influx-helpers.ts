/**
 * Helpers of the InfluxDB tests: InfluxQL queries against the real server (INFLUX_URL), unique
 * database names, and a small recording HTTP server for the request-shape and retry tests.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { AppConfig } from '../../src/app-config.js';
export { waitFor } from '../helpers/wait-for.js';

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

const base = (url: string) => (url.endsWith('/') ? url : `${url}/`);

/** Runs an InfluxQL query (GET /query, epoch=ms); throws on a query error. */
export async function influxQuery(url: string, db: string, q: string): Promise<InfluxSeries[]> {
  const u = new URL('query', base(url));
  u.searchParams.set('db', db);
  u.searchParams.set('q', q);
  u.searchParams.set('epoch', 'ms');
  const res = await fetch(u);
  const json = (await res.json()) as { error?: string; results?: Array<{ error?: string; series?: InfluxSeries[] }> };
  const err = json.error ?? json.results?.[0]?.error;
  if (err) throw new Error(`InfluxQL error for "${q}": ${err}`);
  return json.results?.[0]?.series ?? [];
}

/** Rows of a query as objects (column → value). */
export async function influxRows(url: string, db: string, q: string): Promise<Array<Record<string, unknown>>> {
  const series = await influxQuery(url, db, q);
  return series.flatMap((s) => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))));
}

export async function influxAdmin(url: string, q: string): Promise<void> {
  const res = await fetch(new URL('query', base(url)), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ q }).toString(),
  });
  const text = await res.text();
  if (res.status >= 300 || /"error"/.test(text)) throw new Error(`${q}: HTTP ${res.status} ${text}`);
}

export const uniqueDb = (what: string) => `wf_test_${what}_${process.pid}_${Date.now().toString(36)}`;

/** The influx config section with test defaults (short timeouts, small retry budget). */
export function influxConfig(url: string, over: Partial<AppConfig['influx']> = {}): AppConfig['influx'] & { url: string } {
  return {
    url,
    apiVersion: 1,
    database: 'wattflow',
    createDatabase: true,
    batchSize: 5000,
    flushIntervalMs: 50,
    maxBufferPoints: 100_000,
    maxRetries: 3,
    timeoutMs: 5000,
    ...over,
  };
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  /** The body, gunzipped when content-encoding is gzip. */
  body: string;
  rawBytes: number;
}

export interface StubServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export type StubHandler = (req: RecordedRequest, res: ServerResponse, index: number) => void | Promise<void>;

/** A local HTTP server that records every request and answers through `handler`. */
export async function startStub(handler: StubHandler, port = 0): Promise<StubServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      const rec: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, rawBytes: raw.length };
      requests.push(rec);
      Promise.resolve(handler(rec, res, requests.length - 1)).catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { freePort } from '../helpers/ports.js';

/** Forwards a recorded request to the real InfluxDB and relays its answer. */
export async function forward(target: string, req: RecordedRequest, res: ServerResponse): Promise<void> {
  const u = new URL(req.url, base(target));
  const r = await fetch(u, { method: req.method, headers: { 'content-type': String(req.headers['content-type'] ?? 'text/plain') }, body: req.body });
  res.statusCode = r.status;
  res.end(await r.text());
}

export function respond(res: ServerResponse, status: number, body = '', headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}


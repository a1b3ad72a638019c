/**
 * The InfluxDB writer. Main assertions against the real InfluxDB 1.x (INFLUX_URL): points
 * queried back (values, types, tags, timestamps), batching, backpressure, data errors not
 * retried, database (re)creation, gzip, close(). Retry logic and the 2.x request shape use a
 * small local HTTP server (answering 503/429/401, or forwarding to the real InfluxDB).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/core/logger.js';
import type { Point } from '../../src/sinks/influx/line-protocol.js';
import { InfluxWriteError, InfluxWriter, parseRetryAfter, quoteIdentifier } from '../../src/sinks/influx/writer.js';
import { service } from '../helpers/services.js';
import {
  forward,
  freePort,
  influxAdmin,
  influxConfig,
  influxQuery,
  influxRows,
  respond,
  startStub,
  uniqueDb,
  waitFor,
  type StubServer,
} from './influx-helpers.js';

const logger = silentLogger();
const influx = service('INFLUX_URL', 'InfluxDB');
const T0 = 1_750_000_000_000;

function points(n: number, opts: { from?: number; measurement?: string; router?: string } = {}): Point[] {
  const from = opts.from ?? 0;
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      measurement: opts.measurement ?? 'router_power',
      tags: { router: opts.router ?? `r${i % 3}`, experiment_id: 'e1' },
      fields: { power: 700 + i * 0.25, occupation: i % 100, seq: BigInt(i), ok: i % 2 === 0, label: `p${i}` },
      timestampMs: T0 + i,
    };
  });
}

const fast = { retryInitialMs: 20, retryMaxMs: 100 };

describe('InfluxWriter: request shape and retries (local HTTP server)', () => {
  let stub: StubServer | undefined;
  after(async () => stub?.close());

  test('2.x: POST /api/v2/write?org=&bucket=&precision=ms with Authorization: Token', async () => {
    stub = await startStub((_req, res) => respond(res, 204));
    const w = new InfluxWriter(
      influxConfig(`${stub.url}/prefix`, { apiVersion: 2, org: 'my org', bucket: 'b1', token: 's3cr3t', createDatabase: true }),
      logger,
    );
    const summary = await w.write(points(3), { immediate: true });
    assert.equal(summary.written, 3);
    assert.equal(stub.requests.length, 1, 'no CREATE DATABASE for 2.x');
    const r = stub.requests[0]!;
    const u = new URL(r.url, stub.url);
    assert.equal(r.method, 'POST');
    assert.equal(u.pathname, '/prefix/api/v2/write');
    assert.equal(u.searchParams.get('org'), 'my org');
    assert.equal(u.searchParams.get('bucket'), 'b1');
    assert.equal(u.searchParams.get('precision'), 'ms');
    assert.equal(r.headers.authorization, 'Token s3cr3t');
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    assert.equal(r.body.split('\n').length, 3);
    assert.ok(r.body.startsWith('router_power,experiment_id=e1,router=r0 power=700,occupation=0,seq=0i,ok=true,label="p0" 1750000000000'));
    await w.close();
    await stub.close();
    stub = undefined;
  });

  test('1.x: /write?db=&rp=&precision=ms, basic auth (also from user:pass in the URL), CREATE DATABASE first', async () => {
    stub = await startStub((req, res) => respond(res, req.url.startsWith('/query') ? 200 : 204, req.url.startsWith('/query') ? '{"results":[{"statement_id":0}]}' : ''));
    const w = new InfluxWriter(influxConfig(`http://u%40x:p%3Aw@127.0.0.1:${stub.port}`, { database: 'd"b', retentionPolicy: 'short' }), logger);
    await w.write(points(1), { immediate: true });
    assert.equal(stub.requests.length, 2);
    const [create, write] = stub.requests as [NonNullable<StubServer['requests'][0]>, NonNullable<StubServer['requests'][0]>];
    assert.equal(new URL(create.url, stub.url).pathname, '/query');
    assert.equal(new URLSearchParams(create.body).get('q'), 'CREATE DATABASE "d\\"b"');
    const u = new URL(write.url, stub.url);
    assert.equal(u.pathname, '/write');
    assert.equal(u.searchParams.get('db'), 'd"b');
    assert.equal(u.searchParams.get('rp'), 'short');
    assert.equal(u.searchParams.get('precision'), 'ms');
    const expected = `Basic ${Buffer.from('u@x:p:w').toString('base64')}`;
    assert.equal(write.headers.authorization, expected);
    assert.equal(create.headers.authorization, expected);
    await w.close();
    await stub.close();
    stub = undefined;
  });

  test('network errors, then 503 twice, then success: retried with backoff until accepted', async () => {
    const port = await freePort();
    const w = new InfluxWriter(influxConfig(`http://127.0.0.1:${port}`, { createDatabase: false, maxRetries: 30 }), logger, fast);
    const pending = w.write(points(5), { immediate: true });
    await new Promise((r) => setTimeout(r, 300)); // nothing listens: connection refused, retried
    assert.ok(w.stats().retried >= 5, 'retried while nothing listened');
    stub = await startStub((_req, res, i) => (i < 2 ? respond(res, 503, '{"error":"overloaded"}') : respond(res, 204)), port);
    await pending;
    assert.equal(stub.requests.length, 3);
    assert.deepEqual(new Set(stub.requests.map((r) => r.body)).size, 1, 'the same batch each time');
    assert.equal(w.stats().written, 5);
    await w.close();
    await stub.close();
    stub = undefined;
  });

  test('429 with Retry-After is honoured', async () => {
    stub = await startStub((_req, res, i) => (i === 0 ? respond(res, 429, '', { 'retry-after': '1' }) : respond(res, 204)));
    const w = new InfluxWriter(influxConfig(stub.url, { createDatabase: false }), logger, fast);
    const started = Date.now();
    await w.write(points(1), { immediate: true });
    assert.ok(Date.now() - started >= 950, `waited ${Date.now() - started} ms`);
    assert.equal(stub.requests.length, 2);
    await w.close();
    await stub.close();
    stub = undefined;
  });

  test('4xx other than 429 is not retried: rejected with the server body', async () => {
    stub = await startStub((_req, res) => respond(res, 401, '{"error":"authorization failed"}'));
    const w = new InfluxWriter(influxConfig(stub.url, { createDatabase: false, maxRetries: 5 }), logger, fast);
    const err = await w.write(points(4), { immediate: true }).then(
      () => assert.fail('should reject'),
      (e: unknown) => e as InfluxWriteError,
    );
    assert.ok(err instanceof InfluxWriteError);
    assert.equal(err.kind, 'rejected');
    assert.equal(err.status, 401);
    assert.equal(err.retriable, false);
    assert.equal(err.points, 4);
    assert.match(err.body, /authorization failed/);
    assert.equal(stub.requests.length, 1, 'exactly one request');
    assert.equal(w.stats().failed, 4);
    await w.close();
    await stub.close();
    stub = undefined;
  });

  test('retries exhausted: unavailable (retriable) after maxRetries + 1 attempts', async () => {
    stub = await startStub((_req, res) => respond(res, 500, 'boom'));
    const w = new InfluxWriter(influxConfig(stub.url, { createDatabase: false, maxRetries: 2 }), logger, fast);
    const err = await w.write(points(2), { immediate: true }).then(
      () => assert.fail('should reject'),
      (e: unknown) => e as InfluxWriteError,
    );
    assert.equal(err.kind, 'unavailable');
    assert.equal(err.retriable, true);
    assert.equal(err.status, 500);
    assert.equal(stub.requests.length, 3);
    await w.close();
    await stub.close();
    stub = undefined;
  });

  test('backpressure: write() waits while the buffer is full', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    stub = await startStub(async (_req, res) => {
      await gate;
      respond(res, 204);
    });
    const w = new InfluxWriter(influxConfig(stub.url, { createDatabase: false, maxBufferPoints: 10, batchSize: 10 }), logger, fast);
    const first = w.write(points(10), { immediate: true });
    await waitFor(() => stub!.requests.length === 1 || undefined, 5000, 'first request');
    let secondDone = false;
    const second = w.write(points(5, { from: 10 }), { immediate: true }).then(() => (secondDone = true));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(secondDone, false, 'second write waits for room');
    assert.equal(w.stats().buffered, 10, 'its points are not buffered yet');
    open();
    await first;
    await second;
    assert.equal(stub.requests.length, 2);
    assert.ok(w.stats().peakBuffered <= 10);
    await w.close();
    await stub.close();
    stub = undefined;
  });

  test('large bodies are gzip-compressed', async () => {
    stub = await startStub((_req, res) => respond(res, 204));
    const w = new InfluxWriter(influxConfig(stub.url, { createDatabase: false }), logger, { gzipThresholdBytes: 1024 });
    await w.write(points(200), { immediate: true });
    const r = stub.requests[0]!;
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.body.split('\n').length, 200);
    assert.ok(r.rawBytes < Buffer.byteLength(r.body) / 3, `compressed ${Buffer.byteLength(r.body)} → ${r.rawBytes} bytes`);
    await w.write(points(1), { immediate: true });
    assert.equal(stub.requests[1]!.headers['content-encoding'], undefined, 'small bodies are not');
    await w.close();
    await stub.close();
    stub = undefined;
  });

  test('helpers: Retry-After and identifier quoting', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(quoteIdentifier('a"b\\c'), '"a\\"b\\\\c"');
  });
});

describe('InfluxWriter against the real InfluxDB 1.x', { skip: influx.skip }, () => {
  const db = uniqueDb('writer');
  const url = influx.value;

  before(async () => {
    if (!url) return;
    // Not created here: the writer's createDatabase does it.
    await influxAdmin(url, `DROP DATABASE "${db}"`);
  });
  after(async () => {
    if (url) await influxAdmin(url, `DROP DATABASE "${db}"`);
  });

  test('creates the database, writes points; values, types, tags and timestamps read back', async () => {
    const w = new InfluxWriter(influxConfig(url, { database: db }), logger);
    const summary = await w.write(
      [
        ...points(6),
        { measurement: 'router_power', tags: { router: 'rx', experiment_id: 'e1' }, fields: { power: NaN, occupation: 12.5 }, timestampMs: T0 + 100 },
        { measurement: 'router_power', tags: { router: 'rx' }, fields: { power: Infinity }, timestampMs: T0 + 101 },
      ],
      { immediate: true },
    );
    assert.deepEqual(summary, { written: 7, skippedPoints: 1, skippedFields: 1 });
    const rows = await influxRows(url, db, `SELECT * FROM router_power WHERE router = 'r1' ORDER BY time`);
    assert.deepEqual(rows, [
      { time: T0 + 1, experiment_id: 'e1', label: 'p1', occupation: 1, ok: false, power: 700.25, router: 'r1', seq: 1 },
      { time: T0 + 4, experiment_id: 'e1', label: 'p4', occupation: 4, ok: true, power: 701, router: 'r1', seq: 4 },
    ]);
    const rx = await influxRows(url, db, `SELECT * FROM router_power WHERE router = 'rx'`);
    assert.equal(rx.length, 1);
    assert.equal(rx[0]!.occupation, 12.5);
    assert.equal(rx[0]!.power, null, 'the NaN field was left out');
    const types = await influxQuery(url, db, 'SHOW FIELD KEYS FROM router_power');
    const typeOf = Object.fromEntries(types[0]!.values.map(([k, t]) => [k, t]));
    assert.deepEqual(typeOf, { label: 'string', occupation: 'float', ok: 'boolean', power: 'float', seq: 'integer' });
    await w.close();
  });

  test('batching: 12,000 points in batches of 5,000, concurrent writers; throughput', async (t) => {
    const w = new InfluxWriter(influxConfig(url, { database: db, batchSize: 5000, flushIntervalMs: 20 }), logger);
    const before = w.stats().requests;
    const started = performance.now();
    await Promise.all([0, 1, 2, 3].map((k) => w.write(points(3000, { from: 10_000 + k * 3000, measurement: 'batching' }))));
    const seconds = (performance.now() - started) / 1000;
    const count = await influxRows(url, db, 'SELECT COUNT(power) FROM batching');
    assert.equal(count[0]!.count, 12_000);
    const requests = w.stats().requests - before;
    assert.ok(requests >= 3 && requests <= 4, `${requests} requests`);
    t.diagnostic(`12,000 points in ${requests} requests: ${Math.round(12_000 / seconds)} points/s`);

    // Larger volume: 100,000 points (gzip on), for the throughput figure.
    const big = new InfluxWriter(influxConfig(url, { database: db, batchSize: 5000, flushIntervalMs: 20 }), logger);
    const s2 = performance.now();
    const all: Promise<unknown>[] = [];
    for (let k = 0; k < 20; k++) all.push(big.write(points(5000, { from: 100_000 + k * 5000, measurement: 'throughput' })));
    await Promise.all(all);
    const sec2 = (performance.now() - s2) / 1000;
    const c2 = await influxRows(url, db, 'SELECT COUNT(power) FROM throughput');
    assert.equal(c2[0]!.count, 100_000);
    t.diagnostic(`100,000 points (5 fields, 2 tags): ${sec2.toFixed(2)} s = ${Math.round(100_000 / sec2)} points/s`);
    await w.close();
    await big.close();
  });

  test('backpressure with a small buffer: bounded, nothing lost', async () => {
    const w = new InfluxWriter(influxConfig(url, { database: db, maxBufferPoints: 50, batchSize: 20, flushIntervalMs: 5 }), logger);
    await Promise.all(Array.from({ length: 40 }, (_, k) => w.write(points(10, { from: 200_000 + k * 10, measurement: 'bp' }))));
    assert.ok(w.stats().peakBuffered <= 50, `peak ${w.stats().peakBuffered}`);
    const count = await influxRows(url, db, 'SELECT COUNT(power) FROM bp');
    assert.equal(count[0]!.count, 400);
    await w.close();
  });

  test('a field type conflict (HTTP 400) is not retried; another write of the same batch still lands', async () => {
    const w = new InfluxWriter(influxConfig(url, { database: db, flushIntervalMs: 50 }), logger, fast);
    await w.write([{ measurement: 'conflict', tags: {}, fields: { v: 1.5 }, timestampMs: T0 }], { immediate: true });
    const requestsBefore = w.stats().requests;
    const bad = w.write([{ measurement: 'conflict', tags: {}, fields: { v: 'text' }, timestampMs: T0 + 1 }]);
    const good = w.write([{ measurement: 'conflict', tags: { who: 'good' }, fields: { v: 2.5 }, timestampMs: T0 + 2 }]);
    const err = await bad.then(
      () => assert.fail('should reject'),
      (e: unknown) => e as InfluxWriteError,
    );
    await good;
    assert.equal(err.kind, 'rejected');
    assert.equal(err.status, 400);
    assert.match(err.body, /field type conflict/);
    // One mixed batch, then one request per write to isolate the bad one — no retries.
    assert.equal(w.stats().requests - requestsBefore, 3);
    assert.equal(w.stats().retried, 0);
    const rows = await influxRows(url, db, 'SELECT * FROM conflict ORDER BY time');
    assert.deepEqual(
      rows.map((r) => [r.time, r.v]),
      [
        [T0, 1.5],
        [T0 + 2, 2.5],
      ],
    );
    await w.close();
  });

  test('database dropped while running: re-created on "database not found"', async () => {
    const other = uniqueDb('recreate');
    const w = new InfluxWriter(influxConfig(url, { database: other }), logger, fast);
    try {
      await w.write(points(1, { measurement: 'recreate' }), { immediate: true });
      await influxAdmin(url, `DROP DATABASE "${other}"`);
      await w.write(points(2, { from: 1, measurement: 'recreate' }), { immediate: true });
      const count = await influxRows(url, other, 'SELECT COUNT(power) FROM recreate');
      assert.equal(count[0]!.count, 2);
    } finally {
      await w.close();
      await influxAdmin(url, `DROP DATABASE "${other}"`);
    }
  });

  test('retries through an unavailable proxy (503 twice), then the real InfluxDB has the points', async () => {
    const proxy = await startStub((req, res, i) => (i < 2 ? respond(res, 503, '{"error":"starting"}') : forward(url, req, res)));
    try {
      const w = new InfluxWriter(influxConfig(proxy.url, { database: db, createDatabase: false }), logger, fast);
      await w.write(points(25, { from: 300_000, measurement: 'proxied' }), { immediate: true });
      assert.equal(proxy.requests.length, 3);
      assert.equal(w.stats().retried, 50);
      const rows = await influxRows(url, db, 'SELECT COUNT(power), LAST(label) FROM proxied');
      assert.equal(rows[0]!.count, 25);
      assert.equal(rows[0]!.last, 'p300024');
      await w.close();
    } finally {
      await proxy.close();
    }
  });

  test('gzip bodies are accepted by InfluxDB', async () => {
    const w = new InfluxWriter(influxConfig(url, { database: db }), logger, { gzipThresholdBytes: 0 });
    await w.write(points(300, { from: 400_000, measurement: 'gz' }), { immediate: true });
    const rows = await influxRows(url, db, 'SELECT COUNT(power) FROM gz');
    assert.equal(rows[0]!.count, 300);
    await w.close();
  });

  test('close() flushes lingering points; writes after close are refused', async () => {
    const w = new InfluxWriter(influxConfig(url, { database: db, flushIntervalMs: 60_000, batchSize: 5000 }), logger);
    let resolved = false;
    const pending = w.write(points(7, { from: 500_000, measurement: 'closing' })).then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(resolved, false, 'lingering until the interval or a flush');
    await w.close();
    await pending;
    const rows = await influxRows(url, db, 'SELECT COUNT(power) FROM closing');
    assert.equal(rows[0]!.count, 7);
    await assert.rejects(w.write(points(1)), (e: unknown) => e instanceof InfluxWriteError && e.kind === 'closed');
  });
});

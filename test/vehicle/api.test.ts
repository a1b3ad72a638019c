/**
 * Vehicle API over Fastify inject on the in-process store: ingest formats and per-measurement
 * results, bad input (400/413/415), reads, bearer token on ingest and reads (401), rate limit (429), out-of-range and
 * unknown-signal policies, 503 when the node-local store is unavailable.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../src/core/logger.js';
import { serverAuthOf } from '../../src/core/auth.js';
import { buildServer } from '../../src/core/server.js';
import { buildVehicleApi, createMemoryStore, storeComponent } from '../../src/vehicle/components.js';
import type { VehicleConfig } from '../../src/vehicle/config.js';
import { httpTransport } from '../../src/vehicle/ingest/predictor-transport.js';
import type { IngestResult } from '../../src/vehicle/ingest/ingest-service.js';
import type { VehicleStore } from '../../src/vehicle/store/store.js';
import { vehicleCfg } from './helpers.js';

const T = Math.floor(Date.now() / 1000) * 1000 - 60_000;

async function apiServer(v: VehicleConfig, opts: { store?: VehicleStore; forwardTo?: ReturnType<typeof httpTransport>[] } = {}) {
  // the server's auth as a role builds it from the configuration (the legacy vehicle.api.authToken is a token with ingest + read)
  const auth = serverAuthOf({ auth: { tokens: [], allowUnauthenticated: false }, http: { host: '127.0.0.1' }, vehicle: { api: v.api } });
  const store = opts.store ?? createMemoryStore(v);
  const api = buildVehicleApi({ v, store, logger: silentLogger(), ...(opts.forwardTo ? { forwardTo: opts.forwardTo } : {}) });
  const components = [storeComponent(store), api.component];
  const app = await buildServer(components, { logger: silentLogger(), auth });
  for (const c of components) await c.start?.();
  await app.ready();
  return {
    app,
    api,
    store,
    close: async () => {
      await app.close();
      for (const c of [...components].reverse()) await c.stop?.();
    },
  };
}

const post = (app: FastifyInstance, vehicle: string, payload: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  app.inject({ method: 'POST', url: `/v1/vehicles/${vehicle}/measurements`, payload, headers });

const meas = (signal: string, dt: number, value: number, extra: Record<string, unknown> = {}) => ({ signal, value, timestamp: T + dt, ...extra });

describe('Vehicle API (in-process store)', () => {
  let s: Awaited<ReturnType<typeof apiServer>>;
  before(async () => {
    s = await apiServer(vehicleCfg({ alignment: { idleFlushMs: 50 } as VehicleConfig['alignment'] }));
  });
  after(async () => s.close());

  test('one measurement, an array, NDJSON: counts and per-measurement rejections', async () => {
    let r = await post(s.app, 'car-1', JSON.stringify(meas('Vehicle speed', 0, 50)));
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { vehicleId: 'car-1', accepted: 1, rejected: 0, duplicates: 0, flagged: 0, late: 0, vectors: 0, rejections: [], flags: [] });
    r = await post(s.app, 'car-1', JSON.stringify([meas('engine_rpm', 100, 900), meas('warp', 100, 1), meas('vehicle_speed', 200, 400), meas('vehicle_speed', 0, 50)]));
    const body = r.json() as IngestResult;
    assert.equal(body.accepted, 2);
    assert.equal(body.duplicates, 1);
    assert.equal(body.rejected, 2);
    assert.deepEqual(body.rejections.map((x) => [x.index, x.code]), [
      [1, 'unknown_signal'],
      [2, 'out_of_range'],
    ]);
    const nd = [meas('vehicle_speed', 1500, 52), meas('vehicle_speed', 2500, 54), meas('engine_rpm', 2600, 950)].map((m) => JSON.stringify(m)).join('\n');
    r = await post(s.app, 'car-1', nd, { 'content-type': 'application/x-ndjson' });
    assert.equal(r.statusCode, 200);
    assert.deepEqual((r.json() as IngestResult).accepted, 3);
    assert.equal((r.json() as IngestResult).vectors, 2); // ticks T and T+1000 (watermark T+2600 − 1 s lateness)
    // a conflicting value at an existing time stamp is rejected with the reason
    r = await post(s.app, 'car-1', JSON.stringify(meas('vehicle_speed', 1500, 99)));
    assert.deepEqual((r.json() as IngestResult).rejections.map((x) => x.code), ['conflict']);
  });

  test('bad input: 400 malformed JSON with the reason, 400 NDJSON line, 400 vehicle id, 415, 413', async () => {
    let r = await post(s.app, 'car-2', '{"signal": "vehicle_speed", "value": 1,');
    assert.equal(r.statusCode, 400);
    assert.match(r.json().error, /^malformed JSON: /);
    r = await post(s.app, 'car-2', '{"signal":"a","value":1,"timestamp":1}\n{oops}\n', { 'content-type': 'application/x-ndjson' });
    assert.equal(r.statusCode, 400);
    assert.match(r.json().error, /malformed NDJSON at line 2/);
    r = await post(s.app, 'bad%20id', '[]');
    assert.equal(r.statusCode, 400);
    assert.match(r.json().error, /invalid vehicle id/);
    r = await post(s.app, 'car-2', 'speed=1', { 'content-type': 'text/plain' });
    assert.equal(r.statusCode, 415);
    r = await post(s.app, 'car-2', JSON.stringify(Array.from({ length: 30000 }, (_, i) => meas('vehicle_speed', i, 1))).padEnd(9 * 1024 * 1024, ' '));
    assert.equal(r.statusCode, 413);
    assert.match(r.json().error, /larger than 8388608 bytes/);
  });

  test('GET /api/vehicles, latest, series, catalog', async () => {
    await new Promise((r) => setTimeout(r, 300)); // idle flush emits the pending tick
    let r = await s.app.inject('/api/vehicles');
    const list = r.json();
    assert.equal(list.count, 1);
    assert.equal(list.vehicles[0].id, 'car-1');
    assert.equal(list.vehicles[0].latestTs, T + 2000);
    r = await s.app.inject('/api/vehicles/car-1/latest');
    const latest = r.json();
    assert.equal(latest.vector.ts, T + 2000);
    assert.deepEqual(latest.vector.values, { vehicle_speed: 52, engine_rpm: 900 });
    assert.deepEqual(latest.measurements.vehicle_speed, { ts: T + 2500, value: 54 });
    assert.equal(latest.prediction, null); // no predictor in this test
    r = await s.app.inject(`/api/vehicles/car-1/series?signal=Vehicle%20speed&from=${(T + 1000) / 1000}&to=${new Date(T + 2500).toISOString()}`);
    assert.deepEqual(r.json(), { vehicleId: 'car-1', signal: 'vehicle_speed', unit: 'km/h', points: [{ ts: T + 1500, value: 52 }, { ts: T + 2500, value: 54 }] });
    assert.equal((await s.app.inject('/api/vehicles/car-1/series')).statusCode, 400);
    assert.equal((await s.app.inject('/api/vehicles/car-1/series?signal=speed&from=yesterday')).statusCode, 400);
    assert.equal((await s.app.inject('/api/vehicles/car-1/series?signal=speed&limit=0')).statusCode, 400);
    assert.equal((await s.app.inject('/api/vehicles/nobody/latest')).statusCode, 404);
    const cat = (await s.app.inject('/api/vehicle-signals')).json();
    assert.ok(cat.signals.length >= 40);
    assert.deepEqual(cat.signals[0], { id: 'vehicle_speed', name: 'Vehicle speed', unit: 'km/h', min: 0, max: 300, kind: 'continuous', pid: '0D', aliases: cat.signals[0].aliases });
  });
});

describe('Vehicle API options', () => {
  test('bearer token (VEHICLE_API_TOKEN) on ingest and on reads (401)', async () => {
    const s = await apiServer(vehicleCfg({ api: { authToken: 's3cret' } as VehicleConfig['api'] }));
    try {
      const body = JSON.stringify(meas('vehicle_speed', 0, 1));
      let r = await post(s.app, 'car', body);
      assert.equal(r.statusCode, 401);
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="wattflow"');
      r = await post(s.app, 'car', body, { 'content-type': 'application/json', authorization: 'Bearer wrong!' });
      assert.equal(r.statusCode, 401);
      r = await post(s.app, 'car', body, { 'content-type': 'application/json', authorization: 'Bearer s3cret' });
      assert.equal(r.statusCode, 200);
      // reads and dead letters need it too (they stayed open before)
      for (const url of ['/api/vehicles', '/api/vehicle-dead-letters', '/api/vehicles/car/latest', '/api/vehicle-signals']) {
        assert.equal((await s.app.inject(url)).statusCode, 401, url);
        assert.notEqual((await s.app.inject({ url, headers: { authorization: 'Bearer s3cret' } })).statusCode, 401, url);
      }
      assert.equal((await s.app.inject({ url: '/api/vehicles', headers: { authorization: 'Bearer s3cret' } })).statusCode, 200);
    } finally {
      await s.close();
    }
  });

  test('per-vehicle rate limit: 429 with Retry-After, other vehicles unaffected', async () => {
    const s = await apiServer(vehicleCfg({ api: { rateLimit: { measurementsPerSecond: 10, burst: 20 } } as VehicleConfig['api'] }));
    try {
      const batch = (n: number, from: number) => JSON.stringify(Array.from({ length: n }, (_, i) => meas('vehicle_speed', (from + i) * 10, 1)));
      assert.equal((await post(s.app, 'car', batch(25, 0))).statusCode, 200); // burst may be overdrawn once
      const r = await post(s.app, 'car', batch(1, 100));
      assert.equal(r.statusCode, 429);
      assert.ok(Number(r.headers['retry-after']) >= 1);
      assert.match(r.json().error, /rate limit of 10 measurements\/s for vehicle car/);
      assert.equal((await post(s.app, 'other', batch(1, 0))).statusCode, 200);
    } finally {
      await s.close();
    }
  });

  test('out-of-range stored flagged, unknown signals kept (per config)', async () => {
    const s = await apiServer(vehicleCfg({ api: { outOfRange: 'flag', unknownSignals: 'keep' } as VehicleConfig['api'] }));
    try {
      const r = await post(s.app, 'car', JSON.stringify([meas('vehicle_speed', 0, 400), meas('Tyre pressure', 0, 2.2)]));
      const body = r.json() as IngestResult;
      assert.equal(body.accepted, 2);
      assert.equal(body.flagged, 1);
      assert.deepEqual(body.flags.map((f) => [f.index, f.flag]), [[0, 'out_of_range']]);
      const series = (await s.app.inject('/api/vehicles/car/series?signal=vehicle_speed')).json();
      assert.deepEqual(series.points, [{ ts: T, value: 400, flagged: true }]);
      const kept = (await s.app.inject('/api/vehicles/car/series?signal=tyre_pressure')).json();
      assert.deepEqual(kept.points, [{ ts: T, value: 2.2 }]);
    } finally {
      await s.close();
    }
  });

  test('503 when the node-local store is unavailable: nothing stored', async () => {
    const v = vehicleCfg();
    const store = createMemoryStore(v);
    let up = true;
    const flaky = Object.assign(Object.create(store) as VehicleStore, { available: () => (up ? true : 'node-local Redis at redis://x is not available (reconnecting)') });
    const s = await apiServer(v, { store: flaky });
    try {
      up = false;
      const r = await post(s.app, 'car', JSON.stringify(meas('vehicle_speed', 0, 1)));
      assert.equal(r.statusCode, 503);
      assert.equal(r.headers['retry-after'], '1');
      assert.match(r.json().error, /node-local Redis at redis:\/\/x is not available .*nothing was stored/);
      assert.deepEqual(await store.listVehicles(), []);
      assert.equal((await s.app.inject('/api/vehicles')).statusCode, 503);
      assert.equal((await s.app.inject('/readyz')).statusCode, 503);
      up = true;
      assert.equal((await post(s.app, 'car', JSON.stringify(meas('vehicle_speed', 0, 1)))).statusCode, 200);
    } finally {
      await s.close();
    }
  });

  test('a store write that fails mid-request → 503 "retry later"; a bug in ingest → 500, not "retry later"', async () => {
    const v = vehicleCfg();
    const store = createMemoryStore(v);
    let failure: Error | undefined;
    const failing = Object.assign(Object.create(store) as VehicleStore, {
      appendMeasurements: (...a: Parameters<VehicleStore['appendMeasurements']>) => (failure ? Promise.reject(failure) : store.appendMeasurements(...a)),
    });
    const s = await apiServer(v, { store: failing });
    try {
      failure = new Error('READONLY You can\'t write against a read only replica.');
      let r = await post(s.app, 'car', JSON.stringify(meas('vehicle_speed', 0, 1)));
      assert.equal(r.statusCode, 503);
      assert.match(r.json().error, /^could not store the measurements \(READONLY .*\); retry later$/);
      const ingest = s.api.ingest as unknown as { ingest: (...a: unknown[]) => Promise<unknown> };
      ingest.ingest = async () => {
        throw new TypeError('a bug');
      };
      failure = undefined;
      r = await post(s.app, 'car', JSON.stringify(meas('vehicle_speed', 0, 1)));
      assert.equal(r.statusCode, 500);
      assert.doesNotMatch(r.body, /retry later/);
    } finally {
      await s.close();
    }
  });
});

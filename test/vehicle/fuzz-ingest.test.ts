/**
 * Seeded fuzz of the Vehicle API's ingest (Fastify inject, in-process store): hundreds of
 * requests with mutated measurements (odd signal names, values, units and time stamps of every
 * type), broken JSON and NDJSON, random bytes, odd vehicle ids and content types. No request may
 * get a 5xx; a refused request (4xx) says why; an accepted one accounts for each measurement
 * (accepted + rejected = sent, each rejection with its index, code and reason); and the API
 * still answers a plain request correctly afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/core/logger.js';
import { buildServer } from '../../src/core/server.js';
import { buildVehicleApi, createMemoryStore, storeComponent } from '../../src/vehicle/components.js';
import type { VehicleConfig } from '../../src/vehicle/config.js';
import type { IngestResult } from '../../src/vehicle/ingest/ingest-service.js';
import { prng } from '../helpers/prng.js';
import { vehicleCfg } from './helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? 4122026);
const REQUESTS = 600;

test(`Vehicle API ingest under fuzzed requests (seed ${SEED}): no 5xx, every measurement accounted for, reasons given`, async () => {
  const rnd = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const v = vehicleCfg({ api: { rateLimit: { measurementsPerSecond: 0, burst: 0 } } as unknown as VehicleConfig['api'] });
  const store = createMemoryStore(v);
  const api = buildVehicleApi({ v, store, logger: silentLogger() });
  const components = [storeComponent(store), api.component];
  const app = await buildServer(components, { logger: silentLogger() });
  for (const c of components) await c.start?.();
  await app.ready();

  const now = Date.now();
  const signals = ['vehicle_speed', 'engine_rpm', 'coolant_temperature', 'Vehicle Speed', 'rpm', 'unknown_signal_x', '', ' ', 'a'.repeat(300), 'é', '0x0D', null, 7, {}, []];
  const odd = [null, true, false, 0, -1, 1e308, -1e308, '', '12', 'NaN', 'Infinity', '1e999', [], {}, [1], { v: 1 }, 'x'.repeat(2000)];
  const stamps = [now, now - 1000, now / 1000, (now / 1000).toFixed(3), new Date(now).toISOString(), 0, -1, 1e20, now + 86_400_000 * 365, 'yesterday', null, NaN, '2026-13-45T99:99:99Z'];
  const units = ['km/h', 'mph', 'rpm', '°C', 'degF', 'K', 'furlong/fortnight', '', null, 5];
  const measurement = (): unknown => {
    const m: Record<string, unknown> = { signal: pick(signals), value: rnd() < 0.7 ? Math.round(rnd() * 200 * 100) / 100 : pick(odd), timestamp: pick(stamps) };
    if (rnd() < 0.3) m.unit = pick(units);
    if (rnd() < 0.1) delete m[pick(Object.keys(m))];
    if (rnd() < 0.05) m[pick(['extra', '__proto__', 'constructor', 'toString'])] = pick(odd);
    return rnd() < 0.03 ? pick(odd) : m;
  };
  const vehicleIds = ['car-1', 'car-2', 'truck.7', 'bad id', '', '-x', 'x'.repeat(80), '%00', '..', 'ok:1'];
  const contentTypes = ['application/json', 'application/json; charset=utf-8', 'application/x-ndjson', 'text/plain', 'application/xml', ''];

  const statuses = new Map<number, number>();
  let sent = 0;
  let accounted = 0;
  for (let i = 0; i < REQUESTS; i++) {
    const items = Array.from({ length: Math.floor(rnd() * 40) }, measurement);
    const ndjson = rnd() < 0.25;
    let payload: string;
    let counted = !ndjson; // measurements counted from a JSON array body
    const roll = rnd();
    if (roll < 0.7) payload = ndjson ? items.map((x) => JSON.stringify(x)).join('\n') : JSON.stringify(items);
    else if (roll < 0.8) payload = JSON.stringify(ndjson ? items : { measurements: items }).slice(0, Math.floor(rnd() * 200));
    else if (roll < 0.9) payload = Array.from({ length: Math.floor(rnd() * 300) }, () => String.fromCharCode(Math.floor(rnd() * 0xffff))).join('');
    else payload = JSON.stringify(pick([null, 1, 'x', true, { measurements: 'no' }, { measurement: [] }, [[]], items[0] ?? {}]));
    if (roll >= 0.7) counted = false;
    const contentType = rnd() < 0.9 ? (ndjson ? 'application/x-ndjson' : 'application/json') : pick(contentTypes);
    const vehicle = rnd() < 0.9 ? pick(vehicleIds.slice(0, 3)) : pick(vehicleIds);
    const res = await app.inject({ method: 'POST', url: `/v1/vehicles/${encodeURIComponent(vehicle)}/measurements`, payload, headers: contentType ? { 'content-type': contentType } : {} });
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    assert.ok(res.statusCode < 500, `request ${i}: ${res.statusCode} ${res.body.slice(0, 300)} for ${contentType} ${payload.slice(0, 200)}`);
    if (res.statusCode === 200) {
      const r = JSON.parse(res.body) as IngestResult;
      if (counted && contentType.startsWith('application/json')) {
        sent += items.length;
        accounted += r.accepted + r.rejected;
        assert.equal(r.accepted + r.rejected, items.length, `request ${i}: accepted ${r.accepted} + rejected ${r.rejected} = ${items.length}`);
      }
      for (const rej of r.rejections) {
        assert.ok(Number.isInteger(rej.index) && typeof rej.code === 'string' && rej.reason.length > 0, `request ${i}: a rejection names index, code and reason: ${JSON.stringify(rej)}`);
      }
    } else {
      const body = JSON.parse(res.body) as { error?: string; message?: string };
      assert.ok((body.error ?? body.message ?? '').length > 0, `request ${i}: ${res.statusCode} says why: ${res.body.slice(0, 200)}`);
    }
  }
  assert.ok(sent > 1000 && accounted === sent, `${accounted} of ${sent} measurements accounted for`);
  assert.ok((statuses.get(200) ?? 0) > REQUESTS / 3 && [...statuses.keys()].some((s) => s >= 400), `a mix of outcomes: ${JSON.stringify([...statuses])}`);

  // still healthy: a plain request is stored and read back
  const t = Math.floor(now / 1000) * 1000;
  const ok = await app.inject({ method: 'POST', url: '/v1/vehicles/after-fuzz/measurements', payload: JSON.stringify([{ signal: 'vehicle_speed', value: 42, timestamp: t }]), headers: { 'content-type': 'application/json' } });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal((JSON.parse(ok.body) as IngestResult).accepted, 1);
  assert.deepEqual((await store.series('after-fuzz', 'vehicle_speed', t, t, 10)).map((p) => p.value), [42]);
  await app.close();
  for (const c of [...components].reverse()) await c.stop?.();
});

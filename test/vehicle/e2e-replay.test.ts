/**
 * End to end with real services: both reference logs replayed as fast as possible through a
 * listening Vehicle API into the real Redis; every measurement stored or rejected with a
 * reason; every vector announced; a prediction for every vector in the real InfluxDB — in push
 * mode (the API forwards over HTTP) and in pull mode (subscribe and poll predictors).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import { buildVehicleApi, buildVehiclePredictor, createPredictionSink, createRedisStore, storeComponent } from '../../src/vehicle/components.js';
import type { AppConfig as VehicleAppConfig } from '../../src/app-config.js';
import type { VehicleConfig } from '../../src/vehicle/config.js';
import { loadAppConfig as loadVehicleAppConfig } from '../../src/app-config.js';
import { httpTransport } from '../../src/vehicle/ingest/predictor-transport.js';
import { IsolationForestModel } from '../../src/vehicle/model/anomaly-model.js';
import { trainVehicleModel } from '../../src/vehicle/model/train.js';
import { replayVehicleLog, type ReplayReport } from '../../src/vehicle/replay/replay.js';
import type { RedisVehicleStore } from '../../src/vehicle/store/redis-store.js';
import { service } from '../helpers/services.js';
import { DS1, DS1_MEASUREMENTS, DS2, DS2_MEASUREMENTS, deleteKeys, uid, waitFor } from './helpers.js';

const redis = service('REDIS_URL', 'Redis');
const influx = service('INFLUX_URL', 'InfluxDB');
const skip = redis.skip || influx.skip;
const logger = silentLogger();

function config(prefix: string, database: string): VehicleAppConfig {
  return loadVehicleAppConfig(
    undefined,
    {
      '/influx/url': influx.value,
      '/influx/database': database,
      '/influx/flushIntervalMs': 50,
      '/vehicle/redis/url': redis.value,
      '/vehicle/redis/keyPrefix': prefix,
      '/vehicle/redis/channel': `${prefix}announce`,
      '/vehicle/alignment/idleFlushMs': 200,
      '/vehicle/predictor/pollIntervalMs': 50,
    },
    {},
  );
}

async function influxQuery(db: string, q: string): Promise<Array<{ name: string; columns: string[]; values: unknown[][] }>> {
  const res = await fetch(`${influx.value}/query?db=${encodeURIComponent(db)}&q=${encodeURIComponent(q)}&epoch=ms`);
  const body = (await res.json()) as { results: Array<{ series?: Array<{ name: string; columns: string[]; values: unknown[][] }>; error?: string }> };
  if (body.results[0]?.error) throw new Error(body.results[0].error);
  return body.results[0]?.series ?? [];
}

async function predictionCount(db: string, vehicle: string): Promise<number> {
  const s = await influxQuery(db, `SELECT count(label) FROM prediction WHERE vehicle_id='${vehicle}'`).catch(() => []);
  return Number(s[0]?.values[0]?.[1] ?? 0);
}

/** Counts announcements per vehicle on the channel (a plain Redis subscriber). */
async function listen(channel: string): Promise<{ counts: Map<string, number>; firstTs: Map<string, number>; close: () => Promise<void> }> {
  const sub = new Redis(redis.value);
  const counts = new Map<string, number>();
  const firstTs = new Map<string, number>();
  sub.on('message', (_c: string, msg: string) => {
    const v = JSON.parse(msg) as { vehicleId: string; ts: number };
    counts.set(v.vehicleId, (counts.get(v.vehicleId) ?? 0) + 1);
    if (!firstTs.has(v.vehicleId)) firstTs.set(v.vehicleId, v.ts);
  });
  await sub.subscribe(channel);
  return { counts, firstTs, close: async () => void (await sub.quit()) };
}

/** Raw measurements stored for a vehicle (sum of its sorted sets). */
async function storedCount(store: RedisVehicleStore, vehicle: string): Promise<number> {
  let n = 0;
  for (const s of await store.listSignals(vehicle)) n += await store.redis.zcard(store.keys.raw(vehicle, s));
  return n;
}

function assertAddsUp(r: ReplayReport, fileMeasurements: number): void {
  assert.equal(r.measurements, fileMeasurements);
  assert.equal(r.sent, fileMeasurements);
  assert.equal(r.accepted + r.rejected, r.sent, JSON.stringify(r.rejections));
  for (const [code, e] of Object.entries(r.rejections)) assert.ok(e.example.length > 0, `rejection ${code} has a reason`);
}

const model = () => new IsolationForestModel(trainVehicleModel({ files: [DS1, DS2] }).artifact);

describe('vehicle pipeline end to end (real Redis and InfluxDB)', { skip }, () => {
  const prefix = `${uid('wfe2e')}:`;
  const dbs: string[] = [];
  const running: RunningApp[] = [];
  let cleanupStore: RedisVehicleStore | undefined;
  let m: IsolationForestModel;

  before(() => {
    m = model();
  });
  after(async () => {
    for (const r of running.reverse()) await r.stop();
    if (cleanupStore) {
      await cleanupStore.start();
      await deleteKeys(cleanupStore, prefix);
      await cleanupStore.close();
    }
    for (const db of dbs) await fetch(`${influx.value}/query?q=${encodeURIComponent(`DROP DATABASE "${db}"`)}`, { method: 'POST' }).catch(() => undefined);
  });

  async function startApi(cfg: VehicleAppConfig, forwardTo?: string) {
    const store = createRedisStore(cfg.vehicle, logger);
    const api = buildVehicleApi({ v: cfg.vehicle, store, logger, ...(forwardTo ? { forwardTo: [httpTransport(forwardTo, 5000)] } : {}) });
    const app = await startComponents([storeComponent(store), api.component], { host: '127.0.0.1', port: 0, logger });
    running.push(app);
    return { app, store, api };
  }

  async function startPredictor(cfg: VehicleAppConfig, mode: 'push' | 'subscribe' | 'poll', v: VehicleConfig = cfg.vehicle) {
    const store = mode === 'push' ? undefined : createRedisStore(v, logger);
    const pred = buildVehiclePredictor({ v, mode, model: m, sink: createPredictionSink(cfg, logger), logger, ...(store ? { store } : {}) });
    const components = store ? [storeComponent(store), pred.component] : [pred.component];
    const app = await startComponents(components, { host: '127.0.0.1', port: 0, logger });
    running.push(app);
    return { app, pred };
  }

  test('push mode: replay both logs as fast as possible; every vector announced and predicted in InfluxDB', async () => {
    const db = `wf_vehicle_${uid('push')}`;
    dbs.push(db);
    const cfg = config(prefix, db);
    const predictor = await startPredictor(cfg, 'push');
    const { app, store, api } = await startApi(cfg, predictor.app.url);
    cleanupStore = createRedisStore(cfg.vehicle, logger);
    const ann = await listen(cfg.vehicle.redis.channel);
    const [a, b] = [uid('ds1-'), uid('ds2-')];
    const [ra, rb] = await Promise.all([
      replayVehicleLog({ file: DS1, vehicleId: a, target: app.url, asFastAsPossible: true }),
      replayVehicleLog({ file: DS2, vehicleId: b, target: app.url, asFastAsPossible: true }),
    ]);
    assertAddsUp(ra, DS1_MEASUREMENTS);
    assertAddsUp(rb, DS2_MEASUREMENTS);
    assert.equal(ra.rejected + rb.rejected, 0);
    // every accepted measurement is in Redis
    assert.equal(await storedCount(store, a), ra.accepted - ra.duplicates);
    assert.equal(await storedCount(store, b), rb.accepted - rb.duplicates);
    // vectors: those returned by the requests plus the idle flush of the last ticks; all announced
    await waitFor(async () => (ann.counts.get(a) ?? 0) > ra.vectors && (ann.counts.get(b) ?? 0) > rb.vectors, 5000, 'idle flush');
    await waitFor(() => api.forwarder!.pending === 0, 10_000, 'forwarding');
    const nA = ann.counts.get(a)!;
    const nB = ann.counts.get(b)!;
    assert.ok(nA >= 670 && nA <= 673, `DS1 vectors ${nA}`);
    assert.ok(nB >= 719 && nB <= 722, `DS2 vectors ${nB}`);
    // a prediction for every vector, time stamped with the vector's tick
    await waitFor(async () => (await predictionCount(db, a)) === nA && (await predictionCount(db, b)) === nB, 10_000, 'predictions in InfluxDB');
    const first = await influxQuery(db, `SELECT first(label) FROM prediction WHERE vehicle_id='${a}'`);
    assert.equal(first[0]!.values[0]![0], ann.firstTs.get(a));
    const meas = await influxQuery(db, `SELECT count(engine_torque), max(vehicle_speed) FROM vehicle_measurement WHERE vehicle_id='${b}'`);
    assert.ok(Number(meas[0]!.values[0]![1]) >= nB - 2);
    assert.equal(meas[0]!.values[0]![2], 93);
    const labels = await influxQuery(db, `SELECT count(score) FROM prediction WHERE vehicle_id='${b}' AND label='normal'`);
    assert.ok(Number(labels[0]!.values[0]![1]) > nB * 0.9, 'mostly normal on data the model was trained on');
    // the API shows the latest data and score
    const latest = (await (await fetch(`${app.url}/api/vehicles/${b}/latest`)).json()) as { vector: { ts: number }; prediction: { modelVersion: string; ts: number; score: number } };
    assert.equal(latest.prediction.modelVersion, m.version);
    assert.equal(latest.prediction.ts, latest.vector.ts);
    assert.equal(typeof latest.prediction.score, 'number');
    // replaying again is idempotent: everything is a duplicate, no new vectors
    const again = await replayVehicleLog({ file: DS1, vehicleId: a, target: app.url, asFastAsPossible: true, startMs: ra.startMs });
    assert.equal(again.duplicates, DS1_MEASUREMENTS);
    assert.equal(again.vectors, 0);
    assert.equal(await storedCount(store, a), ra.accepted);
    await ann.close();
  });

  test('pull mode: subscribe and poll predictors score every announced vector', async () => {
    const dbSub = `wf_vehicle_${uid('sub')}`;
    const dbPoll = `wf_vehicle_${uid('poll')}`;
    dbs.push(dbSub, dbPoll);
    const pfx = `${prefix}pull:`;
    const cfgSub = config(pfx, dbSub);
    const cfgPoll = config(pfx, dbPoll);
    cfgSub.vehicle.inference.mode = 'pull';
    cfgPoll.vehicle.predictor.group = uid('group');
    await startPredictor(cfgSub, 'subscribe');
    await startPredictor(cfgPoll, 'poll');
    const { app } = await startApi(cfgSub); // no forwarding
    const ann = await listen(cfgSub.vehicle.redis.channel);
    const [a, b] = [uid('ds1-'), uid('ds2-')];
    const [ra, rb] = await Promise.all([
      replayVehicleLog({ file: DS1, vehicleId: a, target: app.url, asFastAsPossible: true, batchSize: 250 }),
      replayVehicleLog({ file: DS2, vehicleId: b, target: app.url, asFastAsPossible: true, batchSize: 1000 }),
    ]);
    assertAddsUp(ra, DS1_MEASUREMENTS);
    assertAddsUp(rb, DS2_MEASUREMENTS);
    await waitFor(async () => (ann.counts.get(a) ?? 0) > ra.vectors && (ann.counts.get(b) ?? 0) > rb.vectors, 5000, 'idle flush');
    const nA = ann.counts.get(a)!;
    const nB = ann.counts.get(b)!;
    for (const db of [dbSub, dbPoll]) {
      await waitFor(async () => (await predictionCount(db, a)) === nA && (await predictionCount(db, b)) === nB, 15_000, `predictions in ${db}`);
    }
    // the pull predictors keep the latest prediction in Redis too
    const latest = (await (await fetch(`${app.url}/api/vehicles/${a}/latest`)).json()) as { prediction: { label: string } | null };
    assert.ok(latest.prediction);
    await ann.close();
  });
});

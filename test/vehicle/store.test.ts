/**
 * Vehicle store contract, run on the in-process adapter and on the real Redis (REDIS_URL):
 * idempotent appends (duplicate, conflict, expired), retention, series, latest vectors, the
 * forward journal and dead-letter stream, latest predictions; Redis unavailable. The vector
 * stream and its announcements as the pull stage consumes them: pull-stage.test.ts.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/core/logger.js';
import type { VehiclePrediction } from '../../src/vehicle/predictor/prediction.js';
import { MemoryVehicleStore } from '../../src/vehicle/store/memory-store.js';
import { RedisVehicleStore } from '../../src/vehicle/store/redis-store.js';
import type { RawMeasurement, StoreLimits, VehicleStore } from '../../src/vehicle/store/store.js';
import { service } from '../helpers/services.js';
import { deleteKeys, uid, vector } from './helpers.js';

const redisSvc = service('REDIS_URL', 'Redis');
const T = 1_700_000_000_000;
const LIMITS: StoreLimits = { retentionMs: 60_000, maxPerSeries: 5, vectorStreamMaxLen: 1000 };
const raw = (signal: string, dt: number, value: number, flagged = false): RawMeasurement => ({ signal, tsMs: T + dt, value, flagged });
const pred = (vehicleId: string, ts: number, score: number): VehiclePrediction => ({
  vehicleId,
  ts,
  seq: 1,
  score,
  label: 'normal',
  threshold: 0.6,
  modelName: 'm',
  modelVersion: 'v',
  top: [],
  flags: [],
  missing: 0,
  predictedAt: ts,
});

/** The same contract for both adapters. */
function contract(name: string, make: () => Promise<{ store: VehicleStore; cleanup: () => Promise<void> }>, skip: string | false) {
  describe(`vehicle store contract: ${name}`, { skip }, () => {
    let store: VehicleStore;
    let cleanup: () => Promise<void>;
    before(async () => ({ store, cleanup } = await make()));
    after(async () => cleanup?.());

    test('append: stored, duplicate (same value), conflict (other value), in order', async () => {
      const v = uid('veh');
      assert.deepEqual(await store.appendMeasurements(v, [raw('speed', 0, 10), raw('speed', 100, 11), raw('rpm', 0, 800)]), ['stored', 'stored', 'stored']);
      assert.deepEqual(await store.appendMeasurements(v, [raw('speed', 0, 10), raw('speed', 100, 12), raw('speed', 200, 13), raw('speed', 200, 13), raw('speed', 200, 14)]), [
        'duplicate',
        'conflict',
        'stored',
        'duplicate',
        'conflict',
      ]);
      assert.deepEqual(await store.series(v, 'speed', -Infinity, Infinity, 100), [
        { ts: T, value: 10 },
        { ts: T + 100, value: 11 },
        { ts: T + 200, value: 13 },
      ]);
      assert.deepEqual(await store.listSignals(v), ['rpm', 'speed']);
      assert.ok((await store.listVehicles()).includes(v));
      assert.deepEqual(await store.latestMeasurements(v), { rpm: { ts: T, value: 800 }, speed: { ts: T + 200, value: 13 } });
    });

    test('flagged values round-trip; series range and limit (newest N, oldest first)', async () => {
      const v = uid('veh');
      await store.appendMeasurements(v, [raw('speed', 0, 1), raw('speed', 10, 2, true), raw('speed', 20, 3), raw('speed', 30, 4)]);
      assert.deepEqual(await store.series(v, 'speed', T + 10, T + 20, 100), [
        { ts: T + 10, value: 2, flagged: true },
        { ts: T + 20, value: 3 },
      ]);
      assert.deepEqual((await store.series(v, 'speed', -Infinity, Infinity, 2)).map((p) => p.value), [3, 4]);
      assert.deepEqual(await store.series(v, 'nothing', -Infinity, Infinity, 2), []);
    });

    test('retention: by count, and by age relative to the newest (older ones are expired)', async () => {
      const v = uid('veh');
      await store.appendMeasurements(v, [0, 1, 2, 3, 4, 5, 6].map((i) => raw('s', i * 10, i)));
      assert.deepEqual((await store.series(v, 's', -Infinity, Infinity, 100)).map((p) => p.value), [2, 3, 4, 5, 6]);
      const st = await store.appendMeasurements(v, [raw('s', 120_000, 7), raw('s', 30_000, 8)]);
      assert.deepEqual(st, ['stored', 'expired']); // 30 s is older than 120 s − 60 s
      assert.deepEqual((await store.series(v, 's', -Infinity, Infinity, 100)).map((p) => p.value), [7]);
    });

    test('vectors: latest per vehicle', async () => {
      const v = uid('veh');
      const vs = [1, 2, 3].map((i) => vector({ speed: i }, { vehicleId: v, ts: T + i * 1000, seq: i }));
      await store.publishVectors(vs);
      assert.deepEqual((await store.getLatestVector(v))?.seq, 3);
    });

    test('forward journal: journaled with the vectors, listed oldest first, removed by ack or dead-letter (with the reason)', async () => {
      const a = uid('veh');
      const b = uid('veh');
      const va = [vector({ speed: 1 }, { vehicleId: a, ts: T + 2000, seq: 2 }), vector({ speed: 2 }, { vehicleId: a, ts: T + 3000, seq: 3 })];
      const vb = [vector({ speed: 3 }, { vehicleId: b, ts: T + 1000, seq: 1 })];
      await store.publishVectors(va, { journal: true });
      await store.publishVectors(vb, { journal: true });
      await store.publishVectors([vector({ speed: 4 }, { vehicleId: b, ts: T + 5000, seq: 2 })]); // not journaled
      const journaled = await store.journaledVectors(100);
      assert.deepEqual(journaled.map((v) => [v.vehicleId, v.ts]), [[b, T + 1000], [a, T + 2000], [a, T + 3000]]);
      assert.deepEqual(journaled[1], va[0], 'the whole vector comes back');
      assert.equal((await store.journaledVectors(2)).length, 2);
      // the latest vector still follows every publish
      assert.equal((await store.getLatestVector(b))?.ts, T + 5000);

      await store.ackJournaled([va[0]!]);
      await store.deadLetterVectors(vb, 'HTTP 400: bad vector');
      assert.deepEqual((await store.journaledVectors(100)).map((v) => [v.vehicleId, v.ts]), [[a, T + 3000]]);
      const dead = await store.deadLetters(10);
      assert.equal(dead.length, 1);
      assert.equal(dead[0]!.reason, 'HTTP 400: bad vector');
      assert.deepEqual(dead[0]!.vector, vb[0]);
      assert.ok(Math.abs(dead[0]!.atMs - Date.now()) < 60_000, `dead-letter time ${dead[0]!.atMs}`);
      await store.ackJournaled(va);
      assert.deepEqual(await store.journaledVectors(100), []);
    });

    test('latest prediction: newer wins, an older one is ignored', async () => {
      const v = uid('veh');
      await store.setLatestPredictions([pred(v, T + 2000, 0.4), pred(v, T + 1000, 0.9)]);
      assert.equal((await store.getLatestPrediction(v))?.score, 0.4);
      await store.setLatestPredictions([pred(v, T + 1500, 0.8)]);
      assert.equal((await store.getLatestPrediction(v))?.score, 0.4);
      await store.setLatestPredictions([pred(v, T + 3000, 0.7)]);
      assert.equal((await store.getLatestPrediction(v))?.score, 0.7);
      assert.equal(await store.getLatestPrediction(uid('none')), undefined);
      assert.equal(await store.getLatestVector(uid('none')), undefined);
    });
  });
}

contract('in-process', async () => ({ store: new MemoryVehicleStore(LIMITS), cleanup: async () => undefined }), false);

contract(
  'Redis',
  async () => {
    const prefix = `${uid('wftest')}:`;
    const store = new RedisVehicleStore({ ...LIMITS, url: redisSvc.value, keyPrefix: prefix, channel: `${prefix}chan`, connectTimeoutMs: 2000, commandTimeoutMs: 5000, logger: silentLogger() });
    await store.start();
    assert.equal(store.available(), true);
    return {
      store,
      cleanup: async () => {
        await deleteKeys(store, prefix);
        await store.close();
      },
    };
  },
  redisSvc.skip,
);

describe('Redis store: invalid entries written by someone else', { skip: redisSvc.skip }, () => {
  const prefix = `${uid('wfpoison')}:`;
  let store: RedisVehicleStore;
  before(async () => {
    store = new RedisVehicleStore({ ...LIMITS, url: redisSvc.value, keyPrefix: prefix, channel: `${prefix}chan`, connectTimeoutMs: 2000, commandTimeoutMs: 5000, logger: silentLogger() });
    await store.start();
  });
  after(async () => {
    await deleteKeys(store, prefix);
    await store.close();
  });

  test('forward journal: an entry that is not a vector is dead-lettered with the reason and removed; the valid ones are returned', async () => {
    const good = vector({ speed: 1 }, { vehicleId: 'car3', ts: T, seq: 1 });
    await store.publishVectors([good], { journal: true });
    await store.redis.hset(store.keys.forwardJournal(), 'car3|1', '{"vehicleId":"car3"}');
    assert.deepEqual(await store.journaledVectors(100), [good]);
    assert.equal(await store.redis.hexists(store.keys.forwardJournal(), 'car3|1'), 0);
    const dead = await store.deadLetters(1);
    assert.equal(dead[0]!.raw, '{"vehicleId":"car3"}');
    assert.equal(dead[0]!.reason, 'invalid vector in the forward journal (field car3|1): ts must be epoch milliseconds');
    await store.ackJournaled([good]);
  });
});

describe('Redis store: unavailable server', () => {
  test('reports itself unavailable and fails fast instead of queueing', async () => {
    const store = new RedisVehicleStore({ ...LIMITS, url: 'redis://127.0.0.1:1', keyPrefix: 'x:', channel: 'x', connectTimeoutMs: 300, commandTimeoutMs: 500, logger: silentLogger() });
    await store.start();
    assert.match(String(store.available()), /node-local Redis at redis:\/\/127\.0\.0\.1:1 is not available/);
    const started = Date.now();
    await assert.rejects(store.appendMeasurements('v', [raw('s', 0, 1)]));
    assert.ok(Date.now() - started < 1000);
    await store.close();
  });
});

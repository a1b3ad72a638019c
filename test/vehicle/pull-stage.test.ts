/**
 * The predictor's pull mode on the real Redis (REDIS_URL): the vectors the store announces and
 * streams are consumed by the pull stage (Redis Streams fabric + shared stage loop) — a batch
 * whose sink write failed is delivered again and acknowledged only once written; an invalid
 * entry written by someone else goes to the dead-letter stream with the reason and is
 * acknowledged, the valid ones around it are scored. (Moved from store.test.ts when the store
 * stopped being a bus.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { silentLogger } from '../../src/core/logger.js';
import type { AlignedVector } from '../../src/vehicle/align/vector.js';
import { buildVehiclePredictor } from '../../src/vehicle/components.js';
import { IsolationForestModel } from '../../src/vehicle/model/anomaly-model.js';
import { trainVehicleModel } from '../../src/vehicle/model/train.js';
import type { PredictionSink, Scored } from '../../src/vehicle/predictor/sinks.js';
import { RedisVehicleStore } from '../../src/vehicle/store/redis-store.js';
import { service } from '../helpers/services.js';
import { deleteKeys, DS1, uid, vector, vehicleCfg, waitFor } from './helpers.js';

const redisSvc = service('REDIS_URL', 'Redis');
const T = 1_700_000_000_000;
const model = new IsolationForestModel(trainVehicleModel({ files: [DS1], trees: 5 }).artifact);

class FlakySink implements PredictionSink {
  readonly name = 'flaky';
  failures = 0;
  attempts: AlignedVector[][] = [];
  written: AlignedVector[] = [];
  async write(items: readonly Scored[]): Promise<void> {
    this.attempts.push(items.map((i) => i.vector));
    if (this.failures > 0) {
      this.failures--;
      throw new Error('sink down');
    }
    this.written.push(...items.map((i) => i.vector));
  }
  async close(): Promise<void> {}
}

describe('vehicle predictor, pull mode (vector stream on Redis Streams)', { skip: redisSvc.skip }, () => {
  const prefix = `${uid('wfpull')}:`;
  let store: RedisVehicleStore;
  before(async () => {
    store = new RedisVehicleStore({ retentionMs: 60_000, maxPerSeries: 5, vectorStreamMaxLen: 1000, url: redisSvc.value, keyPrefix: prefix, channel: `${prefix}chan`, connectTimeoutMs: 2000, commandTimeoutMs: 5000, logger: silentLogger() });
    await store.start();
  });
  after(async () => {
    await deleteKeys(store, prefix);
    await store.close();
  });

  const start = async (sink: PredictionSink) => {
    const group = uid('g');
    const v = vehicleCfg({ redis: { url: redisSvc.value, keyPrefix: prefix }, predictor: { group, pollIntervalMs: 100 } });
    const pred = buildVehiclePredictor({ v, mode: 'poll', model, sink, logger: silentLogger(), store });
    await pred.component.start?.();
    const pending = async () => ((await store.redis.xpending(store.keys.vectors(), group)) as [number])[0];
    return { pred, pending };
  };

  test('vectors: announced on the channel, streamed, scored by the stage; a failed sink write is delivered again', async () => {
    const veh = uid('veh');
    const sub = new Redis(redisSvc.value);
    const announced: AlignedVector[] = [];
    sub.on('message', (_c: string, m: string) => {
      const x = JSON.parse(m) as AlignedVector;
      if (x.vehicleId === veh) announced.push(x);
    });
    await sub.subscribe(`${prefix}chan`);
    const sink = new FlakySink();
    sink.failures = 1;
    const { pred, pending } = await start(sink);
    try {
      const vs = [1, 2, 3].map((i) => vector({ speed: i }, { vehicleId: veh, ts: T + i * 1000, seq: i }));
      await store.publishVectors(vs);
      await waitFor(() => announced.length === 3, 5000, 'announcements');
      assert.deepEqual(announced.map((x) => x.seq), [1, 2, 3]);
      assert.deepEqual((await store.getLatestVector(veh))?.seq, 3);
      await waitFor(() => sink.written.length === 3, 10_000, 'the 3 vectors written');
      assert.ok(sink.attempts.length >= 2, 'the failed batch came again');
      assert.deepEqual(sink.attempts[0]!.map((x) => x.seq), [1, 2, 3]);
      assert.deepEqual(sink.written.map((x) => x.seq), [1, 2, 3]);
      assert.equal((await store.getLatestPrediction(veh))?.seq, 3, 'the pull predictor keeps the latest prediction');
      // acknowledged: nothing pending for the group
      await waitFor(async () => (await pending()) === 0, 5000, 'acknowledged');
    } finally {
      await pred.component.stop?.();
      sub.disconnect();
    }
  });

  test('stream: a non-JSON or malformed entry is dead-lettered with the reason and acknowledged; the valid ones around it are scored', async () => {
    const sink = new FlakySink();
    const before = (await store.deadLetters(100)).length;
    const { pred, pending } = await start(sink);
    try {
      const good = vector({ speed: 50 }, { vehicleId: 'car', ts: T, seq: 1 });
      await store.redis.xadd(store.keys.vectors(), '*', 'v', '{not json');
      await store.publishVectors([good]);
      await store.redis.xadd(store.keys.vectors(), '*', 'v', JSON.stringify({ vehicleId: 'car', ts: T + 1000, seq: 2, values: { speed: 'fast' } }));
      await waitFor(async () => (await store.deadLetters(100)).length === before + 2 && sink.written.some((x) => x.vehicleId === 'car'), 10_000, 'dead letters and the valid vector');
      assert.deepEqual(sink.written.filter((x) => x.vehicleId === 'car'), [good]);
      await waitFor(async () => (await pending()) === 0, 5000, 'nothing pending: the invalid entries were acknowledged');
      const dead = await store.deadLetters(2);
      assert.equal(dead[0]!.vector, null);
      assert.equal(dead[0]!.raw, JSON.stringify({ vehicleId: 'car', ts: T + 1000, seq: 2, values: { speed: 'fast' } }));
      assert.match(dead[0]!.reason, /^invalid vector in stream entry \d+-\d+: values\.speed must be a number or null$/);
      assert.equal(dead[1]!.raw, '{not json');
      assert.match(dead[1]!.reason, /^invalid vector in stream entry \d+-\d+: not JSON: /);
    } finally {
      await pred.component.stop?.();
    }
  });
});

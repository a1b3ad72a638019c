/**
 * Redis failing between storing measurements and announcing their vectors loses no vector
 * (issue 11, point 6): the measurements of a request are stored by one script and the vectors
 * they complete are announced (latest, stream, channel, journal) by the next one; when the
 * second fails, the vehicle's vectors are recomputed from the stored measurements and
 * announced once Redis is back. Pull mode (the poll predictor reads the vector stream) must
 * receive every vector that an uninterrupted run over the same measurements produces.
 *
 * Both tests run on a private redis-server (a child process on a port of its own, never the
 * shared Redis): one kills the API's connection (CLIENT KILL) right after a request's
 * measurements are stored, the other SIGKILLs the server (append-only file, fsync always) while
 * a vehicle's last ticks wait for the idle flush, and restarts it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { silentLogger } from '../../src/core/logger.js';
import { FleetAligner } from '../../src/vehicle/align/aligner.js';
import type { AlignedVector } from '../../src/vehicle/align/vector.js';
import { defaultCatalog } from '../../src/vehicle/catalog/signals.js';
import type { VehicleConfig } from '../../src/vehicle/config.js';
import { buildVehicleApi, buildVehiclePredictor, createRedisStore } from '../../src/vehicle/components.js';
import { validateMeasurements } from '../../src/vehicle/ingest/measurements.js';
import { logMeasurements, readVehicleLog } from '../../src/vehicle/logs/csv-log.js';
import { IsolationForestModel } from '../../src/vehicle/model/anomaly-model.js';
import { trainVehicleModel } from '../../src/vehicle/model/train.js';
import type { PredictionSink, Scored } from '../../src/vehicle/predictor/sinks.js';
import type { RedisVehicleStore } from '../../src/vehicle/store/redis-store.js';
import { PrivateRedis, redisServerMissing } from '../helpers/private-redis.js';
import { service } from '../helpers/services.js';
import { DS1, DS2, uid, vehicleCfg, waitFor } from './helpers.js';

const redisSvc = service('REDIS_URL', 'Redis');
const skip = redisSvc.skip || redisServerMissing();
const logger = silentLogger();
const model = new IsolationForestModel(trainVehicleModel({ files: [DS1, DS2], trees: 10 }).artifact);

class RecordingSink implements PredictionSink {
  readonly name = 'recording';
  readonly vectors = new Map<number, AlignedVector>();
  async write(items: readonly Scored[]): Promise<void> {
    for (const i of items) this.vectors.set(i.vector.ts, i.vector);
  }
  async close(): Promise<void> {}
}

/** DS2 as a vehicle sends it (time order), ending an hour ago. */
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const items = logMeasurements(readVehicleLog(DS2), T0);
const batches: (typeof items)[] = [];
for (let i = 0; i < items.length; i += 500) batches.push(items.slice(i, i + 500));

function config(prefix: string): VehicleConfig {
  return vehicleCfg({
    redis: { keyPrefix: prefix, channel: `${prefix}chan` } as VehicleConfig['redis'],
    alignment: { idleFlushMs: 500 } as VehicleConfig['alignment'],
    predictor: { pollIntervalMs: 100, group: `${prefix}group` } as VehicleConfig['predictor'],
    api: { rateLimit: { measurementsPerSecond: 0, burst: 0 } } as unknown as VehicleConfig['api'],
  });
}

/** What an uninterrupted aligner makes of the same measurements: tick → [seq, values]. */
function expectedVectors(v: VehicleConfig): Map<number, [number, Record<string, number | null>]> {
  const valid = validateMeasurements(items, { catalog: defaultCatalog, unknownSignals: 'reject', outOfRange: 'reject', maxFutureSkewMs: v.api.maxFutureSkewMs }).valid;
  const a = new FleetAligner(v.alignment);
  const all = [...a.push('car', valid).vectors, ...a.flush()];
  return new Map(all.map((x) => [x.ts, [x.seq, x.values]]));
}

const summary = (m: Map<number, AlignedVector>) => new Map([...m].map(([ts, x]) => [ts, [x.seq, x.values]]));

/** An API (pull mode: no forwarder) and a poll-mode predictor on the private Redis, each with its own connection. */
async function pipeline(url: string, v: VehicleConfig) {
  const apiStore = createRedisStore(v, logger, url);
  const predStore = createRedisStore(v, logger, url);
  await apiStore.start();
  await predStore.start();
  const api = buildVehicleApi({ v, store: apiStore, logger });
  const sink = new RecordingSink();
  const pred = buildVehiclePredictor({ v, mode: 'poll', model, sink, logger, store: predStore });
  api.ingest.start();
  await pred.component.start?.();
  return {
    api,
    apiStore,
    sink,
    async stop() {
      await api.ingest.stop().catch(() => undefined);
      await pred.component.stop?.();
      await apiStore.close();
      await predStore.close();
    },
  };
}

const ingest = async (p: Awaited<ReturnType<typeof pipeline>>, batch: unknown[]) => {
  const r = await p.api.ingest.ingest('car', batch);
  assert.equal(r.accepted + r.rejected, batch.length);
  assert.equal(r.rejected, 0, JSON.stringify(r.rejections.slice(0, 3)));
  return r;
};

describe('vehicle vectors when Redis fails between storing and announcing (pull mode)', { skip, timeout: 120_000 }, () => {
  let redis: PrivateRedis;
  before(async () => {
    redis = await PrivateRedis.start();
  });
  after(async () => {
    await redis?.destroy();
  });

  test('the connection is killed after a request stored its measurements: its vectors are recomputed and every one reaches the poll predictor', async () => {
    const v = config(`${uid('wfann')}:`);
    const p = await pipeline(redis.url, v);
    const admin = new Redis(redis.url);
    try {
      // the announce of the 4th request fails: its connection dies after the measurements are stored
      const store = p.apiStore as RedisVehicleStore;
      const publish = store.publishVectors.bind(store);
      let killNext = false;
      let killed = 0;
      let closed: Promise<unknown> | undefined;
      store.publishVectors = async (vectors, opts) => {
        if (killNext) {
          killNext = false;
          const id = await store.redis.client('ID');
          closed = new Promise((r) => store.redis.once('close', r));
          assert.equal(await admin.client('KILL', 'ID', String(id)), 1);
          killed += vectors.length;
        }
        return publish(vectors, opts);
      };
      let emitted = 0;
      for (const [i, batch] of batches.entries()) {
        if (i === 3) killNext = true;
        emitted += (await ingest(p, batch)).vectors;
        if (i === 3) {
          assert.ok(killed > 0, 'the announce of request 4 was interrupted');
          await closed;
          await waitFor(() => store.available() === true, 10_000, 'API reconnected to Redis');
          // the measurements of that request are in Redis all the same
          const stored = await admin.zcard(store.keys.raw('car', 'vehicle_speed'));
          assert.ok(stored >= 4 * 40, `vehicle_speed measurements stored: ${stored}`);
        }
      }
      await p.api.ingest.stop();
      const expected = expectedVectors(v);
      assert.ok(expected.size > 600 && emitted > 0);
      await waitFor(() => p.sink.vectors.size >= expected.size, 15_000, `every vector scored (${expected.size})`).catch(() => undefined);
      const got = summary(p.sink.vectors);
      const missing = [...expected.keys()].filter((ts) => !got.has(ts));
      assert.deepEqual(missing.map((ts) => new Date(ts).toISOString()), [], `vectors never announced (${missing.length} of ${expected.size}; ${killed} were in the interrupted announce)`);
      assert.deepEqual(got, expected, 'the same vectors (tick, sequence number, values) as an uninterrupted run');
      // the stream holds each of them too (what any poll consumer group reads)
      assert.ok((await store.redis.xlen(store.keys.vectors())) >= expected.size);
    } finally {
      admin.disconnect();
      await p.stop();
    }
  });

  test('the server is killed while a quiet vehicle waits for its idle flush and restarted: the flushed vectors are announced once it is back', async () => {
    const v = config(`${uid('wfann')}:`);
    const p = await pipeline(redis.url, v);
    try {
      let emitted = 0;
      for (const batch of batches) emitted += (await ingest(p, batch)).vectors;
      // the last ticks wait for the idle flush (0.5 s of quiet); Redis dies before it
      await redis.stop('SIGKILL');
      await new Promise((r) => setTimeout(r, 1500)); // the idle flush ran (and could not announce)
      await redis.start();
      const expected = expectedVectors(v);
      assert.ok(emitted < expected.size, `the idle flush had vectors to announce (${emitted} of ${expected.size} before it)`);
      await waitFor(() => p.sink.vectors.size >= expected.size, 20_000, `every vector scored (${expected.size})`).catch(() => undefined);
      const got = summary(p.sink.vectors);
      const missing = [...expected.keys()].filter((ts) => !got.has(ts));
      assert.deepEqual(missing.map((ts) => new Date(ts).toISOString()), [], `vectors never announced (${missing.length} of ${expected.size})`);
      assert.deepEqual(got, expected);
    } finally {
      await p.stop();
    }
  });
});

/**
 * Push mode, nothing lost when the Vehicle API process dies: a real `wattflow vehicle-api`
 * process on the real Redis accepts measurements while its node-local predictor is down, is
 * killed with SIGKILL, and a new API process re-sends every vector the first one had accepted
 * (read back from the forward journal) once the predictor is up; the journal ends empty. A
 * vector the predictor refuses lands in the dead-letter stream with the reason.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startComponents } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import type { AlignedVector } from '../../src/vehicle/align/vector.js';
import { buildVehicleApi, buildVehiclePredictor, createMemoryStore, createRedisStore, storeComponent } from '../../src/vehicle/components.js';
import { PermanentForwardError } from '../../src/vehicle/ingest/forwarder.js';
import { IsolationForestModel } from '../../src/vehicle/model/anomaly-model.js';
import { trainVehicleModel } from '../../src/vehicle/model/train.js';
import type { PredictionSink, Scored } from '../../src/vehicle/predictor/sinks.js';
import { runCli } from '../e2e/helpers.js';
import { freePort } from '../helpers/ports.js';
import { service } from '../helpers/services.js';
import { DS1, DS2, deleteKeys, uid, vehicleCfg, waitFor } from './helpers.js';

const redisSvc = service('REDIS_URL', 'Redis');
const logger = silentLogger();

/** A sink that keeps what it was given (the predictor resolves only after write()). */
class RecordingSink implements PredictionSink {
  readonly name = 'recording';
  readonly vectors: AlignedVector[] = [];
  async write(items: readonly Scored[]): Promise<void> {
    for (const i of items) this.vectors.push(i.vector);
  }
  async close(): Promise<void> {}
}

const T = Math.floor(Date.now() / 1000) * 1000 - 600_000;
const measurements = (from: number, n: number) =>
  JSON.stringify(Array.from({ length: n }, (_, i) => ({ signal: 'vehicle_speed', value: 40 + (i % 7), timestamp: T + (from + i) * 500 })));
const key = (v: AlignedVector) => `${v.vehicleId}@${v.ts}`;

describe('vehicle push mode: the forward journal', () => {
  test('SIGKILL of the API with vectors not yet forwarded: the next API process re-sends every one; the journal ends empty', { skip: redisSvc.skip, timeout: 120_000 }, async () => {
    const prefix = `${uid('wfcrash')}:`;
    const predictorPort = await freePort();
    const env = {
      REDIS_URL: redisSvc.value,
      WATTFLOW__vehicle__redis__keyPrefix: prefix,
      WATTFLOW__vehicle__redis__channel: `${prefix}chan`,
      WATTFLOW__vehicle__inference__retryMs: '200',
    };
    const args = ['vehicle-api', '--mode', 'push', '--port', '0', '--inference-url', `http://127.0.0.1:${predictorPort}`];
    const v = vehicleCfg();
    const reader = createRedisStore({ ...v, redis: { ...v.redis, keyPrefix: prefix, channel: `${prefix}chan` } }, logger, redisSvc.value);
    await reader.start();
    const first = runCli(args, env);
    let second: ReturnType<typeof runCli> | undefined;
    let predictor: Awaited<ReturnType<typeof startComponents>> | undefined;
    try {
      const [, url1] = await first.waitFor(/"url":"(http:\/\/[^"]+)","msg":"listening"/, 30_000);
      // the predictor is down: the first request is accepted and its vectors queued in the process (the next would get 503)
      const r = await fetch(`${url1}/v1/vehicles/car-a/measurements`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: measurements(0, 80) });
      assert.equal(r.status, 200, await r.clone().text());
      const accepted = ((await r.json()) as { vectors: number }).vectors;
      await first.waitFor(/node-local predictor not reachable/, 10_000);
      assert.ok(accepted >= 30, `vectors emitted: ${accepted}`);
      const journaled = await reader.journaledVectors(10_000);
      assert.equal(journaled.length, accepted, 'every accepted vector is journaled before the response');
      first.child.kill('SIGKILL');
      await first.exited;

      // the predictor comes up; a new API process on the same Redis finds the journal
      const sink = new RecordingSink();
      const pred = buildVehiclePredictor({ v, mode: 'push', model: new IsolationForestModel(trainVehicleModel({ files: [DS1, DS2], trees: 10 }).artifact), sink, logger });
      predictor = await startComponents([pred.component], { host: '127.0.0.1', port: predictorPort, logger });
      second = runCli(args, env);
      await second.waitFor(/re-sending vectors an earlier process had not forwarded/, 30_000);
      await waitFor(async () => sink.vectors.length >= accepted && (await reader.journaledVectors(10)).length === 0, 15_000, 'journal drained into the predictor');
      const last = Math.max(...journaled.map((x) => x.ts));
      const resent = sink.vectors.filter((x) => x.ts <= last);
      assert.deepEqual(new Set(resent.map(key)), new Set(journaled.map(key)), 'exactly the accepted vectors were scored');
      assert.equal(resent.length, accepted, 'each once');
      // the tick the killed process had not flushed yet (its measurements are stored): recomputed from them by the new process and scored too
      await waitFor(() => sink.vectors.some((x) => x.ts === last + 1000), 15_000, 'the unflushed tick recomputed from the stored measurements');
      assert.equal(sink.vectors.length, accepted + 1, 'nothing scored twice');
      const metrics = await (await fetch(`${(await second.waitFor(/"url":"(http:\/\/[^"]+)","msg":"listening"/))[1]}/metrics`)).text();
      assert.match(metrics, new RegExp(`wattflow_vehicle_vectors_recovered_total ${accepted}\\b`));
      assert.equal(await second.stop(), 0);
    } finally {
      if (first.child.exitCode === null) first.child.kill('SIGKILL');
      await second?.stop();
      await predictor?.stop();
      await deleteKeys(reader, prefix);
      await reader.close();
    }
  });

  test('a batch the predictor refuses goes to the dead-letter stream with the reason, counted, and leaves the journal', async () => {
    const v = vehicleCfg();
    const store = createMemoryStore(v);
    const refuse = { target: 'refusing-predictor', send: async () => Promise.reject(new PermanentForwardError('HTTP 400: input features: shape [2, 11] does not match')) };
    const api = buildVehicleApi({ v, store, logger, forwardTo: [refuse] });
    const app = await startComponents([storeComponent(store), api.component], { host: '127.0.0.1', port: 0, logger });
    const deadLetteredForward = async () =>
      Number(/^wattflow_vehicle_vectors_dead_lettered_total\{source="forward"\} (\d+)$/m.exec(await (await fetch(`${app.url}/metrics`)).text())?.[1] ?? 0);
    try {
      const deadLettered0 = await deadLetteredForward();
      const r = await fetch(`${app.url}/v1/vehicles/car/measurements`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: measurements(0, 20) });
      const vectors = ((await r.json()) as { vectors: number }).vectors;
      assert.ok(vectors > 0);
      await waitFor(() => api.forwarder!.pending === 0, 5000, 'batch refused');
      const body = (await (await fetch(`${app.url}/api/vehicle-dead-letters?limit=1000`)).json()) as { count: number; deadLetters: Array<{ reason: string; vector: AlignedVector; at: string }> };
      assert.equal(body.count, vectors);
      assert.equal(body.deadLetters[0]!.reason, 'refusing-predictor: HTTP 400: input features: shape [2, 11] does not match');
      assert.equal(body.deadLetters[0]!.vector.vehicleId, 'car');
      assert.deepEqual(await store.journaledVectors(100), []);
      assert.equal(api.forwarder!.dropped, vectors);
      assert.equal((await deadLetteredForward()) - deadLettered0, vectors, 'wattflow_vehicle_vectors_dead_lettered_total counts every refused vector');
      assert.equal((await fetch(`${app.url}/api/vehicle-dead-letters?limit=0`)).status, 400);
    } finally {
      await app.stop();
    }
  });
});

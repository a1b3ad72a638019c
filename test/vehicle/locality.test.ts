/**
 * Push-mode locality over real listening servers: the API forwards to its node-local predictor
 * only; while that is down, ingest answers 503 (nothing stored) instead of sending data
 * elsewhere, and the queued vectors are delivered once it is back. A configured fallback is
 * used only when set.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import { buildVehicleApi, buildVehiclePredictor, createMemoryStore, predictorTransports, storeComponent } from '../../src/vehicle/components.js';
import type { VehicleConfig } from '../../src/vehicle/config.js';
import { IsolationForestModel } from '../../src/vehicle/model/anomaly-model.js';
import { trainVehicleModel } from '../../src/vehicle/model/train.js';
import { NullPredictionSink } from '../../src/vehicle/predictor/sinks.js';
import { freePort } from '../helpers/ports.js';
import { DS1, DS2, vehicleCfg, waitFor } from './helpers.js';

const logger = silentLogger();
const model = new IsolationForestModel(trainVehicleModel({ files: [DS1, DS2], trees: 20 }).artifact);

async function predictorAt(port: number): Promise<{ app: RunningApp; scored: () => number }> {
  const v = vehicleCfg();
  const pred = buildVehiclePredictor({ v, mode: 'push', model, sink: new NullPredictionSink(), logger });
  const app = await startComponents([pred.component], { host: '127.0.0.1', port, logger });
  return { app, scored: () => pred.predictor.scored };
}

async function apiWith(v: VehicleConfig) {
  const store = createMemoryStore(v);
  const api = buildVehicleApi({ v, store, logger, forwardTo: predictorTransports(v) });
  const app = await startComponents([storeComponent(store), api.component], { host: '127.0.0.1', port: 0, logger });
  return { app, api, store };
}

const T = Math.floor(Date.now() / 1000) * 1000 - 600_000;
const send = (url: string, vehicle: string, from: number, n = 30) =>
  fetch(`${url}/v1/vehicles/${vehicle}/measurements`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(Array.from({ length: n }, (_, i) => ({ signal: 'vehicle_speed', value: 50, timestamp: T + (from + i) * 500 }))),
  });

describe('locality (push mode)', () => {
  test('node-local predictor down → 503, nothing sent elsewhere; back → queued vectors delivered', async () => {
    const port = await freePort();
    const v = vehicleCfg({ inference: { url: `http://127.0.0.1:${port}`, retryMs: 100 } as VehicleConfig['inference'] });
    const { app, api, store } = await apiWith(v);
    try {
      // the first request is accepted (stored); forwarding its vectors fails in the background
      let r = await send(app.url, 'car', 0);
      assert.equal(r.status, 200);
      const vectors = ((await r.json()) as { vectors: number }).vectors;
      assert.ok(vectors > 0);
      await waitFor(() => api.ingest.available().ok === false, 3000, 'predictor marked down');
      r = await send(app.url, 'car', 100);
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('retry-after'), '1');
      assert.match(((await r.json()) as { error: string }).error, new RegExp(`node-local predictor at http://127.0.0.1:${port} is not available.*nothing was stored`));
      assert.equal((await store.series('car', 'vehicle_speed', T + 100 * 500, Infinity, 10)).length, 0);
      assert.equal((await fetch(`${app.url}/readyz`)).status, 503);
      // the predictor comes up on its node-local address: the queue drains, ingest works again
      const pred = await predictorAt(port);
      try {
        await waitFor(() => api.forwarder!.pending === 0 && api.ingest.available().ok, 5000, 'recovery');
        assert.equal(pred.scored(), vectors);
        assert.equal((await send(app.url, 'car', 100)).status, 200);
        await waitFor(async () => ((await (await fetch(`${app.url}/api/vehicles/car/latest`)).json()) as { prediction: unknown }).prediction, 3000, 'latest prediction');
        await app.stop(); // drains into the predictor
      } finally {
        await pred.app.stop();
      }
    } finally {
      await app.stop();
    }
  });

  test('a configured fallback predictor is used while the node-local one is down', async () => {
    const fallback = await predictorAt(0);
    const v = vehicleCfg({ inference: { url: `http://127.0.0.1:${await freePort()}`, fallbackUrls: [fallback.app.url], retryMs: 100 } as VehicleConfig['inference'] });
    const { app, api } = await apiWith(v);
    try {
      for (let k = 0; k < 3; k++) assert.equal((await send(app.url, 'car', k * 30)).status, 200);
      await waitFor(() => api.forwarder!.pending === 0, 5000, 'forwarded via the fallback');
      assert.ok(fallback.scored() > 0);
      assert.equal(api.ingest.available().ok, true);
    } finally {
      await app.stop();
      await fallback.app.stop();
    }
  });
});

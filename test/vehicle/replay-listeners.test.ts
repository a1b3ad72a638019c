/**
 * The replay tool does not leak abort listeners (issue 11, point 6: `replay-vehicle` warned
 * "MaxListenersExceededWarning: Possible EventTarget memory leak detected. 4024 abort listeners
 * added to [AbortSignal]"): a reference log replayed against a real in-process Vehicle API, in
 * real time (× speed, thousands of waits) and as fast as possible (hundreds of requests), with
 * the AbortSignal the CLI passes — no process warning, and the signal's abort listeners stay
 * bounded during the replay and are all gone after it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import { buildVehicleApi, createMemoryStore, storeComponent } from '../../src/vehicle/components.js';
import { replayVehicleLog } from '../../src/vehicle/replay/replay.js';
import { DS1, DS1_MEASUREMENTS, DS2, DS2_MEASUREMENTS, vehicleCfg } from './helpers.js';

const logger = silentLogger();

describe('replay-vehicle: abort listeners', () => {
  let app: RunningApp;
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  before(async () => {
    const v = vehicleCfg();
    const store = createMemoryStore(v);
    const api = buildVehicleApi({ v, store, logger });
    app = await startComponents([storeComponent(store), api.component], { host: '127.0.0.1', port: 0, logger });
    process.on('warning', onWarning);
  });
  after(async () => {
    process.off('warning', onWarning);
    await app.stop();
  });

  for (const mode of [
    { name: 'real time × 400 (DS2)', file: DS2, samples: DS2_MEASUREMENTS, opts: { speed: 400 } },
    { name: 'as fast as possible, batches of 10 (DS1)', file: DS1, samples: DS1_MEASUREMENTS, opts: { asFastAsPossible: true, batchSize: 10 } },
  ]) {
    test(`${mode.name}: no MaxListenersExceededWarning, abort listeners bounded and released`, { timeout: 120_000 }, async () => {
      warnings.length = 0;
      const ac = new AbortController();
      let most = 0;
      const report = await replayVehicleLog({
        file: mode.file,
        vehicleId: `car-${mode.opts.speed ? 'rt' : 'fast'}`,
        target: app.url,
        signal: ac.signal,
        ...mode.opts,
        onProgress: () => {
          most = Math.max(most, getEventListeners(ac.signal, 'abort').length);
        },
      });
      assert.equal(report.sent, mode.samples);
      assert.equal(report.accepted + report.rejected, mode.samples);
      assert.ok(report.requests > 100, `requests: ${report.requests}`);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      assert.deepEqual(warnings.map((w) => `${w.name}: ${w.message}`), [], 'process warnings during the replay');
      assert.ok(most <= 2, `abort listeners on the replay's signal during the replay: up to ${most}`);
      assert.equal(getEventListeners(ac.signal, 'abort').length, 0, 'abort listeners left on the signal after the replay');
    });
  }
});

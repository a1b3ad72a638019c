/**
 * The single-process mode's vehicle components (what `wattflow up` adds): no Redis, no
 * InfluxDB — in-process vehicle store, demo model trained from the bundled logs when no artifact
 * exists, predictions into the embedded TimeSeriesStore; the API shows the latest data and score.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startComponents } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import { MemoryStore } from '../../src/storage/memory-store.js';
import { createVehicleComponents } from '../../src/vehicle/components.js';
import { loadAppConfig as loadVehicleAppConfig } from '../../src/app-config.js';
import { replayVehicleLog } from '../../src/vehicle/replay/replay.js';
import { DS2, DS2_MEASUREMENTS, waitFor } from './helpers.js';

describe('createVehicleComponents (wattflow up)', () => {
  test('demo model, in-process push, embedded storage; latest data and score through the API', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-up-'));
    const modelPath = join(dir, 'vehicle-model.json');
    const cfg = loadVehicleAppConfig(undefined, { '/vehicle/model/path': modelPath, '/vehicle/alignment/idleFlushMs': 100 }, {});
    const ts = new MemoryStore({ retentionHours: 24 * 365 * 10 });
    const components = createVehicleComponents({ cfg, logger: silentLogger(), store: ts });
    assert.ok(existsSync(modelPath), 'demo model trained and saved');
    assert.deepEqual(components.map((c) => c.name), ['vehicle-store-memory', 'vehicle-predictor-push', 'vehicle-api']);
    const app = await startComponents(components, { host: '127.0.0.1', port: 0, logger: silentLogger() });
    try {
      const r = await replayVehicleLog({ file: DS2, vehicleId: 'demo-car', target: app.url, asFastAsPossible: true });
      assert.equal(r.accepted, DS2_MEASUREMENTS);
      const latest = await waitFor(async () => {
        const body = (await (await fetch(`${app.url}/api/vehicles/demo-car/latest`)).json()) as { vector: { ts: number; seq: number }; prediction: { ts: number; label: string } | null };
        return body.prediction && body.prediction.ts === body.vector.ts && body.vector.seq >= 720 ? body : undefined;
      }, 10_000, 'latest prediction');
      assert.ok(['normal', 'anomaly', 'implausible'].includes(latest!.prediction!.label));
      const rows = await ts.range('vehicle/demo-car', 'score', -Infinity, Infinity);
      assert.ok(rows.length >= 718, `${rows.length} scores in the embedded store`);
      const list = (await (await fetch(`${app.url}/api/vehicles`)).json()) as { vehicles: Array<{ id: string; score: number }> };
      assert.equal(list.vehicles[0]!.id, 'demo-car');
      assert.equal(typeof list.vehicles[0]!.score, 'number');
      const info = (await (await fetch(`${app.url}/v1/vehicle/model`)).json()) as { version: string; training: { files: string[] } };
      assert.equal(info.training.files.length, 2);
    } finally {
      await app.stop();
      await ts.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('model path: <storage.dir>/vehicle-model.json by default; in memory with in-memory storage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-up-'));
    try {
      const cfg = loadVehicleAppConfig(undefined, { '/storage/dir': dir }, {});
      createVehicleComponents({ cfg, logger: silentLogger() });
      assert.ok(existsSync(join(dir, 'vehicle-model.json')));
      const mem = loadVehicleAppConfig(undefined, { '/storage/dir': '' }, {});
      const components = createVehicleComponents({ cfg: mem, logger: silentLogger() });
      assert.equal(components.length, 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

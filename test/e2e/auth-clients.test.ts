/**
 * wattflow's clients against servers with auth on (real HTTP servers on port 0, in process):
 *  - `wattflow models …`, `train --register`, `train-vehicle --register` send --token or
 *    WATTFLOW_TOKEN; without one (or with a token lacking the scope) they exit 1 naming the
 *    variable to set and the scope;
 *  - `replay-vehicle` sends --token, WATTFLOW_TOKEN or the legacy VEHICLE_API_TOKEN;
 *  - the Vehicle API's push forwarding to a separate predictor sends this process's token
 *    (auth.clientToken / WATTFLOW_TOKEN); without it ingest answers 503 naming the refusal (none
 *    is dead-lettered) and everything goes through once the token is set;
 *  - an inference worker downloading an artifact from the registry's URL sends the token.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadAppConfig } from '../../src/app-config.js';
import { Authenticator, newToken, setClientToken, tokenEntry, VEHICLE_TOKEN_NAME, VEHICLE_TOKEN_SCOPES } from '../../src/core/auth.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { fetchArtifact } from '../../src/registry/artifacts.js';
import { openRegistry } from '../../src/registry/index.js';
import { modelsRole, trainRole } from '../../src/roles/models.js';
import { replayVehicleRole, trainVehicleRole } from '../../src/roles/vehicle.js';
import { buildVehicleApi, buildVehiclePredictor, createMemoryStore } from '../../src/vehicle/components.js';
import { httpTransport } from '../../src/vehicle/ingest/predictor-transport.js';
import { IsolationForestModel } from '../../src/vehicle/model/anomaly-model.js';
import { vehicleArtifactValidator } from '../../src/vehicle/model/registry-upload-check.js';
import { trainVehicleModel } from '../../src/vehicle/model/train.js';
import { NullPredictionSink } from '../../src/vehicle/predictor/sinks.js';
import { cli, FIXTURE_CSV, silent, sourceOf, testExperiment } from '../registry/helpers.js';
import { DS1, DS2, vehicleCfg, waitFor } from '../vehicle/helpers.js';

const tok = { read: newToken(), write: newToken(), deploy: newToken(), ingest: newToken() };
const auth = () =>
  new Authenticator({
    entries: [
      tokenEntry('reader', tok.read, ['read']),
      tokenEntry('publisher', tok.write, ['read', 'models:write']),
      tokenEntry('operator', tok.deploy, ['read', 'deploy']),
      tokenEntry('vehicle-api', tok.ingest, ['read', 'ingest']),
    ],
  });

/** Runs with WATTFLOW_TOKEN (and VEHICLE_API_TOKEN) set as given, restored after. */
async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}
const noToken = { WATTFLOW_TOKEN: undefined, VEHICLE_API_TOKEN: undefined };

describe('registry clients with a token', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-auth-clients-'));
  const fabric = new MemoryFabric({ retryDelayMs: 20 });
  const exp = sourceOf(testExperiment({ routers: [{ id: 'r1' }, { id: 'r2' }] }));
  const cfg = loadAppConfig(undefined, { '/storage/dir': '', '/registry/artifacts/dir': join(dir, 'artifacts') }, {});
  let app: RunningApp;
  const reg = () => ['--registry', app.url];

  before(async () => {
    const parts = await openRegistry(cfg, silent, fabric, exp, { vehicleModels: vehicleArtifactValidator });
    app = await startComponents(parts.components, { host: '127.0.0.1', port: 0, logger: silent, auth: auth() });
  });
  after(async () => {
    await app.stop();
    await fabric.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('models list: without a token exit 1 naming WATTFLOW_TOKEN; with --token or WATTFLOW_TOKEN it works', async () => {
    await withEnv(noToken, async () => {
      const r = await cli(modelsRole, ['list', ...reg()]);
      assert.equal(r.code, 1);
      assert.match(r.err, /refused the request \(HTTP 401\): authentication required.*set WATTFLOW_TOKEN \(or --token\) to a valid token/);
      const wrong = await cli(modelsRole, ['list', '--token', 'wf_nope', ...reg()]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.err, /HTTP 401\): invalid bearer token/);
      const ok = await cli(modelsRole, ['list', '--token', tok.read, ...reg()]);
      assert.equal(ok.code, 0, ok.err);
      assert.match(ok.out, /no models in the registry/);
    });
    await withEnv({ WATTFLOW_TOKEN: tok.read }, async () => assert.equal((await cli(modelsRole, ['status', ...reg()])).code, 0));
  });

  test('train --register needs models:write; models deploy needs deploy (403 names the scope and the variable)', async () => {
    const train = (token: string) =>
      cli(trainRole, ['--router-type', 'huawei', '--model-type', 'linear', '--data', FIXTURE_CSV, '--out', join(dir, 'out'), '--register', 'ne40', '--alias', 'production', '--token', token, ...reg()]);
    const refused = await withEnv(noToken, () => train(tok.read));
    assert.equal(refused.code, 1);
    assert.match(refused.err, /HTTP 403\): POST \/api\/registry\/models\/:name\/versions needs scope "models:write"; token "reader" has read; set WATTFLOW_TOKEN \(or --token\) to a token with the scope named above/);
    const trained = await withEnv(noToken, () => train(tok.write));
    assert.equal(trained.code, 0, trained.err);
    assert.match(trained.out, /registered ne40@1/);
    await withEnv({ WATTFLOW_TOKEN: tok.write }, async () => {
      const r = await cli(modelsRole, ['deploy', 'ne40@production', '--all', ...reg()]);
      assert.equal(r.code, 1);
      assert.match(r.err, /HTTP 403\): POST \/api\/registry\/deployments needs scope "deploy"; token "publisher" has read, models:write/);
    });
    await withEnv({ WATTFLOW_TOKEN: tok.deploy }, async () => {
      const r = await cli(modelsRole, ['deploy', 'ne40@production', '--all', ...reg()]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /deployed all +→ ne40@1 \(follows @production\)/);
      assert.equal((await cli(modelsRole, ['switch', 'dummy', ...reg()])).code, 0);
    });
  });

  test('train-vehicle --register sends --token; without it the model is saved but not registered, naming WATTFLOW_TOKEN', async () => {
    const out = join(dir, 'vehicle-model.json');
    const args = ['--data', DS1, '--trees', '5', '--out', out, '--register', 'fleet', ...reg()];
    const refused = await withEnv(noToken, () => cli(trainVehicleRole, args));
    assert.equal(refused.code, 1);
    assert.match(refused.err, /saved to .* but not registered: .*HTTP 401.*set WATTFLOW_TOKEN/);
    const ok = await withEnv(noToken, () => cli(trainVehicleRole, [...args, '--token', tok.write]));
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /registered as fleet@1/);
  });

  test('an inference worker downloads an artifact from the registry URL with its token', async () => {
    const res = await fetch(`${app.url}/api/registry/models/ne40/versions/1`, { headers: { authorization: `Bearer ${tok.read}` } });
    const sha = ((await res.json()) as { sha256: string }).sha256;
    const url = `${app.url}/api/registry/models/ne40/versions/1/artifact`;
    await withEnv(noToken, async () => {
      await assert.rejects(fetchArtifact('file:///nonexistent/model.onnx', url), /HTTP 401 .*authentication required/);
      setClientToken(tok.read);
      try {
        const bytes = await fetchArtifact('file:///nonexistent/model.onnx', url);
        const { createHash } = await import('node:crypto');
        assert.equal(createHash('sha256').update(bytes).digest('hex'), sha);
      } finally {
        setClientToken(undefined);
      }
    });
  });
});

describe('vehicle clients with a token', () => {
  const model = new IsolationForestModel(trainVehicleModel({ files: [DS1, DS2], trees: 5 }).artifact);

  test('replay-vehicle: without a token exit 1 naming WATTFLOW_TOKEN; WATTFLOW_TOKEN or the legacy VEHICLE_API_TOKEN work', async () => {
    const v = vehicleCfg();
    const api = buildVehicleApi({ v, store: createMemoryStore(v), logger: silent });
    const server = await startComponents([api.component], {
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      auth: new Authenticator({ entries: [tokenEntry('vehicle-api', tok.ingest, ['ingest'])], plaintext: [{ name: VEHICLE_TOKEN_NAME, token: 'legacy-s3cret', scopes: VEHICLE_TOKEN_SCOPES }] }),
    });
    try {
      const args = ['--file', DS1, '--vehicle-id', 'car-a', '--as-fast-as-possible', '--target', server.url, '--batch', '2000'];
      const refused = await withEnv(noToken, () => cli(replayVehicleRole, args));
      assert.equal(refused.code, 1);
      assert.match(refused.err, /HTTP 401: authentication required.*; set WATTFLOW_TOKEN \(or --token\) to a valid token/);
      const viaEnv = await withEnv({ WATTFLOW_TOKEN: tok.ingest, VEHICLE_API_TOKEN: undefined }, () => cli(replayVehicleRole, args));
      assert.equal(viaEnv.code, 0, viaEnv.err);
      const legacy = await withEnv({ WATTFLOW_TOKEN: undefined, VEHICLE_API_TOKEN: 'legacy-s3cret' }, () => cli(replayVehicleRole, [...args, '--vehicle-id', 'car-b']));
      assert.equal(legacy.code, 0, legacy.err);
      // the legacy token also reads (its scopes are ingest + read); the ingest-only token does not
      assert.equal((await fetch(`${server.url}/api/vehicles`, { headers: { authorization: 'Bearer legacy-s3cret' } })).status, 200);
      assert.equal((await fetch(`${server.url}/api/vehicles`, { headers: { authorization: `Bearer ${tok.ingest}` } })).status, 403);
      assert.equal((await fetch(`${server.url}/api/vehicle-dead-letters`)).status, 401);
    } finally {
      await server.stop();
    }
  });

  test('push forwarding to a predictor with auth sends WATTFLOW_TOKEN; without it ingest answers 503 naming why, nothing dead-lettered', async () => {
    const v = vehicleCfg({ alignment: { idleFlushMs: 50 } as never, inference: { retryMs: 100 } as never });
    const pred = buildVehiclePredictor({ v, mode: 'push', model, sink: new NullPredictionSink(), logger: silent });
    const predictor = await startComponents([pred.component], { host: '127.0.0.1', port: 0, logger: silent, auth: auth() });
    const store = createMemoryStore(v);
    const api = buildVehicleApi({ v, store, logger: silent, forwardTo: [httpTransport(predictor.url, 5000)] });
    const server = await startComponents([api.component], { host: '127.0.0.1', port: 0, logger: silent });
    try {
      setClientToken(undefined);
      await withEnv(noToken, async () => {
        // without the token the predictor refuses: ingest answers 503 naming why (nothing stored, retry later)
        const body = JSON.stringify([{ signal: 'vehicle_speed', value: 10, timestamp: Date.now() - 5000 }, { signal: 'vehicle_speed', value: 11, timestamp: Date.now() - 3000 }]);
        const refused = await waitFor(async () => {
          const res = await fetch(`${server.url}/v1/vehicles/pushed/measurements`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          return res.status === 503 ? ((await res.json()) as { error: string }).error : undefined;
        }, 10_000, 'ingest 503 while the predictor refuses the token');
        assert.match(refused!, /predictor .* is not available \(.*HTTP 401: .*set WATTFLOW_TOKEN/);
        assert.equal((await store.deadLetters(10)).length, 0, 'a refused token is configuration, not data: nothing dead-lettered');
        setClientToken(tok.ingest);
        const r = await cli(replayVehicleRole, ['--file', DS1, '--vehicle-id', 'pushed', '--as-fast-as-possible', '--target', server.url, '--batch', '2000']);
        assert.equal(r.code, 0, r.err);
        await waitFor(async () => (await store.journaledVectors(100_000)).length === 0 && (await store.getLatestPrediction('pushed')), 15_000, 'journal drained, predictions arrived');
        assert.equal((await store.deadLetters(10)).length, 0);
      });
    } finally {
      setClientToken(undefined);
      await server.stop();
      await predictor.stop();
    }
  });
});

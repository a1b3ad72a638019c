/**
 * Vehicle models in the registry (kind vehicle-anomaly): an upload is validated with the
 * vehicle model loader and a smoke score (a modified artifact is refused), deployment to
 * inference workers is refused; `train-vehicle --register NAME --alias production` registers
 * it and `vehicle-predictor --model NAME@production` (a real child process) downloads it
 * (sha256 checked) and scores it exactly as the local model — with the local-directory
 * artifact store, and with S3 when S3_ENDPOINT is set. A tampered stored artifact is refused.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { loadAppConfig } from '../../src/app-config.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { openRegistry } from '../../src/registry/index.js';
import type { Registry } from '../../src/registry/registry.js';
import { modelsRole } from '../../src/roles/models.js';
import { trainVehicleRole } from '../../src/roles/vehicle.js';
import { loadModelArtifact, IsolationForestModel, modelVersionOf } from '../../src/vehicle/model/anomaly-model.js';
import { loadRegistryVehicleModel } from '../../src/vehicle/model/registry-model.js';
import { vehicleArtifactValidator } from '../../src/vehicle/model/registry-upload-check.js';
import { trainVehicleModel } from '../../src/vehicle/model/train.js';
import { service } from '../helpers/services.js';
import { cli, silent, testRegistry, trained, waitFor, type TestRegistry } from './helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
/** tsx's loader by absolute URL (the children run in a temporary directory). */
const TSX = import.meta.resolve('tsx');
const DS1 = join(ROOT, 'test/fixtures/vehicle/DS1_stopped_with_ignition_on_25Jan24_124019.csv');
const DS2 = join(ROOT, 'test/fixtures/vehicle/DS2_national_road_90km_h_max_25Jan24_153019.csv');


/** The child's environment: no InfluxDB (predictions to the in-memory embedded store), quiet logs. */
function childEnv(): NodeJS.ProcessEnv {
  const { INFLUX_URL: _i, ...rest } = process.env;
  return { ...rest, WATTFLOW__storage__dir: ':memory:', WATTFLOW_LOG_LEVEL: 'warn' };
}

const artifactBytes = (a: unknown) => new TextEncoder().encode(JSON.stringify(a) + '\n');

describe('registry: vehicle model kind', () => {
  const artifact = trainVehicleModel({ files: [DS1, DS2], trees: 10, name: 'fleet' }).artifact;
  let reg: TestRegistry;
  before(() => {
    reg = testRegistry();
  });
  after(() => reg.cleanup());

  test('upload: validated by the vehicle loader, kind vehicle-anomaly in the metadata, stored as vehicle-model.json', async () => {
    const r = reg.registry as Registry;
    const v = await r.upload('fleet', artifactBytes(artifact), { metadata: { kind: 'vehicle-anomaly' }, alias: 'production' });
    assert.equal(v.version, '1');
    assert.equal(v.kind, 'vehicle-anomaly');
    assert.equal((v.metadata as any).kind, 'vehicle-anomaly');
    assert.equal((v.metadata as any).vehicle.model_version, artifact.version);
    assert.deepEqual(v.metadata.features.map((f) => f.name), artifact.features);
    assert.match(v.artifact.onnx, /fleet\/1\/vehicle-model\.json$/);
    // detected without the metadata hint too
    const v2 = await r.upload('fleet', artifactBytes(artifact));
    assert.equal(v2.kind, 'vehicle-anomaly');
    const d = await r.download('fleet@production');
    assert.deepEqual(JSON.parse(new TextDecoder().decode(d.bytes)), artifact);
  });

  test('a modified artifact is refused at upload; so is deploying a vehicle model to workers', async () => {
    const r = reg.registry as Registry;
    await assert.rejects(r.upload('fleet', artifactBytes({ ...artifact, threshold: 0.1 })), (e: any) => e.code === 'INVALID_MODEL' && /modified/.test(e.message));
    const body = { ...artifact, forest: { ...artifact.forest, trees: [{ f: [5000], s: [0], l: [1], r: [2] }] } };
    await assert.rejects(r.upload('fleet', artifactBytes({ ...body, version: modelVersionOf(body) })), (e: any) => e.code === 'INVALID_MODEL' && /malformed tree/.test(e.message));
    await assert.rejects(r.upload('fleet', new TextEncoder().encode('{"kind": "wattflow.vehicle-anomaly-model", oops')), (e: any) => e.code === 'INVALID_MODEL');
    await assert.rejects(r.deploy({ ref: 'fleet@production', all: true }), (e: any) => e.code === 'INVALID' && /vehicle model .* vehicle-predictor --model fleet@production/.test(e.message));
  });

  test('ONNX power models keep their validation (and cannot share a name with vehicle models)', async () => {
    const r = reg.registry as Registry;
    const t = await trained({ name: 'p' });
    const v = await r.upload('p', t.onnx, { metadata: t.metadata });
    assert.equal(v.kind, undefined);
    await assert.rejects(r.upload('p', artifactBytes(artifact)), /holds power models/);
  });
});

const s3 = service('S3_ENDPOINT', 'S3 server');
const stores: Array<{ kind: 'local' | 's3'; skip: false | string }> = [
  { kind: 'local', skip: false },
  { kind: 's3', skip: s3.skip },
];

for (const st of stores) {
  describe(`train-vehicle --register → vehicle-predictor --model NAME@alias (${st.kind} artifact store)`, { skip: st.skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'wattflow-vehicle-reg-'));
    const fabric = new MemoryFabric({ retryDelayMs: 20 });
    const overrides: Record<string, unknown> = { '/storage/dir': '' };
    if (st.kind === 'local') overrides['/registry/artifacts/dir'] = join(dir, 'artifacts');
    else {
      overrides['/registry/artifacts/s3/bucket'] = 'wattflow-test';
      overrides['/registry/artifacts/s3/prefix'] = `vehicle-${randomUUID().slice(0, 8)}/`;
    }
    const env = st.kind === 's3' ? process.env : {};
    const cfg = loadAppConfig(undefined, overrides, env);
    let app: RunningApp;
    let url: string;
    let child: ChildProcess | undefined;
    before(async () => {
      const parts = await openRegistry(cfg, silent, fabric, undefined, { vehicleModels: vehicleArtifactValidator });
      app = await startComponents(parts.components, { host: '127.0.0.1', port: 0, logger: silent });
      url = app.url;
    });
    after(async () => {
      if (child && child.exitCode === null) child.kill('SIGTERM');
      await app.stop();
      await fabric.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('registers, downloads (sha256 checked) and serves it; a tampered artifact is refused', async () => {
      const out = join(dir, 'vehicle-model.json');
      const r = await cli(trainVehicleRole, ['--data', DS1, DS2, '--trees', '10', '--out', out, '--register', 'fleet', '--alias', 'production', '--registry', url]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /registered as fleet@1 \(alias production\)/);
      const local = new IsolationForestModel(loadModelArtifact(out));
      assert.equal(local.name, 'fleet');

      const loaded = await loadRegistryVehicleModel('fleet@production', url);
      assert.equal(loaded.version, '1');
      assert.deepEqual(loaded.model.registry, { name: 'fleet', version: '1' });
      // the registry page shows it as a vehicle model, not a power model (issue 17: type external, MAE in W)
      const page = await (await fetch(`${url}/registry`)).text();
      const fleet = page.slice(page.indexOf('<h2>fleet</h2>'));
      const section = fleet.slice(0, fleet.indexOf('</table>'));
      assert.match(section, /vehicle anomaly model/);
      assert.match(section, /<th>score threshold<\/th>/);
      assert.match(section, /wattflow vehicle-predictor --model fleet@production/);
      assert.doesNotMatch(section, /MAE|external/);
      const list = await cli(modelsRole, ['list', '--registry', url]);
      assert.match(list.out, /fleet +1 +vehicle-anomaly /);
      assert.equal(loaded.model.version, local.version);
      const dl = await cli(modelsRole, ['download', 'fleet@production', '--out', join(dir, 'dl'), '--registry', url]);
      assert.equal(dl.code, 0, dl.err);
      assert.equal(new IsolationForestModel(loadModelArtifact(join(dir, 'dl', 'fleet-1.vehicle-model.json'))).version, local.version);

      // the predictor role, as a user runs it
      const port = 20000 + Math.floor(Math.random() * 20000);
      child = spawn(process.execPath, ['--import', TSX, join(ROOT, 'src/cli.ts'), 'vehicle-predictor', '--model', 'fleet@production', '--registry', url, '--port', String(port)], {
        cwd: dir,
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${base}/v2/health/ready`).catch(() => undefined))?.ok, 30_000, `vehicle-predictor ready (${stderr})`);
      const F = local.features.length;
      const row = local.features.map((f) => local.artifact.stats[f]!.p99);
      const res = await fetch(`${base}/v2/models/fleet/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'features', shape: [1, F], datatype: 'FP32', data: row }] }),
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { model_version: string; parameters: { artifact_version?: string }; outputs: Array<{ name: string; data: unknown[] }> };
      // the registry version (issue 17: it was the content hash); the hash is the artifact_version
      assert.equal(body.model_version, '1');
      assert.equal(body.parameters.artifact_version, local.version);
      const meta = (await (await fetch(`${base}/v2/models/fleet`)).json()) as { versions: string[]; parameters: { artifact_version?: string } };
      assert.deepEqual(meta.versions, ['1']);
      assert.equal(meta.parameters.artifact_version, local.version);
      assert.equal((await fetch(`${base}/v2/models/fleet/versions/1/ready`)).status, 200);
      assert.equal((await fetch(`${base}/v2/models/fleet/versions/${local.version}/ready`)).status, 200, 'the content hash still names it');
      const values = Object.fromEntries(local.features.map((f, i) => [f, row[i]!]));
      const own = local.score({ vehicleId: 'x', ts: 0, seq: 1, values, sourceTs: {}, missing: [], filled: [], outOfRange: [], flags: [] });
      assert.deepEqual(body.outputs.find((o) => o.name === 'score')!.data, [Math.fround(own.score!)]); // FP32 as declared
      child.kill('SIGTERM');

      // tamper with the stored artifact: the registry refuses to hand it out, the predictor refuses it
      if (st.kind === 'local') {
        const stored = join(dir, 'artifacts', 'fleet', '1', 'vehicle-model.json');
        const a = JSON.parse(readFileSync(stored, 'utf8'));
        a.threshold = 0.01;
        writeFileSync(stored, JSON.stringify(a) + '\n');
      } else {
        const { S3ArtifactStore } = await import('../../src/registry/artifacts.js');
        const store = new S3ArtifactStore(cfg.registry.artifacts.s3);
        const bytes = await store.get('fleet/1/vehicle-model.json');
        const a = JSON.parse(new TextDecoder().decode(bytes));
        a.threshold = 0.01;
        await store.put('fleet/1/vehicle-model.json', artifactBytes(a), 'application/json');
        await store.close();
      }
      await assert.rejects(loadRegistryVehicleModel('fleet@production', url), /cannot download: .*corrupt: sha256/);
      const refused = spawn(process.execPath, ['--import', TSX, join(ROOT, 'src/cli.ts'), 'vehicle-predictor', '--model', 'fleet@1', '--registry', url, '--port', '0'], {
        cwd: dir,
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      refused.stderr!.on('data', (d) => (err += d));
      const code = await new Promise<number | null>((resolve) => refused.on('exit', resolve));
      assert.equal(code, 1, err);
      assert.match(err, /vehicle model fleet@1 .*corrupt/);
    });
  });
}

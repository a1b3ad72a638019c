/**
 * MLflow's own Java client (org.mlflow:mlflow-client 2.17.2 from Maven Central) against the
 * registry's MLflow-compatible API, run as a child process (test/registry/mlflow/
 * MlflowJavaClientCheck.java with Java's single-file source launcher; classpath resolved by Maven
 * into ~/.m2): experiment, run, params/metrics/tags, the MLflow model layout (onnx flavor)
 * uploaded through the artifact proxy, registered model and version from `runs:/…/model`, get,
 * search, latest versions, download URI, aliases, `models:/NAME@ALIAS` loaded as MLflow does
 * (also for a model registered with wattflow's own API), MLflow's error codes — every response
 * parsed strictly into MLflow's protobuf messages. Then the MLflow-registered model is
 * deployed with `wattflow models deploy` and served by the worker (the same models either way),
 * and it is on the registry page.
 *
 * Needs java (17+) and mvn: skipped with the reason when absent, a failure under CI=true.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadAppConfig } from '../../src/app-config.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { sha256Hex } from '../../src/ml/onnx/metadata.js';
import { DeployedModels } from '../../src/router-power/inference/deployed-models.js';
import { fetchArtifact } from '../../src/registry/artifacts.js';
import { openRegistry } from '../../src/registry/index.js';
import { modelsRole } from '../../src/roles/models.js';
import { tool } from '../helpers/services.js';
import { cli, silent, sklearnLikeLinear, sourceOf, testExperiment, trained, waitFor } from './helpers.js';

const HERE = new URL('./mlflow/', import.meta.url).pathname;

const javaTools = tool(
  'java + mvn (MLflow Java client)',
  () => {
    for (const [cmd, arg] of [['java', '-version'], ['mvn', '-v']] as const) {
      try {
        execFileSync(cmd, [arg], { stdio: 'ignore', timeout: 30_000 });
      } catch {
        return `${cmd} not found`;
      }
    }
    return undefined;
  },
  'install a JDK (17+) and Maven (apt-get install openjdk-17-jdk-headless maven; scripts/services/start-all.sh does)',
);

/** The client's classpath: Maven resolves org.mlflow:mlflow-client into ~/.m2 (offline when cached). */
function mlflowClasspath(dir: string): string {
  const out = join(dir, 'cp.txt');
  const run = (offline: boolean) =>
    execFileSync('mvn', ['-B', '-q', ...(offline ? ['-o'] : []), '-f', join(HERE, 'pom.xml'), 'dependency:build-classpath', `-Dmdep.outputFile=${out}`], { stdio: 'pipe', timeout: 300_000 });
  try {
    run(true);
  } catch {
    run(false);
  }
  return readFileSync(out, 'utf8').trim();
}

function runJava(cp: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', ['-cp', cp, join(HERE, 'MlflowJavaClientCheck.java'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('MLflow Java client against the MLflow-compatible registry API', { skip: javaTools.skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-mlflow-java-'));
  const fabric = new MemoryFabric({ retryDelayMs: 20 });
  const exp = sourceOf(testExperiment({ routers: [{ id: 'r1' }, { id: 'r2' }] }));
  const cfg = loadAppConfig(undefined, { '/storage/dir': '', '/registry/artifacts/dir': join(dir, 'artifacts') }, {});
  let app: RunningApp;
  let url: string;
  let models: DeployedModels;

  before(async () => {
    const parts = await openRegistry(cfg, silent, fabric, exp);
    models = new DeployedModels({ fabric, experiment: exp, logger: silent, workerId: 'mlflow-worker', fetch: (t) => fetchArtifact(t.artifact_uri, t.download_url) });
    app = await startComponents([...parts.components, models.component()], { host: '127.0.0.1', port: 0, logger: silent });
    url = app.url;
  });
  after(async () => {
    await app?.stop();
    await fabric.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('register, search, alias and load models:/NAME@ALIAS with org.mlflow:mlflow-client; the model deploys and serves', { timeout: 600_000 }, async () => {
    // a model registered with wattflow's own API: the Java client loads it as models:/ne40-native@production
    const native = await trained({ name: 'ne40-native' });
    const up = await fetch(`${url}/api/registry/models/ne40-native/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ onnx_base64: Buffer.from(native.onnx).toString('base64'), metadata: native.metadata, alias: 'production' }),
    });
    assert.equal(up.status, 201, await up.clone().text());
    const onnxFile = join(dir, 'sk-linear.onnx');
    const onnx = sklearnLikeLinear();
    writeFileSync(onnxFile, onnx);

    const cp = mlflowClasspath(dir);
    assert.match(cp, /mlflow-client-2\.17\.2\.jar/);
    const r = await runJava(cp, [url, onnxFile, 'sk-mlflow', 'ne40-native', sha256Hex(native.onnx)], {});
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /MLFLOW-JAVA-CHECKS-PASSED/, r.out);
    assert.ok((r.out.match(/^ok /gm) ?? []).length >= 40, r.out);

    // the same model in wattflow's own API: metadata from the MLmodel (router type, features; sklearn_version kept as user metadata)
    const v = (await (await fetch(`${url}/api/registry/models/sk-mlflow/versions/1`)).json()) as { sha256: string; router_type: string; metadata: { features: unknown; user_metadata?: unknown }; source?: string };
    assert.equal(v.sha256, sha256Hex(onnx));
    assert.equal(v.router_type, 'huawei');
    assert.deepEqual(v.metadata.features, [{ name: 'PacketSize_B', unit: 'bytes' }, { name: 'Throughput_Percentage', unit: 'fraction' }]);
    assert.deepEqual(v.metadata.user_metadata, { sklearn_version: '1.5.2' });

    // deployable with `wattflow models deploy`, served by the worker
    const d = await cli(modelsRole, ['deploy', 'sk-mlflow@1', '--all', '--registry', url]);
    assert.equal(d.code, 0, d.err);
    await waitFor(() => typeof models.resolve({ id: 'r1', routerType: 'huawei', modelType: 'dummy' }) === 'object', 10_000, 'the worker to load sk-mlflow@1');
    const inf = await fetch(`${url}/v2/models/sk-mlflow/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'float_input', shape: [1, 2], datatype: 'FP32', data: [1000, 0.5] }] }),
    });
    assert.equal(inf.status, 200, await inf.clone().text());
    const out = (await inf.json()) as { outputs: Array<{ data: number[] }> };
    assert.ok(Math.abs(out.outputs[0]!.data[0]! - (0.001 * 1000 + 20 * 0.5 + 700)) < 1e-3, JSON.stringify(out));

    // visible on the registry page
    const page = await (await fetch(`${url}/registry`)).text();
    assert.match(page, /sk-mlflow/);
    assert.match(page, /ne40-native/);
  });
});

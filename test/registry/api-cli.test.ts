/**
 * The registry over HTTP with the CLI roles, and the KServe V2 endpoint of an inference worker,
 * in one process on the in-process bus (port 0):
 *  - `wattflow train … --register` then `wattflow models list/show/upload/alias/download/deploy/
 *    status/switch/rollback/delete` against the REST API, with refusals as exit status 1;
 *  - REST details: octet-stream upload with the metadata header, JSON errors, the web page;
 *  - a KServe V2 infer request shaped as in the KServe/Triton documentation gets exactly the
 *    pipeline's prediction; bad requests are 400/404.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadAppConfig } from '../../src/app-config.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { sha256Hex } from '../../src/ml/onnx/metadata.js';
import { DeployedModels } from '../../src/router-power/inference/deployed-models.js';
import { createInference } from '../../src/router-power/inference/inference.js';
import type { MlMessage } from '../../src/router-power/messages.js';
import { fetchArtifact } from '../../src/registry/artifacts.js';
import { openRegistry } from '../../src/registry/index.js';
import type { Registry } from '../../src/registry/registry.js';
import { UsageError } from '../../src/roles/common.js';
import { modelsRole, trainRole } from '../../src/roles/models.js';
import { predictorResolver } from '../../src/router-power/predictor-resolver.js';
import { cli, FIXTURE_CSV, silent, sklearnLikeLinear, sourceOf, testExperiment, tp, trained, waitFor } from './helpers.js';


describe('registry REST API, CLI and KServe V2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-api-test-'));
  const fabric = new MemoryFabric({ retryDelayMs: 20 });
  const exp = sourceOf(testExperiment({ routers: [{ id: 'r1' }, { id: 'r2' }, { id: 'r3' }] }));
  const cfg = loadAppConfig(undefined, { '/storage/dir': '', '/registry/artifacts/dir': join(dir, 'artifacts') }, {});
  let app: RunningApp;
  let url: string;
  let registry: Registry;
  const reg = () => ['--registry', url];

  before(async () => {
    const parts = await openRegistry(cfg, silent, fabric, exp);
    registry = parts.registry;
    const models = new DeployedModels({ fabric, experiment: exp, logger: silent, workerId: 'api-worker', fetch: (t) => fetchArtifact(t.artifact_uri, t.download_url) });
    app = await startComponents(
      [...parts.components, models.component(), createInference({ fabric, experiment: exp, logger: silent, resolve: predictorResolver(cfg, exp, models) })],
      { host: '127.0.0.1', port: 0, logger: silent },
    );
    url = app.url;
  });
  after(async () => {
    await app.stop();
    await fabric.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('train --register: fits, writes ONNX + metadata, registers the next version with an alias', async () => {
    const r = await cli(trainRole, ['--router-type', 'huawei', '--model-type', 'polynomial', '--data', FIXTURE_CSV, '--seed', '11', '--degree', '2', '--out', join(dir, 'out'), '--register', 'ne40', '--alias', 'staging', ...reg()]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /trained polynomial model ne40@1 for router type huawei on 1600 rows \(400 held out\)/);
    assert.match(r.out, /held-out: MAE 1\.\d+ W {2}MAPE 0\.\d+ % {2}R² 0\.9\d+/);
    assert.match(r.out, /registered ne40@1 at http:\/\/127\.0\.0\.1:\d+ \(alias staging\)/);
    const meta = JSON.parse(readFileSync(join(dir, 'out', 'ne40-1.json'), 'utf8')) as { sha256: string; metrics: { rows: number } };
    assert.equal(meta.sha256, sha256Hex(readFileSync(join(dir, 'out', 'ne40-1.onnx'))));
    assert.equal(meta.metrics.rows, 400);
    const again = await cli(trainRole, ['--router-type', 'huawei', '--model-type', 'linear', '--data', FIXTURE_CSV, '--out', join(dir, 'out'), '--register', 'ne40', ...reg()]);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /registered ne40@2/);
  });

  test('train: usage errors name the problem', async () => {
    await assert.rejects(cli(trainRole, ['--router-type', 'huawei', '--model-type', 'svm', '--data', FIXTURE_CSV]), (e: unknown) => e instanceof UsageError && /linear, polynomial, rf, mlp/.test(e.message));
    await assert.rejects(cli(trainRole, ['--model-type', 'rf', '--data', FIXTURE_CSV]), /--router-type is required/);
    await assert.rejects(cli(trainRole, ['--router-type', 'h', '--model-type', 'rf', '--data', FIXTURE_CSV, '--trees', 'x']), /--trees must be an integer/);
  });

  test('models upload (scikit-learn-like + features), list, show, alias, download', async () => {
    const f = join(dir, 'sk.onnx');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(f, sklearnLikeLinear());
    let r = await cli(modelsRole, ['upload', 'sk', f, '--router-type', 'huawei', ...reg()]);
    assert.equal(r.code, 1);
    assert.match(r.err, /must name the features.*\[INVALID_METADATA\]/);
    r = await cli(modelsRole, ['upload', 'sk', f, '--router-type', 'huawei', '--features', 'PacketSize_B:bytes,Throughput_Percentage:fraction', '--version', '0.1', ...reg()]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /uploaded sk@0\.1 \(external, router type huawei/);
    r = await cli(modelsRole, ['list', ...reg()]);
    assert.match(r.out, /ne40 +1 +polynomial +huawei +1\.\d+ +0\.\d+ +0\.9\d+ +staging/);
    assert.match(r.out, /sk +0\.1 +external/);
    r = await cli(modelsRole, ['alias', 'ne40@1', 'production', ...reg()]);
    assert.equal(r.code, 0, r.err);
    r = await cli(modelsRole, ['show', 'ne40', ...reg()]);
    assert.match(r.out, /aliases: staging→1, production→1/);
    r = await cli(modelsRole, ['show', 'ne40@production', '--json', ...reg()]);
    assert.equal((JSON.parse(r.out) as { version: string }).version, '1');
    r = await cli(modelsRole, ['download', 'ne40@production', '--out', join(dir, 'dl'), ...reg()]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /verified/);
    assert.ok(readFileSync(join(dir, 'dl', 'ne40-1.onnx')).equals(readFileSync(join(dir, 'out', 'ne40-1.onnx'))));
    r = await cli(modelsRole, ['show', 'nope', ...reg()]);
    assert.equal(r.code, 1);
    assert.match(r.err, /model nope not found/);
  });

  test('REST: octet-stream upload with the metadata header; JSON errors with codes', async () => {
    const a = await trained({ modelType: 'linear', seed: 5 });
    const res = await fetch(`${url}/api/registry/models/raw/versions?version=7&alias=staging`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'x-wattflow-metadata': Buffer.from(JSON.stringify(a.metadata)).toString('base64') },
      body: Buffer.from(a.onnx),
    });
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal(((await res.json()) as { version: string }).version, '7');
    const bad = await fetch(`${url}/api/registry/models/raw/versions`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from('garbage') });
    assert.equal(bad.status, 422);
    assert.equal(((await bad.json()) as { code: string }).code, 'INVALID_MODEL');
    const nf = await fetch(`${url}/api/registry/models/none/versions/1/artifact`);
    assert.equal(nf.status, 404);
    assert.deepEqual(Object.keys((await nf.json()) as object).sort(), ['code', 'error']);
    const art = await fetch(`${url}/api/registry/models/raw/versions/staging/artifact`);
    assert.equal(art.headers.get('x-wattflow-sha256'), a.metadata.sha256);
    assert.equal(sha256Hex(new Uint8Array(await art.arrayBuffer())), a.metadata.sha256);
  });

  test('deploy → the worker serves the model; status shows desired vs actual; delete refused while deployed', async () => {
    let r = await cli(modelsRole, ['deploy', 'ne40@production', '--all', ...reg()]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /deployed all +→ ne40@1 \(follows @production\)/);
    await waitFor(() => registry.status().then((s) => s.routers.every((row) => row.workers['api-worker']?.ok) && s), 5000, 'worker serving ne40@1');
    r = await cli(modelsRole, ['status', ...reg()]);
    assert.match(r.out, /all +ne40@1/);
    assert.match(r.out, /api-worker +running/);
    assert.match(r.out, /r1 +huawei +ne40@1 +all +ne40@1 ✓/);
    r = await cli(modelsRole, ['delete', 'ne40@1', ...reg()]);
    assert.equal(r.code, 1);
    assert.match(r.err, /ne40@1 is deployed \(all\).*\[DEPLOYED\]/);
    r = await cli(modelsRole, ['deploy', 'ne40@1', '--router-type', 'cisco', ...reg()]);
    assert.equal(r.code, 1);
    assert.match(r.err, /unknown router type "cisco".*\[UNKNOWN_ROUTER_TYPE\]/);
    await assert.rejects(cli(modelsRole, ['deploy', 'ne40@1', ...reg()]), /--routers r1,r3 \| --router-type T \| --all/);
  });

  test('KServe V2: an infer request shaped as the documentation shows gets exactly the pipeline\'s prediction', async () => {
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
    const meta = (await (await fetch(`${url}/v2/models/ne40`)).json()) as { name: string; versions: string[]; inputs: unknown[]; outputs: unknown[] };
    assert.deepEqual(meta.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 2] }]);
    assert.deepEqual(meta.outputs, [{ name: 'output', datatype: 'FP32', shape: [-1, 1] }]);
    assert.deepEqual(meta.versions, ['1']);
    // the pipeline: a TP message for r2 (occupation 37.5 %, 812.25 B)
    await fabric.publish({ topic: 'TP_r2', key: 'r2', value: JSON.stringify(tp(42, 37.5, 812.25)) });
    const ml = await waitFor(async () => (await fabric.readAll('ML_r2')).map((m) => JSON.parse(m.value) as MlMessage).find((m) => m.epoch_timestamp === String(1_700_000_042)));
    const pipelinePower = (ml.output_ml_metrics[0]!.value as number[])[0]!;
    // KServe: inputs FP32 [1, 2] in the model's column order (PacketSize_B bytes, Throughput_Percentage fraction)
    const body = { id: 'req-1', inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [812.25, 0.375] }], outputs: [{ name: 'output' }, { name: 'dpower_doccupation' }] };
    const res = await fetch(`${url}/v2/models/ne40/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 200);
    const out = (await res.json()) as { model_name: string; model_version: string; id: string; outputs: Array<{ name: string; datatype: string; shape: number[]; data: number[] }> };
    assert.equal(out.model_name, 'ne40');
    assert.equal(out.model_version, '1');
    assert.equal(out.id, 'req-1');
    assert.deepEqual(out.outputs[0], { name: 'output', datatype: 'FP32', shape: [1, 1], data: [pipelinePower] });
    assert.equal(out.outputs[1]!.data[0], (ml.output_ml_metrics[1]!.value as number[])[0]);
    // the same with nested data, a version in the path, and named feature inputs
    const nested = await fetch(`${url}/v2/models/ne40/versions/1/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', shape: [2, 2], datatype: 'FP32', data: [[812.25, 0.375], [64, 0]] }] }),
    });
    assert.equal(((await nested.json()) as typeof out).outputs[0]!.data[0], pipelinePower);
    const named = await fetch(`${url}/v2/models/ne40/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          { name: 'Throughput_Percentage', shape: [1], datatype: 'FP32', data: [0.375] },
          { name: 'PacketSize_B', shape: [1], datatype: 'FP32', data: [812.25] },
        ],
      }),
    });
    assert.equal(((await named.json()) as typeof out).outputs[0]!.data[0], pipelinePower);
  });

  test('KServe V2: bad requests are 400 with the reason, unknown models 404', async () => {
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, error: ((await res.json()) as { error: string }).error };
    };
    const inp = (o: object) => ({ inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [576, 0.5], ...o }] });
    let r = await post('/v2/models/ne40/infer', inp({ shape: [1, 3], data: [1, 2, 3] }));
    assert.equal(r.status, 400);
    assert.match(r.error, /shape must be \[N, 2\]/);
    r = await post('/v2/models/ne40/infer', inp({ data: [576, -0.5] }));
    assert.match(r.error, /negative/);
    r = await post('/v2/models/ne40/infer', inp({ data: [576, null] }));
    assert.match(r.error, /not a finite number/);
    r = await post('/v2/models/ne40/infer', inp({ data: [576] }));
    assert.match(r.error, /shape says 2 values, data has 1/);
    r = await post('/v2/models/ne40/infer', inp({ datatype: 'INT64' }));
    assert.match(r.error, /datatype must be FP32/);
    r = await post('/v2/models/ne40/infer', inp({ name: 'float_input' }));
    assert.match(r.error, /unknown input "float_input"/);
    r = await post('/v2/models/ne40/infer', { ...inp({}), outputs: [{ name: 'probabilities' }] });
    assert.match(r.error, /unknown output/);
    r = await post('/v2/models/sk/infer', inp({}));
    assert.equal(r.status, 404);
    assert.match(r.error, /not served by this worker \(serving: ne40@1\)/);
    assert.equal((await fetch(`${url}/v2/models/ne40/versions/9`)).status, 404);
  });

  test('status: a worker that reported but does not answer is shown unreachable and left out of the router table', async () => {
    const ghost = { worker: 'ghost', url: 'http://127.0.0.1:9', state: 'running', started_at: '', updated_at: new Date().toISOString(), applied: {}, routers: { r1: { router_type: 'huawei', scope: 'all', model_type: 'polynomial', model: 'ne40', version: '1' } }, models: [], errors: [] };
    await fabric.publish({ topic: 'wattflow_model_status', key: 'ghost', value: JSON.stringify(ghost) });
    const r = await cli(modelsRole, ['status', ...reg()]);
    assert.match(r.out, /ghost +unreachable/);
    assert.doesNotMatch(r.out.split('routers (')[1]!, /ghost/);
    await fabric.publish({ topic: 'wattflow_model_status', key: 'ghost', value: JSON.stringify({ ...ghost, state: 'stopped' }) });
  });

  test('switch dummy, switch model back (follows the previous reference), rollback; the web page lists it all', async () => {
    let r = await cli(modelsRole, ['switch', 'dummy', ...reg()]);
    assert.match(r.out, /switched all +→ dummy \(formula\) +\(was ne40@1/);
    r = await cli(modelsRole, ['switch', 'model', ...reg()]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /switched all +→ ne40@1 \(follows @production\)/);
    r = await cli(modelsRole, ['deploy', 'ne40@2', '--routers', 'r3', ...reg()]);
    assert.equal(r.code, 0, r.err);
    r = await cli(modelsRole, ['rollback', '--routers', 'r3', ...reg()]);
    assert.match(r.out, /rolled back router:r3 +→ \(cleared/);
    const html = await (await fetch(`${url}/registry`)).text();
    assert.match(html, /<h2>ne40<\/h2>/);
    assert.match(html, /<span class="tag">production<\/span>/);
    assert.match(html, /api-worker/);
    assert.doesNotMatch(html, /<script/);
  });

  test('the README\'s rollback: a broad deploy says which routers keep a narrower deployment; rollback restores the previous target as it was (issue 17)', async () => {
    let r = await cli(modelsRole, ['switch', 'model', 'ne40@production', ...reg()]);
    assert.equal(r.code, 0, r.err);
    r = await cli(modelsRole, ['switch', 'dummy', '--routers', 'r1', ...reg()]);
    assert.equal(r.code, 0, r.err);
    r = await cli(modelsRole, ['deploy', 'ne40@1', '--all', ...reg()]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /deployed all +→ ne40@1 +\(was ne40@1 \(follows @production\)\)/);
    assert.match(r.out, /r1 stays on dummy \(its narrower deployment router:r1 wins: `wattflow models undeploy --routers r1` to let all apply/);
    r = await cli(modelsRole, ['rollback', '--all', ...reg()]);
    assert.equal(r.code, 0, r.err);
    // the previous target exactly: following @production again — not "→ ne40@1 (was ne40@1)"
    assert.match(r.out, /rolled back all +→ ne40@1 \(follows @production\) +\(was ne40@1\)/);
    assert.match(r.out, /r1 stays on dummy/);
    r = await cli(modelsRole, ['deploy', 'ne40@production', '--all', ...reg()]);
    assert.match(r.out, /deployed all +→ ne40@1 \(follows @production\) +\(unchanged: it already was the target\)/);
    await cli(modelsRole, ['undeploy', '--routers', 'r1', ...reg()]);
  });
});

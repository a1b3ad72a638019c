/**
 * One V2 server per app, many providers (as `wattflow up` runs them): the inference worker's
 * power models (kserve.ts) and the vehicle predictor (v2-endpoint.ts) on one Fastify app —
 * `/v2/models` lists both, infer on each model reaches its provider, readiness reflects both,
 * unknown models are 404 naming every served model, and a model name claimed by both providers
 * is an error with a clear message (at registration and on requests), never a shadowing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import type { RunningApp } from '../../src/core/lifecycle.js';
import type { ModelPredictor } from '../../src/router-power/inference/model-predictor.js';
import { registerV2Provider, type V2Provider } from '../../src/router-power/inference/v2-server.js';
import { startV2App, type V2App } from './v2-app.js';

const post = async (url: string, body: unknown) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

describe('V2 server: the power models and the vehicle predictor on one app', () => {
  let workerReady = true;
  let v2: V2App;
  let app: RunningApp;
  let power: ModelPredictor;
  let vehicleModel: V2App['vehicleModel'];
  before(async () => {
    v2 = await startV2App(() => workerReady);
    ({ app, power, vehicleModel } = v2);
  });
  after(async () => v2.close());

  test('/v2 and /v2/models list both providers; metadata comes from each', async () => {
    const meta = await get(`${app.url}/v2`);
    assert.equal(meta.status, 200);
    assert.deepEqual(meta.body.extensions, ['model_repository']);
    const models = await get(`${app.url}/v2/models`);
    assert.deepEqual(models.body.models, [
      { name: 'ne40', version: '1', routers: ['r1'] },
      { name: vehicleModel.name, version: vehicleModel.version },
    ]);
    const index = await post(`${app.url}/v2/repository/index`, {});
    assert.deepEqual(index.body.map((m: { name: string }) => m.name), ['ne40', vehicleModel.name]);
    assert.equal((await get(`${app.url}/v2/models/ne40`)).body.platform, 'onnxruntime_onnx');
    assert.equal((await get(`${app.url}/v2/models/${vehicleModel.name}`)).body.platform, 'wattflow_isolation_forest');
    assert.equal((await get(`${app.url}/v2/models/${vehicleModel.name}/versions/${vehicleModel.version}/ready`)).body.ready, true);
  });

  test('infer on each model reaches its provider', async () => {
    const p = await post(`${app.url}/v2/models/ne40/infer`, { inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [812.25, 0.375] }] });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.equal(p.body.model_name, 'ne40');
    assert.deepEqual(p.body.outputs[0].data, Array.from(await power.use((m) => m.predictBatch(Float32Array.from([812.25, 0.375])))));
    const F = vehicleModel.features.length;
    const v = await post(`${app.url}/v2/models/${vehicleModel.name}/infer`, { inputs: [{ name: 'features', shape: [1, F], datatype: 'FP32', data: new Array(F).fill(1) }] });
    assert.equal(v.status, 200, JSON.stringify(v.body));
    assert.equal(v.body.model_name, vehicleModel.name);
    assert.deepEqual(v.body.outputs.map((o: { name: string }) => o.name), ['score', 'label']);
    // each provider's own validation answers for its model
    const bad = await post(`${app.url}/v2/models/${vehicleModel.name}/infer`, { inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [1, 1] }] });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /the model's input is "features"/);
  });

  test('an unknown model is 404 naming every served model', async () => {
    const r = await post(`${app.url}/v2/models/nope/infer`, { inputs: [] });
    assert.equal(r.status, 404);
    assert.match(r.body.error, new RegExp(`model "nope" is not served by this server \\(serving: ne40@1, ${vehicleModel.name}@${vehicleModel.version}\\)`));
    assert.equal((await get(`${app.url}/v2/models/ne40/versions/9`)).status, 404);
  });

  test('ready only when every provider is', async () => {
    assert.deepEqual(await get(`${app.url}/v2/health/ready`), { status: 200, body: { ready: true } });
    workerReady = false;
    try {
      assert.deepEqual(await get(`${app.url}/v2/health/ready`), { status: 503, body: { ready: false } });
      assert.equal((await get(`${app.url}/v2/models/ne40/ready`)).body.ready, false);
      assert.equal((await get(`${app.url}/v2/models/${vehicleModel.name}/ready`)).body.ready, true);
    } finally {
      workerReady = true;
    }
  });
});

describe('V2 server: model name clashes', () => {
  const provider = (label: string, names: () => string[]): V2Provider => ({
    label,
    serverName: label,
    models: () => names().map((name) => ({ name, version: '1', platform: 'test' })),
    ready: () => true,
    resolve: (name) => (names().includes(name) ? '1' : undefined),
    metadata: (name) => ({ name, label }),
    modelReady: () => true,
    infer: async ({ name }) => ({ status: 200, body: { model_name: name, by: label } }),
  });

  test('two providers claiming the same model name at registration is an error naming both', async () => {
    const app = Fastify();
    registerV2Provider(app, provider('provider A', () => ['m']));
    assert.throws(() => registerV2Provider(app, provider('provider B', () => ['m'])), /model name "m" is claimed by more than one V2 provider on this server \(provider A and provider B\)/);
    await app.close();
  });

  test('a clash arising later is answered 500 naming both providers, not shadowed', async () => {
    const app = Fastify();
    let late: string[] = [];
    registerV2Provider(app, provider('provider A', () => ['m']));
    registerV2Provider(app, provider('provider B', () => late));
    assert.equal((await app.inject({ method: 'POST', url: '/v2/models/m/infer', payload: {} })).json().by, 'provider A');
    late = ['m'];
    for (const [method, url] of [['POST', '/v2/models/m/infer'], ['GET', '/v2/models/m'], ['GET', '/v2/models/m/ready']] as const) {
      const r = await app.inject({ method, url, payload: method === 'POST' ? {} : undefined });
      assert.equal(r.statusCode, 500, url);
      assert.match(r.json().error, /model name "m" is claimed by more than one V2 provider .*provider A and provider B/);
    }
    await app.close();
  });

  test('separate apps keep separate V2 servers', async () => {
    const a = Fastify();
    const b = Fastify();
    registerV2Provider(a, provider('provider A', () => ['m']));
    registerV2Provider(b, provider('provider B', () => ['m']));
    assert.equal((await b.inject({ method: 'GET', url: '/v2/models/m' })).json().label, 'provider B');
    assert.equal((await a.inject({ method: 'GET', url: '/v2' })).json().name, 'provider A');
    await a.close();
    await b.close();
  });
});

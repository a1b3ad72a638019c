/**
 * The MLflow-compatible API against recorded request/response shapes from MLflow's protos
 * (test/fixtures/mlflow/: messages.json = the response messages' fields and types, dumped from
 * the protos compiled into org.mlflow:mlflow-client; exchanges.json = requests as MLflow
 * clients send them, with the answer each should get): every 200 answer is checked field by
 * field (no field MLflow's proto does not have, every type right), every refusal is
 * `{error_code, message}` with MLflow's code and status. Then what the fixture cannot say:
 * a deployed version is not deleted (RESOURCE_CONFLICT), lowerCamelCase field names,
 * a natively registered version as an MLflow model version, and the auth hook's refusals in
 * MLflow's shape (UNAUTHENTICATED, PERMISSION_DENIED).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadAppConfig } from '../../src/app-config.js';
import { Authenticator, newToken, tokenEntry } from '../../src/core/auth.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { openRegistry } from '../../src/registry/index.js';
import type { Registry } from '../../src/registry/registry.js';
import { silent, sklearnLikeLinear, sourceOf, testExperiment, trained } from './helpers.js';

const FIXTURES = new URL('../fixtures/mlflow/', import.meta.url).pathname;
const MESSAGES = (JSON.parse(readFileSync(join(FIXTURES, 'messages.json'), 'utf8')) as { messages: Record<string, Record<string, string>> }).messages;

interface Exchange {
  method?: string;
  path?: string;
  query?: Record<string, string>;
  body?: unknown;
  status?: number;
  response?: string;
  error_code?: string;
  message?: string;
  save?: Record<string, string>;
  expect?: Record<string, unknown>;
  upload?: string;
}
const EXCHANGES = (JSON.parse(readFileSync(join(FIXTURES, 'exchanges.json'), 'utf8')) as { exchanges: Exchange[] }).exchanges;

/** Checks `value` against a proto type of messages.json; returns the problems (path: what). */
export function shapeProblems(value: unknown, type: string, path = ''): string[] {
  if (type.endsWith('[]')) {
    if (!Array.isArray(value)) return [`${path}: expected a list (${type}), got ${JSON.stringify(value)}`];
    return value.flatMap((v, i) => shapeProblems(v, type.slice(0, -2), `${path}.${i}`));
  }
  const fields = MESSAGES[type];
  if (fields) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected ${type}, got ${JSON.stringify(value)}`];
    return Object.entries(value).flatMap(([k, v]) => (Object.hasOwn(fields, k) ? shapeProblems(v, fields[k]!, `${path}.${k}`) : [`${path}.${k}: not a field of ${type} (fields: ${Object.keys(fields).join(', ')})`]));
  }
  if (type.startsWith('enum:')) return typeof value === 'string' && type.slice(5).split('|').includes(value) ? [] : [`${path}: expected one of ${type.slice(5)}, got ${JSON.stringify(value)}`];
  const ok: Record<string, (v: unknown) => boolean> = {
    string: (v) => typeof v === 'string',
    bool: (v) => typeof v === 'boolean',
    int64: (v) => Number.isSafeInteger(v),
    int32: (v) => Number.isSafeInteger(v),
    double: (v) => typeof v === 'number',
    float: (v) => typeof v === 'number',
  };
  const check = ok[type];
  if (!check) return [`${path}: unknown type ${type} in messages.json`];
  return check(value) ? [] : [`${path}: expected ${type}, got ${JSON.stringify(value)}`];
}

const at = (v: unknown, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], v);

describe('MLflow-compatible API: recorded shapes from MLflow\'s protos', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-mlflow-api-'));
  const fabric = new MemoryFabric({ retryDelayMs: 20 });
  const exp = sourceOf(testExperiment({ routers: [{ id: 'r1' }] }));
  const cfg = loadAppConfig(undefined, { '/storage/dir': '', '/registry/artifacts/dir': join(dir, 'artifacts') }, {});
  let app: RunningApp;
  let registry: Registry;
  let url: string;

  before(async () => {
    const parts = await openRegistry(cfg, silent, fabric, exp);
    registry = parts.registry;
    app = await startComponents(parts.components, { host: '127.0.0.1', port: 0, logger: silent });
    url = app.url;
  });
  after(async () => {
    await app.stop();
    await fabric.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, query?: Record<string, string>, body?: unknown, token?: string) => {
    const full = path.startsWith('/') ? path : `/api/2.0/mlflow/${path}`;
    const qs = query ? `?${new URLSearchParams(query).toString()}` : '';
    const res = await fetch(`${url}${full}${qs}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json, text };
  };

  const put = async (path: string, bytes: Uint8Array | string) => {
    const res = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${path}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    assert.equal(res.status, 200, await res.text());
  };

  test('every exchange of exchanges.json gets the proto\'s response message or MLflow\'s error', async () => {
    const vars: Record<string, string> = {};
    const fill = (v: unknown): unknown =>
      typeof v === 'string' ? v.replace(/\{\{(\w+)\}\}/g, (_m, k: string) => vars[k] ?? assert.fail(`{{${k}}} not saved yet`)) : Array.isArray(v) ? v.map(fill) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)])) : v;
    let checked = 0;
    for (const x of EXCHANGES) {
      if (x.upload) {
        vars.artifact_path = vars.artifact_uri!.replace(/^mlflow-artifacts:\/+/, '');
        const base = vars.artifact_path;
        await put(`${base}/model/MLmodel`, 'artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n    providers: [CPUExecutionProvider]\n');
        await put(`${base}/model/model.onnx`, sklearnLikeLinear());
        await put(`${base}/sk/MLmodel`, 'artifact_path: sk\nflavors:\n  sklearn:\n    pickled_model: model.pkl\n');
        continue;
      }
      const label = `${x.method} ${x.path} ${JSON.stringify(x.query ?? x.body ?? '')}`.slice(0, 200);
      const r = await call(x.method!, fill(x.path) as string, fill(x.query) as Record<string, string> | undefined, fill(x.body));
      assert.equal(r.status, x.status, `${label}: ${r.text.slice(0, 400)}`);
      if (x.response) {
        assert.deepEqual(shapeProblems(r.json, x.response), [], `${label}: ${r.text.slice(0, 400)}`);
        for (const [k, want] of Object.entries(x.expect ?? {})) assert.deepEqual(at(r.json, k), want ?? undefined, `${label}: ${k} in ${r.text.slice(0, 400)}`);
        for (const [name, path] of Object.entries(x.save ?? {})) vars[name] = String(at(r.json, path) ?? assert.fail(`${label}: nothing at ${path} to save`));
      } else {
        assert.deepEqual(Object.keys(r.json as object).sort(), ['error_code', 'message'], `${label}: ${r.text}`);
        assert.equal((r.json as { error_code: string }).error_code, x.error_code, `${label}: ${r.text}`);
        if (x.message) assert.ok((r.json as { message: string }).message.includes(x.message), `${label}: ${r.text}`);
      }
      checked++;
    }
    assert.ok(checked >= 45, `${checked} exchanges`);
  });

  test('malformed JSON is MALFORMED_REQUEST; lowerCamelCase names (protobuf JSON) are accepted', async () => {
    const bad = await call('POST', 'registered-models/create', undefined, '{"name": ');
    assert.equal(bad.status, 400);
    assert.equal((bad.json as { error_code: string }).error_code, 'MALFORMED_REQUEST', bad.text);
    const e = await call('POST', 'experiments/create', undefined, { name: 'camel' });
    const r = await call('POST', 'runs/create', undefined, { experimentId: (e.json as { experiment_id: string }).experiment_id, runName: 'camel-run', startTime: 5 });
    assert.equal(r.status, 200, r.text);
    assert.equal(at(r.json, 'run.info.run_name'), 'camel-run');
    assert.equal(at(r.json, 'run.info.start_time'), 5);
  });

  test('a natively registered version is an MLflow model version; a deployed one is not deleted (RESOURCE_CONFLICT)', async () => {
    const t = await trained({ name: 'native' });
    await registry.upload('native', t.onnx, { metadata: t.metadata, alias: 'production' });
    const mv = await call('GET', 'model-versions/get', { name: 'native', version: '1' });
    assert.equal(mv.status, 200);
    assert.deepEqual(shapeProblems(mv.json, 'mlflow.GetModelVersion.Response'), []);
    assert.equal(at(mv.json, 'model_version.source'), 'mlflow-artifacts:/wattflow-registry/native/1');
    assert.deepEqual(at(mv.json, 'model_version.aliases'), ['production']);
    const mlmodel = await (await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/wattflow-registry/native/1/MLmodel`)).text();
    assert.match(mlmodel, /onnx:\n\s+code: null\n\s+data: model.onnx/);
    assert.match(mlmodel, /wattflow.features: PacketSize_B:bytes,Throughput_Percentage:fraction/);
    const list = await call('GET', '/api/2.0/mlflow-artifacts/artifacts', { path: 'wattflow-registry' });
    assert.ok((at(list.json, 'files') as Array<{ path: string }>).some((f) => f.path === 'native'), list.text);

    await registry.deploy({ ref: 'native@1', all: true });
    const del = await call('DELETE', 'registered-models/delete', undefined, { name: 'native' });
    assert.equal(del.status, 409, del.text);
    assert.equal((del.json as { error_code: string }).error_code, 'RESOURCE_CONFLICT');
    const delv = await call('DELETE', 'model-versions/delete', undefined, { name: 'native', version: '1' });
    assert.equal(delv.status, 409, delv.text);
    assert.equal((await call('GET', 'registered-models/get', { name: 'native' })).status, 200, 'nothing deleted');
  });
});

describe('MLflow-compatible API with tokens: the auth hook\'s refusals in MLflow\'s shape', () => {
  const read = newToken();
  const write = newToken();
  const fabric = new MemoryFabric({ retryDelayMs: 20 });
  const cfg = loadAppConfig(undefined, { '/storage/dir': '' }, {});
  let app: RunningApp;

  before(async () => {
    const parts = await openRegistry(cfg, silent, fabric);
    const auth = new Authenticator({ entries: [tokenEntry('reader', read, ['read']), tokenEntry('writer', write, ['read', 'models:write'])] });
    app = await startComponents(parts.components, { host: '127.0.0.1', port: 0, logger: silent, auth });
  });
  after(async () => {
    await app.stop();
    await fabric.close();
  });

  test('401 UNAUTHENTICATED, 403 PERMISSION_DENIED naming the scope, and the scopes work', async () => {
    const post = (token?: string) =>
      fetch(`${app.url}/api/2.0/mlflow/registered-models/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ name: 'authed' }),
      });
    const none = await post();
    assert.equal(none.status, 401);
    const nb = (await none.json()) as { error_code: string; message: string };
    assert.equal(nb.error_code, 'UNAUTHENTICATED');
    assert.match(nb.message, /authentication required/);
    const denied = await post(read);
    assert.equal(denied.status, 403);
    const db = (await denied.json()) as { error_code: string; message: string };
    assert.equal(db.error_code, 'PERMISSION_DENIED');
    assert.match(db.message, /needs scope "models:write"; token "reader"/);
    assert.equal((await post(write)).status, 200);
    const got = await fetch(`${app.url}/api/2.0/mlflow/registered-models/get?name=authed`, { headers: { authorization: `Bearer ${read}` } });
    assert.equal(got.status, 200);
    const putDenied = await fetch(`${app.url}/api/2.0/mlflow-artifacts/artifacts/0/x/MLmodel`, { method: 'PUT', headers: { authorization: `Bearer ${read}` }, body: 'x' });
    assert.equal(putDenied.status, 403);
    assert.equal(((await putDenied.json()) as { error_code: string }).error_code, 'PERMISSION_DENIED');
  });
});

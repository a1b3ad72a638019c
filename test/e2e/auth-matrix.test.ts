/**
 * The auth matrix: every HTTP route `wattflow up` serves (all roles' components in one process:
 * collector, registry, router API, inference worker with its V2 endpoint, Vehicle API,
 * vehicle predictor) × {no token, wrong token, a token with every scope but the needed one,
 * a token with just the needed one} → 401 / 401 / 403 / past auth (no 401, no 403 with a
 * WWW-Authenticate challenge). The routes are the ones the
 * server recorded as they were registered (src/core/auth.ts declaredRoutes), so a new route
 * that declares no scope fails this test. Also: the forged V2 write (infer with
 * parameters.vehicle_id writing a prediction to the sink) needs scope ingest.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadAppConfig, type AppConfig } from '../../src/app-config.js';
import { declaredRoutes, newToken, SCOPES, serverAuthOf, setClientToken, tokenEntry, type RouteAuth, type Scope } from '../../src/core/auth.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import { checkedServerConfig } from '../../src/roles/common.js';
import { upComponents } from '../../src/roles/up.js';

const only = Object.fromEntries(SCOPES.map((s) => [s, newToken()])) as Record<Scope, string>;
const allBut = Object.fromEntries(SCOPES.map((s) => [s, newToken()])) as Record<Scope, string>;
const everything = newToken();
const entries = [
  ...SCOPES.map((s) => tokenEntry(`only-${s.replace(':', '-')}`, only[s], [s])),
  ...SCOPES.map((s) => tokenEntry(`all-but-${s.replace(':', '-')}`, allBut[s], SCOPES.filter((x) => x !== s))),
  tokenEntry('everything', everything, [...SCOPES]),
];

/** The scopes the issue names for these routes (the matrix checks every route; these pin the important ones). */
const EXPECTED: Record<string, RouteAuth> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',
  'GET /v2/health/live': 'public',
  'GET /v2/health/ready': 'public',
  'POST /v1/vehicles/:vehicleId/measurements': 'ingest',
  'POST /v1/vehicle/predict': 'ingest',
  'POST /api/registry/models': 'models:write',
  'POST /api/registry/models/:name/versions': 'models:write',
  'PUT /api/registry/models/:name/aliases/:alias': 'models:write',
  'DELETE /api/registry/models/:name/aliases/:alias': 'models:write',
  'DELETE /api/registry/models/:name': 'models:write',
  'DELETE /api/registry/models/:name/versions/:ref': 'models:write',
  'POST /api/registry/deployments': 'deploy',
  'POST /api/registry/deployments/undeploy': 'deploy',
  'POST /api/registry/deployments/rollback': 'deploy',
  'GET /api/routers': 'read',
  'GET /api/routers/:id/latest': 'read',
  'GET /api/routers/:id/series': 'read',
  'GET /api/vehicles': 'read',
  'GET /api/vehicles/:vehicleId/latest': 'read',
  'GET /api/vehicles/:vehicleId/series': 'read',
  'GET /api/vehicle-dead-letters': 'read',
  'GET /api/registry/models': 'read',
  'GET /api/registry/models/:name/versions/:ref/artifact': 'read',
  'GET /api/registry/status': 'read',
  'GET /api/models/status': 'read',
  'GET /registry': 'read',
  'GET /metrics/:target': 'read',
  'GET /v2/models/:name': 'read',
  'POST /v2/models/:name/infer': 'read',
  'POST /v2/models/:name/versions/:version/infer': 'read',
};

describe('auth matrix over every route of `wattflow up`', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-auth-matrix-'));
  let cfg: AppConfig;
  let app: RunningApp;

  before(async () => {
    cfg = loadAppConfig(undefined, { '/storage/dir': dir, '/auth/tokens': entries, '/network/watch': false }, {});
    checkedServerConfig(cfg); // as the role does: no auth.clientToken → this process's own clients get a token only this server accepts
    const { components } = await upComponents(cfg, silentLogger());
    app = await startComponents(components, { host: '127.0.0.1', port: 0, logger: silentLogger(), auth: serverAuthOf(cfg) });
  });
  after(async () => {
    await app?.stop();
    setClientToken(undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const request = async (method: string, url: string, token?: string, body?: unknown) => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const withBody = method === 'POST' || method === 'PUT';
    if (withBody) headers['content-type'] = 'application/json';
    const res = await fetch(`${app.url}${url}`, { method, headers, ...(withBody ? { body: JSON.stringify(body ?? {}) } : {}) });
    const text = await res.text();
    return { status: res.status, text, challenge: res.headers.get('www-authenticate') };
  };

  test('every route declares a scope, and the issue\'s routes have the scopes it names', () => {
    const routes = declaredRoutes(app.app);
    assert.ok(routes.length >= 50, `${routes.length} routes recorded`);
    assert.deepEqual(routes.filter((r) => r.auth === undefined).map((r) => `${r.method} ${r.url}`), [], 'routes without config.auth');
    const byKey = new Map(routes.map((r) => [`${r.method} ${r.url}`, r.auth]));
    for (const [key, scope] of Object.entries(EXPECTED)) assert.equal(byKey.get(key), scope, key);
  });

  test('each route × {no token, wrong token, wrong scope, right scope} → 401, 401, 403, past auth', async () => {
    const routes = declaredRoutes(app.app);
    const failures: string[] = [];
    const expect = (cond: boolean, what: string) => void (cond || failures.push(what));
    for (const r of routes) {
      const url = r.url.replace(/:([A-Za-z]+)/g, (_m, p: string) => (p === 'target' ? 'nowhere_1.json' : `x-${p}`));
      const label = `${r.method} ${r.url}`;
      if (r.auth === 'public') {
        for (const token of [undefined, 'wf_wrong']) {
          const res = await request(r.method, url, token);
          expect(res.status !== 401 && res.status !== 403, `${label} (public, token ${token ?? 'none'}): ${res.status} ${res.text.slice(0, 120)}`);
        }
        continue;
      }
      const scope = r.auth as Scope;
      const none = await request(r.method, url);
      expect(none.status === 401 && /^Bearer realm="wattflow"/.test(none.challenge ?? ''), `${label} without token: ${none.status} ${none.challenge}`);
      if (r.method !== 'HEAD') expect(/authentication required/.test(none.text), `${label} without token: body ${none.text.slice(0, 120)}`);
      const wrong = await request(r.method, url, 'wf_not-a-configured-token');
      expect(wrong.status === 401 && /error="invalid_token"/.test(wrong.challenge ?? ''), `${label} wrong token: ${wrong.status} ${wrong.challenge}`);
      const other = await request(r.method, url, allBut[scope]);
      expect(other.status === 403 && (other.challenge ?? '').includes(`scope="${scope}"`), `${label} token without ${scope}: ${other.status} ${other.challenge}`);
      if (r.method !== 'HEAD') expect(other.text.includes(`needs scope \\"${scope}\\"`), `${label} 403 body names the scope: ${other.text.slice(0, 160)}`);
      // past auth: any answer but an auth refusal (a route's own 403, e.g. the collector's target allow-list, carries no challenge)
      const right = await request(r.method, url, only[scope]);
      expect(right.status !== 401 && !(right.status === 403 && right.challenge), `${label} token with ${scope}: ${right.status} ${right.text.slice(0, 160)}`);
    }
    assert.deepEqual(failures, []);
  });

  test('forged V2 write: infer with parameters.vehicle_id needs scope ingest (read only: 403, nothing written); scoring alone needs read', async () => {
    const meta = JSON.parse((await request('GET', '/v2/models/vehicle-anomaly', only.read)).text) as { inputs: Array<{ shape: number[] }>; parameters: { features: string[] } };
    const F = meta.parameters.features.length;
    const ts = Date.now() - 60_000;
    const body = (vehicle?: string) => ({
      ...(vehicle ? { parameters: { vehicle_id: vehicle, timestamp: ts } } : {}),
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, F], data: new Array(F).fill(1) }],
    });
    const forged = await request('POST', '/v2/models/vehicle-anomaly/infer', only.read, body('forged-car'));
    assert.equal(forged.status, 403, forged.text);
    assert.match(forged.text, /writing predictions \(parameters\.vehicle_id; without it the request only scores\) needs scope \\"ingest\\"; token \\"only-read\\" has read/);
    assert.equal((await request('POST', '/v2/models/vehicle-anomaly/infer', undefined, body('forged-car'))).status, 401);
    // nothing was written for that vehicle
    assert.equal((await request('GET', '/api/vehicles/forged-car/latest', only.read)).status, 404);
    const scored = await request('POST', '/v2/models/vehicle-anomaly/infer', only.read, body());
    assert.equal(scored.status, 200, scored.text);
    assert.equal((JSON.parse(scored.text) as { parameters: { written: boolean } }).parameters.written, false);
    // a caller allowed to ingest (the Vehicle API's forwarder) still writes
    const ingest = await request('POST', '/v2/models/vehicle-anomaly/infer', allBut['models:write'], body('real-car'));
    assert.equal(ingest.status, 200, ingest.text);
    assert.equal((JSON.parse(ingest.text) as { parameters: { written: boolean } }).parameters.written, true);
  });

  test('the registry reaches the in-process worker over HTTP with this process\'s own token (status: reachable)', async () => {
    const status = JSON.parse((await request('GET', '/api/registry/status', only.read)).text) as { workers: Array<{ worker: string; reachable?: boolean }> };
    assert.equal(status.workers.length, 1, JSON.stringify(status.workers));
    assert.equal(status.workers[0]!.reachable, true);
  });

  test('moving a deployed alias redeploys: models:write alone is not enough', async () => {
    const { trained } = await import('../registry/helpers.js');
    const a = await trained({ name: 'm', version: '1' });
    const b = await trained({ name: 'm', version: '2', modelType: 'linear' });
    const up = async (v: { onnx: Uint8Array; metadata: unknown }, version: string, alias?: string) =>
      request('POST', '/api/registry/models/m/versions', only['models:write'], { onnx_base64: Buffer.from(v.onnx).toString('base64'), metadata: v.metadata, version, ...(alias ? { alias } : {}) });
    assert.equal((await up(a, '1', 'production')).status, 201);
    assert.equal((await up(b, '2')).status, 201);
    // not deployed yet: models:write moves it
    assert.equal((await request('PUT', '/api/registry/models/m/aliases/production', only['models:write'], { version: '2' })).status, 200);
    const dep = await request('POST', '/api/registry/deployments', only.deploy, { ref: 'm@production', routers: ['r1'] });
    assert.equal(dep.status, 201, dep.text);
    const moved = await request('PUT', '/api/registry/models/m/aliases/production', only['models:write'], { version: '1' });
    assert.equal(moved.status, 403, moved.text);
    assert.match(moved.text, /moving the deployed alias m@production \(it redeploys\) needs scope \\"deploy\\"/);
    const viaUpload = await up(b, '3', 'production');
    assert.equal(viaUpload.status, 403, viaUpload.text);
    assert.equal((await request('PUT', '/api/registry/models/m/aliases/production', allBut.ingest, { version: '1' })).status, 200);
  });
});

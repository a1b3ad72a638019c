/**
 * Seeded fuzz of the model registry's REST API (in-process bus and storage, local artifacts):
 * model creation, uploads (JSON with base64 ONNX, raw bytes with the metadata header, odd
 * features, versions, aliases, metadata), aliases and deployments with odd bodies and names. No
 * request may get a 5xx (`INTERNAL`); a refusal carries an error and a code; the registry stays
 * consistent (the upload of a real model and its deployment work afterwards).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadAppConfig } from '../../src/app-config.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { openRegistry } from '../../src/registry/index.js';
import { prng } from '../helpers/prng.js';
import { silent, sklearnLikeLinear, sourceOf, testExperiment, trained } from './helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? 1204);
const REQUESTS = 500;
const dir = mkdtempSync(join(tmpdir(), 'wattflow-registry-fuzz-'));
const fabric = new MemoryFabric({ retryDelayMs: 20 });
let app: RunningApp;

before(async () => {
  const exp = sourceOf(testExperiment({ routers: [{ id: 'r1' }, { id: 'r2', type: 'ne8000' }] }));
  const cfg = loadAppConfig(undefined, { '/storage/dir': '', '/registry/artifacts/dir': join(dir, 'artifacts') }, {});
  const parts = await openRegistry(cfg, silent, fabric, exp);
  app = await startComponents(parts.components, { host: '127.0.0.1', port: 0, logger: silent });
});
after(async () => {
  await app.stop();
  await fabric.close();
  rmSync(dir, { recursive: true, force: true });
});

test(`registry API under fuzzed requests (seed ${SEED}): no 5xx, refusals say why, the registry keeps working`, async () => {
  const rnd = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const good = await trained({ name: 'fz', version: '1' });
  const onnx = [Buffer.from(good.onnx).toString('base64'), Buffer.from(sklearnLikeLinear()).toString('base64'), '', 'AAAA', 'not base64!', Buffer.from('garbage').toString('base64')];
  const odd = [null, true, 0, -1, '', ' ', 'x', '../../etc', 'a'.repeat(300), [], {}, [1], { a: 1 }, 1e308, 'é中'];
  const names = ['fz', 'ne40', 'm-1', 'bad name', '..', '', '%2F', 'a'.repeat(200), 'UPPER', 'ok_2'];
  const refs = ['1', '2', 'latest', 'production', 'staging', '999', '', 'x@y', '..', '-1'];
  const features = [
    undefined,
    'PacketSize_B:bytes,Throughput_Percentage:fraction',
    'PacketSize_B',
    ':,:',
    [{ name: 'PacketSize_B', unit: 'bytes' }, { name: 'Throughput_Percentage', unit: 'fraction' }],
    [null],
    [1, 2],
    [{}],
    'x'.repeat(500),
  ];
  const body = (): unknown => {
    const b: Record<string, unknown> = {};
    for (const k of ['name', 'description', 'router_type', 'version', 'alias', 'model_type', 'source', 'ref', 'routers', 'all', 'dummy', 'force', 'exclusive', 'metadata', 'features', 'onnx_base64']) {
      if (rnd() < 0.3) b[k] = rnd() < 0.5 ? pick(odd) : k === 'onnx_base64' ? pick(onnx) : k === 'features' ? pick(features) : k === 'name' ? pick(names) : k === 'ref' ? `${pick(names)}@${pick(refs)}` : pick(odd);
    }
    return rnd() < 0.05 ? pick(odd) : b;
  };
  const statuses = new Map<number, number>();
  for (let i = 0; i < REQUESTS; i++) {
    const name = encodeURIComponent(pick(names));
    const ref = encodeURIComponent(pick(refs));
    const [method, path] = pick([
      ['POST', '/api/registry/models'],
      ['GET', `/api/registry/models/${name}`],
      ['DELETE', `/api/registry/models/${name}`],
      ['POST', `/api/registry/models/${name}/versions`],
      ['POST', `/api/registry/models/${name}/versions`],
      ['GET', `/api/registry/models/${name}/versions/${ref}`],
      ['GET', `/api/registry/models/${name}/versions/${ref}/metadata`],
      ['GET', `/api/registry/models/${name}/versions/${ref}/artifact`],
      ['DELETE', `/api/registry/models/${name}/versions/${ref}`],
      ['PUT', `/api/registry/models/${name}/aliases/${ref}`],
      ['DELETE', `/api/registry/models/${name}/aliases/${ref}`],
      ['POST', '/api/registry/deployments'],
      ['POST', '/api/registry/deployments/undeploy'],
      ['POST', '/api/registry/deployments/rollback'],
      ['GET', '/api/registry/status'],
    ] as const);
    const headers: Record<string, string> = {};
    let payload: string | Buffer | undefined;
    if (method === 'POST' || method === 'PUT') {
      if (path.endsWith('/versions') && rnd() < 0.3) {
        headers['content-type'] = 'application/octet-stream';
        payload = rnd() < 0.5 ? Buffer.from(good.onnx) : Buffer.from(pick(onnx), 'base64');
        if (rnd() < 0.5) headers['x-wattflow-metadata'] = rnd() < 0.5 ? Buffer.from(JSON.stringify(rnd() < 0.5 ? good.metadata : pick(odd))).toString('base64') : pick(['!!', 'e30=', '']);
      } else {
        headers['content-type'] = 'application/json';
        payload = rnd() < 0.05 ? '{"broken' : JSON.stringify(body());
      }
    }
    const res = await fetch(`${app.url}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.text();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    assert.ok(res.status < 500, `request ${i}: ${method} ${path} → ${res.status} ${text.slice(0, 300)} for ${typeof payload === 'string' ? payload.slice(0, 300) : `${payload?.length ?? 0} bytes`}`);
    if (res.status >= 400) {
      const err = JSON.parse(text) as { error?: string; message?: string };
      assert.ok((err.error ?? err.message ?? '').length > 0, `request ${i}: ${res.status} says why: ${text.slice(0, 200)}`);
    }
  }
  assert.ok([...statuses.keys()].some((s) => s < 300) && [...statuses.keys()].some((s) => s >= 400), `a mix of outcomes: ${JSON.stringify([...statuses])}`);

  // still consistent: a real model uploads, gets an alias and deploys
  const up = await fetch(`${app.url}/api/registry/models/after-fuzz/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ onnx_base64: Buffer.from(good.onnx).toString('base64'), metadata: good.metadata, alias: 'production' }),
  });
  assert.equal(up.status, 201, await up.clone().text());
  const dep = await fetch(`${app.url}/api/registry/deployments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ref: 'after-fuzz@production', routers: ['r1'] }) });
  assert.equal(dep.status, 201, await dep.clone().text());
});

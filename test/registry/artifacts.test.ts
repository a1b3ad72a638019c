/**
 * Artifact stores: the local directory (atomic writes, refused keys, missing artifacts) and the
 * real S3 server (S3Proxy; S3_ENDPOINT etc. from scripts/services): bucket creation, put/get/
 * exists/delete, ARTIFACT_MISSING, a registry upload + download on S3, and fetchArtifact by
 * s3:// URI with credentials, falling back to the registry's download URL without them.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadAppConfig, type S3Config } from '../../src/app-config.js';
import { fetchArtifact, LocalArtifactStore, S3ArtifactStore } from '../../src/registry/artifacts.js';
import { RegistryError } from '../../src/registry/errors.js';
import { Registry } from '../../src/registry/registry.js';
import { MemoryStore } from '../../src/storage/index.js';
import { service } from '../helpers/services.js';
import { silent, trained } from './helpers.js';

const isCode = (code: string) => (err: unknown) => err instanceof RegistryError && err.code === code;

describe('local artifact store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-artifacts-'));
  const store = new LocalArtifactStore(dir);
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('put/get/exists/delete; writes are atomic (no temp files left); bad keys refused', async () => {
    await store.put('m/1/model.onnx', new Uint8Array([1, 2, 3]));
    assert.deepEqual(await store.get('m/1/model.onnx'), new Uint8Array([1, 2, 3]));
    assert.equal(await store.exists('m/1/model.onnx'), true);
    assert.deepEqual(readdirSync(join(dir, 'm', '1')), ['model.onnx']);
    assert.match(store.uri('m/1/model.onnx'), /^file:\/\/\/.*\/m\/1\/model\.onnx$/);
    await store.delete('m/1/model.onnx');
    assert.equal(await store.exists('m/1/model.onnx'), false);
    await assert.rejects(store.get('m/1/model.onnx'), isCode('ARTIFACT_MISSING'));
    await assert.rejects(store.put('../x', new Uint8Array(1)), isCode('INVALID'));
    await assert.rejects(store.put('a/../../x', new Uint8Array(1)), isCode('INVALID'));
  });

  test('fetchArtifact: file:// URI, then the download URL; both failing is ARTIFACT_MISSING naming them', async () => {
    await store.put('f/1/model.onnx', new Uint8Array([9]));
    assert.deepEqual(await fetchArtifact(store.uri('f/1/model.onnx'), undefined), new Uint8Array([9]));
    await assert.rejects(fetchArtifact(store.uri('f/2/model.onnx'), undefined), (e: unknown) => isCode('ARTIFACT_MISSING')(e) && /f\/2\/model\.onnx/.test((e as Error).message));
  });
});

const s3 = service('S3_ENDPOINT', 'S3 server');

describe('S3 artifact store (real S3 server)', { skip: s3.skip }, () => {
  const env = process.env;
  const cfg = (): S3Config => ({ ...loadAppConfig(undefined, {}, env).registry.artifacts.s3, bucket: 'wattflow-test', prefix: `run-${randomUUID().slice(0, 8)}/` });
  const run = cfg();
  const store = new S3ArtifactStore(run);
  after(() => store.close());

  test('the S3_* variables select the S3 store', () => {
    const c = loadAppConfig(undefined, {}, env).registry.artifacts;
    assert.equal(c.kind, 's3');
    assert.equal(c.s3.endpoint, env.S3_ENDPOINT);
    assert.equal(c.s3.region, env.S3_REGION ?? 'us-east-1');
  });

  test('bucket created on demand; put/get/exists/delete; missing object is ARTIFACT_MISSING', async () => {
    const bytes = new Uint8Array([7, 7, 7, 1]);
    await store.put('m/1/model.onnx', bytes);
    assert.deepEqual(await store.get('m/1/model.onnx'), bytes);
    assert.equal(await store.exists('m/1/model.onnx'), true);
    assert.equal(store.uri('m/1/model.onnx'), `s3://wattflow-test/${run.prefix}m/1/model.onnx`);
    await store.delete('m/1/model.onnx');
    assert.equal(await store.exists('m/1/model.onnx'), false);
    await assert.rejects(store.get('m/1/model.onnx'), isCode('ARTIFACT_MISSING'));
  });

  test('wrong credentials are a clear STORE_FAILED', async () => {
    const bad = new S3ArtifactStore({ ...cfg(), bucket: 'wattflow-test-badcreds', secretAccessKey: 'wrong' });
    await assert.rejects(bad.put('x/1/model.onnx', new Uint8Array(1)), (e: unknown) => isCode('STORE_FAILED')(e) && /wattflow-test-badcreds/.test((e as Error).message));
    await bad.close();
  });

  test('a registry on S3: upload, download, fetch by s3:// URI with credentials', async () => {
    const kv = new MemoryStore({ retentionHours: 1 });
    const registry = new Registry({ kv, artifacts: store, logger: silent });
    const a = await trained();
    const v = await registry.upload('s3model', a.onnx, { metadata: a.metadata });
    assert.match(v.artifact.uri, /^s3:\/\/wattflow-test\/run-.*\/s3model\/1\/model\.onnx$/);
    const d = await registry.download('s3model@1');
    assert.ok(Buffer.from(d.bytes).equals(Buffer.from(a.onnx)));
    const fetched = await fetchArtifact(v.artifact.uri, undefined, { s3: run });
    assert.ok(Buffer.from(fetched).equals(Buffer.from(a.onnx)));
    // without S3 access and without a download URL the worker says what it tried
    await assert.rejects(fetchArtifact(v.artifact.uri, undefined), /no access from this process/);
    await kv.close();
  });
});

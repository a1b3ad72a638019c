/**
 * Any ONNX regressor with its own metadata file (issue 17): a scikit-learn user's metadata
 * document with keys wattflow does not define used to fail with `invalid model metadata: / must
 * NOT have additional properties` ×3, naming neither key. Unknown top-level keys are now kept as
 * `user_metadata` (additive; returned by the API), and every validation error names the key at
 * fault and the allowed keys or values.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadAppConfig } from '../../src/app-config.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { METADATA_KEYS, splitUserMetadata, validateModelMetadata, MetadataError } from '../../src/ml/onnx/metadata.js';
import { openRegistry } from '../../src/registry/index.js';
import { modelsRole } from '../../src/roles/models.js';
import { cli, silent, sklearnLikeLinear, sourceOf, testExperiment } from './helpers.js';

/** What a scikit-learn user wrote next to their skl2onnx export (three keys wattflow does not define). */
const SKLEARN_METADATA = {
  router_type: 'huawei',
  model_type: 'external',
  features: [
    { name: 'PacketSize_B', unit: 'bytes' },
    { name: 'Throughput_Percentage', unit: 'fraction' },
  ],
  target: { name: 'power', unit: 'W' },
  framework: 'scikit-learn',
  sklearn_version: '1.5.2',
  description: 'LinearRegression on the lab NE40 measurements',
};

describe('user metadata: any ONNX regressor with its own metadata file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-user-metadata-'));
  const fabric = new MemoryFabric({ retryDelayMs: 20 });
  const exp = sourceOf(testExperiment());
  const cfg = loadAppConfig(undefined, { '/storage/dir': '', '/registry/artifacts/dir': join(dir, 'artifacts') }, {});
  let app: RunningApp;
  let url: string;

  before(async () => {
    const parts = await openRegistry(cfg, silent, fabric, exp);
    app = await startComponents(parts.components, { host: '127.0.0.1', port: 0, logger: silent });
    url = app.url;
  });
  after(async () => {
    await app.stop();
    await fabric.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('splitUserMetadata moves unknown top-level keys into user_metadata; known-only documents are unchanged', () => {
    assert.deepEqual(splitUserMetadata({ name: 'a', router_type: 'x' }), { name: 'a', router_type: 'x' });
    assert.deepEqual(splitUserMetadata({ name: 'a', owner: 'lab', user_metadata: { team: 'net' } }), { name: 'a', user_metadata: { team: 'net', owner: 'lab' } });
    assert.ok(METADATA_KEYS.includes('user_metadata'));
  });

  test('models upload --metadata with a scikit-learn metadata file: accepted, unknown keys kept and returned', async () => {
    const onnx = join(dir, 'sk.onnx');
    const meta = join(dir, 'sk.json');
    writeFileSync(onnx, sklearnLikeLinear());
    writeFileSync(meta, JSON.stringify(SKLEARN_METADATA));
    const r = await cli(modelsRole, ['upload', 'sk-linear', onnx, '--metadata', meta, '--registry', url]);
    assert.equal(r.code, 0, r.err);
    const v = (await (await fetch(`${url}/api/registry/models/sk-linear/versions/1`)).json()) as { metadata: Record<string, unknown> };
    assert.deepEqual(v.metadata.user_metadata, { framework: 'scikit-learn', sklearn_version: '1.5.2', description: 'LinearRegression on the lab NE40 measurements' });
    assert.equal(v.metadata.router_type, 'huawei');
    assert.equal(v.metadata.framework, undefined, 'not at the top level: the document stays valid for the schema');
    const doc = (await (await fetch(`${url}/api/registry/models/sk-linear/versions/1/metadata`)).json()) as Record<string, unknown>;
    assert.deepEqual(doc.user_metadata, v.metadata.user_metadata);
    validateModelMetadata(doc);
  });

  test('the JSON upload keeps them too, merged over an explicit user_metadata', async () => {
    const res = await fetch(`${url}/api/registry/models/sk-json/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ onnx_base64: Buffer.from(sklearnLikeLinear()).toString('base64'), metadata: { ...SKLEARN_METADATA, user_metadata: { ticket: 'NET-12' } } }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const v = (await res.json()) as { metadata: { user_metadata: Record<string, unknown> } };
    assert.deepEqual(Object.keys(v.metadata.user_metadata).sort(), ['description', 'framework', 'sklearn_version', 'ticket']);
  });

  test('every validation error names the key and the allowed keys or values', async () => {
    const upload = async (metadata: unknown) => {
      const res = await fetch(`${url}/api/registry/models/sk-bad/versions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ onnx_base64: Buffer.from(sklearnLikeLinear()).toString('base64'), metadata }),
      });
      assert.equal(res.status, 422);
      const body = (await res.json()) as { error: string; code: string };
      assert.equal(body.code, 'INVALID_METADATA');
      return body.error;
    };
    // a nested unknown key: named with its path and the keys allowed there
    assert.match(
      await upload({ ...SKLEARN_METADATA, features: [{ name: 'PacketSize_B', unit: 'bytes', scale: 1 }, SKLEARN_METADATA.features[1]] }),
      /unknown key "scale" in key "features\/0" \(allowed: name, unit\)/,
    );
    assert.match(await upload({ ...SKLEARN_METADATA, target: { name: 'power' } }), /missing key "unit" in key "target" \(required: name, unit\)/);
    assert.match(await upload({ ...SKLEARN_METADATA, model_type: 'sklearn' }), /key "model_type" must be one of "linear", "polynomial", "rf", "mlp", "external", got "sklearn"/);
    assert.match(await upload({ ...SKLEARN_METADATA, seed: 'x' }), /key "seed" must be integer/);
    assert.match(await upload({ ...SKLEARN_METADATA, user_metadata: 'lab' }), /key "user_metadata" must be object/);
    assert.match(await upload({ ...SKLEARN_METADATA, metrics: { MAE: 1 } }), /missing key "MAPE" in key "metrics" \(required: MAE, MAPE, MSE, R2, SMAPE, rows\)/);
    // nothing was stored by the refusals
    assert.equal((await fetch(`${url}/api/registry/models/sk-bad`)).status, 404);
  });

  test('validateModelMetadata (a normalised document) still refuses an unknown top-level key, naming it and the allowed ones', () => {
    assert.throws(
      () => validateModelMetadata({ schema_version: 1, extra: 1 }),
      (e: unknown) => e instanceof MetadataError && /unknown key "extra" in the metadata document \(allowed: schema_version, name, .*user_metadata\)/.test(e.message),
    );
  });
});

/**
 * The Registry service on an in-memory kv, a local artifact directory and the in-process bus:
 * upload validation (trained, scikit-learn-like, corrupt, wrong shape, NaN, checksum, missing
 * features), versions, aliases, download, deployments with every refusal (unknown router or
 * router type, router type mismatch, missing artifact, wrong checksum — nothing announced),
 * delete refused while deployed, rollback, alias-following, switch, start-up reconciliation,
 * and the error counter.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { registry as metricsRegistry } from '../../src/core/metrics.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { sha256Hex } from '../../src/ml/onnx/metadata.js';
import { trainModel } from '../../src/ml/train/index.js';
import { parseDeploymentRecord, type DeploymentRecord } from '../../src/registry/control.js';
import { RegistryError } from '../../src/registry/errors.js';
import { Registry } from '../../src/registry/registry.js';
import { nanModel, silent, sklearnLikeLinear, sourceOf, testExperiment, testRegistry, trained } from './helpers.js';

async function rejectsWith(p: Promise<unknown>, code: string, msg?: RegExp, detail?: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof RegistryError, `expected RegistryError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (msg) assert.match(err.message, msg);
    if (detail) assert.equal(err.detail, detail);
    return true;
  });
}

async function controlRecords(fabric: MemoryFabric, topic = 'wattflow_model_deployments'): Promise<DeploymentRecord[]> {
  return (await fabric.readAll(topic)).map((m) => parseDeploymentRecord(m.key, m.value)!);
}

async function errorCount(op: string, code: string): Promise<number> {
  const m = await metricsRegistry.getSingleMetric('wattflow_registry_errors_total')!.get();
  return m.values.find((v) => v.labels.op === op && v.labels.code === code)?.value ?? 0;
}

describe('registry: versions', () => {
  const t = testRegistry();
  after(() => t.cleanup());

  test('a trained model uploads as version 1 with its metadata; download returns the same bytes', async () => {
    const a = await trained();
    const v = await t.registry.upload('ne40', a.onnx, { metadata: a.metadata });
    assert.equal(v.version, '1');
    assert.equal(v.sha256, sha256Hex(a.onnx));
    assert.equal(v.model_type, 'polynomial');
    assert.equal(v.router_type, 'huawei');
    assert.equal(v.metadata.name, 'ne40');
    assert.equal(v.metadata.version, '1');
    assert.deepEqual(v.metadata.metrics, a.metadata.metrics);
    assert.match(v.artifact.uri, /^file:\/\/.*ne40\/1\/model\.onnx$/);
    const d = await t.registry.download('ne40@1');
    assert.ok(Buffer.from(d.bytes).equals(Buffer.from(a.onnx)));
    const models = await t.registry.listModels();
    assert.equal(models.length, 1);
    assert.equal(models[0]!.latest_version, '1');
    assert.equal(models[0]!.next_version, '2');
  });

  test('metadata embedded in the ONNX is enough (no document); explicit versions; duplicates refused', async () => {
    const a = await trained({ seed: 2 });
    const v = await t.registry.upload('ne40', a.onnx, { version: '1.1.0' });
    assert.equal(v.version, '1.1.0');
    assert.deepEqual(v.metadata.features, a.metadata.features);
    await rejectsWith(t.registry.upload('ne40', a.onnx, { version: '1.1.0' }), 'VERSION_EXISTS');
    const next = await t.registry.upload('ne40', a.onnx);
    assert.equal(next.version, '2', 'next integer after 1 (1.1.0 is not an integer)');
    assert.equal((await t.registry.resolveVersion('ne40')).version, '2', 'latest = highest in numeric-aware order');
  });

  test('aliases: set, resolve, move, unset; an alias of a missing version is refused', async () => {
    await t.registry.setAlias('ne40', 'production', '1');
    await t.registry.setAlias('ne40', 'staging', '2');
    assert.equal((await t.registry.showVersion('ne40@production')).version, '1');
    assert.deepEqual((await t.registry.showVersion('ne40@2')).aliases, ['staging']);
    await t.registry.setAlias('ne40', 'production', '2');
    assert.equal((await t.registry.showVersion('ne40@production')).version, '2');
    await t.registry.unsetAlias('ne40', 'staging');
    await rejectsWith(t.registry.showVersion('ne40@staging'), 'VERSION_NOT_FOUND', /no alias "staging"/);
    await rejectsWith(t.registry.setAlias('ne40', 'canary', '9'), 'VERSION_NOT_FOUND');
    await rejectsWith(t.registry.setAlias('ne40', '9bad', '1'), 'INVALID');
  });

  test('a scikit-learn-like export is accepted when the features are named, refused when not', async () => {
    const bytes = sklearnLikeLinear();
    await rejectsWith(t.registry.upload('sk', bytes, { routerType: 'huawei' }), 'INVALID_METADATA', /must name the features/);
    const v = await t.registry.upload('sk', bytes, {
      routerType: 'huawei',
      features: [
        { name: 'PacketSize_B', unit: 'bytes' },
        { name: 'Throughput_Percentage', unit: 'fraction' },
      ],
    });
    assert.equal(v.model_type, 'external');
    assert.equal(v.metadata.sha256, sha256Hex(bytes));
  });

  test('bad uploads are refused with clear codes and leave nothing behind', async () => {
    const before = await errorCount('upload', 'INVALID_MODEL');
    const features = [
      { name: 'PacketSize_B', unit: 'bytes' },
      { name: 'Throughput_Percentage', unit: 'fraction' },
    ];
    await rejectsWith(t.registry.upload('bad', new Uint8Array(0), { routerType: 'huawei', features }), 'INVALID_MODEL', /empty/);
    await rejectsWith(t.registry.upload('bad', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), { routerType: 'huawei', features }), 'INVALID_MODEL');
    // three input features: wrong shape
    const three = trainModel({ modelType: 'linear', X: [[1, 2, 3], [2, 3, 5], [3, 1, 4], [4, 4, 1]], y: [1, 2, 3, 4], featureNames: ['a', 'b', 'c'] }).toOnnx();
    await rejectsWith(t.registry.upload('bad', three, { routerType: 'huawei', features }), 'INVALID_MODEL', /INPUT_SHAPE/, 'INPUT_SHAPE');
    await rejectsWith(t.registry.upload('bad', nanModel(), { routerType: 'huawei', features }), 'INVALID_MODEL', /SMOKE_FAILED/, 'SMOKE_FAILED');
    const a = await trained();
    await rejectsWith(t.registry.upload('bad', a.onnx, { metadata: { ...a.metadata, sha256: '0'.repeat(64) } }), 'CHECKSUM_MISMATCH');
    await rejectsWith(
      t.registry.upload('bad', a.onnx, { metadata: { ...a.metadata, features: [{ name: 'PacketSize_B', unit: 'bytes' }, { name: 'Throughput_Percentage', unit: 'kelvin' }] } }),
      'INVALID_MODEL',
      /unsupported unit "kelvin"/,
    );
    await rejectsWith(t.registry.upload('bad', a.onnx, { metadata: { ...a.metadata, model_type: 'quantum' } }), 'INVALID_METADATA');
    await rejectsWith(t.registry.upload('../etc', a.onnx), 'INVALID');
    assert.equal((await t.registry.listModels()).some((m) => m.name === 'bad'), false, 'no model record for refused uploads');
    assert.ok((await errorCount('upload', 'INVALID_MODEL')) >= before + 4, 'refusals are counted');
  });

  test('download notices a corrupt artifact (sha256 re-checked)', async () => {
    const v = await t.registry.resolveVersion('ne40', '1');
    const p = join(t.artifacts.dir, 'ne40', '1', 'model.onnx');
    const { readFileSync } = await import('node:fs');
    const good = readFileSync(p);
    writeFileSync(p, Buffer.concat([good, Buffer.from([0])]));
    await rejectsWith(t.registry.download('ne40@1'), 'CHECKSUM_MISMATCH', new RegExp(v.sha256));
    writeFileSync(p, good);
    assert.equal((await t.registry.download('ne40@1')).version.version, '1');
  });
});

describe('registry: deployments', () => {
  const fabric = new MemoryFabric();
  const exp = sourceOf(testExperiment({ routers: [{ id: 'r1' }, { id: 'r2' }, { id: 'c1', type: 'cisco' }] }));
  const t = testRegistry({ fabric, experiment: exp });
  after(async () => {
    t.cleanup();
    await fabric.close();
  });

  test('setup: two versions of a huawei model and one cisco model', async () => {
    await t.registry.start();
    const a1 = await trained({ seed: 1 });
    const a2 = await trained({ modelType: 'linear', seed: 2 });
    await t.registry.upload('hw', a1.onnx, { metadata: a1.metadata });
    await t.registry.upload('hw', a2.onnx, { metadata: a2.metadata });
    const c = await trained({ routerType: 'cisco' });
    await t.registry.upload('cs', c.onnx, { metadata: c.metadata });
  });

  test('deploy to routers records and announces one record per router, with the artifact location and metadata', async () => {
    const records = await t.registry.deploy({ ref: 'hw@1', routers: ['r1', 'r2'] });
    assert.deepEqual(records.map((r) => r.scope), [{ kind: 'router', router: 'r1' }, { kind: 'router', router: 'r2' }]);
    const onTopic = await controlRecords(fabric);
    assert.equal(onTopic.length, 2);
    const target = onTopic[0]!.target!;
    assert.equal(target.kind, 'model');
    if (target.kind !== 'model') return;
    assert.equal(target.version, '1');
    assert.match(target.artifact_uri, /^file:/);
    assert.equal(target.metadata.sha256, target.sha256);
    assert.equal(onTopic[0]!.previous, null);
  });

  test('refusals: unknown router, unknown router type, mismatching router type, unknown version, no scope', async () => {
    const published = (await fabric.readAll('wattflow_model_deployments')).length;
    await rejectsWith(t.registry.deploy({ ref: 'hw@1', routers: ['r1', 'r9'] }), 'UNKNOWN_ROUTER', /r9.*r1, r2, c1/);
    await rejectsWith(t.registry.deploy({ ref: 'hw@1', routerType: 'juniper' }), 'UNKNOWN_ROUTER_TYPE', /juniper.*huawei, cisco/);
    await rejectsWith(t.registry.deploy({ ref: 'hw@1', all: true }), 'ROUTER_TYPE_MISMATCH', /cisco/);
    await rejectsWith(t.registry.deploy({ ref: 'hw@1', routers: ['c1'] }), 'ROUTER_TYPE_MISMATCH');
    await rejectsWith(t.registry.deploy({ ref: 'hw@7', routers: ['r1'] }), 'VERSION_NOT_FOUND');
    await rejectsWith(t.registry.deploy({ ref: 'nope@1', routers: ['r1'] }), 'NOT_FOUND');
    await rejectsWith(t.registry.deploy({ ref: 'hw@1' }), 'INVALID', /exactly one/);
    await rejectsWith(t.registry.deploy({ ref: 'hw@1', all: true, routers: ['r1'] }), 'INVALID');
    assert.equal((await fabric.readAll('wattflow_model_deployments')).length, published, 'nothing announced');
  });

  test('missing artifact and wrong checksum are refused before anything is announced', async () => {
    const published = await controlRecords(fabric);
    const p = join(t.artifacts.dir, 'hw', '2', 'model.onnx');
    const { readFileSync } = await import('node:fs');
    const good = readFileSync(p);
    writeFileSync(p, Buffer.from('not the model'));
    await rejectsWith(t.registry.deploy({ ref: 'hw@2', routerType: 'huawei' }), 'CHECKSUM_MISMATCH');
    rmSync(p);
    await rejectsWith(t.registry.deploy({ ref: 'hw@2', routerType: 'huawei' }), 'ARTIFACT_MISSING');
    writeFileSync(p, good);
    assert.deepEqual(await controlRecords(fabric), published);
    assert.equal((await t.registry.listDeployments()).length, 2);
  });

  test('a version cannot be deleted while deployed; rollback re-deploys the previous target', async () => {
    await rejectsWith(t.registry.deleteVersion('hw@1'), 'DEPLOYED', /router:r1/);
    await t.registry.deploy({ ref: 'hw@2', routers: ['r1'] });
    const rb = await t.registry.rollback({ routers: ['r1'] });
    assert.equal(rb[0]!.target?.kind === 'model' && rb[0]!.target.version, '1');
    assert.equal(rb[0]!.previous?.kind === 'model' && rb[0]!.previous.version, '2');
    await rejectsWith(t.registry.rollback({ routerType: 'huawei' }), 'NOTHING_TO_ROLL_BACK');
  });

  test('a deployment through an alias follows the alias', async () => {
    await t.registry.setAlias('hw', 'production', '1');
    await t.registry.deploy({ ref: 'hw@production', routerType: 'huawei' });
    const { redeployed } = await t.registry.setAlias('hw', 'production', '2');
    assert.deepEqual(redeployed, ['type:huawei']);
    const rec = (await controlRecords(fabric)).find((r) => r.scope.kind === 'router_type')!;
    assert.equal(rec.target?.kind === 'model' && rec.target.version, '2');
    assert.equal(rec.target?.kind === 'model' && rec.target.ref, 'hw@production');
  });

  test('switch dummy on all clears the narrower scopes; deleting is then allowed and drops aliases', async () => {
    await t.registry.deploy({ dummy: true, all: true, exclusive: true });
    const desired = await t.registry.listDeployments();
    assert.deepEqual(
      desired.map((r) => [r.scope.kind, r.target?.kind]),
      [['all', 'dummy']],
    );
    const { removedAliases } = await t.registry.deleteVersion('hw@2');
    assert.deepEqual(removedAliases, ['production']);
    await rejectsWith(t.registry.resolveVersion('hw', '2'), 'VERSION_NOT_FOUND');
    await rejectsWith(t.registry.deleteVersion('hw@production'), 'INVALID', /explicit version/);
    await rejectsWith(t.registry.deleteModel('hw'), 'HAS_VERSIONS');
  });

  test('force deploys a model onto routers of another type', async () => {
    const r = await t.registry.deploy({ ref: 'cs@1', routers: ['r2'], force: true });
    assert.equal(r.length, 1);
    await t.registry.undeploy({ routers: ['r2'] });
    await rejectsWith(t.registry.undeploy({ routers: ['r2'] }), 'NOT_FOUND');
  });

  test('start-up reconciliation re-announces recorded deployments the topic does not have', async () => {
    const fresh = new MemoryFabric();
    const again = new Registry({ kv: t.store, artifacts: t.artifacts, logger: silent, fabric: fresh, experiment: exp });
    await again.start();
    const recorded = await t.registry.catalog.listDeployments();
    const onTopic = await controlRecords(fresh);
    assert.deepEqual(new Set(onTopic.map((r) => r.id)), new Set([...recorded.values()].map((r) => r.id)));
    await fresh.close();
  });
});

/**
 * Deployment to an inference worker on the in-process bus: registry → control channel →
 * DeployedModels → inference stage. Routers move from the dummy formula to a model and between
 * versions per scope (router > router type > all); ML messages carry the model, version and
 * processing time; a router whose experiment model_type is not "dummy" is served once a model
 * is deployed; failed loads (missing artifact, wrong checksum, corrupt ONNX) keep the current
 * model, are reported in the worker status and counted; `switch dummy` puts every router back
 * on the formula. Every TP message gets exactly one ML message (no gap).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { loadAppConfig } from '../../src/app-config.js';
import type { Component } from '../../src/core/component.js';
import { registry as metricsRegistry } from '../../src/core/metrics.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { sha256Hex } from '../../src/ml/onnx/metadata.js';
import { OnnxPowerModel } from '../../src/ml/runtime/onnx-power-model.js';
import { DeployedModels } from '../../src/router-power/inference/deployed-models.js';
import { createInference } from '../../src/router-power/inference/inference.js';
import type { MlMessage } from '../../src/router-power/messages.js';
import { fetchArtifact } from '../../src/registry/artifacts.js';
import type { DeploymentRecord, ModelTarget, WorkerStatus } from '../../src/registry/control.js';
import { predictorResolver } from '../../src/router-power/predictor-resolver.js';
import { silent, sourceOf, testExperiment, testRegistry, tp, trained, waitFor } from './helpers.js';

const ROUTERS = ['r1', 'r2', 'r3', 'r4'];

interface Ml {
  router: string;
  seq: number;
  msg: MlMessage & { ml_metadata: { model: string; version: string; model_type: string; processing_time_ms: number } };
}

describe('deployments on the in-process bus', () => {
  const fabric = new MemoryFabric({ retryDelayMs: 20 });
  const exp = sourceOf(testExperiment({ routers: [{ id: 'r1' }, { id: 'r2' }, { id: 'r3' }, { id: 'r4', model: 'ne40' }] }));
  const t = testRegistry({ fabric, experiment: exp });
  const cfg = loadAppConfig(undefined, {}, {});
  const models = new DeployedModels({
    fabric,
    experiment: exp,
    logger: silent,
    workerId: 'w1',
    epsilon: cfg.network.epsilon,
    retryMs: 60_000,
    fetch: (target) => fetchArtifact(target.artifact_uri, undefined),
  });
  const watcher: Component = models.component();
  const inference = createInference({ fabric, experiment: exp, logger: silent, resolve: predictorResolver(cfg, exp, models) });
  let seq = 0;
  let v1Target: ModelTarget;

  /** Publishes one TP per router and returns the ML messages they produced. */
  async function round(): Promise<Map<string, Ml>> {
    const s = ++seq;
    for (const [i, r] of ROUTERS.entries()) {
      await fabric.publish({ topic: `TP_${r}`, key: r, value: JSON.stringify(tp(s, 10 + 20 * i, 200 + 300 * i)) });
    }
    const want = ROUTERS.length;
    return waitFor(async () => {
      const got = new Map<string, Ml>();
      for (const r of ROUTERS) {
        const ml = (await fabric.readAll(`ML_${r}`)).map((m) => JSON.parse(m.value) as Ml['msg']).find((m) => Number(m.epoch_timestamp) === 1_700_000_000 + s);
        const dl = (await fabric.readAll(`TP_${r}.dlq`)).find((m) => (JSON.parse(m.value) as { value: string }).value.includes(`"${1_700_000_000 + s}"`));
        if (ml) got.set(r, { router: r, seq: s, msg: ml });
        else if (dl) got.set(r, { router: r, seq: s, msg: { dlq: JSON.parse(dl.value) } as never });
      }
      return got.size === want ? got : undefined;
    }, 5000, `round ${s}`);
  }

  const label = (m: Ml) => ('dlq' in m.msg ? 'DLQ' : `${m.msg.ml_metadata.model}@${m.msg.ml_metadata.version}`);
  const labels = (r: Map<string, Ml>) => ROUTERS.map((id) => label(r.get(id)!));

  async function waitApplied(id: string): Promise<WorkerStatus> {
    return waitFor(() => Object.values(models.status().applied).some((a) => a.id === id) && models.status(), 5000, `record ${id} applied`);
  }

  before(async () => {
    await t.registry.start();
    await watcher.start!();
    await inference.start!();
  });
  after(async () => {
    await inference.stop!();
    await watcher.stop!();
    await fabric.close();
    t.cleanup();
  });

  test('without deployments: dummy formula, and a router whose model_type names a model is dead-lettered', async () => {
    const r = await round();
    assert.deepEqual(labels(r), ['dummy:huawei@' + r.get('r1')!.msg.ml_metadata.version, 'dummy:huawei@' + r.get('r2')!.msg.ml_metadata.version, 'dummy:huawei@' + r.get('r3')!.msg.ml_metadata.version, 'DLQ']);
    assert.match(JSON.stringify(r.get('r4')!.msg), /has no deployed model/);
    assert.equal(models.status().routers.r4!.model_type, 'none');
  });

  test('deploy a model to all routers: every ML message carries it, with the model\'s prediction', async () => {
    const a = await trained({ name: 'trained-name', version: '9.9' });
    await t.registry.upload('hw', a.onnx, { metadata: a.metadata });
    const b = await trained({ modelType: 'linear', seed: 3 });
    await t.registry.upload('hw', b.onnx, { metadata: b.metadata });
    const [rec] = await t.registry.deploy({ ref: 'hw@1', all: true });
    v1Target = rec!.target as ModelTarget;
    await waitApplied(rec!.id);
    const r = await round();
    assert.deepEqual(labels(r), ['hw@1', 'hw@1', 'hw@1', 'hw@1']);
    const ref = await OnnxPowerModel.load(a.onnx, a.metadata);
    for (const [i, id] of ROUTERS.entries()) {
      const m = r.get(id)!.msg;
      const s = await ref.predictWithSensitivities([{ PacketSize_B: 200 + 300 * i, Throughput_Percentage: (10 + 20 * i) / 100 }], 0.01);
      assert.deepEqual(m.output_ml_metrics[0]!.value, [s.power[0]]);
      assert.deepEqual(m.output_ml_metrics[1]!.value, [s.dPower_dThroughput[0]]);
      assert.equal(m.output_ml_metrics[2]!.value, s.dPower_dPacketSize[0]);
      assert.equal(m.ml_metadata.model_type, 'polynomial');
      assert.ok(m.ml_metadata.processing_time_ms >= 0);
    }
    await ref.close();
  });

  test('a router-scoped deployment wins over "all"; the status shows desired = actual', async () => {
    const [rec] = await t.registry.deploy({ ref: 'hw@2', routers: ['r1'] });
    await waitApplied(rec!.id);
    const r = await round();
    assert.deepEqual(labels(r), ['hw@2', 'hw@1', 'hw@1', 'hw@1']);
    const st = models.status();
    assert.equal(st.routers.r1!.scope, 'router:r1');
    assert.deepEqual(st.routers.r1!.desired, { kind: 'model', model: 'hw', version: '2', sha256: (rec!.target as ModelTarget).sha256 });
    assert.deepEqual(st.models.map((m) => `${m.model}@${m.version}:${m.routers.join(',')}`).sort(), ['hw@1:r2,r3,r4', 'hw@2:r1']);
    const report = await t.registry.status();
    assert.ok(report.routers.every((row) => row.workers.w1?.ok), JSON.stringify(report.routers));
  });

  async function injectFailure(target: ModelTarget, code: string): Promise<void> {
    const rec: DeploymentRecord = { id: `bad-${code}`, scope: { kind: 'router_type', router_type: 'huawei' }, target, deployed_at: new Date().toISOString() };
    await fabric.publish({ topic: 'wattflow_model_deployments', key: 'type:huawei', value: JSON.stringify(rec) });
    const st = await waitApplied(rec.id);
    assert.equal(st.applied['type:huawei']!.ok, false);
    assert.equal(st.applied['type:huawei']!.code, code);
    assert.match(st.routers.r2!.error ?? '', new RegExp(code));
    const r = await round();
    assert.deepEqual(labels(r), ['hw@2', 'hw@1', 'hw@1', 'hw@1'], `after a ${code} failure every router keeps its model`);
  }

  test('failed loads keep the current models, are reported and counted: missing artifact, wrong checksum, corrupt ONNX', async () => {
    const before = (await metricsRegistry.getSingleMetric('wattflow_model_loads_total')!.get()).values.filter((v) => v.labels.result === 'error').reduce((a, v) => a + v.value, 0);
    await injectFailure({ ...v1Target, version: '3', artifact_uri: pathToFileURL(join(t.artifacts.dir, 'hw', '3', 'model.onnx')).href }, 'ARTIFACT_MISSING');
    await injectFailure({ ...v1Target, version: '4', sha256: 'f'.repeat(64) }, 'CHECKSUM_MISMATCH');
    const garbage = Buffer.from('this is not an ONNX model at all');
    const p = join(t.artifacts.dir, 'garbage.onnx');
    writeFileSync(p, garbage);
    await injectFailure({ ...v1Target, version: '5', sha256: sha256Hex(garbage), artifact_uri: pathToFileURL(p).href }, 'CORRUPT');
    const afterCount = (await metricsRegistry.getSingleMetric('wattflow_model_loads_total')!.get()).values.filter((v) => v.labels.result === 'error').reduce((a, v) => a + v.value, 0);
    assert.equal(afterCount - before, 3);
    assert.equal(models.status().errors.length, 3);
  });

  test('switch dummy on all (after the registry adopted the injected record) puts every router on the formula', async () => {
    await t.registry.start(); // adopts the newer topic records
    const records = await t.registry.deploy({ dummy: true, all: true, exclusive: true });
    for (const rec of records) await waitApplied(rec.id);
    const r = await round();
    assert.ok(labels(r).every((l) => l.startsWith('dummy:huawei@')), labels(r).join(' '));
    assert.equal(models.servedModels().length, 0, 'models no longer used are unloaded');
  });

  test('no gap: every TP message produced exactly one ML or dead-letter message, in order', async () => {
    for (const r of ROUTERS) {
      const seqs = (await fabric.readAll(`ML_${r}`)).map((m) => Number((JSON.parse(m.value) as MlMessage).epoch_timestamp) - 1_700_000_000);
      const dl = (await fabric.readAll(`TP_${r}.dlq`)).length;
      assert.equal(seqs.length + dl, seq, `router ${r}`);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    }
  });
});

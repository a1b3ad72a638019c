/**
 * End to end on the real Kafka broker and the real S3 server (S3Proxy), each part on its own
 * Kafka clients as separate processes would be: a registry (HTTP, artifacts in S3), two
 * inference workers sharing the routers (one consumer group) and a driver publishing TP messages
 * for four routers every 50 ms. Then:
 *   `wattflow train … --register` → `wattflow models deploy ne40@1 --all` → every router's ML
 *   messages carry ne40@1 within seconds; a second version likewise; a deployment whose artifact
 *   has the wrong checksum keeps both workers on the current version and shows in
 *   `wattflow models status`; deploying the previous version rolls back. A KServe V2 request to
 *   a worker gets the pipeline's prediction. Finally: no TP message without its ML message (no
 *   gap), no dead letters, and per router the versions change only in deployment order.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadAppConfig, type AppConfig } from '../../src/app-config.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { createKafkaFabric } from '../../src/fabric/kafka/kafka-fabric.js';
import type { Fabric, Subscription } from '../../src/fabric/fabric.js';
import { sha256Hex } from '../../src/ml/onnx/metadata.js';
import { createDeployedModels } from '../../src/router-power/inference/deployed-models.js';
import { createInference } from '../../src/router-power/inference/inference.js';
import type { MlMessage } from '../../src/router-power/messages.js';
import { S3ArtifactStore } from '../../src/registry/artifacts.js';
import type { DeploymentRecord, ModelTarget, WorkerStatus } from '../../src/registry/control.js';
import { openRegistry } from '../../src/registry/index.js';
import { modelsRole, trainRole } from '../../src/roles/models.js';
import { predictorResolver } from '../../src/router-power/predictor-resolver.js';
import type { Role } from '../../src/roles/role.js';
import { deleteKafkaRun } from '../helpers/kafka-cleanup.js';
import { service } from '../helpers/services.js';
import { FIXTURE_CSV, silent, sourceOf, testExperiment, tp, waitFor } from './helpers.js';

const kafka = service('KAFKA_BROKERS', 'Kafka broker');
const s3 = service('S3_ENDPOINT', 'S3 server');

async function cli(role: Role, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    return { code: (await role.run(args)) ?? 0, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

describe('train → register → deploy to two inference workers on Kafka + S3', { skip: kafka.skip || s3.skip }, () => {
  const runId = `wfreg${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
  const brokers = kafka.value.split(',').map((b) => b.trim());
  const ROUTERS = ['r1', 'r2', 'r3', 'r4'];
  const exp = sourceOf(testExperiment({ routers: ROUTERS.map((id) => ({ id })), prefix: `${runId}_` }));
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-e2e-'));
  const fabrics: Fabric[] = [];
  const apps: RunningApp[] = [];
  let registryUrl = '';
  const workerUrls: string[] = [];
  let driver: Fabric;
  let collector: Subscription;
  const ml = new Map<string, Array<{ seq: number; label: string; msg: MlMessage }>>(ROUTERS.map((r) => [r, []]));
  let dead = 0;
  let seq = 0;
  let producing: Promise<void> | undefined;
  let stopProducing = false;

  const fabric = (name: string): Fabric => {
    const f = createKafkaFabric({
      brokers,
      clientId: `${runId}-${name}`,
      logger: silent,
      consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 6_000, maxWaitTimeMs: 100, retryInitialMs: 50, retryMaxMs: 400 },
    });
    fabrics.push(f);
    return f;
  };
  const config = (overrides: Record<string, unknown> = {}): AppConfig =>
    loadAppConfig(
      undefined,
      {
        '/storage/dir': '',
        '/registry/controlTopic': `${runId}_deployments`,
        '/registry/statusTopic': `${runId}_status`,
        '/registry/artifacts/s3/prefix': `${runId}/`,
        '/registry/artifacts/s3/bucket': 'wattflow-test',
        ...overrides,
      },
      process.env,
    );
  const cfg = config();
  const latest = (r: string) => ml.get(r)!.at(-1);
  const allOn = (label: string, since: number) => ROUTERS.every((r) => {
    const l = latest(r);
    return l && l.seq > since && l.label === label;
  });

  before(async () => {
    assert.equal(cfg.fabric.kind, 'kafka');
    assert.equal(cfg.registry.artifacts.kind, 's3');
    // the registry, as its own process would run it
    const regFabric = fabric('registry');
    const reg = await openRegistry(cfg, silent, regFabric, exp);
    const regApp = await startComponents(reg.components, { host: '127.0.0.1', port: 0, logger: silent });
    apps.push(regApp);
    registryUrl = regApp.url;
    // two inference workers: one consumer group for the TP topics, one control group each
    for (const w of ['A', 'B']) {
      const wcfg = config({ '/registry/worker/id': `${runId}-worker-${w}` });
      const f = fabric(`worker${w}`);
      const models = createDeployedModels(wcfg, silent, f, exp);
      const inference = createInference({ fabric: f, experiment: exp, logger: silent, resolve: predictorResolver(wcfg, exp, models), group: `${runId}-inference` });
      const app = await startComponents([models.component(), inference], { host: '127.0.0.1', port: 0, logger: silent });
      apps.push(app);
      workerUrls.push(app.url);
    }
    // the driver: TP messages in, ML messages and dead letters collected
    driver = fabric('driver');
    const e = exp.current;
    await driver.ensureTopics(ROUTERS.flatMap((r) => [{ name: e.mlTopic(r) }, { name: `${e.tpTopic(r)}.dlq` }]));
    collector = await driver.subscribe({
      group: `${runId}-collector`,
      topics: ROUTERS.flatMap((r) => [e.mlTopic(r), `${e.tpTopic(r)}.dlq`]),
      handler: async (batch) => {
        for (const m of batch) {
          if (m.topic.endsWith('.dlq')) {
            dead++;
            continue;
          }
          const msg = JSON.parse(m.value) as MlMessage & { ml_metadata: { model: string; version: string } };
          ml.get(m.key)!.push({ seq: Number(msg.epoch_timestamp) - 1_700_000_000, label: `${msg.ml_metadata.model}@${msg.ml_metadata.version}`, msg });
        }
      },
    });
    producing = (async () => {
      while (!stopProducing) {
        const s = ++seq;
        await driver.publishBatch(ROUTERS.map((r, i) => ({ topic: e.tpTopic(r), key: r, value: JSON.stringify(tp(s, 5 + 10 * i + (s % 7), 300 + 100 * i + (s % 11))) })));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await waitFor(() => ROUTERS.every((r) => ml.get(r)!.length > 0), 30_000, 'first ML messages (dummy)');
  });

  after(async () => {
    stopProducing = true;
    await producing?.catch(() => undefined);
    await collector?.close().catch(() => undefined);
    for (const a of apps.reverse()) await a.stop().catch(() => undefined);
    await Promise.allSettled(fabrics.map((f) => f.close()));
    await deleteKafkaRun(brokers, runId);
    rmSync(dir, { recursive: true, force: true });
  });

  async function deployAndWait(ref: string, label: string): Promise<number> {
    const before = seq;
    await waitFor(() => seq >= before + 10, 5000, 'a steady stream before the deploy');
    const since = seq;
    const t0 = Date.now();
    const r = await cli(modelsRole, ['deploy', ref, '--all', '--registry', registryUrl]);
    assert.equal(r.code, 0, r.err);
    await waitFor(() => allOn(label, since), 15_000, `every router on ${label}`);
    return (Date.now() - t0) / 1000;
  }

  test('train + register v1 (S3), deploy to all routers: both workers switch within seconds', async () => {
    const r = await cli(trainRole, ['--router-type', 'huawei', '--model-type', 'polynomial', '--data', FIXTURE_CSV, '--seed', '3', '--out', dir, '--register', 'ne40', '--registry', registryUrl]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /registered ne40@1/);
    const show = await cli(modelsRole, ['show', 'ne40@1', '--json', '--registry', registryUrl]);
    assert.match((JSON.parse(show.out) as { artifact: { uri: string } }).artifact.uri, new RegExp(`^s3://wattflow-test/${runId}/ne40/1/model.onnx$`));
    const seconds = await deployAndWait('ne40@1', 'ne40@1');
    assert.ok(seconds < 10, `switched in ${seconds} s`);
    console.log(`# ne40@1 on all routers ${seconds.toFixed(2)} s after the deploy command`);
  });

  test('v2: trained, registered, deployed; the switch is seen within seconds', async () => {
    const r = await cli(trainRole, ['--router-type', 'huawei', '--model-type', 'linear', '--data', FIXTURE_CSV, '--out', dir, '--register', 'ne40', '--registry', registryUrl]);
    assert.equal(r.code, 0, r.err);
    const seconds = await deployAndWait('ne40@2', 'ne40@2');
    assert.ok(seconds < 10, `switched in ${seconds} s`);
    console.log(`# ne40@2 on all routers ${seconds.toFixed(2)} s after the deploy command`);
    const st = await cli(modelsRole, ['status', '--registry', registryUrl]);
    assert.match(st.out, new RegExp(`${runId}-worker-A +running`));
    assert.match(st.out, new RegExp(`${runId}-worker-B +running`));
    assert.match(st.out, /r1 +huawei +ne40@2 +all +ne40@2 ✓ +ne40@2 ✓/);
  });

  test('a deployment whose artifact fails its checksum keeps both workers on ne40@2 and is reported', async () => {
    const v1 = (await (await fetch(`${registryUrl}/api/registry/models/ne40/versions/1`)).json()) as { artifact: { uri: string }; metadata: ModelTarget['metadata'] };
    const v2 = (await (await fetch(`${registryUrl}/api/registry/models/ne40/versions/2`)).json()) as { sha256: string; metadata: ModelTarget['metadata'] };
    // the record promises v2's bytes but the object it names is v1's: as if storage were corrupt
    const rec: DeploymentRecord = {
      id: `${runId}-corrupt`,
      scope: { kind: 'all' },
      target: { kind: 'model', model: 'ne40', version: '3', ref: 'ne40@3', model_type: 'linear', router_type: 'huawei', sha256: v2.sha256, size: 1, artifact_uri: v1.artifact.uri, metadata: v2.metadata },
      deployed_at: new Date().toISOString(),
    };
    const since = seq;
    await driver.publish({ topic: cfg.registry.controlTopic, key: 'all', value: JSON.stringify(rec) });
    const statuses = await waitFor(
      async () => {
        const all = (await driver.readAll(cfg.registry.statusTopic)).map((m) => JSON.parse(m.value) as WorkerStatus).filter((s) => s.worker.startsWith(runId));
        return all.length === 2 && all.every((s) => s.applied.all?.id === rec.id) ? all : undefined;
      },
      10_000,
      'both workers reporting the failed record',
    );
    for (const s of statuses) {
      assert.equal(s.applied.all!.ok, false);
      assert.equal(s.applied.all!.code, 'CHECKSUM_MISMATCH');
      assert.equal(s.routers.r1!.version, '2');
    }
    await waitFor(() => ROUTERS.every((r) => (latest(r)?.seq ?? 0) > since + 5), 10_000, 'more ML messages');
    for (const r of ROUTERS) assert.equal(latest(r)!.label, 'ne40@2', `router ${r} still on ne40@2`);
    const st = await cli(modelsRole, ['status', '--registry', registryUrl]);
    assert.match(st.out, /CHECKSUM_MISMATCH/);
    const worker = (await (await fetch(`${workerUrls[0]}/api/models/status`)).json()) as WorkerStatus;
    assert.match(worker.routers.r2!.error ?? '', /CHECKSUM_MISMATCH/);
    // the object exists in S3 and is fine: what fails is that it is not the promised bytes
    const store = new S3ArtifactStore(cfg.registry.artifacts.s3);
    assert.notEqual(sha256Hex(await store.get('ne40/1/model.onnx')), v2.sha256);
    await store.close();
  });

  test('rollback = deploying the previous version: ne40@1 everywhere again', async () => {
    const seconds = await deployAndWait('ne40@1', 'ne40@1');
    console.log(`# rolled back to ne40@1 in ${seconds.toFixed(2)} s`);
  });

  test('KServe V2 on a worker answers with the pipeline\'s prediction', async () => {
    const last = latest('r3')!.msg;
    const occ = last.input_ml_metrics.find((m) => m.name === 'node_network_router_capacity_occupation')!.value;
    const len = last.input_ml_metrics.find((m) => m.name === 'node_network_average_received_packet_length')!.value;
    for (const url of workerUrls) {
      const res = await fetch(`${url}/v2/models/ne40/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [len, occ / 100] }] }),
      });
      assert.equal(res.status, 200);
      const out = (await res.json()) as { model_version: string; outputs: Array<{ data: number[] }> };
      assert.equal(out.model_version, '1');
      assert.equal(out.outputs[0]!.data[0], (last.output_ml_metrics[0]!.value as number[])[0]);
    }
  });

  test('no gap: every TP message has its ML message, no dead letters, versions only move forward through the deployments', async () => {
    stopProducing = true;
    await producing;
    const total = seq;
    await waitFor(() => ROUTERS.every((r) => new Set(ml.get(r)!.map((m) => m.seq)).size === total), 20_000, 'all ML messages');
    assert.equal(dead, 0, 'no dead letters');
    for (const r of ROUTERS) {
      const list = ml.get(r)!;
      const seqs = new Set(list.map((m) => m.seq));
      for (let s = 1; s <= total; s++) assert.ok(seqs.has(s), `router ${r}: seq ${s} missing`);
      // versions by sequence number, runs collapsed: dummy → ne40@1 → ne40@2 → ne40@1
      const bySeq = [...new Map(list.map((m) => [m.seq, m.label])).entries()].sort((a, b) => a[0] - b[0]).map(([, l]) => l);
      const runs = bySeq.filter((l, i) => i === 0 || l !== bySeq[i - 1]).map((l) => (l.startsWith('dummy:') ? 'dummy' : l));
      assert.deepEqual(runs, ['dummy', 'ne40@1', 'ne40@2', 'ne40@1'], `router ${r}`);
    }
    console.log(`# ${total} TP messages per router, ${ROUTERS.length} routers, no gap`);
  });
});

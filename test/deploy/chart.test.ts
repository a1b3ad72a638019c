/**
 * The Helm chart, rendered and linted by the real Helm engine (helm-java: Helm's Go library,
 * from Maven Central — scripts/services/helm.sh; skipped without java/mvn, except under CI=true)
 * for every values set of scripts/deploy/chart-check.ts, then:
 *  - every rendered object valid (kubernetes-models + unknown fields; Strimzi/KServe/ServiceMonitor
 *    against their CRD subsets), wattflow's configuration and experiment as wattflow loads them,
 *    and the policies — no problem at all;
 *  - what each topology must contain (seed 004's and seed 000's flows), checked object by object;
 *  - the deliberately broken values files fail, each with a message naming what is wrong.
 * One JVM renders everything (about 20 s).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { checkRendered, configProblems, policyProblems, renderSets, VALUES_SETS, type Rendered } from '../../scripts/deploy/chart-check.js';
import { helmClasspath, REPO, runHelm } from '../../scripts/deploy/helm.js';
import { createValidator } from '../../scripts/deploy/k8s-schema.js';

type Obj = Record<string, any>;  

const cp = helmClasspath();
const skip: string | false = 'classpath' in cp ? false : `${cp.missing} (needed for the chart tests)`;
if (skip && process.env.CI === 'true') throw new Error(`CI=true: the chart tests need the Helm engine: ${skip}`);

const BROKEN = (f: string) => join(REPO, 'test', 'deploy', 'fixtures', 'broken', f);
const V = (f: string) => join(REPO, 'deploy', 'helm', 'values', f);
/** An experiment of `n` routers with a topic each, and the network settings given: the chart's Kafka topics follow network.topicLayout. */
const LAYOUT_DIR = mkdtempSync(join(tmpdir(), 'wf-chart-layout-'));
const layoutSet = (name: string, n: number, network: Obj) => {
  const file = join(LAYOUT_DIR, `${name}.yaml`);
  const routers = Array.from({ length: n }, (_, i) => ({ [`r${i}`]: { topic: `TD_r${i}`, interfaces: ['eth2'], test_metrics: true } }));
  writeFileSync(file, stringifyYaml({ experiment: { experiment_id: 'big', flag_original_metrics: false, flag_debug_params: false, max_throughput_mbps: 100, polling_interval: 1, multiplier: 1, routers }, config: { network } }));
  return { name: `layout/${name}`, files: [V('network.yaml'), file] };
};
const LAYOUT_SETS = [layoutSet('auto-100', 100, {}), layoutSet('as-configured-100', 100, { topicLayout: 'as-configured' }), layoutSet('shared-3', 3, { topicLayout: 'shared', sharedTopics: { raw: 'a_TD' } })];
const BROKEN_SETS = ['unknown-field', 'bad-traffic-policy', 'cluster-traffic-policy', 'secret-in-values', 'root-container', 'unknown-k8s-field', 'bad-experiment'].map((n) => ({ name: `broken/${n}`, files: [BROKEN(`${n}.yaml`)] }));

let rendered: Rendered[] = [];
const set = (name: string): Rendered => {
  const r = rendered.find((x) => x.name === name);
  assert.ok(r, `rendered set ${name}`);
  assert.ok(r.template.ok, `${name} renders: ${r.template.output.slice(0, 2000)}`);
  return r;
};
const find = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  assert.ok(o, `${kind}/${name} rendered (have: ${objs.filter((x) => x.kind === kind).map((x) => x.metadata?.name).join(', ')})`);
  return o;
};
const container = (w: Obj): Obj => (w.kind === 'InferenceService' ? w.spec.predictor.containers[0] : w.spec.template.spec.containers[0]);
const env = (c: Obj, name: string): Obj | undefined => (c.env as Obj[]).find((e) => e.name === name);
const config = (objs: Obj[]): Obj => parseYaml(find(objs, 'ConfigMap', 'wattflow-config').data['config.yaml']) as Obj;

describe('Helm chart (real Helm engine, no cluster)', { skip }, () => {
  before(async () => {
    rendered = await renderSets([...VALUES_SETS, ...BROKEN_SETS, ...LAYOUT_SETS]);
  });

  test('the engine is Helm 3 (helm-java embeds Helm\'s Go library)', async () => {
    const [v] = await runHelm((cp as { classpath: string }).classpath, [{ op: 'version' }]);
    assert.match(v!.output, /^v3\.\d+\.\d+/);
  });

  for (const s of VALUES_SETS) {
    test(`values set ${s.name}: lint (strict) clean, every object valid, wattflow accepts its configuration, every policy holds`, async () => {
      const r = set(s.name);
      assert.ok(r.objects.length > 10, `${r.objects.length} objects`);
      const problems = await checkRendered(r);
      assert.deepEqual(problems, [], problems.join('\n'));
    });
  }

  test('network topology (seed 004): collector, producer, processor and inference Deployments (consumer-group members), api, registry; the experiment as a directory-mounted ConfigMap; Strimzi Kafka in KRaft with topics per router and a SCRAM user over TLS', () => {
    const o = set('network').objects;
    for (const c of ['collector', 'producer', 'processor', 'inference', 'api', 'registry']) find(o, 'Deployment', `wattflow-${c}`);
    assert.equal(find(o, 'Deployment', 'wattflow-processor').spec.replicas, 2);
    assert.equal(find(o, 'Deployment', 'wattflow-inference').spec.replicas, 2);
    assert.equal(find(o, 'Deployment', 'wattflow-producer').spec.replicas, 1, 'one producer polls every router');
    for (const c of ['collector', 'producer', 'processor', 'inference', 'api', 'registry']) assert.deepEqual(container(find(o, 'Deployment', `wattflow-${c}`)).args.slice(0, 1), [c], `${c}: the role is the argument`);
    // the seed's collector Service name, so its collector_url values work unchanged
    find(o, 'Service', 'node-exporter-collector-service');
    const cfg = config(o);
    assert.deepEqual(cfg.collector.allowTargets, ['r1:9100', 'r2:9100', 'r3:9100'], 'targets derived from the experiment');
    assert.equal(cfg.network.experiment, '/etc/wattflow/experiment/config.json');
    assert.equal(cfg.network.watch, true);
    for (const c of ['producer', 'processor', 'inference', 'api', 'registry']) {
      const d = find(o, 'Deployment', `wattflow-${c}`);
      const m = (container(d).volumeMounts as Obj[]).find((x) => x.name === 'experiment');
      assert.ok(m && m.mountPath === '/etc/wattflow/experiment' && !m.subPath, `${c}: the experiment ConfigMap mounted as a directory (hot reload)`);
      assert.ok(!d.spec.template.metadata.annotations['checksum/experiment'], `${c}: no restart on an experiment change`);
      assert.ok(d.spec.template.metadata.annotations['checksum/config'], `${c}: restarted on a config change`);
    }
    // the inference worker reports a URL the registry can reach: its pod IP
    const inf = container(find(o, 'Deployment', 'wattflow-inference'));
    assert.deepEqual(env(inf, 'POD_IP')!.valueFrom, { fieldRef: { fieldPath: 'status.podIP' } });
    assert.equal(env(inf, 'WATTFLOW_HOST')!.value, '$(POD_IP)');
    assert.ok((inf.env as Obj[]).findIndex((e) => e.name === 'POD_IP') < (inf.env as Obj[]).findIndex((e) => e.name === 'WATTFLOW_HOST'), 'defined before it is used');
    assert.equal(env(inf, 'WATTFLOW__registry__worker__id')!.value, '$(POD_NAME)');
    const exp = JSON.parse(find(o, 'ConfigMap', 'wattflow-experiment').data['config.json']) as Obj;
    assert.equal(exp.routers.length, 3);
    // Strimzi
    const pool = find(o, 'KafkaNodePool', 'wattflow-kafka-dual-role');
    assert.deepEqual(pool.spec.roles, ['controller', 'broker'], 'KRaft: no ZooKeeper');
    assert.equal(pool.metadata.labels['strimzi.io/cluster'], 'wattflow-kafka');
    const kafka = find(o, 'Kafka', 'wattflow-kafka');
    assert.deepEqual(kafka.spec.kafka.listeners[0].authentication, { type: 'scram-sha-512' });
    assert.equal(kafka.spec.kafka.listeners[0].tls, true);
    assert.equal(find(o, 'KafkaUser', 'wattflow').spec.authentication.type, 'scram-sha-512');
    const topics = o.filter((x) => x.kind === 'KafkaTopic').map((x) => x.spec.topicName as string).sort();
    assert.deepEqual(topics, ['ML_r1', 'ML_r2', 'ML_r3', 'TD_r1', 'TD_r2', 'TD_r3', 'TP_r1', 'TP_r2', 'TP_r3', 'wattflow_model_deployments', 'wattflow_model_status', 'wattflow_processor_state']);
    assert.equal(o.find((x) => x.kind === 'KafkaTopic' && x.spec.topicName === 'wattflow_model_status')!.spec.config['cleanup.policy'], 'compact');
    // the processor's state is partitioned by router id (8 unless the topics have more), like the processor creates it
    assert.equal(o.find((x) => x.kind === 'KafkaTopic' && x.spec.topicName === 'wattflow_processor_state')!.spec.partitions, 8);
    assert.equal(o.find((x) => x.kind === 'KafkaTopic' && x.spec.topicName === 'TD_r1')!.spec.partitions, 1);
    assert.deepEqual(cfg.fabric.kafka.brokers, ['wattflow-kafka-kafka-bootstrap:9093']);
    assert.deepEqual(cfg.fabric.kafka.sasl, { mechanism: 'SCRAM-SHA-512', username: 'wattflow', passwordFile: '/etc/wattflow/kafka-sasl/password' });
    assert.deepEqual(cfg.fabric.kafka.tls, { caFile: '/etc/wattflow/kafka-ca/ca.crt' });
    const pod = find(o, 'Deployment', 'wattflow-processor').spec.template.spec;
    const vol = (n: string) => (pod.volumes as Obj[]).find((v) => v.name === n)!;
    assert.equal(vol('kafka-sasl').secret.secretName, 'wattflow', "Strimzi's KafkaUser Secret");
    assert.equal(vol('kafka-ca').secret.secretName, 'wattflow-kafka-cluster-ca-cert', "Strimzi's cluster CA");
  });

  test('Strimzi topics follow network.topicLayout: from sharedTopicsFrom (100) routers one topic per stage, as-configured keeps one per router, shared always shares', () => {
    const topicsOf = (name: string) => set(name).objects.filter((x) => x.kind === 'KafkaTopic').map((x) => x.spec.topicName as string).sort();
    const internal = ['wattflow_model_deployments', 'wattflow_model_status', 'wattflow_processor_state'];
    assert.deepEqual(topicsOf('layout/auto-100'), ['ML', 'TD', 'TP', ...internal]);
    assert.equal(topicsOf('layout/as-configured-100').length, 300 + internal.length);
    assert.deepEqual(topicsOf('layout/shared-3'), ['ML', 'TP', 'a_TD', ...internal]);
    for (const name of ['layout/auto-100', 'layout/as-configured-100', 'layout/shared-3']) assert.deepEqual(configProblems(set(name).objects), [], `${name}: wattflow accepts the configuration`);
  });

  test('vehicle edge (seed 000): Vehicle API DaemonSet behind a NodePort with externalTrafficPolicy Local; predictor and Redis one per edge node behind Services with internalTrafficPolicy Local; the API forwards to the node-local predictor', () => {
    const o = set('vehicle-edge').objects;
    const api = find(o, 'DaemonSet', 'wattflow-vehicle-api');
    assert.deepEqual(api.spec.template.spec.nodeSelector, { 'wattflow.dev/edge': 'true' });
    const svc = find(o, 'Service', 'wattflow-vehicle-api');
    assert.equal(svc.spec.type, 'NodePort');
    assert.equal(svc.spec.externalTrafficPolicy, 'Local');
    assert.equal(svc.spec.ports[0].nodePort, 30080);
    const pred = find(o, 'DaemonSet', 'wattflow-vehicle-predictor');
    assert.deepEqual(pred.spec.template.spec.nodeSelector, { 'wattflow.dev/edge': 'true' });
    assert.equal(find(o, 'Service', 'wattflow-vehicle-predictor').spec.internalTrafficPolicy, 'Local');
    find(o, 'DaemonSet', 'wattflow-redis');
    assert.equal(find(o, 'Service', 'wattflow-redis').spec.internalTrafficPolicy, 'Local');
    const cfg = config(o);
    assert.equal(cfg.vehicle.inference.url, 'http://wattflow-vehicle-predictor:8000', 'push: to the node-local predictor Service');
    assert.equal(cfg.vehicle.redis.url, 'redis://wattflow-redis:6379', 'the node-local Redis Service');
    assert.ok(!o.some((x) => x.kind === 'KafkaNodePool') && !cfg.fabric, 'no Kafka in this topology');
    // NetworkPolicies: Redis from the API and the predictor only, the predictor from the API only
    const np = (c: string) => find(o, 'NetworkPolicy', `wattflow-${c}`);
    const peers = (p: Obj) => (p.spec.ingress as Obj[]).flatMap((r) => (r.from ?? []) as Obj[]).filter((f) => f.podSelector).map((f) => f.podSelector.matchLabels['app.kubernetes.io/component']);
    assert.deepEqual(peers(np('redis')), ['vehicle-api', 'vehicle-predictor']);
    assert.deepEqual(peers(np('vehicle-predictor')), ['vehicle-api']);
  });

  test('KServe: the predictor as an InferenceService (custom container speaking V2, model from S3) spread one per edge node, still behind a Service with internalTrafficPolicy Local', () => {
    const o = set('vehicle-edge+kserve').objects;
    assert.ok(!o.some((x) => x.kind === 'DaemonSet' && x.metadata.name === 'wattflow-vehicle-predictor'));
    const isvc = find(o, 'InferenceService', 'wattflow-vehicle-predictor');
    assert.equal(isvc.apiVersion, 'serving.kserve.io/v1beta1');
    const c = container(isvc);
    assert.equal(c.name, 'kserve-container');
    assert.equal(env(c, 'STORAGE_URI')!.value, 's3://wattflow-models/models/fleet/1/');
    assert.equal(env(c, 'PROTOCOL')!.value, 'v2');
    assert.deepEqual(c.args, ['vehicle-predictor', '--mode', 'push', '--model', '/mnt/models/vehicle-model.json']);
    assert.equal(isvc.spec.predictor.topologySpreadConstraints[0].topologyKey, 'kubernetes.io/hostname');
    const svc = find(o, 'Service', 'wattflow-vehicle-predictor');
    assert.equal(svc.spec.internalTrafficPolicy, 'Local');
    for (const [k, v] of Object.entries(svc.spec.selector as Obj)) assert.equal(isvc.spec.predictor.labels[k], v, 'the Service selects the KServe pods');
  });

  test('shared services (combined): registry with S3 keys by reference, InfluxDB, Grafana provisioning from deploy/grafana, ServiceMonitors, energy exporter DaemonSet with host paths read-only, Ingress by FQDN, PDBs', () => {
    const o = set('combined').objects;
    const reg = container(find(o, 'Deployment', 'wattflow-registry'));
    assert.deepEqual(env(reg, 'S3_SECRET_ACCESS_KEY')!.valueFrom, { secretKeyRef: { name: 'minio-credentials', key: 'secretAccessKey' } });
    assert.equal(config(o).registry.artifacts.s3.endpoint, 'http://minio.minio:9000');
    find(o, 'StatefulSet', 'wattflow-influxdb');
    assert.equal(config(o).influx.url, 'http://wattflow-influxdb:8086');
    const dashboards = readdirSync(join(REPO, 'deploy', 'grafana', 'dashboards')).filter((f) => f.endsWith('.json'));
    const dashMaps = o.filter((x) => x.kind === 'ConfigMap' && x.metadata.labels?.['wattflow.dev/dashboard'] === 'true');
    assert.equal(dashMaps.length, dashboards.length, 'one ConfigMap per dashboard of deploy/grafana');
    for (const m of dashMaps) assert.equal(m.metadata.labels.grafana_dashboard, '1', 'labelled for the Grafana sidecar');
    const ds = parseYaml(find(o, 'ConfigMap', 'wattflow-grafana-datasources').data['wattflow-datasources.yaml']) as Obj;
    assert.deepEqual((ds.datasources as Obj[]).map((d) => [d.uid, d.url]), [['wattflow-influxdb', 'http://wattflow-influxdb:8086'], ['wattflow-prometheus', 'http://prometheus-operated.monitoring:9090']]);
    find(o, 'Deployment', 'wattflow-grafana');
    assert.ok(o.filter((x) => x.kind === 'ServiceMonitor').length >= 6);
    const ee = find(o, 'DaemonSet', 'wattflow-energy-exporter');
    const spec = ee.spec.template.spec;
    assert.equal(spec.hostPID, true);
    const hostPaths = (spec.volumes as Obj[]).filter((v) => v.hostPath).map((v) => v.hostPath.path).sort();
    assert.deepEqual(hostPaths, ['/proc', '/sys', '/var/log']);
    for (const m of container(ee).volumeMounts as Obj[]) if (m.name.startsWith('host-')) assert.equal(m.readOnly, true, `${m.name} read-only`);
    assert.equal(env(container(ee), 'WATTFLOW__energy__procfsRoot')!.value, '/host/proc');
    assert.equal(env(container(ee), 'WATTFLOW__energy__sysfsRoot')!.value, '/host/sys');
    assert.equal(spec.securityContext.runAsNonRoot, true, 'not root by default (the estimator where RAPL is root-only)');
    const ing = find(o, 'Ingress', 'wattflow-ingress');
    assert.deepEqual((ing.spec.rules as Obj[]).map((r) => [r.host, r.http.paths[0].backend.service.name]), [
      ['wattflow.example.org', 'wattflow-api'],
      ['grafana.wattflow.example.org', 'wattflow-grafana'],
      ['registry.wattflow.example.org', 'wattflow-registry'],
    ]);
    assert.ok(o.filter((x) => x.kind === 'PodDisruptionBudget').length >= 7);
  });

  test('authentication: every wattflow pod mounts the tokens file from a Secret and sends its client token from a Secret; generated tokens are random, hashed into the tokens file, and kept when they exist', async () => {
    const o = set('combined').objects;
    const tokens = parseYaml(Buffer.from(find(o, 'Secret', 'wattflow-tokens').stringData['tokens.yaml']).toString()) as Obj[];
    const internal = Buffer.from(find(o, 'Secret', 'wattflow-internal-token').data.token, 'base64').toString();
    const admin = Buffer.from(find(o, 'Secret', 'wattflow-admin-token').data.token, 'base64').toString();
    assert.match(internal, /^wf_[A-Za-z0-9]{43}$/);
    assert.notEqual(internal, admin);
    const sha = (t: string) => createHash('sha256').update(t).digest('hex');
    assert.deepEqual(tokens.map((t) => [t.name, t.sha256, t.scopes]), [
      ['wattflow-internal', sha(internal), ['read', 'ingest']],
      ['wattflow-admin', sha(admin), ['ingest', 'models:write', 'deploy', 'read']],
    ]);
    for (const w of o.filter((x) => ['Deployment', 'DaemonSet'].includes(x.kind) && container(x).image.includes('wattflow'))) {
      const c = container(w);
      assert.equal(env(c, 'WATTFLOW_TOKENS_FILE')!.value, '/etc/wattflow/tokens/tokens.yaml', w.metadata.name);
      assert.deepEqual(env(c, 'WATTFLOW_TOKEN')!.valueFrom, { secretKeyRef: { name: 'wattflow-internal-token', key: 'token' } }, w.metadata.name);
      assert.equal((w.spec.template.spec.volumes as Obj[]).find((v) => v.name === 'tokens')!.secret.secretName, 'wattflow-tokens');
    }
    // existing Secrets and a per-role client token
    const ext = set('external-kafka-sasl-tls').objects;
    assert.ok(!ext.some((x) => x.kind === 'Secret'), 'auth.generate false: no Secret rendered');
    assert.deepEqual(env(container(find(ext, 'Deployment', 'wattflow-inference')), 'WATTFLOW_TOKEN')!.valueFrom.secretKeyRef, { name: 'wattflow-inference-token', key: 'token' });
    assert.deepEqual(env(container(find(ext, 'Deployment', 'wattflow-processor')), 'WATTFLOW_TOKEN')!.valueFrom.secretKeyRef, { name: 'wattflow-client-token', key: 'token' });
    const extCfg = config(ext);
    assert.deepEqual(extCfg.fabric.kafka.sasl, { mechanism: 'SCRAM-SHA-512', username: 'wattflow', passwordFile: '/etc/wattflow/kafka-sasl/password' });
    assert.equal((find(ext, 'Deployment', 'wattflow-processor').spec.template.spec.volumes as Obj[]).find((v) => v.name === 'kafka-sasl')!.secret.secretName, 'kafka-wattflow-user');
    // upgrade: the tokens already in the cluster are kept (the chart's lookup)
    const kept = 'wf_' + 'k'.repeat(43);
    const lookups = { requests: [] as string[], secrets: { 'wattflow/wattflow-internal-token': { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'wattflow-internal-token', namespace: 'wattflow' }, data: { token: Buffer.from(kept).toString('base64') } } } };
    const [again] = await renderSets([{ name: 'upgrade', files: [V('combined.yaml')] }], lookups);
    const t2 = parseYaml(find(again!.objects, 'Secret', 'wattflow-tokens').stringData['tokens.yaml']) as Obj[];
    assert.equal(t2[0]!.sha256, sha(kept), 'the existing internal token is kept across an upgrade');
    assert.ok(lookups.requests.includes('GET /api/v1/namespaces/wattflow/secrets/wattflow-internal-token'), lookups.requests.join(', '));
  });

  test('Prometheus without the Operator: the scrape jobs ConfigMap is a valid Prometheus configuration (promtool) and keeps the release\'s pods, the energy exporter on its own port', (t) => {
    if (spawnSync('sh', ['-c', 'command -v promtool']).status !== 0) {
      if (process.env.CI === 'true') assert.fail('promtool is missing (scripts/services/prometheus.sh installs it)');
      return t.skip('promtool not installed (Debian package prometheus; scripts/services/prometheus.sh)');
    }
    const o = set('network').objects;
    const cm = find(o, 'ConfigMap', 'wattflow-prometheus-scrape');
    const jobs = parseYaml(cm.data['wattflow-scrape.yaml']) as Obj;
    assert.deepEqual((jobs.scrape_configs as Obj[]).map((j) => j.job_name), ['wattflow', 'wattflow-energy']);
    const dir = mkdtempSync(join(tmpdir(), 'wattflow-promtool-'));
    try {
      // Debian's Prometheus is built without Kubernetes discovery: promtool checks the jobs (relabel
      // rules, regexes, fields) with a static target in place of kubernetes_sd_configs
      for (const j of jobs.scrape_configs as Obj[]) {
        assert.deepEqual(j.kubernetes_sd_configs, [{ role: 'pod', namespaces: { names: ['wattflow'] } }]);
        delete j.kubernetes_sd_configs;
        j.static_configs = [{ targets: ['127.0.0.1:9'] }];
      }
      writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify({ global: { scrape_interval: '15s' }, ...jobs }));
      const r = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const ee = find(set('combined').objects, 'DaemonSet', 'wattflow-energy-exporter');
    assert.equal(ee.spec.template.metadata.annotations['wattflow.dev/energy-port'], undefined, 'combined uses ServiceMonitors (annotatePods off)');
  });

  test('the energy exporter as root (RAPL) is the one accepted exception, and it says so on the pod', () => {
    const o = set('combined+energy-rapl-root').objects;
    const ee = find(o, 'DaemonSet', 'wattflow-energy-exporter');
    assert.equal(ee.spec.template.spec.securityContext.runAsUser, 0);
    assert.match(ee.spec.template.metadata.annotations['wattflow.dev/runs-as-root'], /CVE-2020-8694/);
    // the same pod without the annotation is refused
    const stripped = structuredClone(o);
    delete find(stripped, 'DaemonSet', 'wattflow-energy-exporter').spec.template.metadata.annotations['wattflow.dev/runs-as-root'];
    assert.ok(policyProblems(stripped).some((p) => /DaemonSet\/wattflow-energy-exporter container wattflow: securityContext.runAsNonRoot is not true/.test(p)));
  });

  describe('deliberately broken values fail, naming what is wrong', () => {
    const helmError = (name: string) => {
      const r = rendered.find((x) => x.name === `broken/${name}`)!;
      assert.equal(r.template.ok, false, `${name} must not render`);
      return r.template.output;
    };
    test('an unknown field: Helm refuses it (values.schema.json), naming it', () => {
      assert.match(helmError('unknown-field'), /at '\/vehicleApi': additional properties 'replicaz' not allowed/);
    });
    test('a traffic policy that is not one: Helm refuses it, naming the field', () => {
      assert.match(helmError('bad-traffic-policy'), /at '\/vehicleApi\/service\/externalTrafficPolicy': value must be one of 'Local', 'Cluster'/);
    });
    test('an experiment wattflow would refuse: Helm refuses it with wattflow\'s schema', () => {
      assert.match(helmError('bad-experiment'), /\/experiment\/routers\/0\/r1': missing property 'interfaces'/);
    });
    test('traffic policy Cluster on the edge: the locality policy names the Service, the field and the value', async () => {
      const r = set('broken/cluster-traffic-policy');
      const problems = await checkRendered(r);
      assert.ok(problems.some((p) => /^Service\/wattflow-vehicle-api: spec.externalTrafficPolicy is Cluster, must be Local .*\(vehicleApi.service.externalTrafficPolicy\)$/.test(p)), problems.join('\n'));
      assert.ok(problems.some((p) => /^Service\/wattflow-vehicle-predictor: spec.internalTrafficPolicy is Cluster, must be Local/.test(p)), problems.join('\n'));
    });
    test('a secret in values: named in the values file and in the ConfigMap it would land in', async () => {
      const problems = await checkRendered(set('broken/secret-in-values'));
      assert.ok(problems.some((p) => /secret-in-values.yaml: config.influx.password: a secret value in plain values/.test(p)), problems.join('\n'));
      assert.ok(problems.some((p) => /ConfigMap\/wattflow-config config.yaml: influx.password: a secret value/.test(p)), problems.join('\n'));
    });
    test('containers as root: named per workload and container', async () => {
      const problems = await checkRendered(set('broken/root-container'));
      assert.ok(problems.some((p) => /^Deployment\/wattflow-producer container wattflow: securityContext.runAsNonRoot is not true/.test(p)), problems.join('\n'));
      assert.ok(problems.some((p) => /^Deployment\/wattflow-producer container wattflow: securityContext.runAsUser is 0/.test(p)), problems.join('\n'));
    });
    test('a field Kubernetes does not know in a rendered object: named with its path', async () => {
      const problems = await checkRendered(set('broken/unknown-k8s-field'));
      assert.deepEqual(problems, ['Deployment/wattflow-collector: spec.template.spec.affinity.nodeAfinity: unknown field']);
    });
  });

  test('the validator itself: wrong types, unknown fields, bad names and unknown kinds are reported; a config wattflow refuses too', async () => {
    const dep: Obj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i:1', livenessProb: {}, ports: [{ containerPort: '80' }] }] } } } };
    const topic: Obj = { apiVersion: 'kafka.strimzi.io/v1', kind: 'KafkaTopic', metadata: { name: 'TD_r1' }, spec: { topicName: 'TD_r1', partitionz: 1 } };
    const thing: Obj = { apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'x' } };
    const v = await createValidator([dep, topic, thing]);
    const all = [...(await v.validate(dep)), ...(await v.validate(topic)), ...(await v.validate(thing))];
    for (const re of [/containerPort must be integer/, /containers\[0\]\.livenessProb: unknown field/, /"TD_r1" is not a DNS-1123 subdomain/, /"partitionz" \(not in the CRD subset\)/, /no schema for example.com\/v1\/Thing/]) {
      assert.ok(all.some((p) => re.test(p)), `${re}: ${all.join('\n')}`);
    }
    const o = structuredClone(set('network').objects);
    const cm = find(o, 'ConfigMap', 'wattflow-config');
    cm.data['config.yaml'] += 'energy:\n  intervalMs: soon\n';
    assert.ok(configProblems(o).some((p) => /wattflow refuses its configuration: .*\/energy\/intervalMs: must be integer/.test(p)), configProblems(o).join('\n'));
  });
});

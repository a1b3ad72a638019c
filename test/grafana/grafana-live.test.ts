/**
 * wattflow's Grafana dashboards against the real services, as Grafana would run them (Grafana
 * itself is not installable here): a pipeline runs what `wattflow up` runs (in-process bus,
 * InfluxDB sink to the real InfluxDB 1.6, the vehicle pipeline with a replayed reference log,
 * the energy exporter), the real Prometheus scrapes it (file discovery) together with a second
 * energy exporter on a fake Kubernetes node (pods and containers: test/energy/fixtures.ts), and
 *  - every template variable resolves (SHOW TAG VALUES / label_values, with the variables it
 *    depends on filled in) to at least one value, including this run's;
 *  - every InfluxQL query, after Grafana's macros ($timeFilter, $__interval) and the variables'
 *    values, returns rows from InfluxDB;
 *  - every PromQL expression, after substitution (this run's job, instances and nodes), returns
 *    series from Prometheus.
 * The experiment has a router whose model type has no model (dead letters) and one whose
 * collector does not answer (poll errors), so the panels about failures have data too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAppConfig } from '../../src/app-config.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import { energyDefaults } from '../../src/energy/config.js';
import { createEnergyExporter, type EnergyExporter } from '../../src/energy/exporter.js';
import { enableStageEnergy, energyComponentsForUp } from '../../src/roles/energy.js';
import { upComponents } from '../../src/roles/up.js';
import { replayVehicleLog } from '../../src/vehicle/replay/replay.js';
import { service } from '../helpers/services.js';
import { freePort } from '../helpers/ports.js';
import { poll, ROOT } from '../e2e/helpers.js';
import { FakeNode, hexId, kubeCgroup } from '../energy/fixtures.js';
import { influxAdmin, influxQuery, uniqueDb } from '../sinks/influx-helpers.js';
import { loadDashboards, queriesOf, substitute, variableQuery, variablesIn, type Dashboard } from './helpers.js';

const prometheus = service('PROMETHEUS_URL', 'Prometheus server');
const targets = service('PROMETHEUS_TARGETS_DIR', 'Prometheus file-discovery directory (scripts/services/prometheus.sh)');
const influx = service('INFLUX_URL', 'InfluxDB 1.x server');

test('every dashboard variable resolves and every InfluxQL and PromQL query returns data from the real InfluxDB and Prometheus after a pipeline run', { skip: prometheus.skip || targets.skip || influx.skip, timeout: 240_000 }, async () => {
  const run = randomUUID().slice(0, 8);
  const db = uniqueDb('grafana');
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-grafana-'));
  const node = `wf-${run}`;
  const k8sNode = `k8s-${run}`;
  const routers = [
    ...['g1', 'g2', 'g3', 'g4'].map((id) => ({ [id]: { topic: `TD_${id}`, interfaces: ['eth0', 'eth1'], source: 'synthetic' } })),
    { broken: { topic: 'TD_broken', interfaces: ['eth0'], source: 'synthetic', model_type: 'nosuchmodel' } },
    { unreachable: { topic: 'TD_unreachable', interfaces: ['eth0'], source: 'collector', collector_url: 'http://127.0.0.1:9/metrics/x_9.json' } },
  ];
  writeFileSync(join(dir, 'experiment.json'), JSON.stringify({ experiment_id: `grafana-${run}`, flag_original_metrics: false, flag_debug_params: true, max_throughput_mbps: 100, polling_interval: 1, multiplier: 1, routers }));
  const energyPort = await freePort();
  const cfg = loadAppConfig(
    undefined,
    {
      '/network/experiment': join(dir, 'experiment.json'),
      '/network/watch': false,
      '/storage/dir': dir,
      '/influx/url': influx.value,
      '/influx/database': db,
      '/influx/flushIntervalMs': 200,
      '/energy/port': energyPort,
      '/energy/intervalMs': 1000,
      '/energy/nodeName': node,
      '/energy/perMessageWindowS': 10,
    },
    {},
  );
  // a fake Kubernetes node: pods and containers for the workload panels
  const fake = new FakeNode({ cpus: 4 });
  const podUid = `${run}-1111-2222-3333-444444444444`;
  fake.raplZone('intel-rapl:0', 'package-0', 262_143_328_850, 1_000_000);
  fake.podLogs(`shop-${run}`, `web-${run}`, podUid, [{ name: 'nginx', id: hexId(0xb1) }]);
  fake.addProcess(100, { comm: 'nginx', ticks: 1, start: 100, cgroup: kubeCgroup('burstable', podUid, hexId(0xb1)), exe: '/usr/sbin/nginx' });
  let uj = 1_000_000;
  const busy = setInterval(() => {
    fake.run(100, 20);
    fake.advanceCpu(30, 70);
    uj += 5_000_000;
    fake.setEnergy('intel-rapl:0', uj);
  }, 250);
  const k8s: EnergyExporter = createEnergyExporter({
    cfg: energyDefaults({ port: 0, intervalMs: 1000, legacyMetrics: true, nodeName: k8sNode, procfsRoot: fake.proc, sysfsRoot: fake.sys, kubeLogRoot: fake.logs, dockerRoot: fake.docker }),
    logger: silentLogger(),
    role: 'energy-exporter',
    wattflowRoles: ['energy-exporter'],
    selfPid: -1,
  });
  let app: RunningApp | undefined;
  const file = join(targets.value, `wattflow-grafana-${run}.json`);
  try {
    enableStageEnergy(cfg);
    const { components } = await upComponents(cfg, silentLogger());
    const energy = await energyComponentsForUp(cfg, silentLogger());
    app = await startComponents([...components, ...energy.components, k8s], { host: '127.0.0.1', port: 0, logger: silentLogger() });
    const instances = [new URL(app.url).host, `127.0.0.1:${energyPort}`, new URL(k8s.url()!).host];
    writeFileSync(file, JSON.stringify([{ targets: instances, labels: { run } }]));
    const report = await replayVehicleLog({ file: join(ROOT, 'test/fixtures/vehicle/DS2_national_road_90km_h_max_25Jan24_153019.csv'), vehicleId: `car-${run}`, target: app.url, asFastAsPossible: true });
    assert.ok(report.accepted > 1000);

    // ---------------------------------------------------------------- Prometheus
    const api = async (path: string, params: Record<string, string>) => {
      const url = new URL(path, prometheus.value);
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      const body = (await (await fetch(url)).json()) as { status: string; error?: string; data: unknown };
      assert.equal(body.status, 'success', `${path} ${JSON.stringify(params)}: ${body.error}`);
      return body.data;
    };
    await poll(async () => {
      const r = (await api('/api/v1/query', { query: `up{run="${run}"} == 1` })) as { result: unknown[] };
      return r.result.length === 3 ? true : undefined;
    }, 60_000, 500);
    const dashboards = loadDashboards();
    const resolvePromVariables = async (d: Dashboard, mine: Record<string, string[]>) => {
      const values: Record<string, string[]> = {};
      for (const v of d.templating.list) {
        const q = variableQuery(v);
        const m = /^label_values\((.+),\s*([A-Za-z_]+)\)$/.exec(q);
        if (!m || v.datasource?.type !== 'prometheus') continue;
        const match = substitute(m[1]!, 'promql', values);
        const found = await poll(async () => {
          const list = (await api(`/api/v1/label/${m[2]}/values`, { 'match[]': match })) as string[];
          return mine[v.name]!.every((x) => list.includes(x)) ? list : undefined;
        }, 60_000, 500).catch(() => {
          throw new Error(`${d.uid}: variable ${v.name} (${q}) does not resolve to ${mine[v.name]}`);
        });
        assert.ok(found.length >= 1);
        values[v.name] = mine[v.name]!; // as a person would pick: this run's
      }
      return values;
    };
    // the variables as a person would pick them: this run's job, its wattflow process, its two nodes
    const mine: Record<string, string[]> = { job: ['wattflow'], instance: [new URL(app.url).host], node: [node, k8sNode] };
    const failures: string[] = [];
    let promChecked = 0;
    for (const { file: f, d } of dashboards) {
      const qs = queriesOf(d).filter((q) => q.kind === 'promql');
      if (!qs.length) continue;
      const values = await resolvePromVariables(d, mine);
      for (const q of qs) {
        const expr = substitute(q.text, 'promql', values);
        promChecked++;
        try {
          await poll(async () => {
            const r = (await api('/api/v1/query', { query: expr })) as { result: unknown[] };
            return r.result.length > 0 ? true : undefined;
          }, 90_000, 1000);
        } catch {
          failures.push(`${f} panel ${q.panel.id} "${q.panel.title}" ${q.refId}: no series for ${expr}`);
        }
      }
    }
    assert.deepEqual(failures, [], 'PromQL without series');
    assert.ok(promChecked >= 30, `${promChecked} PromQL expressions`);

    // ---------------------------------------------------------------- InfluxDB
    const influxFailures: string[] = [];
    let influxChecked = 0;
    for (const { file: f, d } of dashboards) {
      const qs = queriesOf(d).filter((q) => q.kind === 'influxql');
      if (!qs.length) continue;
      const values: Record<string, string[]> = {};
      for (const v of d.templating.list) {
        if (v.type !== 'query' || v.datasource?.type !== 'influxdb') continue;
        const q = substitute(variableQuery(v), 'influxql', values);
        const rows = await poll(async () => {
          const series = await influxQuery(influx.value, db, q);
          const vals = series.flatMap((s) => s.values.map((row) => String(row[1])));
          return vals.length ? vals : undefined;
        }, 60_000, 500).catch(() => {
          throw new Error(`${d.uid}: variable ${v.name} (${q}) resolves to no value`);
        });
        values[v.name] = rows;
      }
      assert.ok(values.router === undefined || ['g1', 'g2', 'g3', 'g4'].every((r) => values.router!.includes(r)), `routers: ${values.router}`);
      assert.ok(values.vehicle === undefined || values.vehicle.includes(`car-${run}`), `vehicles: ${values.vehicle}`);
      for (const q of qs) {
        const text = substitute(q.text, 'influxql', values);
        influxChecked++;
        try {
          await poll(async () => {
            const series = await influxQuery(influx.value, db, text);
            return series.some((s) => s.values.length > 0) ? true : undefined;
          }, 30_000, 500);
        } catch (err) {
          influxFailures.push(`${f} panel ${q.panel.id} "${q.panel.title}" ${q.refId}: no rows for ${text} (${(err as Error).message})`);
        }
        for (const used of variablesIn(q.text)) assert.ok(values[used] || used === 'wattflow_ui', `${f}: $${used} resolved`);
      }
    }
    assert.deepEqual(influxFailures, [], 'InfluxQL without rows');
    assert.ok(influxChecked >= 15, `${influxChecked} InfluxQL queries`);
  } finally {
    clearInterval(busy);
    rmSync(file, { force: true });
    await app?.stop();
    if (!app) await k8s.stop?.();
    fake.cleanup();
    await influxAdmin(influx.value, `DROP DATABASE "${db}"`).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The real Prometheus (scripts/services/prometheus.sh, file-based discovery, 1 s scrapes)
 * scrapes two energy exporters — this machine (the estimator: no RAPL here) and a fake
 * Kubernetes node with RAPL, pods and containers that the test keeps busy — and every PromQL
 * expression of Kepler's own Grafana dashboards returns series through Prometheus' HTTP API:
 * the 0.10+ dashboard (compose/default/grafana/dashboards/latest/dashboard.json: node, container,
 * pod and process panels and its label_values variables) and the 0.7 dashboard
 * (grafana-dashboards/Kepler-Exporter.json: irate/increase of kepler_container_*_joules_total by
 * pod and namespace, its label_values variables), with the dashboards' variables filled in.
 * Kepler's VM panels are left out: wattflow has no VM attribution.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/logger.js';
import { energyDefaults } from '../../src/energy/config.js';
import { createEnergyExporter, type EnergyExporter } from '../../src/energy/exporter.js';
import { service } from '../helpers/services.js';
import { poll } from '../e2e/helpers.js';
import { FakeNode, hexId, kubeCgroup } from './fixtures.js';

const prometheus = service('PROMETHEUS_URL', 'Prometheus server');
const targets = service('PROMETHEUS_TARGETS_DIR', 'Prometheus file-discovery directory (scripts/services/prometheus.sh)');

interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

test('Prometheus scrapes the energy exporter and every Kepler dashboard expression returns series', { skip: prometheus.skip || targets.skip, timeout: 150_000 }, async () => {
  const run = randomUUID().slice(0, 8);
  const ns = `shop-${run}`;
  const pod = `web-${run}`;
  const podUid = `${run}-2222-3333-4444-555555555555`;
  const fake = new FakeNode({ cpus: 4 });
  fake.raplZone('intel-rapl:0', 'package-0', 262_143_328_850, 262_140_000_000); // wraps within the test
  fake.raplZone('intel-rapl:0:2', 'dram', 65_712_999_613, 1_000_000);
  fake.podLogs(ns, pod, podUid, [
    { name: 'nginx', id: hexId(0xa1) },
    { name: 'sidecar', id: hexId(0xa2) },
  ]);
  fake.addProcess(100, { comm: 'nginx', ticks: 1, start: 100, cgroup: kubeCgroup('burstable', podUid, hexId(0xa1)), exe: '/usr/sbin/nginx' });
  fake.addProcess(101, { comm: 'envoy', ticks: 1, start: 101, cgroup: kubeCgroup('burstable', podUid, hexId(0xa2)), exe: '/usr/local/bin/envoy' });
  fake.addProcess(200, { comm: 'node', ticks: 1, start: 200, exe: '/usr/bin/node', cmdline: ['node', 'dist/cli.js', 'processor'] });
  fake.addProcess(300, { comm: 'sshd', ticks: 1, start: 300, exe: '/usr/sbin/sshd' });
  let uj = 262_140_000_000;
  let dram = 1_000_000;
  const busy = setInterval(() => {
    fake.run(100, 20);
    fake.run(101, 5);
    fake.run(200, 10);
    fake.run(300, 1);
    fake.advanceCpu(36, 64);
    uj = (uj + 5_000_000) % 262_143_328_850; // 20 W
    dram += 1_000_000;
    fake.setEnergy('intel-rapl:0', uj);
    fake.setEnergy('intel-rapl:0:2', dram);
  }, 250);
  const exporters: EnergyExporter[] = [
    createEnergyExporter({
      cfg: energyDefaults({ port: 0, intervalMs: 1000, legacyMetrics: true, nodeName: `vm-${run}` }),
      logger: silentLogger(),
      role: 'energy-exporter',
      wattflowRoles: ['energy-exporter', 'processor'],
    }),
    createEnergyExporter({
      cfg: energyDefaults({ port: 0, intervalMs: 1000, legacyMetrics: true, nodeName: `k8s-${run}`, procfsRoot: fake.proc, sysfsRoot: fake.sys, kubeLogRoot: fake.logs, dockerRoot: fake.docker }),
      logger: silentLogger(),
      role: 'energy-exporter',
      wattflowRoles: ['energy-exporter', 'processor'],
      selfPid: -1,
    }),
  ];
  const file = join(targets.value, `wattflow-energy-${run}.json`);
  try {
    for (const e of exporters) await e.start!();
    writeFileSync(file, JSON.stringify([{ targets: exporters.map((e) => new URL(e.url()!).host), labels: { run } }]));
    const api = async (path: string, params: Record<string, string | string[]>) => {
      const url = new URL(path, prometheus.value);
      for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) url.searchParams.append(k, x);
      const body = (await (await fetch(url)).json()) as { status: string; error?: string; data: unknown };
      assert.equal(body.status, 'success', `${path} ${JSON.stringify(params)}: ${body.error}`);
      return body.data;
    };
    const query = async (q: string) => ((await api('/api/v1/query', { query: q })) as { result: PromResult[] }).result;
    /** Polls until the expression returns series (and `check` accepts them). */
    const returns = async (q: string, check: (r: PromResult[]) => boolean = () => true) =>
      poll(async () => {
        const r = await query(q);
        return r.length > 0 && check(r) ? r : undefined;
      }, 60_000, 500).catch((err) => {
        throw new Error(`no series for ${q}: ${(err as Error).message}`);
      });
    const labelValues = async (label: string, match: string, expect: string) =>
      poll(async () => {
        const values = (await api(`/api/v1/label/${label}/values`, { 'match[]': match })) as string[];
        return values.includes(expect) ? values : undefined;
      }, 60_000, 500).catch(() => {
        throw new Error(`label_values(${match}, ${label}) lacks ${expect}`);
      });

    const up = await returns(`up{job="wattflow",run="${run}"} == 1`, (r) => r.length === 2);
    assert.equal(up.length, 2, 'both exporters are scraped');
    const ours = (r: PromResult[]) => r.some((s) => s.metric.run === run);

    // --- the Kepler 0.10+ dashboard (its variables: job=wattflow, zone/node/container = all, namespace/pod = the fake pod)
    const job = 'job="wattflow"';
    const current = [
      `count by (instance, model_name)(kepler_node_cpu_info{${job}})`,
      `group by (node_name,zone)(kepler_node_cpu_watts{${job}})`,
      `kepler_container_cpu_watts{${job}, zone=~".*",container_name=~".*"}`,
      `kepler_node_cpu_active_watts{${job}, instance=~".*", zone=~".*"}`,
      `kepler_node_cpu_idle_watts{${job}, instance=~".*", zone=~".*"}`,
      `kepler_node_cpu_watts{${job}, instance=~".*", zone=~".*"}`,
      `kepler_pod_cpu_watts{${job},pod_namespace=~"${ns}", zone=~".*",pod_name=~"${pod}"}`,
      `kepler_process_cpu_watts{${job}, zone=~".*",pid="100"}`,
      `label_join( count by (pid, comm) (kepler_process_cpu_watts{${job}}), "process", " | ", "comm", "pid" )`,
      `sum by (zone) (kepler_container_cpu_watts{${job}, zone=~".*"})`,
      `sum by (zone) (kepler_node_cpu_active_watts{${job}, zone=~".*"})`,
      `sum by (zone) (kepler_node_cpu_idle_watts{${job}, zone=~".*"})`,
      `sum by (zone) (kepler_node_cpu_watts{${job}, zone=~".*"})`,
      `sum by (zone) (kepler_pod_cpu_watts{${job}, zone=~".*", pod_namespace=~"${ns}"})`,
      `sum by (zone) (kepler_process_cpu_watts{${job}, zone=~".*"})`,
      `topk(10,sum by (comm,zone)(kepler_process_cpu_watts{${job}, zone=~".*"}))`,
      `topk(10,sum by (container_name,zone)(kepler_container_cpu_watts{${job}, zone=~".*"}))`,
      `topk(10,sum by (pod_namespace,zone)(kepler_pod_cpu_watts{${job}, zone=~".*"}))`,
      // the forms
      'sum by (zone)(kepler_node_cpu_watts)',
      'topk(10, sum by (container_name,zone)(kepler_container_cpu_watts))',
      'kepler_node_cpu_idle_watts',
      'kepler_node_cpu_active_watts',
      'count by (instance, model_name)(kepler_node_cpu_info)',
    ];
    for (const q of current) await returns(q);
    // and they return this run's data (scoped variants)
    await returns(`kepler_pod_cpu_watts{run="${run}",pod_name="${pod}",pod_namespace="${ns}",zone="package"} > 0`);
    await returns(`topk(10, sum by (container_name,zone)(kepler_container_cpu_watts{run="${run}"}))`, (r) => r.some((s) => s.metric.container_name === 'nginx'));
    await returns(`count by (instance, model_name)(kepler_node_cpu_info{run="${run}"})`, (r) => r.length === 2);
    await returns(`sum by (zone)(kepler_node_cpu_watts{run="${run}"})`, (r) => ['package', 'dram'].every((z) => r.some((s) => s.metric.zone === z)));
    // this machine: the estimator, named in path and in kepler_node_info
    await returns(`kepler_node_cpu_watts{run="${run}",node_name="vm-${run}",path="estimator",zone="package"} > 0`);
    await returns(`kepler_node_info{run="${run}",node_name="vm-${run}",components_power_source="estimator"}`);
    // the fake node: RAPL (its package counter wrapped during the test), rates stay sane
    await returns(`kepler_node_cpu_watts{run="${run}",node_name="k8s-${run}",zone="package",path=~".*intel-rapl:0"}`);
    await returns(`rate(kepler_node_cpu_joules_total{run="${run}",node_name="k8s-${run}",zone="package"}[30s]) > 5 < 40`);
    // wattflow's own: the processor process found by its command line
    await returns(`wattflow_energy_joules_total{run="${run}",role="processor"} > 0`);
    // label_values variables of the 0.10 dashboard
    await labelValues('container_name', 'kepler_container_cpu_watts', 'nginx');
    await labelValues('instance', `kepler_node_cpu_info{${job}}`, new URL(exporters[1]!.url()!).host);
    await labelValues('job', 'kepler_node_cpu_watts', 'wattflow');
    await labelValues('zone', `kepler_node_cpu_watts{${job}}`, 'package');
    await labelValues('pod_name', `kepler_pod_cpu_watts{${job}, pod_namespace=~"${ns}"}`, pod);
    await labelValues('pod_namespace', `kepler_pod_cpu_watts{${job}}`, ns);

    // --- the Kepler 0.7 dashboard (legacy names; its variables: namespace, pod)
    const sel = `{container_namespace=~"${ns}", pod_name=~"${pod}"}`;
    const legacy = [
      'sum by (pod_name, container_namespace)(irate(kepler_container_package_joules_total[1m]))',
      ...['package', 'dram', 'other', 'gpu'].flatMap((c) => [
        `sum by (pod_name, container_namespace) (irate(kepler_container_${c}_joules_total${sel}[1m]))`,
        `sum(irate(kepler_container_${c}_joules_total${sel}[1m]))`,
        // the dashboard's [24h:1m] subquery, at a resolution a short test can fill
        `sum (increase((kepler_container_${c}_joules_total${sel}[2m:5s])))`,
      ]),
      `sum by (container_namespace) (increase((kepler_container_joules_total${sel}[2m:5s])))`,
      `( sum(increase((kepler_container_joules_total${sel}[2m:5s]))) * 0.000000277777777777778 ) * 2.23`,
      'increase(kepler_container_joules_total[1m])',
      'kepler_node_package_joules_total',
      'kepler_node_dram_joules_total',
      'kepler_node_platform_joules_total',
    ];
    for (const q of legacy) await returns(q);
    await returns(`sum by (pod_name, container_namespace)(irate(kepler_container_package_joules_total{run="${run}"}[1m]))`, (r) =>
      r.some((s) => s.metric.pod_name === pod && s.metric.container_namespace === ns && Number(s.value[1]) > 0),
    );
    await returns(`increase(kepler_container_joules_total{run="${run}",container_id="system_processes",mode="dynamic"}[1m])`, ours);
    await labelValues('container_namespace', 'kepler_container_package_joules_total', ns);
    await labelValues('pod_name', `kepler_container_package_joules_total{container_namespace=~"${ns}"}`, pod);
    await labelValues('components_power_source', 'kepler_node_info', 'estimator');
  } finally {
    clearInterval(busy);
    rmSync(file, { force: true });
    for (const e of exporters) await e.stop!();
    fake.cleanup();
  }
});

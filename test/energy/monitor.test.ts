/**
 * The monitor on fake nodes (procfs, powercap and the kubelet's logs in a temporary directory):
 * RAPL with a counter wrap, no RAPL (estimator), a cgroup v2 pod/container layout, processes
 * appearing, exiting and reusing a pid. Every joules counter never decreases from one scrape to
 * the next; what processes, containers and pods get adds up to the node's active energy
 * (within 1 %); terminated workloads stay for the retention, then go; only the top N processes
 * are exported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeNode, hexId, kubeCgroup, monitorOn, seriesKey, type MonitorHarness } from './fixtures.js';

const POD_A = '11111111-2222-3333-4444-555555555555';
const POD_B = '66666666-7777-8888-9999-aaaaaaaaaaaa';
const C1 = hexId(0xc1);
const C2 = hexId(0xc2);
const C3 = hexId(0xc3);

/** A node with RAPL (package, core, dram, psys), two pods (three containers) and host processes. */
function raplNode(): FakeNode {
  const n = new FakeNode({ cpus: 4 });
  n.raplZone('intel-rapl:0', 'package-0', 262_143_328_850, 262_100_000_000); // wraps soon
  n.raplZone('intel-rapl:0:0', 'core', 262_143_328_850, 5_000_000);
  n.raplZone('intel-rapl:0:2', 'dram', 65_712_999_613, 1_000_000);
  n.raplZone('intel-rapl:1', 'psys', 262_143_328_850, 9_000_000);
  n.raplZone('intel-rapl-mmio:0', 'package-0', 262_143_328_850, 77); // duplicate: skipped
  n.podLogs('shop', 'web-7d4b9', POD_A, [
    { name: 'nginx', id: C1 },
    { name: 'sidecar', id: C2 },
  ]);
  n.podLogs('batch', 'job-x2k', POD_B, [{ name: 'worker', id: C3 }]);
  n.addProcess(1, { comm: 'systemd', ticks: 100, start: 1, exe: '/usr/lib/systemd/systemd', cmdline: ['/sbin/init'] });
  n.addProcess(100, { comm: 'nginx', ticks: 10, start: 500, cgroup: kubeCgroup('burstable', POD_A, C1), exe: '/usr/sbin/nginx', cmdline: ['nginx'] });
  n.addProcess(101, { comm: 'nginx: worker', ticks: 10, start: 501, cgroup: kubeCgroup('burstable', POD_A, C1), exe: '/usr/sbin/nginx', cmdline: ['nginx'] });
  n.addProcess(110, { comm: 'envoy', ticks: 10, start: 502, cgroup: kubeCgroup('burstable', POD_A, C2), exe: '/usr/local/bin/envoy', cmdline: ['envoy'] });
  n.addProcess(120, { comm: 'worker', ticks: 10, start: 503, cgroup: kubeCgroup('guaranteed', POD_B, C3, 'crio'), exe: '/app/worker', cmdline: ['/app/worker'] });
  n.addProcess(200, { comm: 'node', ticks: 10, start: 600, exe: '/usr/bin/node', cmdline: ['node', '/opt/wattflow/dist/cli.js', 'processor'] });
  return n;
}

const joulesCounters = (samples: Awaited<ReturnType<MonitorHarness['scrape']>>) => samples.filter((s) => s.name.endsWith('_joules_total'));

/** Scrapes and checks that no joules counter went down since the previous scrape. */
function monotonicChecker(h: MonitorHarness) {
  const last = new Map<string, number>();
  let checked = 0;
  return async () => {
    for (const s of joulesCounters(await h.scrape())) {
      const key = seriesKey(s);
      const prev = last.get(key);
      if (prev !== undefined) {
        assert.ok(s.value >= prev, `${key} went down: ${prev} → ${s.value}`);
        checked++;
      }
      last.set(key, s.value);
    }
    return checked;
  };
}

test('RAPL present: zones found (mmio duplicate skipped), the package counter wraps, node joules follow the counters and never decrease', async () => {
  const n = raplNode();
  try {
    const h = monitorOn(n, { terminatedRetentionS: 3600, topProcesses: 100 });
    assert.equal(h.source.kind, 'rapl');
    assert.deepEqual(h.monitor.zoneNames, ['package', 'core', 'dram', 'psys']);
    const check = monotonicChecker(h);
    await check();
    // 10 intervals of 5 s: package +60 J each (wraps during the first), core +30, dram +10, psys +100
    let pkg = 262_100_000_000;
    let core = 5_000_000;
    let dram = 1_000_000;
    let psys = 9_000_000;
    for (let i = 0; i < 10; i++) {
      pkg = (pkg + 60_000_000) % 262_143_328_850;
      core += 30_000_000;
      dram += 10_000_000;
      psys += 100_000_000;
      n.setEnergy('intel-rapl:0', pkg);
      n.setEnergy('intel-rapl:0:0', core);
      n.setEnergy('intel-rapl:0:2', dram);
      n.setEnergy('intel-rapl:1', psys);
      n.advanceCpu(100, 300); // u = 0.25
      n.run(100, 20);
      n.run(101, 10);
      n.run(110, 10);
      n.run(120, 40);
      n.run(200, 10);
      n.run(1, 10);
      h.step(5000);
      await check();
    }
    assert.ok(pkg < 262_100_000_000, 'the package counter wrapped');
    const s = await h.scrape();
    const node = (name: string, zone: string) => s.find((x) => x.name === name && x.labels.zone === zone)!.value;
    assert.ok(Math.abs(node('kepler_node_cpu_joules_total', 'package') - 600) < 1e-6, `package joules across the wrap: ${node('kepler_node_cpu_joules_total', 'package')}`);
    assert.ok(Math.abs(node('kepler_node_cpu_joules_total', 'psys') - 1000) < 1e-6);
    assert.ok(Math.abs(node('kepler_node_cpu_watts', 'package') - 12) < 1e-6);
    assert.ok(Math.abs(node('kepler_node_cpu_active_joules_total', 'package') - 150) < 1e-6, 'active = ΔE × u (0.25)');
    assert.ok(Math.abs(node('kepler_node_cpu_idle_joules_total', 'package') - 450) < 1e-6);
    assert.ok(Math.abs(s.find((x) => x.name === 'kepler_node_cpu_usage_ratio')!.value - 0.25) < 1e-9);
    assert.equal(s.find((x) => x.name === 'kepler_node_cpu_joules_total' && x.labels.zone === 'package')!.labels.path, `${n.sys}/class/powercap/intel-rapl:0`);
    assert.equal(s.find((x) => x.name === 'kepler_node_info')!.labels.components_power_source, 'rapl-sysfs');
    assert.equal(h.errors.total(), 0);
  } finally {
    n.cleanup();
  }
});

test('attribution: processes, containers and pods add up to the node active energy (within 1 %), containers = their processes, pods = their containers', async () => {
  const n = raplNode();
  try {
    const h = monitorOn(n, { terminatedRetentionS: 3600, topProcesses: 100 });
    const check = monotonicChecker(h);
    let e = 0;
    for (let i = 0; i < 12; i++) {
      e += 50_000_000;
      n.setEnergy('intel-rapl:0', 262_100_000_000 + e);
      n.setEnergy('intel-rapl:0:2', 1_000_000 + e / 5);
      n.setEnergy('intel-rapl:1', 9_000_000 + 2 * e);
      n.advanceCpu(150 + i * 10, 250);
      n.run(100, 5 + i);
      if (i < 9) n.run(101, 4);
      n.run(110, 3);
      n.run(120, 30);
      n.run(200, 7);
      n.run(1, 2);
      // processes come and go: 300 lives 3 intervals in a container, 400 is a short host job
      if (i === 2) n.addProcess(300, { comm: 'nginx: worker', ticks: 15, start: 9000, cgroup: kubeCgroup('burstable', POD_A, C1), exe: '/usr/sbin/nginx' });
      if (i === 3 || i === 4) n.run(300, 12);
      if (i === 5) n.exit(300);
      if (i === 6) n.addProcess(400, { comm: 'cron job', ticks: 25, start: 9500, exe: '/bin/sh' });
      if (i === 8) n.exit(400);
      // pid 101 ends and its pid is reused by another process
      if (i === 9) {
        n.exit(101);
        n.addProcess(101, { comm: 'reused', ticks: 8, start: 9900, exe: '/bin/true' });
      }
      h.step(5000);
      await check();
    }
    const t = h.monitor.totals();
    const close = (a: number, b: number) => Math.abs(a - b) <= 0.01 * Math.max(Math.abs(b), 1e-9);
    assert.ok(t.nodeActiveJ > 0);
    assert.ok(close(t.processJ, t.nodeActiveJ), `processes ${t.processJ} J vs node active ${t.nodeActiveJ} J`);
    assert.ok(close(t.containerJ + t.systemJ, t.nodeActiveJ), `containers + system ${t.containerJ + t.systemJ} vs ${t.nodeActiveJ}`);
    // the same through the exposition (every process exported: topProcesses 100)
    const s = await h.scrape();
    const sum = (name: string, f: (l: Record<string, string>) => boolean = () => true) => s.filter((x) => x.name === name && f(x.labels)).reduce((a, x) => a + x.value, 0);
    const nodeActive = sum('kepler_node_cpu_active_joules_total');
    assert.ok(close(sum('kepler_process_cpu_joules_total'), nodeActive), `exposed processes ${sum('kepler_process_cpu_joules_total')} vs node active ${nodeActive}`);
    // a container is the sum of its processes, a pod the sum of its containers (every zone)
    const procOf = (cid: string) => sum('kepler_process_cpu_joules_total', (l) => l.container_id === cid);
    const cont = (cid: string) => sum('kepler_container_cpu_joules_total', (l) => l.container_id === cid);
    for (const cid of [C1, C2, C3]) assert.ok(close(cont(cid), procOf(cid)), `container ${cid.slice(0, 4)}: ${cont(cid)} vs processes ${procOf(cid)}`);
    const pod = (uid: string) => sum('kepler_pod_cpu_joules_total', (l) => l.pod_id === uid);
    assert.ok(close(pod(POD_A), cont(C1) + cont(C2)));
    assert.ok(close(pod(POD_B), cont(C3)));
    // the processes that ended are still there, terminated; the reused pid has both
    const states = (pid: string) => [...new Set(s.filter((x) => x.name === 'kepler_process_cpu_joules_total' && x.labels.pid === pid).map((x) => `${x.labels.comm}:${x.labels.state}`))].sort();
    assert.deepEqual(states('300'), ['nginx: worker:terminated']);
    assert.deepEqual(states('400'), ['cron job:terminated']);
    assert.deepEqual(states('101'), ['nginx: worker:terminated', 'reused:running']);
    // legacy (Kepler 0.7): containers plus system_processes hold the node's package energy, dynamic and idle
    const legacyPkg = sum('kepler_container_package_joules_total');
    const nodePkg = s.find((x) => x.name === 'kepler_node_cpu_joules_total' && x.labels.zone === 'package')!.value;
    assert.ok(close(legacyPkg, nodePkg), `legacy containers ${legacyPkg} vs node package ${nodePkg}`);
    const other = sum('kepler_container_other_joules_total');
    assert.ok(other > 0, 'psys − package − dram goes to "other"');
    assert.ok(close(sum('kepler_container_joules_total'), legacyPkg + sum('kepler_container_dram_joules_total') + other));
    assert.equal(sum('kepler_container_gpu_joules_total'), 0);
    // wattflow's processor process found by its command line
    assert.ok(s.find((x) => x.name === 'wattflow_energy_joules_total' && x.labels.role === 'processor')!.value > 0);
  } finally {
    n.cleanup();
  }
});

test('cgroup v2 pod/container layout: names from the kubelet logs, runtime, pod labels, QoS; Kepler label sets', async () => {
  const n = raplNode();
  try {
    const h = monitorOn(n);
    n.advanceCpu(100, 100);
    n.run(100, 10);
    n.run(120, 10);
    n.setEnergy('intel-rapl:0', 262_110_000_000);
    h.step();
    const s = await h.scrape();
    const c1 = s.find((x) => x.name === 'kepler_container_cpu_watts' && x.labels.container_id === C1 && x.labels.zone === 'package')!;
    assert.deepEqual(c1.labels, { container_id: C1, container_name: 'nginx', runtime: 'containerd', state: 'running', zone: 'package', pod_id: POD_A, node_name: 'node-a' });
    const c3 = s.find((x) => x.name === 'kepler_container_cpu_watts' && x.labels.container_id === C3)!;
    assert.equal(c3.labels.runtime, 'cri-o');
    const p = s.find((x) => x.name === 'kepler_pod_cpu_joules_total' && x.labels.pod_id === POD_A)!;
    assert.deepEqual(Object.keys(p.labels).sort(), ['node_name', 'pod_id', 'pod_name', 'pod_namespace', 'state', 'zone']);
    assert.equal(p.labels.pod_name, 'web-7d4b9');
    assert.equal(p.labels.pod_namespace, 'shop');
    const info = s.filter((x) => x.name === 'wattflow_energy_pod_info');
    assert.deepEqual(info.map((x) => `${x.labels.pod_name}:${x.labels.qos_class}`).sort(), ['job-x2k:guaranteed', 'web-7d4b9:burstable']);
    const proc = s.find((x) => x.name === 'kepler_process_cpu_joules_total' && x.labels.pid === '100')!;
    assert.deepEqual(proc.labels, { pid: '100', comm: 'nginx', exe: '/usr/sbin/nginx', type: 'container', state: 'running', container_id: C1, zone: 'package', node_name: 'node-a' });
    const legacy = s.find((x) => x.name === 'kepler_container_joules_total' && x.labels.container_id === C1 && x.labels.mode === 'dynamic')!;
    assert.deepEqual(legacy.labels, { container_id: C1, pod_name: 'web-7d4b9', container_name: 'nginx', container_namespace: 'shop', mode: 'dynamic', node_name: 'node-a' });
    // one label set per metric name
    const names = new Map<string, string>();
    for (const x of s) {
      const keys = Object.keys(x.labels).sort().join(',');
      const seen = names.get(x.name);
      if (seen === undefined) names.set(x.name, keys);
      else assert.equal(keys, seen, `${x.name} has two label sets`);
    }
  } finally {
    n.cleanup();
  }
});

test('terminated processes, containers and pods stay for the retention, then are dropped', async () => {
  const n = raplNode();
  try {
    const h = monitorOn(n, { terminatedRetentionS: 12, topProcesses: 100 });
    n.advanceCpu(100, 100);
    n.run(120, 20);
    n.setEnergy('intel-rapl:0', 262_110_000_000);
    h.step();
    n.exit(120); // the only process of container C3 and pod B
    h.step();
    let s = await h.scrape();
    const stateOf = (name: string, key: string, value: string) => [...new Set(s.filter((x) => x.name === name && x.labels[key] === value).map((x) => x.labels.state))];
    assert.deepEqual(stateOf('kepler_process_cpu_joules_total', 'pid', '120'), ['terminated']);
    assert.deepEqual(stateOf('kepler_container_cpu_joules_total', 'container_id', C3), ['terminated']);
    assert.deepEqual(stateOf('kepler_pod_cpu_joules_total', 'pod_id', POD_B), ['terminated']);
    assert.equal(s.find((x) => x.name === 'kepler_container_cpu_watts' && x.labels.container_id === C3)!.value, 0);
    h.step(5000);
    h.step(5000);
    s = await h.scrape();
    assert.equal(stateOf('kepler_process_cpu_joules_total', 'pid', '120').length, 1, 'kept within 12 s');
    h.step(5000); // 15 s after the exit
    s = await h.scrape();
    assert.equal(stateOf('kepler_process_cpu_joules_total', 'pid', '120').length, 0, 'dropped after the retention');
    assert.equal(stateOf('kepler_container_cpu_joules_total', 'container_id', C3).length, 0);
    assert.equal(stateOf('kepler_pod_cpu_joules_total', 'pod_id', POD_B).length, 0);
    assert.equal(s.filter((x) => x.name === 'kepler_container_joules_total' && x.labels.container_id === C3).length, 0);
  } finally {
    n.cleanup();
  }
});

test('bounded cardinality: process series only for the top N consumers plus wattflow processes', async () => {
  const n = new FakeNode({ cpus: 2 });
  try {
    for (let pid = 1000; pid < 1040; pid++) n.addProcess(pid, { comm: `p${pid}`, ticks: 0, start: pid, exe: '/bin/x' });
    n.addProcess(2000, { comm: 'node', ticks: 0, start: 2000, cmdline: ['node', 'dist/cli.js', 'inference'], exe: '/usr/bin/node' });
    n.addProcess(2001, { comm: 'idle', ticks: 0, start: 2001 });
    const h = monitorOn(n, { topProcesses: 5 });
    for (let i = 0; i < 3; i++) {
      for (let pid = 1000; pid < 1040; pid++) n.run(pid, pid - 999); // 1039 uses the most
      n.run(2000, 1);
      n.advanceCpu(900, 100);
      h.step();
    }
    const s = await h.scrape();
    const pids = [...new Set(s.filter((x) => x.name === 'kepler_process_cpu_watts').map((x) => x.labels.pid))].sort();
    assert.deepEqual(pids, ['1035', '1036', '1037', '1038', '1039', '2000']);
    assert.equal(s.find((x) => x.name === 'wattflow_energy_processes' && x.labels.state === 'running')!.value, 42);
    assert.equal(s.find((x) => x.name === 'wattflow_energy_exported_processes')!.value, 6);
    // attribution still covers every process, exported or not
    const t = h.monitor.totals();
    assert.ok(Math.abs(t.processJ - t.nodeActiveJ) <= 0.01 * t.nodeActiveJ);
  } finally {
    n.cleanup();
  }
});

test('no RAPL: the estimator, path "estimator", W = vCPUs × (Pmin + u (Pmax − Pmin)) + GB × 0.392, integrated into monotonic joules', async () => {
  const n = new FakeNode({ cpus: 4, memKb: 8_000_000 });
  try {
    n.addProcess(10, { comm: 'a', ticks: 0, start: 10 });
    const h = monitorOn(n, { platform: 'gcp' });
    assert.equal(h.source.kind, 'estimator');
    const check = monotonicChecker(h);
    n.advanceCpu(300, 100); // u = 0.75
    n.run(10, 300);
    h.step(10_000);
    await check();
    const s = await h.scrape();
    const v = (name: string, zone: string) => s.find((x) => x.name === name && x.labels.zone === zone)!;
    const cpuW = 4 * (0.71 + 0.75 * (4.26 - 0.71));
    const memW = ((8_000_000 * 1024) / 1e9) * 0.392;
    assert.ok(Math.abs(v('kepler_node_cpu_watts', 'package').value - cpuW) < 1e-9);
    assert.ok(Math.abs(v('kepler_node_cpu_watts', 'dram').value - memW) < 1e-9);
    assert.ok(Math.abs(v('kepler_node_cpu_joules_total', 'package').value - cpuW * 10) < 1e-9);
    assert.equal(v('kepler_node_cpu_joules_total', 'package').labels.path, 'estimator');
    assert.equal(s.find((x) => x.name === 'kepler_node_info')!.labels.components_power_source, 'estimator');
    assert.equal(s.find((x) => x.name === 'wattflow_energy_estimator_coefficient' && x.labels.coefficient === 'max_watts_per_vcpu')!.value, 4.26);
    // the only process takes all the active energy
    assert.ok(Math.abs(s.filter((x) => x.name === 'kepler_process_cpu_joules_total').reduce((a, x) => a + x.value, 0) - (cpuW + memW) * 10 * 0.75) < 1e-6);
    for (let i = 0; i < 5; i++) {
      n.advanceCpu(i * 50, 400 - i * 50);
      n.run(10, i * 50);
      h.step(5000);
      await check();
    }
  } finally {
    n.cleanup();
  }
});

test('forced source "rapl" without RAPL fails clearly; custom platform without coefficients fails clearly', () => {
  const n = new FakeNode();
  try {
    assert.throws(() => monitorOn(n, { source: 'rapl' }), /energy.source is "rapl" but RAPL is not usable: no powercap RAPL zones/);
    assert.throws(() => monitorOn(n, { platform: 'custom' }), /platform "custom" needs estimator.minWattsPerVcpu/);
    const h = monitorOn(n, { platform: 'custom', estimator: { minWattsPerVcpu: 1, maxWattsPerVcpu: 2 } });
    assert.equal(h.source.kind, 'estimator');
  } finally {
    n.cleanup();
  }
});

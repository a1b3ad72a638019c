/**
 * The exporter on this machine, for real: no RAPL here (as in most VMs), so the estimator runs;
 * its CPU usage ratio agrees with /proc/stat sampled independently; and its whole exposition,
 * real and from a fake Kubernetes node with RAPL (every family, both Kepler generations),
 * passes `promtool check metrics` (Debian's prometheus package).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { silentLogger } from '../../src/core/logger.js';
import { energyDefaults } from '../../src/energy/config.js';
import { createEnergyExporter } from '../../src/energy/exporter.js';
import { EstimatorSource, selectNodeSource } from '../../src/energy/node-source.js';
import { activeOf, parseProcStat } from '../../src/energy/procfs.js';
import { probeRapl, discoverRaplZones } from '../../src/energy/rapl.js';
import { FakeNode, hexId, kubeCgroup, monitorOn, parseSamples } from './fixtures.js';

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
const promtoolSkip = PROMTOOL ? false : process.env.CI === 'true' ? false : 'promtool not installed (Debian package "prometheus"; bash scripts/services/prometheus.sh installs it)';

function promtoolCheck(text: string): { status: number | null; out: string } {
  if (!PROMTOOL) throw new Error('promtool is required under CI=true (Debian package "prometheus")');
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const raplUsable = probeRapl(discoverRaplZones('/sys')).ok;

test('on this machine: RAPL is absent or unreadable, so `auto` picks the estimator', { skip: raplUsable ? 'RAPL is readable on this machine (the estimator is tested with source "estimator" below)' : false }, () => {
  const src = selectNodeSource(energyDefaults());
  assert.equal(src.kind, 'estimator');
  assert.ok(src instanceof EstimatorSource);
  assert.ok(src.vcpus >= 1 && src.memoryGb > 0.1);
});

test('the estimator path for real: usage ratio agrees with /proc/stat sampled independently; watts follow the model', async () => {
  // source "estimator" whatever the machine has, so this runs everywhere
  const cfg = energyDefaults({ source: 'estimator', port: 0, intervalMs: 3_600_000, topProcesses: 10 });
  const exporter = createEnergyExporter({ cfg, logger: silentLogger(), role: 'energy-exporter', wattflowRoles: ['energy-exporter', 'up'] });
  await exporter.start!();
  try {
    const stat = () => {
      const t = parseProcStat(readFileSync('/proc/stat', 'utf8'));
      return { total: t.total, active: activeOf(t) };
    };
    // the independent reading is taken just before the exporter's (its first read is /proc/stat):
    // both windows cover the same 1.5 s to within a few hundred microseconds at each end
    const a = stat();
    exporter.sampleNow();
    const until = performance.now() + 1500;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1); // load: one core busy
    const b = stat();
    exporter.sampleNow();
    const independent = (b.active - a.active) / (b.total - a.total);
    const m = exporter.monitor()!;
    // Tolerance: /proc/stat counts in 10 ms ticks; over 1.5 s on N CPUs that is 150·N ticks, and
    // the two windows can differ by at most about one tick per CPU at each end (the readings are
    // microseconds apart, but a tick may land between them): 2N / 150N ≈ 0.013. 0.03 leaves room
    // for a tick boundary on a loaded machine.
    assert.ok(Math.abs(m.usage - independent) <= 0.03, `exporter u=${m.usage.toFixed(4)}, /proc/stat u=${independent.toFixed(4)}`);
    assert.ok(m.usage > 0.2, `one busy core of ${(exporter.source() as EstimatorSource).vcpus} shows (u=${m.usage.toFixed(3)})`);
    // watts: vCPUs × (Pmin + u (Pmax − Pmin)), memory GB × 0.392 (AWS coefficients, the default)
    const est = exporter.source() as EstimatorSource;
    const s = parseSamples(await exporter.registry()!.metrics());
    const w = (zone: string) => s.find((v) => v.name === 'kepler_node_cpu_watts' && v.labels.zone === zone)!;
    assert.ok(Math.abs(w('package').value - est.vcpus * (0.74 + m.usage * (3.5 - 0.74))) < 1e-6);
    assert.ok(Math.abs(w('dram').value - est.memoryGb * 0.392) < 1e-6);
    assert.equal(w('package').labels.path, 'estimator');
    // this process burnt the CPU: it is the exporter role's energy
    const mine = s.find((v) => v.name === 'wattflow_energy_joules_total' && v.labels.role === 'energy-exporter');
    assert.ok(mine && mine.value > 0, 'this process\'s energy is labelled with its role');
    assert.ok(s.some((v) => v.name === 'kepler_process_cpu_joules_total' && v.labels.pid === String(process.pid)), 'wattflow\'s own process is exported');
    assert.ok(x > 0);
  } finally {
    await exporter.stop!();
  }
});

test('promtool check metrics passes on the real exposition (this machine, legacy names on)', { skip: promtoolSkip }, async () => {
  const cfg = energyDefaults({ port: 0, intervalMs: 3_600_000, legacyMetrics: true, topProcesses: 50 });
  const exporter = createEnergyExporter({ cfg, logger: silentLogger(), role: 'energy-exporter', wattflowRoles: ['energy-exporter'] });
  await exporter.start!();
  try {
    await new Promise((r) => setTimeout(r, 300));
    exporter.sampleNow();
    const res = await fetch(`${exporter.url()}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /kepler_node_cpu_joules_total\{zone="package",path="(estimator|[^"]*powercap[^"]*)",node_name="[^"]+"\}/);
    assert.match(text, /kepler_node_info\{[^}]*components_power_source="(estimator|rapl-sysfs)"/);
    const r = promtoolCheck(text);
    assert.equal(r.status, 0, r.out);
    assert.equal(r.out.trim(), '', `promtool lint findings:\n${r.out}`);
  } finally {
    await exporter.stop!();
  }
});

test('promtool check metrics passes on a Kubernetes node with RAPL (every family: pods, containers, terminated, legacy)', { skip: promtoolSkip }, async () => {
  const n = new FakeNode({ cpus: 2 });
  try {
    const uid = '11111111-2222-3333-4444-555555555555';
    n.raplZone('intel-rapl:0', 'package-0', 262_143_328_850, 1000);
    n.raplZone('intel-rapl:0:2', 'dram', 65_712_999_613, 1000);
    n.podLogs('shop', 'web "quoted"\\pod', uid, [{ name: 'nginx', id: hexId(1) }]);
    n.addProcess(10, { comm: 'nginx "x"\\y', ticks: 1, start: 10, cgroup: kubeCgroup('burstable', uid, hexId(1)), exe: '/usr/sbin/nginx' });
    n.addProcess(11, { comm: 'gone', ticks: 1, start: 11 });
    const h = monitorOn(n, { topProcesses: 10 });
    n.setEnergy('intel-rapl:0', 10_000_000);
    n.setEnergy('intel-rapl:0:2', 2_000_000);
    n.run(10, 5);
    n.run(11, 5);
    n.advanceCpu(10, 10);
    h.step();
    n.exit(11);
    h.step();
    const text = await h.registry.metrics();
    assert.match(text, /kepler_pod_cpu_watts\{pod_id="[^"]+",pod_name="web \\"quoted\\"\\\\pod"/);
    assert.match(text, /state="terminated"/);
    const r = promtoolCheck(text);
    assert.equal(r.status, 0, r.out);
    assert.equal(r.out.trim(), '', `promtool lint findings:\n${r.out}`);
  } finally {
    n.cleanup();
  }
});

test("the exporter's own listener has the servers' limits: headers sent slowly are cut off with 408 (issue 11)", async () => {
  const { connect } = await import('node:net');
  const cfg = energyDefaults({ source: 'estimator', port: 0, intervalMs: 3_600_000 });
  const exporter = createEnergyExporter({ cfg, logger: silentLogger(), role: 'energy-exporter', wattflowRoles: ['energy-exporter'], limits: { requestTimeoutMs: 1000, headersTimeoutMs: 500 } });
  await exporter.start!();
  try {
    const port = Number(new URL(exporter.url()!).port);
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now())));
    const started = performance.now();
    socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    const timer = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 200); // never ends the headers
    const at = await closed;
    clearInterval(timer);
    assert.match(data, /^HTTP\/1\.1 408 /);
    assert.ok(at - started < 5000, `closed after ${(at - started).toFixed(0)} ms`);
  } finally {
    await exporter.stop!();
  }
});

/**
 * The web UI's server-side pieces in isolation: the energy sampler (Kepler exposition → node,
 * zones, roles, pods, processes; a clear "not running" state when the exporter does not
 * answer), the latency quantiles of the health sampler (as Prometheus' histogram_quantile),
 * and the downsampling of history and sparklines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EnergySampler, energyFromExposition } from '../../src/ui/energy.js';
import { histogramQuantile } from '../../src/ui/health.js';
import { downsample, sparkline } from '../../src/api/downsample.js';
import { freePort } from '../helpers/ports.js';

const KEPLER = `# HELP kepler_node_cpu_watts Power consumption of cpu at node level in watts
# TYPE kepler_node_cpu_watts gauge
kepler_node_cpu_watts{zone="package",path="rapl",node_name="n1"} 40
kepler_node_cpu_watts{zone="core",path="rapl",node_name="n1"} 30
kepler_node_cpu_watts{zone="dram",path="rapl",node_name="n1"} 8
kepler_node_cpu_usage_ratio{node_name="n1"} 0.25
kepler_pod_cpu_watts{pod_name="web",pod_namespace="shop",zone="package",node_name="n1"} 3
kepler_pod_cpu_watts{pod_name="web",pod_namespace="shop",zone="dram",node_name="n1"} 1
kepler_pod_cpu_watts{pod_name="web",pod_namespace="shop",zone="core",node_name="n1"} 2.5
kepler_container_cpu_watts{container_id="abc",container_name="nginx",pod_name="web",zone="package",node_name="n1"} 2
kepler_process_cpu_watts{pid="7",comm="node",zone="package",node_name="n1"} 1.5
kepler_process_cpu_watts{pid="7",comm="node",zone="dram",node_name="n1"} 0.5
kepler_process_cpu_watts{pid="9",comm="sshd",zone="package",node_name="n1"} 0.1
wattflow_energy_watts{role="inference",node_name="n1"} 0.4
wattflow_energy_watts{role="processor",node_name="n1"} 0.2
wattflow_energy_joules_total{role="inference",node_name="n1"} 12
`;

test('energy from a Kepler exposition: node = package + dram (core is inside package), pods/processes summed over those zones, roles', () => {
  const e = energyFromExposition(KEPLER);
  assert.equal(e.node_watts, 48);
  assert.deepEqual(e.zones, { package: 40, core: 30, dram: 8 });
  assert.equal(e.source, 'rapl');
  assert.equal(e.node_name, 'n1');
  assert.equal(e.usage_ratio, 0.25);
  assert.deepEqual(e.pods, [{ pod: 'web', namespace: 'shop', watts: 4 }]);
  assert.deepEqual(e.containers, [{ container: 'nginx', pod: 'web', watts: 2 }]);
  assert.deepEqual(e.processes, [{ pid: '7', comm: 'node', watts: 2 }, { pid: '9', comm: 'sshd', watts: 0.1 }]);
  assert.deepEqual(e.roles, [{ role: 'inference', watts: 0.4, joules: 12 }, { role: 'processor', watts: 0.2, joules: 0 }]);
  // psys, when present, is the whole platform: alone
  assert.equal(energyFromExposition('kepler_node_cpu_watts{zone="psys",path="rapl"} 60\nkepler_node_cpu_watts{zone="package",path="rapl"} 40\n').node_watts, 60);
});

test('the energy sampler: ok from a live exporter; "not running at <url>" when nothing answers; off when none is configured', async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(KEPLER);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const ok = await new EnergySampler({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, intervalMs: 1000, keep: 10 }).sample();
    assert.equal(ok.status, 'ok');
    assert.equal(ok.node_watts, 48);
  } finally {
    server.close();
  }
  const port = await freePort();
  const down = await new EnergySampler({ url: `http://127.0.0.1:${port}`, intervalMs: 1000, keep: 10 }).sample();
  assert.equal(down.status, 'unreachable');
  assert.match(down.error ?? '', new RegExp(`energy exporter not running at http://127\\.0\\.0\\.1:${port}/metrics \\(ECONNREFUSED\\)`));
  assert.deepEqual(down.roles, []);
  const off = await new EnergySampler({ url: undefined, intervalMs: 1000, keep: 10 }).sample();
  assert.equal(off.status, 'off');
});

test('latency quantiles from histogram buckets, as histogram_quantile computes them', () => {
  // 100 observations: 50 ≤ 0.01, 90 ≤ 0.05, 100 ≤ 0.1
  const b: Array<[number, number]> = [
    [0.005, 10],
    [0.01, 50],
    [0.05, 90],
    [0.1, 100],
    [Infinity, 100],
  ];
  assert.equal(histogramQuantile(0.5, b), 0.01);
  assert.ok(Math.abs(histogramQuantile(0.99, b)! - 0.095) < 1e-12);
  assert.equal(histogramQuantile(0.5, [[0.1, 0], [Infinity, 0]]), null, 'no observation: no quantile');
  assert.equal(histogramQuantile(0.99, [[0.1, 1], [Infinity, 10]]), 0.1, 'in the +Inf bucket: the highest finite bound');
});

test('downsampling keeps the envelope and leaves gaps out; sparklines average by index', () => {
  const pts = Array.from({ length: 1000 }, (_, i) => ({ tsMs: i * 1000, value: i === 500 ? 1000 : i % 10 }));
  // a gap: no point between 700 s and 800 s
  const withGap = pts.filter((p) => p.tsMs < 700_000 || p.tsMs >= 800_000);
  const d = downsample(withGap, 0, 999_000, 100);
  assert.ok(d.length <= 100 && d.length >= 85, `${d.length} buckets`);
  assert.equal(Math.max(...d.map((p) => p.max)), 1000, 'a spike survives as a max');
  assert.ok(!d.some((p) => p.tsMs > 700_000 && p.tsMs < 790_000), 'no bucket in the gap');
  for (const p of d) assert.ok(p.min <= p.value && p.value <= p.max && p.n >= 1);
  assert.deepEqual(downsample(pts.slice(0, 5), 0, 5000, 100).map((p) => p.value), [0, 1, 2, 3, 4], 'fewer points than buckets pass through');
  assert.deepEqual(sparkline([1, 2, 3, 4], 2), [1.5, 3.5]);
  assert.deepEqual(sparkline([1, 2], 40), [1, 2]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { ExperimentSource, loadExperiment, normalizeExperiment } from '../../src/router-power/experiment.js';
import { buildTd } from '../../src/router-power/producer/build-td.js';
import { syntheticPoller } from '../../src/router-power/producer/sources.js';
import { syntheticCounters, syntheticLoad, syntheticProfile } from '../../src/router-power/producer/synthetic.js';
import { createProcessor } from '../../src/router-power/processor/processor.js';
import { silentLogger } from '../../src/core/logger.js';
import type { TpMessage } from '../../src/router-power/messages.js';
import { DEFAULT_EXPERIMENT_FILE } from '../../src/router-power/demo-experiment.js';

const CAPACITY = 100e6 / 8;

test('a synthetic profile is a function of the router id: the same id gives the same profile, different ids differ', () => {
  assert.deepEqual(syntheticProfile('r3'), syntheticProfile('r3'));
  const ids = ['r3', 'r4', 'r5', 'r6', 'r7', 'edge-1', 'edge-2'];
  const bases = new Set(ids.map((id) => syntheticProfile(id).base.toFixed(4)));
  const peaks = new Set(ids.map((id) => syntheticProfile(id).peakHour.toFixed(3)));
  assert.equal(bases.size, ids.length);
  assert.equal(peaks.size, ids.length);
});

test('synthetic counters only grow, and their rates are the load: occupation within (0, 1), packet length plausible', () => {
  for (const id of ['r3', 'r4', 'x', 'a-very-long-router-name-0042']) {
    const p = syntheticProfile(id);
    const start = Date.UTC(2026, 5, 1, 0, 0, 0);
    let prev = syntheticCounters(p, CAPACITY, start);
    for (let i = 1; i <= 24 * 60; i++) {
      const t = start + i * 60_000; // a day in 1-minute steps
      const c = syntheticCounters(p, CAPACITY, t);
      assert.ok(c.bytes > prev.bytes && c.packets > prev.packets, `${id}: counters grow at ${new Date(t).toISOString()}`);
      prev = c;
    }
    // over a short interval the counter difference is the instantaneous load
    for (const hour of [0, 6, 12, 18]) {
      const t = Date.UTC(2026, 5, 1, hour, 7, 13);
      const a = syntheticCounters(p, CAPACITY, t);
      const b = syntheticCounters(p, CAPACITY, t + 1000);
      const load = syntheticLoad(p, t + 500);
      const occupation = (b.bytes - a.bytes) / CAPACITY;
      assert.ok(Math.abs(occupation - load.occupation) < 0.002, `${id} ${hour}h: occupation ${occupation} vs ${load.occupation}`);
      assert.ok(load.occupation > 0.03 && load.occupation < 0.92, `${id}: occupation ${load.occupation}`);
      const length = (b.bytes - a.bytes) / (b.packets - a.packets);
      assert.ok(Math.abs(length - load.packetLength) / load.packetLength < 0.01, `${id}: packet length ${length} vs ${load.packetLength}`);
      assert.ok(length > 150 && length < 3000, `${id}: packet length ${length}`);
    }
  }
});

test('the load follows the time of day: busier around the router\'s peak hour than twelve hours later', () => {
  for (const id of ['r3', 'r4', 'r5', 'r6', 'r7']) {
    const p = syntheticProfile(id);
    const mean = (hour: number) => {
      let s = 0;
      const n = 600;
      for (let i = 0; i < n; i++) s += syntheticLoad(p, Date.UTC(2026, 5, 1) + hour * 3_600_000 + i * 6000 - 1_800_000).occupation;
      return s / n;
    };
    const peak = mean(p.peakHour);
    const trough = mean((p.peakHour + 12) % 24);
    assert.ok(peak - trough > p.daily, `${id}: mean occupation at the peak ${peak.toFixed(3)} vs 12 h later ${trough.toFixed(3)} (daily amplitude ${p.daily.toFixed(3)})`);
  }
});

test('synthetic routers through the real processor: rates vary from poll to poll and between routers; r1 and r2 of the demo stay on the reference test metrics', async () => {
  const demo = loadExperiment(DEFAULT_EXPERIMENT_FILE);
  assert.deepEqual(
    demo.routers.map((r) => [r.id, r.source]),
    [['r1', 'test_metrics'], ['r2', 'test_metrics'], ['r3', 'synthetic'], ['r4', 'synthetic'], ['r5', 'synthetic'], ['r6', 'synthetic'], ['r7', 'synthetic']],
  );
  const exp = normalizeExperiment(
    {
      experiment_id: 'syn',
      flag_original_metrics: false,
      flag_debug_params: false,
      max_throughput_mbps: 100,
      polling_interval: 5,
      multiplier: 1,
      routers: [{ a: { topic: 'TD_a', interfaces: ['eth0', 'eth1'], source: 'synthetic' } }, { b: { topic: 'TD_b', interfaces: ['eth0'], source: 'synthetic' } }],
    },
    'inline',
  );
  assert.equal(exp.routers[0]!.source, 'synthetic');
  assert.equal(exp.routers[0]!.testMetrics, false);
  const fabric = new MemoryFabric();
  const processor = createProcessor({ fabric, experiment: new ExperimentSource(exp), logger: silentLogger() });
  await processor.start!();
  const poll = syntheticPoller();
  const t0 = Date.UTC(2026, 5, 1, 14, 0, 0);
  for (let i = 0; i < 6; i++) {
    for (const router of exp.routers) {
      const res = await poll(router, t0 + i * 5000);
      const td = buildTd({ router, experiment: exp, nodeExporter: res.nodeExporter, readAtMs: res.readAtMs, collectedAtMs: t0 + i * 5000 + 2, families: res.families });
      await fabric.publish({ topic: router.topic, key: router.id, json: td });
    }
  }
  const read = async (topic: string) => {
    for (let i = 0; i < 200; i++) {
      const m = await fabric.readAll(topic);
      if (m.length >= 5) return m.map((x) => JSON.parse(x.value) as TpMessage);
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no TP messages on ${topic}`);
  };
  const occupations = async (topic: string) =>
    (await read(topic)).map((m) => Number(m.input_ml_metrics.find((x) => x.name === 'node_network_router_capacity_occupation')!.value));
  const a = await occupations('TP_a');
  const b = await occupations('TP_b');
  await processor.stop!();
  await fabric.close();
  assert.equal(new Set(a.map((x) => x.toFixed(3))).size, a.length, `a varies from poll to poll: ${a}`);
  assert.notDeepEqual(a, b);
  const p = syntheticProfile('a');
  const expected = syntheticLoad(p, t0 + 2500).occupation * 100;
  assert.ok(Math.abs(a[0]! - expected) < 0.5, `first interval of a: ${a[0]} % vs the profile's ${expected} %`);
});

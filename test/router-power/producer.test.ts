import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { ExperimentSource, normalizeExperiment, BUNDLED_TEST_METRICS_DIR } from '../../src/router-power/experiment.js';
import { createProducer, pollOffsetMs } from '../../src/router-power/producer/producer.js';
import type { TdMessage } from '../../src/router-power/messages.js';
import { silentLogger } from '../../src/core/logger.js';
import { registry } from '../../src/core/metrics.js';

test('a slow or dead router never delays the others; its overruns and errors are counted', async () => {
  // a "router" whose collector answers after 2 s, and one that refuses connections
  const slow = createServer((_req, res) => setTimeout(() => res.end('{}'), 2000));
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  const slowPort = (slow.address() as AddressInfo).port;
  const raw = {
    experiment_id: 'slow',
    flag_original_metrics: false,
    flag_debug_params: false,
    max_throughput_mbps: 100,
    polling_interval: 0.2,
    multiplier: 1,
    test_metrics_dir: BUNDLED_TEST_METRICS_DIR,
    routers: [
      { r1: { topic: 'TD_r1', interfaces: ['eth2'], test_metrics: true } },
      { slowpoke: { topic: 'TD_slowpoke', interfaces: ['eth2'], test_metrics: false, collector_url: `http://127.0.0.1:${slowPort}/metrics/slowpoke_9100.json` } },
      { dead: { topic: 'TD_dead', interfaces: ['eth2'], test_metrics: false, collector_url: 'http://127.0.0.1:1/metrics/dead_9100.json' } },
    ],
  };
  const source = new ExperimentSource(normalizeExperiment(raw, 'slow'));
  const fabric = new MemoryFabric();
  const producer = createProducer({ fabric, experiment: source, logger: silentLogger(), timeoutMs: 5000 });
  await producer.start!();
  await new Promise((r) => setTimeout(r, 1500));
  await producer.stop!();
  slow.close();
  slow.closeAllConnections();
  const r1 = (await fabric.readAll('TD_r1')).map((m) => m.json as TdMessage);
  assert.ok(r1.length >= 7, `r1 polled ${r1.length} times in 1.5 s at 0.2 s`);
  for (let i = 1; i < r1.length; i++) {
    const gap = Number(r1[i]!.epoch_timestamp) - Number(r1[i - 1]!.epoch_timestamp);
    assert.ok(Math.abs(gap - 0.2) < 1e-6, `r1 on schedule (gap ${gap})`);
  }
  assert.equal((await fabric.readAll('TD_slowpoke')).length, 0);
  assert.equal((await fabric.readAll('TD_dead')).length, 0);
  const metrics = await registry.metrics();
  const overruns = Number(/wattflow_producer_polls_total\{source="collector",result="overrun"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  const errors = Number(/wattflow_producer_polls_total\{source="collector",result="error"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  assert.ok(overruns >= 5, `the slow router skipped ticks while its poll was in flight (${overruns})`);
  assert.ok(errors >= 5, `the dead router's failures are counted (${errors})`);
});

test('pollOffsetMs: a fixed phase per router, within the interval, on the slot grid', () => {
  const ids = Array.from({ length: 500 }, (_, i) => `router-${i}`);
  for (const slot of [1, 10, 250]) {
    for (const id of ids) {
      const off = pollOffsetMs(id, 1000, slot);
      assert.equal(off, pollOffsetMs(id, 1000, slot), 'deterministic');
      assert.ok(off >= 0 && off < 1000, `${id}: ${off} within the interval`);
      assert.equal(off % slot, 0, `${id}: ${off} is a multiple of ${slot}`);
    }
  }
  // spread: 500 routers on a 10 ms grid occupy most of the 100 slots (hashing, not a clump)
  assert.ok(new Set(ids.map((id) => pollOffsetMs(id, 1000, 10))).size > 90);
  // a slot longer than the interval is the interval (every router at the tick)
  assert.ok(ids.every((id) => pollOffsetMs(id, 100, 1000) === 0));
});

test('spreadPolls: each router is polled at its slot, on schedule; the routers of a slot share the poll time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-spread-'));
  const body = readFileSync(join(BUNDLED_TEST_METRICS_DIR, 'test_metrics_r1.json'), 'utf8');
  const ids = Array.from({ length: 30 }, (_, i) => `s${i}`);
  for (const id of ids) writeFileSync(join(dir, `test_metrics_${id}.json`), body);
  const raw = {
    experiment_id: 'spread',
    flag_original_metrics: false,
    flag_debug_params: false,
    max_throughput_mbps: 100,
    polling_interval: 0.5,
    multiplier: 1,
    test_metrics_dir: dir,
    routers: ids.map((id) => ({ [id]: { topic: 'TD_spread', interfaces: ['eth2'], test_metrics: true } })),
  };
  const fabric = new MemoryFabric();
  const producer = createProducer({ fabric, experiment: new ExperimentSource(normalizeExperiment(raw, 'spread')), logger: silentLogger(), spreadPolls: true, spreadSlotMs: 50 });
  await producer.start!();
  await new Promise((r) => setTimeout(r, 1700));
  await producer.stop!();
  const byRouter = new Map<string, number[]>();
  for (const m of await fabric.readAll('TD_spread')) {
    const td = m.json as TdMessage;
    byRouter.set(m.key, [...(byRouter.get(m.key) ?? []), Math.round(Number(td.epoch_timestamp) * 1000)]);
  }
  assert.deepEqual([...byRouter.keys()].sort(), [...ids].sort(), 'every router polled');
  const phases = new Map<string, number>();
  for (const [id, times] of byRouter) {
    assert.ok(times.length >= 2, `${id} polled ${times.length} times in 1.7 s at 0.5 s`);
    for (let i = 1; i < times.length; i++) assert.equal(times[i]! - times[i - 1]!, 500, `${id} on a drift-free 500 ms schedule`);
    // its poll time sits at its own offset from the scheduler's tick
    const phase = (((times[0]! - pollOffsetMs(id, 500, 50)) % 500) + 500) % 500;
    phases.set(id, phase);
  }
  assert.equal(new Set(phases.values()).size, 1, `every router is offset from the same tick (${[...new Set(phases.values())]})`);
  // routers of one slot carry the same poll time; several slots are used
  const slotTimes = new Map<number, Set<number>>();
  for (const id of ids) {
    const off = pollOffsetMs(id, 500, 50);
    if (!slotTimes.has(off)) slotTimes.set(off, new Set());
    slotTimes.get(off)!.add(byRouter.get(id)![0]! % 500);
  }
  assert.ok(slotTimes.size >= 4, `30 routers use several of the 10 slots (${slotTimes.size})`);
  for (const [off, times] of slotTimes) assert.equal(times.size, 1, `the routers of slot ${off} share one poll time`);
});

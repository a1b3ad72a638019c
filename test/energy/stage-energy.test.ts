/**
 * Energy per stage inside one process (`wattflow up`): the CPU time each stage's handlers use —
 * including what runs after an `await` — is charged to that stage and to no other, work outside
 * the stages is charged to none; the processor and inference stages of the in-process pipeline
 * are measured and their messages counted; and the stage energy metrics on the process's
 * /metrics give energy per message = Δjoules / Δmessages over the window.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises';
import { registry } from '../../src/core/metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import { enableStageCpu, stageAccount, stageAccounts, trackStage } from '../../src/energy/stage-cpu.js';
import { createStageEnergyMeter } from '../../src/energy/stage-energy.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { ExperimentSource, normalizeExperiment } from '../../src/router-power/experiment.js';
import { DummyPredictors } from '../../src/router-power/inference/dummy-predictor.js';
import { createInference } from '../../src/router-power/inference/inference.js';
import { createProcessor } from '../../src/router-power/processor/processor.js';
import { td } from '../router-power/helpers.js';

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** Burns `ms` of this process's CPU time. */
function burn(ms: number): void {
  const end = cpuMs() + ms;
  let x = 0;
  while (cpuMs() < end) for (let i = 0; i < 2000; i++) x += Math.sqrt(i + x);
  if (x < 0) throw new Error('unreachable');
}

test('stage CPU time: each stage is charged what its handlers use, before and after awaits, and never the other\'s or untracked work', async (t) => {
  enableStageCpu();
  const before = new Map(stageAccounts().map((a) => [a.stage, a.cpuSeconds]));
  const spent = (s: string) => (stageAccount(s).cpuSeconds - (before.get(s) ?? 0)) * 1000;
  const handler = (sync: number, afterAwait: number) => async () => {
    burn(sync);
    await immediate();
    burn(afterAwait);
    await sleep(5);
    burn(afterAwait);
  };
  const t0 = cpuMs();
  const runs: Array<Promise<void>> = [];
  for (let i = 0; i < 6; i++) {
    runs.push(trackStage('test-a', handler(20, 10))); // 40 ms each
    runs.push(trackStage('test-b', handler(5, 5))); // 15 ms each
    burn(10); // untracked, between them
    await immediate();
  }
  await Promise.all(runs);
  const total = cpuMs() - t0;
  const a = spent('test-a');
  const b = spent('test-b');
  t.diagnostic(`stage a ${a.toFixed(1)} ms (240 burnt), stage b ${b.toFixed(1)} ms (90 burnt), process ${total.toFixed(1)} ms (60 untracked)`);
  // each burn stops at the first CPU-clock reading past its target: a few ms of overshoot per
  // burn on a shared machine; tolerance ±25 %
  assert.ok(Math.abs(a - 240) <= 60, `stage a: ${a.toFixed(1)} ms of CPU (expected 240)`);
  assert.ok(Math.abs(b - 90) <= 30, `stage b: ${b.toFixed(1)} ms (expected 90)`);
  assert.ok(a + b <= total - 40, `untracked work is charged to no stage: a+b ${(a + b).toFixed(1)} of ${total.toFixed(1)} ms`);
});

test('the in-process pipeline: processor and inference CPU time measured and messages counted', async () => {
  enableStageCpu();
  const routers = 50;
  const exp = normalizeExperiment(
    {
      experiment_id: 'stage-energy',
      flag_original_metrics: false,
      flag_debug_params: false,
      max_throughput_mbps: 100,
      polling_interval: 1,
      multiplier: 1,
      routers: Array.from({ length: routers }, (_, i) => ({ [`r${i}`]: { topic: `TD_r${i}`, interfaces: ['eth0'], test_metrics: true } })),
    },
    'test',
  );
  const source = new ExperimentSource({ ...exp, source: '' });
  const fabric = new MemoryFabric({ retainMessages: 1 });
  const dummies = new DummyPredictors();
  const processor = createProcessor({ fabric, experiment: source, logger: silentLogger() });
  const inference = createInference({ fabric, experiment: source, logger: silentLogger(), resolve: (r) => dummies.get(r.routerType) });
  let out = 0;
  const cpu0 = new Map(stageAccounts().map((a) => [a.stage, a]).map(([s, a]) => [s, { cpu: (a as { cpuSeconds: number }).cpuSeconds, messages: (a as { messages: number }).messages }]));
  await processor.start!();
  await inference.start!();
  const counter = await fabric.subscribe({ group: 'count', topics: exp.routers.map((r) => exp.mlTopic(r.id)), handler: async (b) => void (out += b.length) });
  try {
    const polls = 20;
    for (let p = 0; p < polls; p++) {
      await fabric.publishBatch(
        exp.routers.map((r) => ({ topic: r.topic, key: r.id, json: td(1_700_000_000 + p, [{ device: 'eth0', bytes: 1_000_000 * (p + 1), packets: 1000 * (p + 1) }]) })),
      );
      await sleep(2);
    }
    const expected = routers * (polls - 1);
    for (let i = 0; i < 500 && out < expected; i++) await sleep(10);
    assert.equal(out, expected);
    const d = (s: string) => ({ cpu: stageAccount(s).cpuSeconds - (cpu0.get(s)?.cpu ?? 0), messages: stageAccount(s).messages - (cpu0.get(s)?.messages ?? 0) });
    assert.equal(d('processor').messages, routers * polls);
    assert.equal(d('inference').messages, expected);
    assert.ok(d('processor').cpu > 0 && d('inference').cpu > 0, `processor ${d('processor').cpu} s, inference ${d('inference').cpu} s`);
  } finally {
    await counter.close();
    await inference.stop!();
    await processor.stop!();
    await fabric.close();
  }
});

test('stage energy metrics: joules per stage and energy per message over the window, on the process registry', async () => {
  const joules = new Map<string, number>([['test-m', 0]]);
  let now = 0;
  const meter = createStageEnergyMeter({ stages: ['test-m'], stageJoules: () => joules, intervalMs: 1000, windowS: 10, external: true, now: () => now });
  await meter.start!();
  try {
    const m0 = stageAccount('test-m').messages;
    assert.equal(meter.perMessage('test-m'), undefined, 'no value before two points');
    for (let i = 1; i <= 15; i++) {
      now += 1000;
      joules.set('test-m', i * 2); // 2 J per second
      stageAccount('test-m').messages = m0 + i * 100; // 100 messages per second
      meter.tick();
    }
    assert.ok(Math.abs(meter.perMessage('test-m')! - 0.02) < 1e-12);
    const text = await registry.metrics();
    assert.match(text, /wattflow_stage_energy_per_message_joules\{stage="test-m"\} 0\.02\b/);
    assert.match(text, /wattflow_stage_energy_joules_total\{stage="test-m"\} 30\b/);
    // no messages in the window: no value (not a stale one)
    for (let i = 0; i < 12; i++) {
      now += 1000;
      meter.tick();
    }
    assert.equal(meter.perMessage('test-m'), undefined);
    assert.doesNotMatch(await registry.metrics(), /wattflow_stage_energy_per_message_joules\{stage="test-m"\}/);
  } finally {
    await meter.stop!();
  }
});

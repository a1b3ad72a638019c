/**
 * Seeded fuzz of the processor and inference stages on the in-process bus: thousands of TD
 * messages, many of them mutated (fields deleted or of the wrong type, odd numbers, counters
 * going backwards, time stamps repeating or going back, truncated or random text). Every message
 * must be accounted for exactly once — a TP message, a counted drop (first message, reset, gap,
 * …) or a dead letter with a reason — no batch may fail (a failing batch is redelivered forever,
 * which the counts would show), and every published value must be a finite, non-negative number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/core/logger.js';
import { registry } from '../../src/core/metrics.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { ExperimentSource, normalizeExperiment } from '../../src/router-power/experiment.js';
import { DummyPredictors } from '../../src/router-power/inference/dummy-predictor.js';
import { createInference } from '../../src/router-power/inference/inference.js';
import type { MlMessage, TpMessage } from '../../src/router-power/messages.js';
import { createProcessor } from '../../src/router-power/processor/processor.js';
import { prng } from '../helpers/prng.js';
import { waitFor } from '../helpers/wait-for.js';
import { td } from './helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const N = 3000;
const ROUTERS = ['r1', 'r2', 'r3'];

/** The fuzz tests' experiment: routers `routers` with test-metrics sources on TD_<router>. */
function experimentOf(id: string, routers: readonly string[] = ROUTERS) {
  return normalizeExperiment(
    {
      experiment_id: id,
      flag_original_metrics: false,
      flag_debug_params: false,
      max_throughput_mbps: 100,
      polling_interval: 1,
      multiplier: 1,
      routers: routers.map((r) => ({ [r]: { topic: `TD_${r}`, interfaces: ['eth2'], test_metrics: true } })),
    },
    id,
  );
}

/** Sum of a metric's samples whose labels include all of `labels` (e.g. stage="processor"). */
async function metricSum(name: string, labels: string[]): Promise<number> {
  let sum = 0;
  for (const line of (await registry.metrics()).split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!labels.every((l) => line.includes(l))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test(`processor and inference under fuzzed TD messages (seed ${SEED}): each message accounted for once, nothing crashes, only finite values out`, async () => {
  const rnd = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const odd = [null, true, 0, -1, 1e308, -1e308, '', 'NaN', 'Infinity', '-5', '1e999', '0x10', ' 12 ', [], {}, [1, 2], { a: 1 }, 'é中文', 'x'.repeat(10_000)];
  const exp = experimentOf('fuzz');
  const source = new ExperimentSource(exp);
  const handlerErrors: unknown[] = [];
  const fabric = new MemoryFabric({ retainMessages: 10 * N, onHandlerError: (err) => handlerErrors.push(err) });
  const logger = silentLogger();
  const dummies = new DummyPredictors();
  const processor = createProcessor({ fabric, experiment: source, logger, group: 'fuzz-processor' });
  const inference = createInference({ fabric, experiment: source, logger, resolve: (r) => dummies.get(r.routerType), group: 'fuzz-inference' });
  await processor.start!();
  await inference.start!();

  const before = {
    in: await metricSum('wattflow_messages_in_total', ['stage="processor"']),
    dropped: await metricSum('wattflow_messages_dropped_total', ['stage="processor"']),
    dead: await metricSum('wattflow_dead_letter_total', ['stage="processor"']),
    inferenceIn: await metricSum('wattflow_messages_in_total', ['stage="inference"']),
  };
  const clock = new Map(ROUTERS.map((r) => [r, { t: 1_700_000_000, bytes: 0, packets: 0 }]));
  for (let i = 0; i < N; i++) {
    const router = pick(ROUTERS);
    const c = clock.get(router)!;
    c.t += rnd() < 0.05 ? -1 : rnd() < 0.05 ? 0 : rnd() < 0.03 ? 10 : 1; // back, repeat, gap, next
    c.bytes += rnd() < 0.03 ? -1000 : Math.floor(rnd() * 12_500_000);
    c.packets += rnd() < 0.03 ? -10 : Math.floor(rnd() * 10_000);
    const msg = td(c.t, [{ device: 'eth2', bytes: c.bytes, packets: c.packets }]) as unknown as Record<string, unknown>;
    msg.node_exporter = `${router}:9100`;
    let value: string;
    const roll = rnd();
    if (roll < 0.55) value = JSON.stringify(msg);
    else if (roll < 0.65) {
      delete msg[pick(Object.keys(msg))];
      value = JSON.stringify(msg);
    } else if (roll < 0.8) {
      msg[pick(Object.keys(msg))] = pick(odd);
      value = JSON.stringify(msg);
    } else if (roll < 0.9) {
      // deep: a counter value, a label, a family name or the values array
      const fam = (msg.metrics as Array<Record<string, unknown>>)[Math.floor(rnd() * 2)]!;
      const v = (fam.values as Array<Record<string, unknown>>)[0]!;
      const where = Math.floor(rnd() * 4);
      if (where === 0) v.value = pick(odd);
      else if (where === 1) v.labels = pick(odd);
      else if (where === 2) fam.name = pick(odd);
      else fam.values = pick(odd);
      value = JSON.stringify(msg);
    } else if (roll < 0.95) {
      const text = JSON.stringify(msg);
      value = text.slice(0, Math.floor(rnd() * text.length));
    } else value = Array.from({ length: 1 + Math.floor(rnd() * 50) }, () => String.fromCharCode(Math.floor(rnd() * 0xffff))).join('');
    await fabric.publish({ topic: `TD_${router}`, key: router, value });
  }

  // every message received once, and each either published, dropped with a reason, or dead-lettered
  await waitFor(async () => (await metricSum('wattflow_messages_in_total', ['stage="processor"'])) - before.in >= N, 30_000, 'the processor to receive every message');
  await new Promise((r) => setTimeout(r, 200));
  const tps = (await Promise.all(ROUTERS.map((r) => fabric.readAll(`TP_${r}`)))).flat();
  const tdDead = (await Promise.all(ROUTERS.map((r) => fabric.readAll(`TD_${r}.dlq`)))).flat();
  const received = (await metricSum('wattflow_messages_in_total', ['stage="processor"'])) - before.in;
  const dropped = (await metricSum('wattflow_messages_dropped_total', ['stage="processor"'])) - before.dropped;
  const dead = (await metricSum('wattflow_dead_letter_total', ['stage="processor"'])) - before.dead;
  assert.deepEqual(handlerErrors, [], 'no batch failed');
  assert.equal(received, N, 'each message received exactly once (a failed batch would be received again)');
  assert.equal(dead, tdDead.length, 'every dead letter counted');
  assert.equal(tps.length + dropped + dead, N, `TP ${tps.length} + dropped ${dropped} + dead-lettered ${dead} = ${N}`);
  assert.ok(tps.length > N * 0.2 && dead > N * 0.1 && dropped > 0, `every outcome occurs (TP ${tps.length}, dropped ${dropped}, dead ${dead})`);
  for (const m of tdDead) {
    const d = JSON.parse(m.value) as { reason: string };
    assert.ok(typeof d.reason === 'string' && d.reason.length > 0, 'a dead letter says why');
  }
  for (const m of tps) {
    for (const x of (JSON.parse(m.value) as TpMessage).input_ml_metrics) assert.ok(Number.isFinite(x.value) && x.value >= 0, `TP ${x.name} = ${x.value}`);
  }

  // inference: every TP message predicted or dead-lettered, finite power
  await waitFor(async () => (await metricSum('wattflow_messages_in_total', ['stage="inference"'])) - before.inferenceIn >= tps.length, 30_000, 'inference to receive every TP message');
  await new Promise((r) => setTimeout(r, 200));
  const mls = (await Promise.all(ROUTERS.map((r) => fabric.readAll(`ML_${r}`)))).flat();
  const tpDead = (await Promise.all(ROUTERS.map((r) => fabric.readAll(`TP_${r}.dlq`)))).flat();
  assert.equal(mls.length + tpDead.length, tps.length, `ML ${mls.length} + dead-lettered ${tpDead.length} = TP ${tps.length}`);
  for (const m of mls) {
    const ml = JSON.parse(m.value) as MlMessage;
    for (const o of ml.output_ml_metrics) for (const v of [o.value].flat(3) as unknown[]) assert.ok(Number.isFinite(v), `ML ${o.name} = ${String(v)}`);
  }
  await inference.stop!();
  await processor.stop!();
});

test(`inference under fuzzed TP messages (seed ${SEED}): each one predicted or dead-lettered with a reason, finite values out`, async () => {
  const rnd = prng(SEED + 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const odd = [null, true, 0, -1, 1e308, -1e308, '', 'NaN', '12', [], {}, [1], 'x'.repeat(1000)];
  const exp = experimentOf('fuzz-tp');
  const source = new ExperimentSource(exp);
  const handlerErrors: unknown[] = [];
  const fabric = new MemoryFabric({ retainMessages: 10 * N, onHandlerError: (err) => handlerErrors.push(err) });
  const dummies = new DummyPredictors();
  const inference = createInference({ fabric, experiment: source, logger: silentLogger(), resolve: (r) => dummies.get(r.routerType), group: 'fuzz-tp-inference' });
  await inference.start!();
  const in0 = await metricSum('wattflow_messages_in_total', ['stage="inference"']);
  for (let i = 0; i < N; i++) {
    const router = pick(ROUTERS);
    const tp: Record<string, unknown> = {
      node_exporter: `${router}:9100`,
      epoch_timestamp: String(1_700_000_000 + i),
      experiment_id: 'fuzz-tp',
      interfaces: ['eth2'],
      flag_debug_params: false,
      input_ml_metrics: [
        { name: 'node_network_receive_packets_total_rate', type: 'rate', value: rnd() * 1e5 },
        { name: 'node_network_average_received_packet_length', type: 'length', value: rnd() * 1500 },
        { name: 'node_network_router_capacity_occupation', type: 'percentage', value: rnd() * 100 },
      ],
    };
    const roll = rnd();
    if (roll < 0.5) {
      // valid
    } else if (roll < 0.65) delete tp[pick(Object.keys(tp))];
    else if (roll < 0.8) tp[pick(Object.keys(tp))] = pick(odd);
    else {
      const metrics = tp.input_ml_metrics as Array<Record<string, unknown>>;
      const m = pick(metrics);
      if (rnd() < 0.7) m.value = pick(odd);
      else m.name = pick(odd);
    }
    await fabric.publish({ topic: `TP_${router}`, key: router, value: roll < 0.97 ? JSON.stringify(tp) : JSON.stringify(tp).slice(0, 40) });
  }
  await waitFor(async () => (await metricSum('wattflow_messages_in_total', ['stage="inference"'])) - in0 >= N, 30_000, 'inference to receive every message');
  await new Promise((r) => setTimeout(r, 200));
  const mls = (await Promise.all(ROUTERS.map((r) => fabric.readAll(`ML_${r}`)))).flat();
  const dead = (await Promise.all(ROUTERS.map((r) => fabric.readAll(`TP_${r}.dlq`)))).flat();
  assert.deepEqual(handlerErrors, [], 'no batch failed');
  assert.equal((await metricSum('wattflow_messages_in_total', ['stage="inference"'])) - in0, N, 'each message received once');
  assert.equal(mls.length + dead.length, N, `ML ${mls.length} + dead-lettered ${dead.length} = ${N}`);
  assert.ok(mls.length > N * 0.4 && dead.length > N * 0.1, `both outcomes occur (ML ${mls.length}, dead ${dead.length})`);
  for (const m of dead) assert.ok((JSON.parse(m.value) as { reason: string }).reason.length > 0, 'a dead letter says why');
  for (const m of mls) {
    const ml = JSON.parse(m.value) as MlMessage;
    for (const o of ml.output_ml_metrics) for (const v of [o.value].flat(3) as unknown[]) assert.ok(Number.isFinite(v), `ML ${o.name} = ${String(v)}`);
  }
  await inference.stop!();
});

test('a prediction that overflows (occupation 1e200 %, valid by the schema) is dead-lettered with the reason, not published as null', async () => {
  const exp = experimentOf('overflow', ['r1']);
  const fabric = new MemoryFabric();
  const dummies = new DummyPredictors();
  const inference = createInference({ fabric, experiment: new ExperimentSource(exp), logger: silentLogger(), resolve: (r) => dummies.get(r.routerType) });
  await inference.start!();
  const tp = (occupation: number) => ({
    node_exporter: 'r1:9100',
    epoch_timestamp: '1700000000.0',
    experiment_id: 'overflow',
    interfaces: ['eth2'],
    flag_debug_params: false,
    input_ml_metrics: [
      { name: 'node_network_receive_packets_total_rate', type: 'rate', value: 10 },
      { name: 'node_network_average_received_packet_length', type: 'length', value: 500 },
      { name: 'node_network_router_capacity_occupation', type: 'percentage', value: occupation },
    ],
  });
  await fabric.publish({ topic: 'TP_r1', key: 'r1', json: tp(1e200) });
  await fabric.publish({ topic: 'TP_r1', key: 'r1', json: tp(50) });
  await waitFor(async () => (await fabric.readAll('ML_r1')).length >= 1 && (await fabric.readAll('TP_r1.dlq')).length >= 1, 5000, 'an ML message and a dead letter');
  const dead = JSON.parse((await fabric.readAll('TP_r1.dlq'))[0]!.value) as { reason: string };
  assert.match(dead.reason, /^prediction not finite \(power = Infinity\) for occupation 1e\+198, packet length 500$/);
  const ml = (await fabric.readAll('ML_r1')).map((m) => JSON.parse(m.value) as MlMessage);
  assert.equal(ml.length, 1);
  assert.ok(Number.isFinite((ml[0]!.output_ml_metrics[0]!.value as number[])[0]), 'the next message is predicted as usual');
  await inference.stop!();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { ExperimentSource, loadExperiment, type Experiment } from '../../src/router-power/experiment.js';
import { buildTd } from '../../src/router-power/producer/build-td.js';
import { testMetricsPoller } from '../../src/router-power/producer/sources.js';
import { createProcessor } from '../../src/router-power/processor/processor.js';
import { createInference } from '../../src/router-power/inference/inference.js';
import { DummyPredictors } from '../../src/router-power/inference/dummy-predictor.js';
import type { MlMessage, TpMessage } from '../../src/router-power/messages.js';
import { silentLogger } from '../../src/core/logger.js';
import { waitFor } from '../helpers/wait-for.js';
import { messagesOut } from '../../src/stage/stage-metrics.js';
import { loadAppConfig } from '../../src/app-config.js';
import { ConfigError } from '../../src/core/config.js';
import { networkComponents } from '../../src/roles/network.js';

const logger = silentLogger();

function testExperiment(): Experiment {
  const exp = loadExperiment(new URL('../../config/default-experiment.json', import.meta.url).pathname);
  return { ...exp, source: '' };
}


/** Processor and dummy inference on the in-process bus, started. */
async function startStages(fabric: MemoryFabric, exp: Experiment) {
  const source = new ExperimentSource(exp);
  const dummies = new DummyPredictors();
  const processor = createProcessor({ fabric, experiment: source, logger });
  const inference = createInference({ fabric, experiment: source, logger, resolve: (r) => dummies.get(r.routerType) });
  await processor.start!();
  await inference.start!();
  return { processor, inference };
}

const processorOutputs = async () => (await messagesOut.get()).values.find((v) => v.labels.stage === 'processor')?.value ?? 0;

/** The messages of a topic once it holds at least `n`. */
const readAtLeast = (fabric: MemoryFabric, topic: string, n: number) =>
  waitFor(async () => {
    const msgs = await fabric.readAll(topic);
    return msgs.length >= n ? msgs : undefined;
  }, 5000, `${n} messages on ${topic}`);

/** Publishes `n` polls of a router's test metrics, polling_interval apart (poll index `from`…). */
async function publishPolls(fabric: MemoryFabric, exp: Experiment, routerId: string, n: number, from = 0, poll = testMetricsPoller(() => exp)) {
  const router = exp.routers.find((r) => r.id === routerId)!;
  const startMs = 1_700_000_000_000;
  for (let i = from; i < from + n; i++) {
    const tick = startMs + i * exp.pollingInterval * 1000;
    const res = await poll(router, tick);
    const td = buildTd({ router, experiment: exp, nodeExporter: res.nodeExporter, readAtMs: res.readAtMs, collectedAtMs: tick + 3, families: res.families });
    await fabric.publish({ topic: router.topic, key: router.id, value: JSON.stringify(td) });
  }
}

test('test metrics r1 through processor and dummy inference: 100 % occupation, 1200 B, 719.04 W', async () => {
  const fabric = new MemoryFabric();
  const exp = testExperiment();
  const { processor, inference } = await startStages(fabric, exp);
  const outputsBefore = await processorOutputs();
  await publishPolls(fabric, exp, 'r1', 6);
  const ml = await readAtLeast(fabric, 'ML_r1', 5);
  assert.equal(ml.length, 5, 'one ML message per pair of polls');
  assert.equal((await processorOutputs()) - outputsBefore, 5, 'the processor counts its TP messages as output, not its state writes');
  for (const m of ml) {
    const msg = JSON.parse(m.value) as MlMessage;
    assert.equal(m.key, 'r1');
    const occupation = msg.input_ml_metrics.find((x) => x.name === 'node_network_router_capacity_occupation')!.value;
    const length = msg.input_ml_metrics.find((x) => x.name === 'node_network_average_received_packet_length')!.value;
    const power = (msg.output_ml_metrics[0]!.value as number[])[0]!;
    assert.ok(Math.abs(occupation - 100) <= 2, `occupation ${occupation}`);
    assert.ok(Math.abs(length - 1200) <= 0.5, `packet length ${length}`);
    assert.ok(Math.abs(power - 719.04) <= 0.5, `power ${power}`);
    // recompute independently: 700 + 20 x^2 - 0.0008 y with x = occupation/100
    const x = occupation / 100;
    assert.ok(Math.abs(power - (700 + 20 * x * x - 0.0008 * length)) < 1e-9);
    assert.ok(Math.abs((msg.output_ml_metrics[1]!.value as number[])[0]! - 40 * x) < 1e-9);
    assert.equal(msg.output_ml_metrics[2]!.value, -0.0008);
    assert.ok(msg.debug_params?.process_timestamp && msg.debug_params.ml_timestamp);
  }
  await inference.stop!();
  await processor.stop!();
  await fabric.close();
});

test('the wrap-around of test metrics is dropped as a counter reset, not emitted as a negative rate', async () => {
  const fabric = new MemoryFabric();
  const exp = testExperiment();
  const source = new ExperimentSource(exp);
  const processor = createProcessor({ fabric, experiment: source, logger });
  await processor.start!();
  await publishPolls(fabric, exp, 'r3', 14); // r3 has 11 periods: poll 12 wraps
  const tp = await readAtLeast(fabric, 'TP_r3', 12);
  // 14 polls → 13 pairs, one of which (period_10 → period_0) is a reset
  assert.equal(tp.length, 12);
  for (const m of tp) {
    const msg = JSON.parse(m.value) as TpMessage;
    for (const x of msg.input_ml_metrics) assert.ok(x.value >= 0, `${x.name} = ${x.value}`);
  }
  await processor.stop!();
});

test('invalid TD and TP messages go to <topic>.dlq with the reason; the worker keeps going', async () => {
  const fabric = new MemoryFabric();
  const exp = testExperiment();
  const { processor, inference } = await startStages(fabric, exp);
  await fabric.publish({ topic: 'TD_r2', key: 'r2', value: '{not json' });
  await fabric.publish({ topic: 'TD_r2', key: 'r2', value: JSON.stringify({ node_exporter: 'r2:9100' }) });
  await fabric.publish({ topic: 'TP_r2', key: 'r2', value: JSON.stringify({ node_exporter: 'r2:9100', epoch_timestamp: '1', experiment_id: '1', interfaces: ['eth2'], flag_debug_params: false, input_ml_metrics: [{ name: 'node_network_receive_packets_total_rate', value: 1 }, { name: 'node_network_average_received_packet_length', value: -5 }, { name: 'node_network_router_capacity_occupation', value: 1 }] }) });
  await publishPolls(fabric, exp, 'r2', 3);
  const dlq = await readAtLeast(fabric, 'TD_r2.dlq', 2);
  const reasons = dlq.map((m) => JSON.parse(m.value).reason as string);
  assert.match(reasons[0]!, /not JSON/);
  assert.match(reasons[1]!, /invalid TD message at \/epoch_timestamp: is required/);
  const tpDlq = await readAtLeast(fabric, 'TP_r2.dlq', 1);
  assert.match(JSON.parse(tpDlq[0]!.value).reason, /packet_length missing, negative or not finite/);
  const ml = await readAtLeast(fabric, 'ML_r2', 2);
  assert.equal(ml.length, 2, 'valid messages after the bad ones are still processed');
  await inference.stop!();
  await processor.stop!();
});

test('two processors in one group share routers; stopping one hands over with no lost router and no wrong rate', async () => {
  const fabric = new MemoryFabric();
  const exp = testExperiment();
  const source = new ExperimentSource(exp);
  const a = createProcessor({ fabric, experiment: source, logger, group: 'g-handover' });
  const b = createProcessor({ fabric, experiment: source, logger, group: 'g-handover' });
  await a.start!();
  await b.start!();
  const pollers = { r1: testMetricsPoller(() => exp), r2: testMetricsPoller(() => exp) };
  for (const r of ['r1', 'r2'] as const) await publishPolls(fabric, exp, r, 4, 0, pollers[r]);
  await waitFor(async () => ((await fabric.readAll('TP_r1')).length >= 3 && (await fabric.readAll('TP_r2')).length >= 3 ? true : undefined));
  assert.ok(a.stateSize() > 0 && b.stateSize() > 0, 'both members own routers');
  await a.stop!();
  // the same counter sequences go on, polling_interval after the last poll
  for (const r of ['r1', 'r2'] as const) await publishPolls(fabric, exp, r, 4, 4, pollers[r]);
  const all = await waitFor(async () => {
    const r1 = await fabric.readAll('TP_r1');
    const r2 = await fabric.readAll('TP_r2');
    return r1.length >= 7 && r2.length >= 7 ? { r1, r2 } : undefined;
  });
  // 8 polls per router → 7 pairs each: none lost at the hand-over (the new owner restored the
  // last message from the state topic), and every rate is the right one
  assert.equal(all.r1.length, 7);
  assert.equal(all.r2.length, 7);
  for (const m of [...all.r1, ...all.r2]) {
    const mbps = (JSON.parse(m.value) as TpMessage).input_ml_metrics.find((x) => x.name === 'node_network_receive_bytes_total_rate')!.value;
    assert.ok(Math.abs(mbps - 100) < 1e-6, `${m.key} stays at 100 Mbit/s (got ${mbps})`);
    assert.ok(mbps > 0 && mbps < 1000, `no wrong rate after the hand-over (${mbps} Mbit/s)`);
  }
  assert.equal(b.stateSize(), 2, 'the remaining member owns both routers');
  await b.stop!();
});

test('routers may share one topic per stage (keyed by router id): each router keeps its own state and values', async () => {
  const fabric = new MemoryFabric();
  const base = testExperiment();
  const shared = {
    ...base,
    routers: base.routers.map((r) => ({ ...r, topic: 'TD' })),
    tpTopic: () => 'TP',
    mlTopic: () => 'ML',
  };
  const { processor, inference } = await startStages(fabric, shared);
  // r1 and r3 interleaved on the same topic; r3's counters differ from r1's
  const pollers = { r1: testMetricsPoller(() => shared), r3: testMetricsPoller(() => shared) };
  for (let i = 0; i < 4; i++) for (const r of ['r1', 'r3'] as const) await publishPolls(fabric, shared, r, 1, i, pollers[r]);
  const ml = await readAtLeast(fabric, 'ML', 6);
  assert.deepEqual(ml.map((m) => m.key).sort(), ['r1', 'r1', 'r1', 'r3', 'r3', 'r3']);
  for (const m of ml) {
    const msg = JSON.parse(m.value) as MlMessage;
    const mbps = msg.input_ml_metrics.find((x) => x.name === 'node_network_receive_bytes_total_rate')!.value;
    assert.ok(mbps > 0 && mbps < 1000, `${m.key}: a rate from its own previous message (${mbps} Mbit/s)`);
  }
  await inference.stop!();
  await processor.stop!();
});

test('chained inference (network.chainInference): the processor publishes TP and ML together, the same values as two stages', async () => {
  const exp = testExperiment();
  const dummies = new DummyPredictors();
  // two stages
  const twoStages = new MemoryFabric();
  const { processor, inference } = await startStages(twoStages, exp);
  // chained: r2 has no usable model here, so its TP messages are dead-lettered as the inference stage would
  const chainedBus = new MemoryFabric();
  const chained = createProcessor({
    fabric: chainedBus,
    experiment: new ExperimentSource(exp),
    logger,
    chainInference: (r) => {
      if (r.id === 'r2') throw new Error('no deployed model');
      return dummies.get(r.routerType);
    },
  });
  await chained.start!();
  for (const bus of [twoStages, chainedBus]) {
    await publishPolls(bus, exp, 'r1', 4);
    await publishPolls(bus, exp, 'r2', 3);
  }
  const comparable = (m: { key: string; value: string }) => {
    const ml = JSON.parse(m.value) as MlMessage;
    return { key: m.key, epoch: ml.epoch_timestamp, inputs: ml.input_ml_metrics, outputs: ml.output_ml_metrics };
  };
  const expected = (await readAtLeast(twoStages, 'ML_r1', 3)).map(comparable);
  const got = (await readAtLeast(chainedBus, 'ML_r1', 3)).map(comparable);
  assert.equal(got.length, 3);
  assert.deepEqual(got, expected);
  assert.equal((await readAtLeast(chainedBus, 'TP_r1', 3)).length, 3, 'the TP topic is still written');
  const dlq = await readAtLeast(chainedBus, 'TP_r2.dlq', 2);
  assert.equal(dlq.length, 2);
  const letter = JSON.parse(dlq[0]!.value) as { stage: string; reason: string; topic: string; value: string };
  assert.equal(letter.topic, 'TP_r2');
  assert.match(letter.reason, /no model for router r2: no deployed model/);
  assert.equal((JSON.parse(letter.value) as TpMessage).input_ml_metrics.length, 4, 'the dead letter carries the TP message');
  assert.equal((await chainedBus.readAll('ML_r2')).length, 0);
  await chained.stop!();
  await inference.stop!();
  await processor.stop!();
});

test('with network.chainInference the inference role alone refuses to start (it would publish every ML message twice); up chains', async () => {
  const cfg = loadAppConfig(undefined, { '/network/chainInference': true }, {});
  const exp = new ExperimentSource(testExperiment());
  const fabric = new MemoryFabric();
  await assert.rejects(networkComponents(cfg, logger, fabric, exp, { inference: true }), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /\/network\/chainInference: is true: the processor predicts, so the inference role must not run/);
    return true;
  });
  const names = (await networkComponents(cfg, logger, fabric, exp, { processor: true, inference: true })).map((c) => c.name);
  assert.ok(names.includes('processor') && !names.includes('inference'), `components: ${names}`);
});

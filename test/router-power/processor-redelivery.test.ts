/**
 * A processor batch whose outputs fail is delivered again (at-least-once): the processor must
 * then pair each redelivered TD message with the message before it, as the first time — not with
 * itself (its state already moved on), which would drop the pair as `time_not_advancing` and
 * lose the TP message. On the in-process bus (a failed publish, delivered again after a delay)
 * and on the real broker (KAFKA_BROKERS; skipped without it, a failure under CI=true), where the
 * batches after the failed one are pipelined and delivered again with it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/logger.js';
import { registry } from '../../src/core/metrics.js';
import type { Fabric, IncomingMessage, OutgoingMessage, PublishOptions } from '../../src/fabric/fabric.js';
import { createKafkaFabric, type KafkaFabric } from '../../src/fabric/kafka/kafka-fabric.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import type { TpMessage } from '../../src/router-power/messages.js';
import { createProcessor } from '../../src/router-power/processor/processor.js';
import { messagesDropped } from '../../src/stage/stage-metrics.js';
import { deleteKafkaRun } from '../helpers/kafka-cleanup.js';
import { overriding } from '../helpers/overriding.js';
import { runExperiment } from './helpers.js';
import { service } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const kafka = service('KAFKA_BROKERS', 'Kafka broker');
const run = `wfredeliver-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const BASE = 1_700_000_000;

const experiment = (name: string, routers: string[]) => runExperiment(run, name, routers, (id) => `${run}.${name}.TD_${id}`);

/** Poll k of a router: bytes grow by (k + 1) × 125,000 from poll k − 1 to k, so each pair has its own rate. */
function td(id: string, k: number): Record<string, unknown> {
  const bytes = (125_000 * k * (k + 1)) / 2;
  const counter = (name: string, value: number) => ({ name, description: '', type: 'counter', values: [{ labels: [{ name: 'device', value: 'eth2' }], value: String(value) }] });
  return {
    node_exporter: `${id}:9100`,
    epoch_timestamp: `${BASE + k}.0`,
    experiment_id: run,
    interfaces: ['eth2'],
    flag_debug_params: false,
    metrics: [counter('node_network_receive_bytes_total', bytes), counter('node_network_receive_packets_total', 250 * k)],
  };
}

/** The pair (k − 1, k) a TP message was computed from, read back from its rate: k Mbit/s. */
const pairOf = (m: IncomingMessage): number => {
  const tp = JSON.parse(m.value) as TpMessage;
  const mbps = tp.input_ml_metrics.find((x) => x.name === 'node_network_receive_bytes_total_rate')!.value;
  assert.equal(tp.epoch_timestamp, `${BASE + Math.round(mbps)}.0`, `the TP message of poll ${tp.epoch_timestamp} has the rate of its own pair`);
  return Math.round(mbps);
};

/** The fabric with its publishes failing while `failing(messages)` says so; the rest goes to `f`. */
function failingWhen(f: Fabric, failing: (messages: OutgoingMessage[]) => boolean): Fabric {
  const publishBatch = async (messages: OutgoingMessage[], options?: PublishOptions): Promise<void> => {
    if (failing(messages)) throw new Error('broker unavailable (injected)');
    return f.publishBatch(messages, options);
  };
  return overriding(f, { publishBatch });
}

/** A gauge of the processor state in /metrics. */
const stateGauge = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await registry.metrics())?.[1] ?? NaN);

const droppedNotAdvancing = async () =>
  (await messagesDropped.get()).values.find((v) => v.labels.stage === 'processor' && v.labels.reason === 'time_not_advancing')?.value ?? 0;

/** The pairs of a TP topic's messages once there are at least `n` distinct ones. */
async function pairsOn(f: Fabric, topic: string, n: number, patience: number): Promise<number[]> {
  return waitFor(async () => {
    const pairs = (await f.readAll(topic)).map(pairOf);
    return new Set(pairs).size >= n ? pairs : undefined;
  }, patience, `${n} distinct TP pairs on ${topic}`);
}

describe('processor: a batch whose outputs failed is paired again as the first time', () => {
  it('in-process bus: the failed pair is published after the redelivery, with its own rate; nothing dropped', async () => {
    const bus = new MemoryFabric({ retryDelayMs: 20 });
    const exp = experiment('mem1', ['r1']);
    let failures = 0;
    // the publish carrying poll 3's TP message fails twice
    const fabric = failingWhen(bus, (msgs) => failures < 2 && msgs.some((m) => m.topic.endsWith('TP_r1') && (m.json as TpMessage).epoch_timestamp === `${BASE + 3}.0`) && ++failures > 0);
    const p = createProcessor({ fabric, experiment: exp, logger: silentLogger(), group: `${run}.mem1` });
    await p.start!();
    try {
      const dropped = await droppedNotAdvancing();
      for (let k = 1; k <= 5; k++) await bus.publish({ topic: `${run}.mem1.TD_r1`, key: 'r1', json: td('r1', k) });
      const pairs = await pairsOn(bus, `${run}.mem1.TP_r1`, 4, 5000);
      assert.equal(failures, 2, 'the publish failed twice before it went through');
      assert.deepEqual(pairs, [2, 3, 4, 5], 'one TP message per pair, in order, poll 3 included');
      assert.equal((await droppedNotAdvancing()) - dropped, 0, 'no redelivered message was paired with itself');
      // the state's memory in /metrics: one router, nothing unsettled, its current snapshot and at most 4 spares
      assert.equal(await stateGauge('wattflow_processor_state_routers'), 1);
      assert.equal(await stateGauge('wattflow_processor_unsettled_messages'), 0);
      const snapshots = await stateGauge('wattflow_processor_state_snapshots');
      assert.ok(snapshots >= 1 && snapshots <= 5, `${snapshots} snapshots held`);
    } finally {
      await p.stop!();
      await bus.close();
    }
  });

  it('in-process bus: several messages of one router delivered again together roll back to the first one', async () => {
    const bus = new MemoryFabric({ retryDelayMs: 20 });
    const exp = experiment('mem2', ['r1', 'r2']);
    let failed = false;
    // the first batch holding a TP message fails once: with a backlog it holds several polls per router
    const fabric = failingWhen(bus, (msgs) => !failed && msgs.some((m) => m.topic.includes('.TP_')) && (failed = true));
    // the backlog is there before the processor starts: its first batches hold several polls per router
    for (let k = 1; k <= 6; k++) for (const r of ['r1', 'r2']) await bus.publish({ topic: `${run}.mem2.TD_${r}`, key: r, json: td(r, k) });
    const p = createProcessor({ fabric, experiment: exp, logger: silentLogger(), group: `${run}.mem2` });
    const dropped = await droppedNotAdvancing();
    await p.start!();
    try {
      for (const r of ['r1', 'r2']) assert.deepEqual(await pairsOn(bus, `${run}.mem2.TP_${r}`, 5, 5000), [2, 3, 4, 5, 6], `router ${r}: every pair once, in order`);
      assert.ok(failed, 'a publish failed');
      assert.equal((await droppedNotAdvancing()) - dropped, 0, 'no redelivered message was paired with a later one');
    } finally {
      await p.stop!();
      await bus.close();
    }
  });
});

describe('processor on Kafka: outputs that fail while later batches are in flight', { skip: kafka.skip, timeout: 120_000 }, () => {
  const brokers = kafka.value.split(',').map((b) => b.trim()).filter(Boolean);
  const fabrics: KafkaFabric[] = [];
  after(async () => {
    await Promise.allSettled(fabrics.map((f) => f.close()));
    await deleteKafkaRun(brokers, run);
  });

  it('every pair reaches the TP topic with its own rate after the partition is delivered again', async () => {
    const base = createKafkaFabric({
      brokers,
      clientId: `${run}-k`,
      logger: silentLogger(),
      consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 6_000, maxWaitTimeMs: 100, retryInitialMs: 50, retryMaxMs: 400, maxBatchSize: 1 },
    });
    fabrics.push(base);
    const exp = experiment('k', ['r1']);
    const tdTopic = `${run}.k.TD_r1`;
    const tpTopic = `${run}.k.TP_r1`;
    await base.ensureTopics([{ name: tdTopic }, { name: tpTopic }]);
    // poll 3's publish is held, then fails, while polls 4 and 5 (one message per batch) are handled behind it
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let failures = 0;
    const isPoll3 = (msgs: OutgoingMessage[]) => msgs.some((m) => m.topic === tpTopic && (m.json as TpMessage).epoch_timestamp === `${BASE + 3}.0`);
    const handledAfter: string[] = [];
    const fabric = overriding<Fabric>(base, {
      publishBatch: async (messages: OutgoingMessage[], options?: PublishOptions) => {
        if (failures === 0 && isPoll3(messages)) {
          failures++;
          await held;
          throw new Error('broker unavailable (injected)');
        }
        if (failures === 1 && handledAfter.length < 2) for (const m of messages) if (m.topic === tpTopic) handledAfter.push((m.json as TpMessage).epoch_timestamp);
        return (base as Fabric).publishBatch(messages, options);
      },
    });
    const p = createProcessor({ fabric, experiment: exp, logger: silentLogger(), group: `${run}.k.g`, stateTopic: `${run}.k.state`, statePartitions: 1 });
    await p.start!();
    try {
      const dropped = await droppedNotAdvancing();
      for (let k = 1; k <= 6; k++) await base.publish({ topic: tdTopic, key: 'r1', json: td('r1', k) });
      await waitFor(() => handledAfter.length >= 2, 30_000, 'polls 4 and 5 handled while poll 3 is in flight');
      assert.ok((await stateGauge('wattflow_processor_unsettled_messages')) >= 1, "poll 3 is unsettled while its outputs are held, in /metrics");
      release();
      const pairs = await pairsOn(base, tpTopic, 5, 45_000);
      assert.deepEqual([...new Set(pairs)].sort((a, b) => a - b), [2, 3, 4, 5, 6], 'every pair on the TP topic, poll 3 included');
      assert.equal(pairs.indexOf(3) > pairs.indexOf(5), true, "poll 3's pair came after the later ones, from the redelivery");
      assert.equal((await droppedNotAdvancing()) - dropped, 0, 'no redelivered message was paired with itself');
      await waitFor(async () => (await stateGauge('wattflow_processor_unsettled_messages')) === 0, 10_000, 'nothing unsettled once every output is acknowledged');
    } finally {
      await p.stop!();
    }
  });
});

/**
 * A processor whose outputs failed stops before the batch is delivered again (a crash, or a
 * rebalance that takes its routers away), and another one takes over from the state topic. The
 * failed publish is partial, as when a broker appends some partitions of a request and refuses
 * others: whatever of the state topic was in it is written, the TP message is not. The state
 * record of a message must therefore not reach the broker before the message's outputs: the new
 * owner would restore it and pair the redelivered message with itself, and the pair is lost.
 */
async function crashAfterPartialWrite(name: string, base: Fabric, partitionsOfState: number): Promise<void> {
  const exp = experiment(name, ['r1']);
  const tdTopic = `${run}.${name}.TD_r1`;
  const tpTopic = `${run}.${name}.TP_r1`;
  const stateTopic = `${run}.${name}.state`;
  await base.ensureTopics([{ name: tdTopic }, { name: tpTopic }]);
  let failed = false;
  const partial = overriding<Fabric>(base, {
    publishBatch: async (messages: OutgoingMessage[], options?: PublishOptions) => {
      if (!failed && messages.some((m) => m.topic === tpTopic && (m.json as TpMessage).epoch_timestamp === `${BASE + 3}.0`)) {
        failed = true;
        await base.publishBatch(messages.filter((m) => m.topic === stateTopic), options);
        throw new Error('NOT_LEADER_OR_FOLLOWER for the TP partition (injected; the state partition took its records)');
      }
      return base.publishBatch(messages, options);
    },
  });
  const opts = { experiment: exp, logger: silentLogger(), group: `${run}.${name}.g`, stateTopic, statePartitions: partitionsOfState };
  const first = createProcessor({ ...opts, fabric: partial });
  await first.start!();
  const dropped = await droppedNotAdvancing();
  // one poll per batch: pair 2 and poll 2's state record are written before poll 3 arrives (on
  // Kafka the record follows the TP message by up to the bookkeeping linger; were it still
  // waiting, it would travel in poll 3's failing publish and poll 2 would be delivered again too)
  for (let k = 1; k <= 2; k++) await base.publish({ topic: tdTopic, key: 'r1', json: td('r1', k) });
  await pairsOn(base, tpTopic, 1, 30_000);
  await waitFor(
    async () => (await base.readAll(stateTopic)).some((m) => (JSON.parse(m.value) as { epoch_timestamp: string }).epoch_timestamp === `${BASE + 2}.0`),
    30_000,
    "poll 2's state record",
  );
  await base.publish({ topic: tdTopic, key: 'r1', json: td('r1', 3) });
  await waitFor(() => failed, 30_000, "the publish of poll 3's outputs failed");
  await first.stop!(); // before the batch is delivered again
  assert.deepEqual((await base.readAll(tpTopic)).map(pairOf), [2], 'the first processor wrote pair 2, not pair 3');
  const second = createProcessor({ ...opts, fabric: base });
  await second.start!();
  try {
    for (let k = 4; k <= 5; k++) await base.publish({ topic: tdTopic, key: 'r1', json: td('r1', k) });
    const pairs = await pairsOn(base, tpTopic, 4, 45_000);
    assert.deepEqual(pairs, [2, 3, 4, 5], 'the new owner wrote pair 3 from the redelivered poll 3, then 4 and 5');
    assert.equal((await droppedNotAdvancing()) - dropped, 0, 'no redelivered message was paired with itself');
  } finally {
    await second.stop!();
  }
}

describe("processor: outputs that failed, then another owner: the state on the broker never runs ahead of the outputs", () => {
  it('in-process bus', async () => {
    const bus = new MemoryFabric({ retryDelayMs: 100 });
    try {
      await crashAfterPartialWrite('crash-mem', bus, 1);
    } finally {
      await bus.close();
    }
  });

  it('real broker', { skip: kafka.skip, timeout: 120_000 }, async () => {
    const brokers = kafka.value.split(',').map((b) => b.trim()).filter(Boolean);
    const base = createKafkaFabric({
      brokers,
      clientId: `${run}-crash`,
      logger: silentLogger(),
      consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 6_000, maxWaitTimeMs: 100, retryInitialMs: 2_000, retryMaxMs: 4_000, maxBatchSize: 1 },
    });
    try {
      await crashAfterPartialWrite('crash-k', base, 2);
    } finally {
      await base.close();
      await deleteKafkaRun(brokers, `${run}.crash-k`);
    }
  });
});

/**
 * Pipelining on the Kafka fabric (fabric HandledBatch), on a real broker: a partition's next
 * batch is handled while the previous one's outputs are in flight, at most maxPipelinedBatches
 * of them; offsets are committed only through the oldest settled batches, in order; a batch
 * whose outputs fail makes the partition deliver again from it, in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Admin } from '@platformatic/kafka';
import { createKafkaFabric } from '../../src/fabric/kafka/kafka-fabric.js';
import type { Fabric, HandledBatch, IncomingMessage, Subscription } from '../../src/fabric/fabric.js';
import { silentLogger } from '../../src/core/logger.js';
import { registry } from '../../src/core/metrics.js';
import { service } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const kafka = service('KAFKA_BROKERS', 'Kafka broker');
const brokers = kafka.value.split(',').map((b) => b.trim()).filter(Boolean);

interface Call {
  values: string[];
  settle: () => void;
  fail: (err: Error) => void;
}

/** A subscription whose handler records each batch and leaves its outputs' settlement to the test. */
async function pipelinedScenario(maxPipelinedBatches: number, messages: number) {
  const id = `wfpipe-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const fabric: Fabric = createKafkaFabric({
    brokers,
    clientId: id,
    logger: silentLogger(),
    consumer: {
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 200,
      rebalanceTimeoutMs: 6_000,
      maxWaitTimeMs: 100,
      maxBatchSize: 2,
      maxPipelinedBatches,
      retryInitialMs: 50,
      retryMaxMs: 100,
      commitIntervalMs: 0,
    },
  });
  const topic = `${id}.in`;
  await fabric.ensureTopics([{ name: topic }]);
  await fabric.publishBatch(Array.from({ length: messages }, (_, i) => ({ topic, key: 'k', value: `m${i}` })));
  const calls: Call[] = [];
  const sub: Subscription = await fabric.subscribe({
    group: `${id}.g`,
    topics: [topic],
    handler: async (batch: IncomingMessage[]): Promise<HandledBatch> => {
      let settle!: () => void;
      let fail!: (err: Error) => void;
      const settled = new Promise<void>((resolve, reject) => ((settle = resolve), (fail = reject)));
      calls.push({ values: batch.map((m) => m.value), settle, fail });
      return { settled };
    },
  });
  const cleanup = async () => {
    for (const c of calls) c.settle();
    await sub.close();
    await fabric.close();
    const admin = new Admin({ clientId: `${id}-cleanup`, bootstrapBrokers: brokers, retries: 1 });
    await admin
      .deleteTopics({ topics: [topic] })
      .catch(() => undefined)
      .finally(() => admin.close().catch(() => undefined));
  };
  /** wattflow_kafka_unsettled_batches of this subscription's group, as /metrics shows it. */
  const unsettled = async (): Promise<number> => {
    const metric = await registry.getSingleMetric('wattflow_kafka_unsettled_batches')?.get();
    return metric?.values.find((v) => v.labels.group === `${id}.g`)?.value ?? 0;
  };
  return { calls, sub, cleanup, unsettled };
}

const settleWindow = () => new Promise((r) => setTimeout(r, 600));

test('Kafka pipelining: the next batch is handled while outputs are in flight, bounded; commits follow the oldest settled batch', { skip: kafka.skip, timeout: 60_000 }, async () => {
  const { calls, sub, cleanup, unsettled } = await pipelinedScenario(2, 6);
  try {
    await waitFor(() => calls.length >= 2, 20_000, 'two batches handled with nothing settled');
    assert.deepEqual(calls.map((c) => c.values), [['m0', 'm1'], ['m2', 'm3']], 'in offset order, the second before the first settled');
    await settleWindow();
    assert.equal(calls.length, 2, 'at most maxPipelinedBatches (2) unsettled batches per partition');
    assert.equal(await unsettled(), 2, 'the gauge shows both batches whose outputs are in flight');
    assert.equal(await sub.lag(), 6, 'nothing committed while the oldest batch is unsettled');

    calls[1]!.settle(); // the newer one first: its offsets wait for the older batch
    await settleWindow();
    assert.equal(calls.length, 2, 'a settled batch behind an unsettled one still counts against the bound');
    assert.equal(await sub.lag(), 6, 'no commit past an unsettled batch');

    calls[0]!.settle();
    await waitFor(async () => (await sub.lag()) === 2, 10_000, 'both settled batches committed');
    await waitFor(() => calls.length === 3, 10_000, 'the third batch handed out once there is room');
    assert.deepEqual(calls[2]!.values, ['m4', 'm5']);
    calls[2]!.settle();
    await waitFor(async () => (await sub.lag()) === 0, 10_000, 'all committed');
    assert.equal(await unsettled(), 0, 'the gauge is back to 0 once every batch settled');
  } finally {
    await cleanup();
  }
});

test('Kafka pipelining: outputs that fail make the partition deliver again from that batch, in order; nothing is skipped', { skip: kafka.skip, timeout: 60_000 }, async () => {
  const { calls, sub, cleanup } = await pipelinedScenario(3, 6);
  try {
    await waitFor(() => calls.length >= 3, 20_000, 'three batches handled');
    calls[1]!.fail(new Error('broker said no')); // the middle one fails while the others are in flight
    calls[0]!.settle();
    await settleWindow();
    assert.equal(calls.length, 3, 'no redelivery while a later batch is still in flight');
    calls[2]!.settle(); // a later batch that succeeded is delivered again too (at-least-once, in order)
    await waitFor(() => calls.length >= 5, 10_000, 'redelivery from the failed batch');
    assert.deepEqual(
      calls.map((c) => c.values),
      [['m0', 'm1'], ['m2', 'm3'], ['m4', 'm5'], ['m2', 'm3'], ['m4', 'm5']],
      'delivered again from the failed batch on, in offset order; the batch before it is not',
    );
    await waitFor(async () => (await sub.lag()) === 4, 10_000, 'the batch before the failure committed');
    calls[3]!.settle();
    calls[4]!.settle();
    await waitFor(async () => (await sub.lag()) === 0, 10_000, 'everything committed after the redelivery');
    await settleWindow();
    assert.equal(calls.length, 5, 'nothing delivered a third time');
  } finally {
    await cleanup();
  }
});

test('Kafka pipelining: maxPipelinedBatches 1 handles a partition one settled batch at a time', { skip: kafka.skip, timeout: 60_000 }, async () => {
  const { calls, sub, cleanup } = await pipelinedScenario(1, 4);
  try {
    await waitFor(() => calls.length >= 1, 20_000, 'first batch');
    await settleWindow();
    assert.equal(calls.length, 1, 'the next batch waits for the first to settle');
    calls[0]!.settle();
    await waitFor(() => calls.length === 2, 10_000, 'second batch after the first settled');
    calls[1]!.settle();
    await waitFor(async () => (await sub.lag()) === 0, 10_000, 'all committed');
  } finally {
    await cleanup();
  }
});

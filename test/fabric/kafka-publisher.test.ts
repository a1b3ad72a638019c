/**
 * The Kafka fabric's publisher merges the publishes of one event-loop turn into one produce
 * request (the producer's routers of one poll slot, concurrent stage batches), on a real broker.
 * Requests are counted on the Kafka client's own diagnostics channel.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tracingChannel } from 'node:diagnostics_channel';
import { after, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { silentLogger } from '../../src/core/logger.js';
import { createKafkaFabric } from '../../src/fabric/kafka/kafka-fabric.js';
import type { Fabric } from '../../src/fabric/fabric.js';
import { service } from '../helpers/services.js';

const kafka = service('KAFKA_BROKERS', 'Kafka broker');
const PRODUCE = 0;

describe('Kafka publisher', { skip: kafka.skip }, () => {
  const brokers = kafka.value.split(',');
  const run = `wfpub-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const topic = `${run}-t`;
  let fabric: Fabric | undefined;
  const extraTopics: string[] = [];
  after(async () => {
    await fabric?.close();
    const admin = new Admin({ clientId: `${run}-cleanup`, bootstrapBrokers: brokers, retries: 1 });
    await admin.deleteTopics({ topics: [topic, ...extraTopics] }).catch(() => undefined);
    await admin.close();
  });

  it('publishes of one event-loop turn leave in one produce request, in order, each acknowledged', async () => {
    fabric = await createKafkaFabric({ brokers, clientId: run, logger: silentLogger() });
    await fabric.ensureTopics([{ name: topic, partitions: 2 }]);
    await fabric.publish({ topic, key: 'warm-up', value: '0' }); // metadata and connection in place
    let produceRequests = 0;
    const channel = tracingChannel('plt:kafka:connections:api');
    const handlers = {
      start: (ctx: unknown) => {
        if ((ctx as { apiKey?: number }).apiKey === PRODUCE) produceRequests++;
      },
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: () => undefined,
      error: () => undefined,
    };
    channel.subscribe(handlers);
    try {
      // 50 callers in one turn, as 50 routers of one poll slot
      await Promise.all(Array.from({ length: 50 }, (_, i) => fabric!.publish({ topic, key: `r${i % 7}`, value: String(i + 1) })));
    } finally {
      channel.unsubscribe(handlers);
    }
    assert.equal(produceRequests, 1, `50 publishes of one turn took ${produceRequests} produce requests`);
    // all stored, per-key order kept
    const stored = await fabric.readAll(topic);
    const byKey = new Map<string, number[]>();
    for (const m of stored) if (m.key !== 'warm-up') byKey.set(m.key, [...(byKey.get(m.key) ?? []), Number(m.value)]);
    assert.equal([...byKey.values()].flat().length, 50);
    for (const [key, values] of byKey) assert.deepEqual(values, [...values].sort((a, b) => a - b), `order of ${key}`);
  });

  it('a failed publish fails those behind it on its topics (transitively), not the others: a retry cannot land after a later message', async () => {
    fabric ??= await createKafkaFabric({ brokers, clientId: run, logger: silentLogger() });
    const [a, b, c] = [`${topic}-a`, `${topic}-b`, `${topic}-c`];
    await fabric.ensureTopics([{ name: a }, { name: b }, { name: c }]);
    extraTopics.push(a, b, c);
    const outcome = (p: Promise<void>) => p.then(() => 'ok', (e: Error) => e.message);
    // one turn: the first publish fails (a topic name the broker refuses), the ones behind it on
    // topic a (and, through the second, on topic b) must not be written before it is
    const sameTurn = [
      outcome(fabric.publishBatch([{ topic: a, key: 'k', value: '1' }, { topic: 'not a valid topic!', key: 'k', value: 'x' }])),
      outcome(fabric.publishBatch([{ topic: a, key: 'k', value: '2' }, { topic: b, key: 'k', value: '1' }])),
      outcome(fabric.publishBatch([{ topic: b, key: 'k', value: '2' }])),
      outcome(fabric.publishBatch([{ topic: c, key: 'k', value: '1' }])),
    ];
    // a later turn, while those are in flight: queued behind the second one on topic b
    await new Promise((r) => setImmediate(r));
    const queuedBehind = outcome(fabric.publishBatch([{ topic: b, key: 'k', value: '3' }]));
    const results = await Promise.all([...sameTurn, queuedBehind]);
    assert.notEqual(results[0], 'ok', 'the publish to the invalid topic fails');
    assert.match(results[1]!, new RegExp(`not sent: an earlier publish to ${a} failed`));
    assert.match(results[2]!, new RegExp(`not sent: an earlier publish to ${b} failed`), 'behind the second one on topic b');
    assert.equal(results[3], 'ok', 'a publish sharing no topic with them is written');
    assert.match(results[4]!, new RegExp(`not sent: an earlier publish to ${b} failed`), 'queued later behind the second one on topic b');
    assert.deepEqual((await fabric.readAll(a)).map((m) => m.value).filter((v) => v !== '1'), [], 'nothing of the later publishes on topic a');
    assert.deepEqual((await fabric.readAll(b)).map((m) => m.value), []);
    assert.deepEqual((await fabric.readAll(c)).map((m) => m.value), ['1']);
    // the callers retry in their order: the topic's order holds
    await fabric.publishBatch([{ topic: a, key: 'k', value: '1' }]);
    await fabric.publishBatch([{ topic: a, key: 'k', value: '2' }, { topic: b, key: 'k', value: '1' }]);
    assert.deepEqual((await fabric.readAll(a)).map((m) => m.value).filter((v, i, all) => all.indexOf(v) === i), ['1', '2']);
  });
});

/**
 * Behaviour contract of the data fabric, run against every adapter: the in-process bus always,
 * Kafka when KAFKA_BROKERS is set (skipped with the reason otherwise; a failure under CI=true).
 * Every test uses its own topics and groups (unique per run), so runs never see each other.
 *
 * "Process" below means a fabric handle: for Kafka a separate KafkaFabric (its own clients),
 * for the in-process bus a view on the one shared bus whose close() only closes what was
 * opened through it (a second MemoryFabric would be a different bus).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/core/logger.js';
import type {
  Fabric,
  IncomingMessage,
  OutgoingMessage,
  ReadAllOptions,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from '../../src/fabric/fabric.js';
import { createKafkaFabric } from '../../src/fabric/kafka/kafka-fabric.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { partitionOf } from '../../src/fabric/partitioner.js';
import { deleteKafkaRun } from '../helpers/kafka-cleanup.js';
import { service } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';
import { redisStreamsHarness } from './redis-streams-harness.js';

interface Harness {
  name: 'memory' | 'kafka';
  skip: string | false;
  /** How long to wait for something that should happen (ms). */
  patience: number;
  /** How long to wait to be reasonably sure something does NOT happen (ms). */
  quiet: number;
  setup(): Promise<void>;
  /** A new "process" on the fabric. */
  open(): Promise<Fabric>;
  dispose(): Promise<void>;
}

const runId = `wfct-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/** A view on a shared MemoryFabric whose close() closes only its own subscriptions. */
class MemoryProcess implements Fabric {
  readonly kind = 'memory' as const;
  readonly pipelinesBatches = false;
  private readonly subs = new Set<Subscription>();
  constructor(private readonly bus: MemoryFabric) {}
  ensureTopics(topics: TopicSpec[]) {
    return this.bus.ensureTopics(topics);
  }
  publish(m: OutgoingMessage) {
    return this.bus.publish(m);
  }
  publishBatch(ms: OutgoingMessage[]) {
    return this.bus.publishBatch(ms);
  }
  readAll(topic: string, options?: ReadAllOptions) {
    return this.bus.readAll(topic, options);
  }
  partitionsOf(topics: readonly string[]) {
    return this.bus.partitionsOf(topics);
  }
  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const sub = await this.bus.subscribe(options);
    this.subs.add(sub);
    return sub;
  }
  async close() {
    for (const s of this.subs) await s.close();
    this.subs.clear();
  }
}

function memoryHarness(): Harness {
  let bus: MemoryFabric | undefined;
  return {
    name: 'memory',
    skip: false,
    patience: 5_000,
    quiet: 300,
    async setup() {
      bus = new MemoryFabric({ retryDelayMs: 30 });
    },
    async open() {
      return new MemoryProcess(bus!);
    },
    async dispose() {
      await bus?.close();
    },
  };
}

function kafkaHarness(): Harness {
  const kafka = service('KAFKA_BROKERS', 'Kafka broker');
  const brokers = kafka.value.split(',').map((b) => b.trim()).filter(Boolean);
  const opened: Fabric[] = [];
  let n = 0;
  return {
    name: 'kafka',
    skip: kafka.skip,
    patience: 30_000,
    quiet: 1_500,
    async setup() {},
    async open() {
      const f = createKafkaFabric({
        brokers,
        clientId: `${runId}-p${++n}`,
        // silent unless WATTFLOW_LOG_LEVEL is set (scripts/run-tests.mjs defaults it to silent)
        logger: createLogger({ format: 'json' }),
        // A one-broker test cluster: fast heartbeats make rebalances take well under a second.
        consumer: {
          sessionTimeoutMs: 6_000,
          heartbeatIntervalMs: 200,
          rebalanceTimeoutMs: 6_000,
          maxWaitTimeMs: 200,
          retryInitialMs: 50,
          retryMaxMs: 400,
        },
      });
      opened.push(f);
      return f;
    },
    async dispose() {
      await Promise.allSettled(opened.map((f) => f.close()));
      await deleteKafkaRun(brokers, runId);
    },
  };
}

// ---------------------------------------------------------------------------------- helpers


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let testCounter = 0;
/** Unique topic and group names for one test. */
function names() {
  const id = `${runId}.t${++testCounter}`;
  return { topic: (s: string) => `${id}.${s}`, group: (s: string) => `${id}.${s}` };
}

/** Records every delivery to a handler (and the batches they came in). */
function recorder() {
  const messages: IncomingMessage[] = [];
  const batches: IncomingMessage[][] = [];
  return {
    messages,
    batches,
    handler: async (batch: IncomingMessage[]) => {
      batches.push(batch);
      messages.push(...batch);
    },
    values: () => messages.map((m) => m.value),
  };
}

/** Tracks a member's current assignment through onAssigned/onRevoked. */
function assignmentTracker() {
  const owned = new Set<string>();
  return {
    owned,
    topics: () => new Set([...owned].map((k) => k.slice(0, k.lastIndexOf(':')))),
    /** Spread into SubscribeOptions. */
    callbacks: {
      onAssigned: (tps: Array<{ topic: string; partition: number }>) => {
        for (const tp of tps) owned.add(`${tp.topic}:${tp.partition}`);
      },
      onRevoked: (tps: Array<{ topic: string; partition: number }>) => {
        for (const tp of tps) owned.delete(`${tp.topic}:${tp.partition}`);
      },
    },
  };
}

function counts<T>(items: T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return m;
}

// ---------------------------------------------------------------------------------- the suite

for (const h of [memoryHarness(), kafkaHarness(), redisStreamsHarness(runId)]) {
  describe(`fabric contract: ${h.name}`, { skip: h.skip }, () => {
    const cleanup: Array<() => Promise<void>> = [];
    const open = async () => {
      const f = await h.open();
      cleanup.push(() => f.close());
      return f;
    };

    /** Two members of one group (two fabric instances) subscribed to the same two 1-partition topics. */
    const twoMembersOfOneGroup = async () => {
      const n = names();
      const p1 = await open();
      const p2 = await open();
      const [ta, tb] = [n.topic('a'), n.topic('b')];
      await p1.ensureTopics([
        { name: ta, partitions: 1 },
        { name: tb, partitions: 1 },
      ]);
      const group = n.group('g');
      const [r1, r2] = [recorder(), recorder()];
      const [as1, as2] = [assignmentTracker(), assignmentTracker()];
      const m1 = await p1.subscribe({ group, topics: [ta, tb], handler: r1.handler, ...as1.callbacks });
      const m2 = await p2.subscribe({ group, topics: [ta, tb], handler: r2.handler, ...as2.callbacks });
      return { p1, p2, ta, tb, r1, r2, as1, as2, m1, m2 };
    };

    before(() => h.setup());
    after(async () => {
      for (const c of cleanup.reverse()) await c().catch(() => undefined);
      await h.dispose();
    });

    it('publish → consume round trip (key, value, headers, position, timestamp)', async () => {
      const n = names();
      const f = await open();
      const topic = n.topic('in');
      await f.ensureTopics([{ name: topic }]);
      const rec = recorder();
      const sub = await f.subscribe({ group: n.group('g'), topics: [topic], handler: rec.handler });
      const before = Date.now();
      await f.publish({ topic, key: 'router-1', value: '{"w":1}', headers: { schema: 'v1' } });
      await f.publishBatch([
        { topic, key: 'router-1', value: '{"w":2}' },
        { topic, key: 'router-1', value: '{"w":3}' },
      ]);
      await waitFor(() => rec.messages.length >= 3, h.patience, '3 messages');
      assert.deepEqual(rec.values(), ['{"w":1}', '{"w":2}', '{"w":3}']);
      const [first] = rec.messages;
      assert.equal(first!.topic, topic);
      assert.equal(first!.key, 'router-1');
      assert.deepEqual(first!.headers, { schema: 'v1' });
      assert.deepEqual(rec.messages[1]!.headers, {});
      assert.equal(typeof first!.partition, 'number');
      assert.match(first!.offset, /^\d+$/);
      assert.ok(BigInt(rec.messages[1]!.offset) > BigInt(first!.offset), 'offsets grow within a partition');
      assert.ok(Math.abs(first!.timestamp - before) < 60_000, `timestamp ${first!.timestamp} is about now`);
      await sub.close();
    });

    it('publishes objects given as json: consumers get the JSON text', async () => {
      const n = names();
      const f = await open();
      const topic = n.topic('json');
      await f.ensureTopics([{ name: topic }]);
      const rec = recorder();
      const sub = await f.subscribe({ group: n.group('g'), topics: [topic], handler: rec.handler });
      const reading = { router: 'r1', watts: 41.5, ports: [1, 2] };
      await f.publish({ topic, key: 'r1', json: reading });
      await f.publishBatch([{ topic, key: 'r1', json: { n: 2 } }, { topic, key: 'r1', value: '{"n":3}' }]);
      await waitFor(() => rec.messages.length >= 3, h.patience, '3 messages');
      assert.deepEqual(JSON.parse(rec.messages[0]!.value), reading);
      assert.deepEqual(rec.values().slice(1), ['{"n":2}', '{"n":3}']);
      // The in-process bus may also hand over the object itself; if it does, it is the same value.
      if (rec.messages[0]!.json !== undefined) assert.deepEqual(rec.messages[0]!.json, reading);
      await assert.rejects(f.publish({ topic, key: 'r1' }), /neither value nor json/);
      await sub.close();
    });

    it('keeps per-key order over 1,000 messages', async () => {
      const n = names();
      const f = await open();
      const topic = n.topic('ordered');
      await f.ensureTopics([{ name: topic, partitions: 3 }]);
      const keys = Array.from({ length: 10 }, (_, i) => `vehicle-${i}`);
      const msg = (i: number): OutgoingMessage => ({
        topic,
        key: keys[i % keys.length]!,
        value: JSON.stringify({ seq: Math.floor(i / keys.length) }),
      });
      // Half before the subscription (read from the beginning), half while consuming; some
      // one by one, most in batches.
      for (let i = 0; i < 20; i++) await f.publish(msg(i));
      for (let i = 20; i < 500; i += 120) await f.publishBatch(Array.from({ length: Math.min(120, 500 - i) }, (_, j) => msg(i + j)));
      const rec = recorder();
      const sub = await f.subscribe({ group: n.group('g'), topics: [topic], handler: rec.handler });
      for (let i = 500; i < 1000; i += 100) await f.publishBatch(Array.from({ length: 100 }, (_, j) => msg(i + j)));
      await waitFor(() => rec.messages.length >= 1000, h.patience, '1,000 messages');
      assert.equal(rec.messages.length, 1000, 'each message once');
      for (const key of keys) {
        const seqs = rec.messages.filter((m) => m.key === key).map((m) => (JSON.parse(m.value) as { seq: number }).seq);
        assert.deepEqual(seqs, Array.from({ length: 100 }, (_, i) => i), `order of ${key}`);
      }
      // Within a batch (which may span partitions), each partition's messages are in offset order.
      for (const b of rec.batches) {
        const last = new Map<number, bigint>();
        for (const m of b) {
          const prev = last.get(m.partition);
          assert.ok(prev === undefined || BigInt(m.offset) > prev, `offsets of partition ${m.partition} in order`);
          last.set(m.partition, BigInt(m.offset));
        }
      }
      await sub.close();
    });

    it('delivers a large publishBatch (3 MB) completely and in per-key order', async () => {
      const n = names();
      const f = await open();
      const topic = n.topic('big');
      await f.ensureTopics([{ name: topic, partitions: 2 }]);
      const pad = 'x'.repeat(2_000);
      await f.publishBatch(Array.from({ length: 1_500 }, (_, i) => ({ topic, key: `k${i % 10}`, value: `${i % 10}:${Math.floor(i / 10)}:${pad}` })));
      const rec = recorder();
      const sub = await f.subscribe({ group: n.group('g'), topics: [topic], handler: rec.handler });
      await waitFor(() => rec.messages.length >= 1_500, h.patience, '1,500 messages');
      for (let k = 0; k < 10; k++) {
        const seqs = rec.messages.filter((m) => m.key === `k${k}`).map((m) => Number(m.value.split(':')[1]));
        assert.deepEqual(seqs, Array.from({ length: 150 }, (_, i) => i), `order of k${k}`);
      }
      await sub.close();
    });

    it('stores every message of concurrent publishes (none lost, none rejected)', async () => {
      const n = names();
      const f = await open();
      const topic = n.topic('concurrent');
      await f.ensureTopics([{ name: topic, partitions: 2 }]);
      const sent: string[] = [];
      const calls: Array<Promise<void>> = [];
      for (let i = 0; i < 200; i++) {
        const value = `single-${i}`;
        sent.push(value);
        calls.push(f.publish({ topic, key: `k${i % 3}`, value }));
      }
      for (let b = 0; b < 10; b++) {
        const batch = Array.from({ length: 20 }, (_, i) => ({ topic, key: `k${i % 3}`, value: `batch-${b}-${i}` }));
        sent.push(...batch.map((m) => m.value));
        calls.push(f.publishBatch(batch));
      }
      await Promise.all(calls);
      const stored = (await f.readAll(topic)).map((m) => m.value);
      assert.equal(stored.length, 400);
      assert.deepEqual([...stored].sort(), [...sent].sort());
      // and a publish after them still works
      await f.publish({ topic, key: 'k0', value: 'after' });
      assert.equal((await f.readAll(topic)).length, 401);
    });

    it('two groups each get every message', async () => {
      const n = names();
      const f = await open();
      const topic = n.topic('fanout');
      await f.ensureTopics([{ name: topic, partitions: 2 }]);
      const a = recorder();
      const b = recorder();
      const subA = await f.subscribe({ group: n.group('a'), topics: [topic], handler: a.handler });
      const subB = await f.subscribe({ group: n.group('b'), topics: [topic], handler: b.handler });
      const sent = Array.from({ length: 50 }, (_, i) => `m${i}`);
      await f.publishBatch(sent.map((value, i) => ({ topic, key: `k${i % 7}`, value })));
      await waitFor(() => a.messages.length >= 50 && b.messages.length >= 50, h.patience, 'both groups have 50');
      assert.deepEqual([...a.values()].sort(), [...sent].sort());
      assert.deepEqual([...b.values()].sort(), [...sent].sort());
      await subA.close();
      await subB.close();
    });

    it('two members of one group split the topics and see each message exactly once', async () => {
      const { p1, ta, tb, r1, r2, as1, as2, m1, m2 } = await twoMembersOfOneGroup();
      await waitFor(() => as1.owned.size === 1 && as2.owned.size === 1 && new Set([...as1.owned, ...as2.owned]).size === 2, h.patience, 'one topic each');
      const sent: OutgoingMessage[] = [];
      for (let i = 0; i < 20; i++) sent.push({ topic: ta, key: `k${i % 3}`, value: `a${i}` }, { topic: tb, key: `k${i % 3}`, value: `b${i}` });
      await p1.publishBatch(sent);
      await waitFor(() => r1.messages.length + r2.messages.length >= 40, h.patience, '40 messages');
      await sleep(h.quiet);
      const all = [...r1.values(), ...r2.values()];
      assert.equal(all.length, 40, 'no duplicates in the happy path');
      assert.deepEqual([...new Set(all)].sort(), sent.map((m) => m.value).sort());
      // Each member only got messages of the topic it owns.
      assert.deepEqual(new Set(r1.messages.map((m) => m.topic)), as1.topics());
      assert.deepEqual(new Set(r2.messages.map((m) => m.topic)), as2.topics());
      await m1.close();
      await m2.close();
    });

    it('redelivers a failed batch (nothing lost) and does not commit it', async () => {
      const n = names();
      const f = await open();
      const topic = n.topic('flaky');
      await f.ensureTopics([{ name: topic, partitions: 1 }]);
      const sent = ['v0', 'v1', 'v2', 'v3', 'v4'];
      await f.publishBatch(sent.map((value) => ({ topic, key: 'r', value })));
      let allow = false;
      let failures = 0;
      const failedValues: string[] = [];
      const ok: string[] = [];
      const sub = await f.subscribe({
        group: n.group('g'),
        topics: [topic],
        handler: async (batch) => {
          if (!allow) {
            failures++;
            failedValues.push(...batch.map((m) => m.value));
            throw new Error('simulated handler failure');
          }
          ok.push(...batch.map((m) => m.value));
        },
      });
      await waitFor(() => failures >= 2, h.patience, 'two failed attempts');
      assert.equal(await sub.lag(), 5, 'the failing batch is not committed');
      assert.equal(ok.length, 0, 'nothing handled yet');
      allow = true;
      await waitFor(() => ok.length >= 5, h.patience, 'all 5 handled');
      assert.deepEqual(ok, sent, 'in order, none skipped');
      assert.ok(failedValues.every((v) => ok.includes(v)), 'every message of a failed batch came again');
      await waitFor(async () => (await sub.lag()) === 0, h.patience, 'lag 0 after the commit');
      await sub.close();
    });

    it('a failed batch of many topics is delivered again whole, in per-key order, and committed only after it succeeded', async () => {
      const n = names();
      const f = await open();
      // one-key topics, like the pipeline's per-router topics: batches span many of them
      const topics = Array.from({ length: 12 }, (_, i) => n.topic(`many${i}`));
      await f.ensureTopics(topics.map((name) => ({ name, partitions: 1 })));
      const sent = topics.flatMap((topic, i) => [0, 1, 2].map((k) => ({ topic, key: `r${i}`, value: `${i}:${k}` })));
      await f.publishBatch(sent);
      let allow = false;
      let failures = 0;
      const failedValues = new Set<string>();
      const ok: IncomingMessage[] = [];
      const sub = await f.subscribe({
        group: n.group('g'),
        topics,
        handler: async (batch) => {
          if (!allow) {
            failures++;
            for (const m of batch) failedValues.add(m.value);
            throw new Error('simulated handler failure');
          }
          ok.push(...batch);
        },
      });
      await waitFor(() => failures >= 2, h.patience, 'two failed attempts');
      assert.equal(await sub.lag(), sent.length, 'no failed batch is committed');
      allow = true;
      await waitFor(() => ok.length >= sent.length, h.patience, `all ${sent.length} handled`);
      assert.deepEqual(new Set(ok.map((m) => m.value)), new Set(sent.map((m) => m.value)), 'none lost');
      for (const topic of topics) {
        const values = ok.filter((m) => m.topic === topic).map((m) => Number(m.value.split(':')[1]));
        // in offset order; a redelivery may start over from an earlier message
        const inOrder = values.every((v, i) => i === 0 || v === values[i - 1]! + 1 || v <= values[i - 1]!);
        assert.ok(inOrder && values.includes(2), `${topic}: in order (${values.join(',')})`);
      }
      assert.ok([...failedValues].every((v) => ok.some((m) => m.value === v)), 'every message of a failed batch came again');
      await waitFor(async () => (await sub.lag()) === 0, h.patience, 'lag 0 after the commit');
      await sub.close();
    });

    it('a batch that keeps failing stays uncommitted: the next member of the group gets it', async () => {
      const n = names();
      const p1 = await open();
      const topic = n.topic('poison');
      const group = n.group('g');
      await p1.ensureTopics([{ name: topic, partitions: 1 }]);
      await p1.publishBatch(['x0', 'x1', 'x2'].map((value) => ({ topic, key: 'r', value })));
      let failures = 0;
      const sub1 = await p1.subscribe({
        group,
        topics: [topic],
        handler: async () => {
          failures++;
          throw new Error('always fails');
        },
      });
      await waitFor(() => failures >= 2, h.patience, 'two failed attempts');
      await sub1.close();
      await p1.close();
      const p2 = await open();
      const rec = recorder();
      const sub2 = await p2.subscribe({ group, topics: [topic], handler: rec.handler });
      await waitFor(() => rec.messages.length >= 3, h.patience, '3 messages');
      assert.deepEqual(rec.values(), ['x0', 'x1', 'x2']);
      await sub2.close();
    });

    it('when a member closes, the other takes over from the committed offset', async () => {
      const { p1, p2, ta, tb, r1, r2, as1, as2, m1, m2 } = await twoMembersOfOneGroup();
      await waitFor(() => as1.owned.size === 1 && as2.owned.size === 1, h.patience, 'one topic each');
      const batch = (from: number) =>
        Array.from({ length: 10 }, (_, i) => [
          { topic: ta, key: `k${i % 2}`, value: `a${from + i}` },
          { topic: tb, key: `k${i % 2}`, value: `b${from + i}` },
        ]).flat();
      await p1.publishBatch(batch(0));
      await waitFor(() => r1.messages.length + r2.messages.length >= 20, h.patience, 'first 20');
      const m1Topic = [...as1.topics()][0]!;
      await m1.close();
      await waitFor(() => as2.owned.size === 2, h.patience, 'member 2 owns both topics');
      await p2.publishBatch(batch(10));
      await waitFor(() => r1.messages.length + r2.messages.length >= 40, h.patience, 'all 40');
      await sleep(h.quiet);
      const all = [...r1.values(), ...r2.values()];
      const dupes = [...counts(all)].filter(([, c]) => c > 1);
      assert.deepEqual(dupes, [], 'no committed message is delivered again');
      assert.equal(new Set(all).size, 40);
      // Member 2 continued member 1's topic exactly where member 1 stopped.
      const taken = r2.messages.filter((m) => m.topic === m1Topic).map((m) => m.value);
      assert.deepEqual(taken, Array.from({ length: 10 }, (_, i) => `${m1Topic === ta ? 'a' : 'b'}${10 + i}`));
      await m2.close();
    });

    it('loses nothing while members join and leave under load (at-least-once)', async () => {
      const n = names();
      const topic = n.topic('churn');
      const group = n.group('g');
      const publisher = await open();
      await publisher.ensureTopics([{ name: topic, partitions: 4 }]);
      const delivered: string[] = [];
      const handler = async (batch: IncomingMessage[]) => {
        await sleep(2); // keep batches in flight while the group rebalances
        delivered.push(...batch.map((m) => m.value));
      };
      const p1 = await open();
      const m1 = await p1.subscribe({ group, topics: [topic], handler });
      const sent: string[] = [];
      let m2: Subscription | undefined;
      let m3: Subscription | undefined;
      for (let round = 0; round < 30; round++) {
        const batch = Array.from({ length: 50 }, (_, i) => {
          const seq = round * 50 + i;
          return { topic, key: `k${seq % 10}`, value: `k${seq % 10}:${seq}` };
        });
        await publisher.publishBatch(batch);
        sent.push(...batch.map((m) => m.value));
        if (round === 8) m2 = await (await open()).subscribe({ group, topics: [topic], handler });
        if (round === 16) await m1.close(); // leaves while its partitions have work queued
        if (round === 22) m3 = await (await open()).subscribe({ group, topics: [topic], handler });
        await sleep(10);
      }
      const missing = () => {
        const got = new Set(delivered);
        return sent.filter((v) => !got.has(v));
      };
      await waitFor(() => missing().length === 0, h.patience, 'every message delivered at least once');
      assert.deepEqual(missing(), []);
      await m2?.close();
      await m3?.close();
    });

    it('readAll returns the latest value per key of a compacted topic, and a whole plain topic', async () => {
      const n = names();
      const f = await open();
      const state = n.topic('state');
      const plain = n.topic('plain');
      await f.ensureTopics([
        { name: state, compacted: true },
        { name: plain, partitions: 1 },
      ]);
      for (const [key, value] of [
        ['r1', 'a'],
        ['r2', 'a'],
        ['r1', 'b'],
        ['r3', 'a'],
        ['r2', 'b'],
        ['r1', 'c'],
      ] as const) {
        await f.publish({ topic: state, key, value });
      }
      const latest = await f.readAll(state);
      assert.deepEqual(Object.fromEntries(latest.map((m) => [m.key, m.value])), { r1: 'c', r2: 'b', r3: 'a' });
      assert.equal(latest.length, 3);
      await f.publishBatch(['p0', 'p1', 'p2'].map((value) => ({ topic: plain, key: 'k', value })));
      assert.deepEqual((await f.readAll(plain)).map((m) => m.value), ['p0', 'p1', 'p2']);
      assert.deepEqual(await f.readAll(n.topic('does-not-exist')), []);
      // Reads up to the end at call time: a later message is not in an earlier snapshot.
      const snapshot = f.readAll(plain);
      const got = await snapshot;
      await f.publish({ topic: plain, key: 'k', value: 'p3' });
      assert.equal(got.length, 3);
      assert.equal((await f.readAll(plain)).length, 4);
    });

    it('readAll of chosen partitions reads only those; partitionsOf gives the counts; keys land where partitionOf says', async () => {
      const n = names();
      const f = await open();
      const state = n.topic('state');
      await f.ensureTopics([{ name: state, compacted: true, partitions: 4 }]);
      const count = (await f.partitionsOf([state])).get(state);
      // Kafka creates the 4 partitions; the in-process bus and Redis Streams have one per topic
      assert.equal(count, h.name === 'kafka' ? 4 : 1);
      const keys = Array.from({ length: 24 }, (_, i) => `router-${i}`);
      await f.publishBatch(keys.map((key) => ({ topic: state, key, value: `old-${key}` })));
      await f.publishBatch(keys.map((key) => ({ topic: state, key, value: `new-${key}` })));
      const all = await f.readAll(state);
      assert.equal(all.length, keys.length);
      // the publisher's partitioner and partitionOf agree (Kafka: the broker says where each record is)
      for (const m of all) assert.equal(m.partition, partitionOf(m.key, count!), m.key);
      const seen: string[] = [];
      for (let p = 0; p < count!; p++) {
        const part = await f.readAll(state, { partitions: [p] });
        assert.deepEqual(part.map((m) => m.key).sort(), keys.filter((k) => partitionOf(k, count!) === p).sort(), `partition ${p}`);
        assert.ok(part.every((m) => m.partition === p && m.value === `new-${m.key}`));
        seen.push(...part.map((m) => m.key));
      }
      assert.deepEqual(seen.sort(), [...keys].sort());
      assert.deepEqual(await f.readAll(state, { partitions: [] }), []);
      assert.deepEqual(await f.readAll(state, { partitions: [count!] }), [], 'a partition the topic does not have is skipped');
      assert.equal((await f.readAll(state, { partitions: [count! - 1, 0] })).length, keys.filter((k) => [0, count! - 1].includes(partitionOf(k, count!))).length);
      if (h.name === 'kafka') assert.equal((await f.partitionsOf([n.topic('does-not-exist')])).size, 0);
    });

    it('updateTopics adds (and removes) topics of a subscription', async () => {
      const n = names();
      const f = await open();
      const [ta, tb] = [n.topic('a'), n.topic('b')];
      await f.ensureTopics([{ name: ta }, { name: tb }]);
      const rec = recorder();
      const sub = await f.subscribe({ group: n.group('g'), topics: [ta], handler: rec.handler });
      await f.publish({ topic: ta, key: 'k', value: 'a1' });
      await f.publish({ topic: tb, key: 'k', value: 'b1' });
      await waitFor(() => rec.values().includes('a1'), h.patience, 'a1');
      await sleep(h.quiet);
      assert.ok(!rec.values().includes('b1'), 'not subscribed to b yet');
      await sub.updateTopics([ta, tb]);
      await f.publish({ topic: tb, key: 'k', value: 'b2' });
      await waitFor(() => rec.values().includes('b1') && rec.values().includes('b2'), h.patience, 'b1 and b2');
      await sub.updateTopics([tb]);
      await f.publish({ topic: ta, key: 'k', value: 'a2' });
      await f.publish({ topic: tb, key: 'k', value: 'b3' });
      await waitFor(() => rec.values().includes('b3'), h.patience, 'b3');
      await sleep(h.quiet);
      assert.ok(!rec.values().includes('a2'), 'a was removed');
      assert.deepEqual(counts(rec.values()).get('a1'), 1);
      await sub.close();
    });

    it('fromBeginning: false starts new partitions at their end (subscribe and updateTopics)', async () => {
      const n = names();
      const f = await open();
      const [ta, tb] = [n.topic('a'), n.topic('b')];
      await f.ensureTopics([{ name: ta }, { name: tb }]);
      await f.publish({ topic: ta, key: 'k', value: 'a-old' });
      await f.publish({ topic: tb, key: 'k', value: 'b-old' });
      const rec = recorder();
      const sub = await f.subscribe({ group: n.group('g'), topics: [ta], fromBeginning: false, handler: rec.handler });
      await f.publish({ topic: ta, key: 'k', value: 'a-new' });
      await waitFor(() => rec.values().includes('a-new'), h.patience, 'a-new');
      await sub.updateTopics([ta, tb]);
      await f.publish({ topic: tb, key: 'k', value: 'b-new' });
      await waitFor(() => rec.values().includes('b-new'), h.patience, 'b-new');
      await sleep(h.quiet);
      assert.deepEqual(rec.values(), ['a-new', 'b-new']);
      await sub.close();
    });

    it('lag() counts the messages not yet consumed', async () => {
      const n = names();
      const f = await open();
      const topic = n.topic('lag');
      await f.ensureTopics([{ name: topic, partitions: 2 }]);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let calls = 0;
      let handled = 0;
      const sub = await f.subscribe({
        group: n.group('g'),
        topics: [topic],
        handler: async (batch) => {
          calls++;
          await gate;
          handled += batch.length;
        },
      });
      assert.equal(await sub.lag(), 0);
      await f.publishBatch(Array.from({ length: 12 }, (_, i) => ({ topic, key: `k${i}`, value: `v${i}` })));
      await waitFor(() => calls > 0, h.patience, 'a batch in hand');
      assert.equal(await sub.lag(), 12);
      release();
      await waitFor(() => handled >= 12, h.patience, 'all handled');
      await waitFor(async () => (await sub.lag()) === 0, h.patience, 'lag 0');
      await sub.close();
    });

    it('a restarted consumer (new process, same group) resumes from the committed offset', async () => {
      const n = names();
      const topic = n.topic('resume');
      const group = n.group('g');
      const p1 = await open();
      await p1.ensureTopics([{ name: topic, partitions: 2 }]);
      const r1 = recorder();
      const sub1 = await p1.subscribe({ group, topics: [topic], handler: r1.handler });
      await p1.publishBatch(Array.from({ length: 10 }, (_, i) => ({ topic, key: `k${i % 4}`, value: `first-${i}` })));
      await waitFor(() => r1.messages.length >= 10, h.patience, 'first 10');
      await sub1.close();
      await p1.close();
      const p2 = await open();
      await p2.publishBatch(Array.from({ length: 5 }, (_, i) => ({ topic, key: `k${i % 4}`, value: `second-${i}` })));
      const r2 = recorder();
      const sub2 = await p2.subscribe({ group, topics: [topic], handler: r2.handler });
      await waitFor(() => r2.messages.length >= 5, h.patience, '5 new');
      await sleep(h.quiet);
      assert.deepEqual([...r2.values()].sort(), Array.from({ length: 5 }, (_, i) => `second-${i}`));
      await sub2.close();
    });
  });
}

/**
 * The in-process bus's memory budget (issue 11): one budget for all topics, consumed messages
 * released, unconsumed messages of topics nobody reads evicted (counted), and backpressure on
 * sources instead of growth when a consumer lags — without deadlocking stages that publish
 * while holding their input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { registry } from '../../src/core/metrics.js';
import type { IncomingMessage } from '../../src/fabric/fabric.js';
import { waitFor } from '../helpers/wait-for.js';


test('consumed messages are released at once (retainMessages 0): 3,000 topics hold nothing once their group has them', async () => {
  const bus = new MemoryFabric({ retainMessages: 0 });
  const topics = Array.from({ length: 3000 }, (_, i) => `TD_r${i}`);
  let got = 0;
  const sub = await bus.subscribe({ group: 'g', topics, handler: async (b) => void (got += b.length) });
  for (let round = 0; round < 5; round++) await bus.publishBatch(topics.map((topic) => ({ topic, key: topic, json: { round, counters: [1, 2, 3] } })));
  await waitFor(() => got === 15_000, 10_000, 'all messages consumed');
  assert.equal(bus.usedMessages, 0);
  assert.equal(bus.usedBytes, 0);
  await sub.close();
  await bus.close();
});

test('with two groups a message is released only once both have committed it', async () => {
  const bus = new MemoryFabric({ retainMessages: 0 });
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  let fast = 0;
  let slow = 0;
  const a = await bus.subscribe({ group: 'fast', topics: ['t'], handler: async (b) => void (fast += b.length) });
  const b = await bus.subscribe({ group: 'slow', topics: ['t'], handler: async (batch) => { await gate; slow += batch.length; } });
  for (let i = 0; i < 10; i++) await bus.publish({ topic: 't', key: 'k', value: `m${i}` });
  await waitFor(() => fast === 10, 5000, 'the fast group has its 10');
  assert.equal(bus.usedMessages, 10, 'the slow group has not committed: nothing released');
  release();
  await waitFor(() => slow === 10, 5000, 'the slow group has its 10');
  await waitFor(() => bus.usedMessages === 0, 2000, 'released after the slow group');
  await a.close();
  await b.close();
  await bus.close();
});

test('the budget is global: bytes are estimated from the JSON text and bounded across topics', async () => {
  const bus = new MemoryFabric({ retainMessages: 1000, maxMessages: 100_000, maxBytes: 2 * 1024 * 1024 });
  const payload = { text: 'x'.repeat(1000) };
  let got = 0;
  const topics = Array.from({ length: 500 }, (_, i) => `t${i}`);
  const sub = await bus.subscribe({ group: 'g', topics, handler: async (b) => void (got += b.length) });
  for (let round = 0; round < 20; round++) await bus.publishBatch(topics.map((topic) => ({ topic, key: 'k', json: payload })));
  await waitFor(() => got === 10_000, 10_000, 'consumed');
  // 10,000 messages of ≈ 1.2 KB were kept for readAll (retain 1000 per topic) but the bus
  // released consumed ones down to its 2 MiB budget
  assert.ok(bus.usedBytes <= 2 * 1024 * 1024, `used ${bus.usedBytes} bytes`);
  assert.ok(bus.usedBytes > 0);
  assert.equal(bus.evicted, 0, 'consumed messages are released, not counted as evicted');
  await sub.close();
  await bus.close();
});

test('messages of a topic nobody consumes are kept within the budget, then evicted and counted', async () => {
  const evictions: Array<{ topic: string; messages: number }> = [];
  const bus = new MemoryFabric({ maxMessages: 1000, onEvicted: (e) => evictions.push(e) });
  for (let i = 0; i < 1000; i++) await bus.publish({ topic: 'TD_r1.dlq', key: 'r1', value: `dead ${i}` });
  assert.equal((await bus.readAll('TD_r1.dlq')).length, 1000, 'kept while within budget');
  assert.equal(bus.evicted, 0);
  await bus.publish({ topic: 'TD_r1.dlq', key: 'r1', value: 'one too many' });
  assert.ok(bus.usedMessages <= 1000);
  assert.ok(bus.evicted >= 1);
  assert.equal(evictions[0]?.topic, 'TD_r1.dlq', 'the eviction is reported');
  await bus.close();
});

test('a compacted topic nobody subscribes to keeps only the latest value per key (readAll), not its log', async () => {
  const bus = new MemoryFabric({ retainMessages: 1000 });
  await bus.ensureTopics([{ name: 'state', compacted: true }]);
  for (let i = 0; i < 5000; i++) await bus.publish({ topic: 'state', key: `r${i % 10}`, value: String(i) });
  assert.equal(bus.usedMessages, 0);
  const all = await bus.readAll('state');
  assert.deepEqual(all.map((m) => m.value), ['4990', '4991', '4992', '4993', '4994', '4995', '4996', '4997', '4998', '4999']);
  assert.equal(bus.compactedKeys(), 10);
  assert.equal(bus.evicted, 0);
  await bus.close();
});

test('a lagging consumer: sources wait for capacity (backpressure), then everything arrives in order', async () => {
  const bus = new MemoryFabric({ maxMessages: 200, retainMessages: 0 });
  let open = false;
  const seen: number[] = [];
  const sub = await bus.subscribe({
    group: 'sink',
    topics: ['t'],
    handler: async (batch: IncomingMessage[]) => {
      await waitFor(() => open, 10_000, 'consumer opened');
      for (const m of batch) seen.push(Number(m.value));
    },
  });
  let accepted = 0;
  const source = (async () => {
    for (let i = 0; i < 1000; i++) {
      await bus.publish({ topic: 't', key: 'k', value: String(i) }, { waitForCapacity: true });
      accepted++;
    }
  })();
  await waitFor(() => bus.backpressureWaits > 0, 5000, 'the source to wait');
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(accepted <= 201, `the source kept publishing past the budget (${accepted} accepted)`);
  assert.ok(bus.usedMessages <= 201);
  open = true;
  await source;
  await waitFor(() => seen.length === 1000, 10_000, 'all consumed');
  assert.deepEqual(seen, Array.from({ length: 1000 }, (_, i) => i));
  assert.ok(bus.backpressureMs > 0);
  await sub.close();
  await bus.close();
});

test('a stage that publishes while holding its input never deadlocks on a full budget (only sources wait)', async () => {
  const bus = new MemoryFabric({ maxMessages: 100, retainMessages: 0, maxBatch: 50 });
  // source → stage (TD → TP, publishes inside its handler) → sink
  const stage = await bus.subscribe({
    group: 'stage',
    topics: ['TD'],
    handler: async (batch) => bus.publishBatch(batch.map((m) => ({ topic: 'TP', key: m.key, value: m.value }))),
  });
  const out: string[] = [];
  const sink = await bus.subscribe({ group: 'sink', topics: ['TP'], handler: async (batch) => { await new Promise((r) => setTimeout(r, 2)); for (const m of batch) out.push(m.value); } });
  for (let i = 0; i < 2000; i++) await bus.publish({ topic: 'TD', key: 'r', value: String(i) }, { waitForCapacity: true });
  await waitFor(() => out.length === 2000, 20_000, 'every message through the stage');
  assert.deepEqual(out.slice(0, 3), ['0', '1', '2']);
  assert.equal(out.at(-1), '1999');
  await stage.close();
  await sink.close();
  await bus.close();
});

test('a bus created with metrics exports its usage and budget in /metrics', async () => {
  const bus = new MemoryFabric({ metrics: true, maxMessages: 12345, maxBytes: 1_000_000 });
  await bus.publish({ topic: 'nobody', key: 'k', value: 'v' });
  const text = await registry.metrics();
  assert.match(text, /^wattflow_bus_messages 1$/m);
  assert.match(text, /^wattflow_bus_budget_messages 12345$/m);
  assert.match(text, /^wattflow_bus_budget_bytes 1000000$/m);
  assert.match(text, /^wattflow_bus_bytes \d+$/m);
  assert.match(text, /^wattflow_bus_evicted_messages_total 0$/m);
  assert.match(text, /^wattflow_bus_backpressure_waits_total 0$/m);
  await bus.close();
  assert.match(await registry.metrics(), /^wattflow_bus_messages 0$/m, 'a closed bus is no longer counted');
});

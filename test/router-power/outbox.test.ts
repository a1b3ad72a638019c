/**
 * The producer's outbox: while the broker refuses publishes, TD messages wait and are re-sent
 * in order once it accepts them again; bounded by age and size (dropped messages counted);
 * close() delivers what it can and counts the rest. The broker outage is a fault-injecting
 * wrapper around the in-process bus (publishes fail while `down`); the same behaviour on the
 * real broker, restarted, is covered by test/e2e/broker-restart.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import type { Fabric, OutgoingMessage } from '../../src/fabric/fabric.js';
import { Outbox } from '../../src/router-power/producer/outbox.js';
import { ExperimentSource, normalizeExperiment, BUNDLED_TEST_METRICS_DIR } from '../../src/router-power/experiment.js';
import { createProducer } from '../../src/router-power/producer/producer.js';
import type { TdMessage } from '../../src/router-power/messages.js';
import { silentLogger } from '../../src/core/logger.js';
import { registry } from '../../src/core/metrics.js';
import { waitFor } from '../helpers/wait-for.js';

/** The in-process bus, with an outage switch: while `down`, every publish rejects. */
class FlakyFabric {
  down = false;
  attempts = 0;
  constructor(readonly inner: MemoryFabric) {}
  fabric(): Fabric {
    const inner = this.inner;
    const check = () => {
      this.attempts++;
      if (this.down) throw new Error('broker not available (test outage)');
    };
    return Object.assign(Object.create(inner) as Fabric, {
      publish: async (m: OutgoingMessage) => (check(), inner.publish(m)),
      publishBatch: async (ms: OutgoingMessage[]) => (check(), inner.publishBatch(ms)),
    });
  }
}

const counterValue = async (name: string, labels = ''): Promise<number> => {
  const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(await registry.metrics());
  return Number(m?.[1] ?? 0);
};
const values = async (bus: MemoryFabric, topic: string) => (await bus.readAll(topic)).map((m) => m.value);

test('outbox: messages refused during an outage are re-sent in order once the broker is back; later ones wait behind them', async () => {
  const bus = new MemoryFabric();
  const flaky = new FlakyFabric(bus);
  const sent: string[] = [];
  const outbox = new Outbox({ fabric: flaky.fabric(), logger: silentLogger(), retryInitialMs: 20, retryMaxMs: 40, onSent: (ms) => sent.push(...ms.map((m) => String(m.value))) });
  outbox.send({ topic: 'TD', key: 'r1', value: '1' });
  await waitFor(() => outbox.pending === 0, 1000, 'first message sent');
  flaky.down = true;
  for (let i = 2; i <= 5; i++) outbox.send({ topic: 'TD', key: i % 2 ? 'r1' : 'r2', value: String(i) });
  assert.equal(outbox.pending, 4);
  await new Promise((r) => setTimeout(r, 150));
  assert.ok(flaky.attempts >= 1 + 3, `retried with backoff (${flaky.attempts} attempts)`);
  assert.deepEqual(await values(bus, 'TD'), ['1']);
  assert.equal(outbox.pending, 4, 'nothing given up');
  flaky.down = false;
  // a message sent while older ones still wait goes behind them, not ahead
  outbox.send({ topic: 'TD', key: 'r1', value: '6' });
  await waitFor(() => outbox.pending === 0, 2000, 'outbox drained');
  assert.deepEqual(await values(bus, 'TD'), ['1', '2', '3', '4', '5', '6']);
  assert.deepEqual(sent, ['1', '2', '3', '4', '5', '6'], 'onSent reports every message once');
  await outbox.close();
});

test('outbox: messages handed over together leave in one request; a lane never has two requests in flight', async () => {
  const bus = new MemoryFabric();
  let requests = 0;
  let concurrentPerKey = 0;
  const inFlightKeys = new Set<string>();
  const slow = Object.assign(Object.create(bus) as Fabric, {
    publishBatch: async (ms: OutgoingMessage[]) => {
      requests++;
      for (const m of ms) {
        if (inFlightKeys.has(m.key)) concurrentPerKey++;
        inFlightKeys.add(m.key);
      }
      await new Promise((r) => setTimeout(r, 30));
      for (const m of ms) inFlightKeys.delete(m.key);
      await bus.publishBatch(ms);
    },
  });
  const outbox = new Outbox({ fabric: slow, logger: silentLogger() });
  for (let i = 0; i < 50; i++) outbox.send({ topic: 'TD', key: `r${i}`, value: String(i) });
  await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < 50; i++) outbox.send({ topic: 'TD', key: `r${i}`, value: String(50 + i) }); // while the first request is in flight
  await waitFor(() => outbox.pending === 0, 2000, 'drained');
  assert.equal(requests, 2);
  assert.equal(concurrentPerKey, 0);
  const got = await values(bus, 'TD');
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => String(i)));
  await outbox.close();
});

test('outbox: bounded by age and size; the dropped messages are counted by reason', async () => {
  const bus = new MemoryFabric();
  const flaky = new FlakyFabric(bus);
  flaky.down = true;
  const full0 = await counterValue('wattflow_producer_outbox_dropped_total', '{reason="full"}');
  const expired0 = await counterValue('wattflow_producer_outbox_dropped_total', '{reason="expired"}');
  const outbox = new Outbox({ fabric: flaky.fabric(), logger: silentLogger(), maxMessages: 3, maxAgeMs: 1000, retryInitialMs: 50, retryMaxMs: 50 });
  for (let i = 1; i <= 5; i++) outbox.send({ topic: 'TD', key: 'r1', value: String(i) });
  assert.equal(outbox.pending, 3);
  assert.equal((await counterValue('wattflow_producer_outbox_dropped_total', '{reason="full"}')) - full0, 2);
  await new Promise((r) => setTimeout(r, 1200)); // older than maxAgeMs now
  flaky.down = false;
  outbox.send({ topic: 'TD', key: 'r1', value: '6' });
  await waitFor(() => outbox.pending === 0, 2000, 'outbox drained');
  assert.deepEqual(await values(bus, 'TD'), ['6'], 'the expired messages were not published late');
  assert.equal((await counterValue('wattflow_producer_outbox_dropped_total', '{reason="expired"}')) - expired0, 3);
  await outbox.close();
});

test('outbox: when full, the OLDEST waiting messages are dropped (across lanes), the newest kept and sent in order', async () => {
  const bus = new MemoryFabric();
  const flaky = new FlakyFabric(bus);
  flaky.down = true;
  const full0 = await counterValue('wattflow_producer_outbox_dropped_total', '{reason="full"}');
  const outbox = new Outbox({ fabric: flaky.fabric(), logger: silentLogger(), maxMessages: 3, retryInitialMs: 20, retryMaxMs: 20 });
  for (let i = 1; i <= 5; i++) outbox.send({ topic: 'TD', key: i % 2 ? 'r1' : 'r2', value: String(i) });
  assert.equal(outbox.pending, 3);
  await waitFor(() => flaky.attempts >= 1, 1000, 'a refused attempt');
  outbox.send({ topic: 'TD', key: 'r2', value: '6' }); // full again: 3 is now the oldest waiting
  assert.equal((await counterValue('wattflow_producer_outbox_dropped_total', '{reason="full"}')) - full0, 3);
  flaky.down = false;
  await waitFor(() => outbox.pending === 0, 2000, 'outbox drained');
  assert.deepEqual(await values(bus, 'TD'), ['4', '5', '6'], 'messages 1, 2 and 3 (the oldest) were dropped');
  await outbox.close();
});

test('outbox: close() delivers what it can in its time; what still cannot be published is counted', async () => {
  const bus = new MemoryFabric();
  const flaky = new FlakyFabric(bus);
  flaky.down = true;
  const outbox = new Outbox({ fabric: flaky.fabric(), logger: silentLogger(), retryInitialMs: 1000, retryMaxMs: 1000 });
  outbox.send({ topic: 'TD', key: 'r1', value: 'a' });
  setTimeout(() => (flaky.down = false), 100);
  await outbox.close(2000); // does not wait for the 1 s backoff
  assert.deepEqual(await values(bus, 'TD'), ['a']);

  const still = new FlakyFabric(bus);
  still.down = true;
  const shutdown0 = await counterValue('wattflow_producer_outbox_dropped_total', '{reason="shutdown"}');
  const stuck = new Outbox({ fabric: still.fabric(), logger: silentLogger() });
  stuck.send({ topic: 'TD', key: 'r1', value: 'b' });
  const t0 = Date.now();
  await stuck.close(300);
  assert.ok(Date.now() - t0 < 1500, 'close is bounded');
  assert.equal((await counterValue('wattflow_producer_outbox_dropped_total', '{reason="shutdown"}')) - shutdown0, 1);
});

test('producer: a broker outage of several ticks loses no TD message; every tick arrives, in order', async () => {
  const raw = {
    experiment_id: 'outage',
    flag_original_metrics: false,
    flag_debug_params: false,
    max_throughput_mbps: 100,
    polling_interval: 0.1,
    multiplier: 1,
    test_metrics_dir: BUNDLED_TEST_METRICS_DIR,
    routers: [{ r1: { topic: 'TD_r1', interfaces: ['eth2'], test_metrics: true } }, { r2: { topic: 'TD_r2', interfaces: ['eth2'], test_metrics: true } }],
  };
  const bus = new MemoryFabric();
  const flaky = new FlakyFabric(bus);
  const producer = createProducer({ fabric: flaky.fabric(), experiment: new ExperimentSource(normalizeExperiment(raw, 'outage')), logger: silentLogger(), outbox: { retryInitialMs: 20, retryMaxMs: 100 } });
  await producer.start!();
  await waitFor(async () => (await bus.readAll('TD_r1')).length >= 2, 3000, 'first messages');
  flaky.down = true;
  await new Promise((r) => setTimeout(r, 650)); // ~6 ticks refused
  flaky.down = false;
  await new Promise((r) => setTimeout(r, 400));
  await producer.stop!();
  for (const router of ['r1', 'r2']) {
    const ts = (await bus.readAll(`TD_${router}`)).map((m) => Number((m.json as TdMessage).epoch_timestamp));
    assert.ok(ts.length >= 12, `${router}: ${ts.length} messages`);
    for (let i = 1; i < ts.length; i++) assert.ok(Math.abs(ts[i]! - ts[i - 1]! - 0.1) < 1e-6, `${router}: tick ${i} follows tick ${i - 1} (${ts[i - 1]} → ${ts[i]})`);
  }
});

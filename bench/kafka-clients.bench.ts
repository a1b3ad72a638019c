/**
 * Kafka client figures against a real broker (KAFKA_BROKERS; prints a skip line without it),
 * for docs/kafka-client-choice.md. Measures the chosen client, @platformatic/kafka, directly and
 * through the fabric adapter (KafkaFabric) built on it:
 *
 *  - produce throughput: ~1 KB JSON messages, acks = all, idempotent producer, batches of 100
 *    sent one after the other (and one message per send; through the fabric also 16 concurrent
 *    callers);
 *  - consume throughput: a new group reading the produced messages from the beginning;
 *  - produce→consume latency, one message at a time (send, wait until the consumer has it,
 *    next): p50/p99 of the publish acknowledgement and of end-to-end delivery.
 *
 * The same measurements for KafkaJS run from a scratch directory outside the repository (the
 * project does not depend on KafkaJS); see the document for the script and its figures.
 *
 * Env: KAFKA_BROKERS, BENCH_MESSAGES (20000), BENCH_LATENCY_SAMPLES (2000), BENCH_PARTITIONS (3).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  Admin,
  Consumer,
  MessagesStreamModes,
  Producer,
  ProduceAcks,
  compatibilityPartitioner,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { silentLogger } from '../src/core/logger.js';
import { createKafkaFabric } from '../src/fabric/kafka/kafka-fabric.js';
import { removeBenchTopics } from './kafka-cleanup.js';

const brokersEnv = process.env.KAFKA_BROKERS?.trim();
if (!brokersEnv) {
  console.log('skip: KAFKA_BROKERS not set (start a broker with scripts/services/kafka.sh and export KAFKA_BROKERS)');
  process.exit(0);
}
const brokers = brokersEnv.split(',').map((b) => b.trim());
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 2_000);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 3);
const BATCH = 100;
const SINGLE = Math.min(2_000, MESSAGES);
const run = `bench-kc-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;

/** A ~1 KB JSON telemetry-like message (same generator as the KafkaJS script). */
function message(i: number): { key: string; value: string } {
  const router = `router-${i % 100}`;
  const body = {
    router,
    seq: i,
    ts: 1_700_000_000_000 + i,
    interfaces: { eth2: { rx_bytes: i * 1500, tx_bytes: i * 1400, rx_packets: i, tx_packets: i } },
    power_w: 41.5 + (i % 10) / 10,
    pad: '',
  };
  const base = JSON.stringify(body).length;
  body.pad = 'x'.repeat(Math.max(0, 1024 - base));
  return { key: router, value: JSON.stringify(body) };
}
const payloads = Array.from({ length: MESSAGES }, (_, i) => message(i));
const msgBytes = payloads[0]!.value.length;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const results: Record<string, Record<string, number>> = {};
function report(name: string, figures: Record<string, number>) {
  results[name] = figures;
  const parts = Object.entries(figures).map(([k, v]) => `${k}=${fmt(v, k.endsWith('ms') ? 2 : 0)}`);
  console.log(`${name.padEnd(44)} ${parts.join('  ')}`);
}

/** Waits for ids delivered by a consumer; resolves the matching waiter. */
function deliveries() {
  const waiters = new Map<string, (t: number) => void>();
  return {
    deliver(id: string) {
      const w = waiters.get(id);
      if (w) {
        waiters.delete(id);
        w(performance.now());
      }
    },
    wait(id: string, timeoutMs: number): Promise<number | undefined> {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters.delete(id);
          resolve(undefined);
        }, timeoutMs);
        waiters.set(id, (t) => {
          clearTimeout(timer);
          resolve(t);
        });
      });
    },
  };
}

/** One message at a time: ack latency and end-to-end latency percentiles. */
async function latency(
  name: string,
  send: (id: string, value: string) => Promise<void>,
  d: ReturnType<typeof deliveries>,
) {
  const ack: number[] = [];
  const e2e: number[] = [];
  // warm-up: until deliveries flow (the consumer may still be positioning), then 50 more
  let warm = 0;
  for (let i = 0; warm < 50; i++) {
    const id = `w${i}`;
    const got = d.wait(id, 3_000);
    await send(id, JSON.stringify({ id, ...JSON.parse(payloads[i % MESSAGES]!.value) }));
    if ((await got) !== undefined) warm++;
    if (i > 500) throw new Error(`${name}: no deliveries during warm-up`);
  }
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const id = `m${i}`;
    const value = JSON.stringify({ id, ...JSON.parse(payloads[i % MESSAGES]!.value) });
    const got = d.wait(id, 10_000);
    const t0 = performance.now();
    await send(id, value);
    ack.push(performance.now() - t0);
    const t1 = await got;
    if (t1 === undefined) throw new Error(`${name}: message ${id} not delivered within 10 s`);
    e2e.push(t1 - t0);
  }
  ack.sort((a, b) => a - b);
  e2e.sort((a, b) => a - b);
  report(name, {
    samples: LATENCY_SAMPLES,
    ack_p50_ms: pct(ack, 50),
    ack_p99_ms: pct(ack, 99),
    e2e_p50_ms: pct(e2e, 50),
    e2e_p99_ms: pct(e2e, 99),
  });
}

/** The installed client's version (its package.json is not in the package's exports). */
function clientVersion(): string {
  const pkg = new URL('../package.json', import.meta.resolve('@platformatic/kafka'));
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

const idOf = (value: string) => {
  const m = /^\{"id":"([^"]+)"/.exec(value);
  return m ? m[1]! : '';
};

const admin = new Admin({ clientId: `${run}-admin`, bootstrapBrokers: brokers });
const topics = {
  rawThroughput: `${run}.raw-tp`,
  rawLatency: `${run}.raw-lat`,
  fabThroughput: `${run}.fab-tp`,
  fabLatency: `${run}.fab-lat`,
};

async function platformaticRaw() {
  const producer = new Producer({
    clientId: `${run}-producer`,
    bootstrapBrokers: brokers,
    idempotent: true,
    acks: ProduceAcks.ALL,
    serializers: stringSerializers,
    partitioner: compatibilityPartitioner,
  });
  // produce throughput: batches of 100, one send at a time
  let t0 = performance.now();
  for (let i = 0; i < MESSAGES; i += BATCH) {
    await producer.send({ messages: payloads.slice(i, i + BATCH).map((p) => ({ topic: topics.rawThroughput, ...p })) });
  }
  let s = (performance.now() - t0) / 1000;
  report('platformatic: produce, batches of 100', { msg_per_s: MESSAGES / s, MB_per_s: (MESSAGES * msgBytes) / s / 1e6 });
  t0 = performance.now();
  for (let i = 0; i < SINGLE; i++) await producer.send({ messages: [{ topic: topics.rawThroughput, ...payloads[i]! }] });
  s = (performance.now() - t0) / 1000;
  report('platformatic: produce, 1 message per send', { msg_per_s: SINGLE / s });

  // consume throughput: a new group from the beginning
  const total = MESSAGES + SINGLE;
  const consumer = new Consumer({
    clientId: `${run}-consumer`,
    groupId: `${run}-raw-tp`,
    bootstrapBrokers: brokers,
    deserializers: stringDeserializers,
    maxWaitTime: 500,
  });
  let n = 0;
  let first = 0;
  const done = new Promise<void>((resolve) => {
    void consumer.consume({ topics: [topics.rawThroughput], mode: MessagesStreamModes.EARLIEST, autocommit: true }).then((stream) =>
      stream.on('data', () => {
        if (n++ === 0) first = performance.now();
        if (n === total) resolve();
      }),
    );
  });
  await done;
  s = (performance.now() - first) / 1000;
  report('platformatic: consume (new group, from start)', { msg_per_s: total / s });
  await consumer.close(true);

  // latency, one message at a time
  const d = deliveries();
  const lc = new Consumer({
    clientId: `${run}-lat`,
    groupId: `${run}-raw-lat`,
    bootstrapBrokers: brokers,
    deserializers: stringDeserializers,
    maxWaitTime: 500,
  });
  const stream = await lc.consume({ topics: [topics.rawLatency], mode: MessagesStreamModes.LATEST, autocommit: true });
  stream.on('data', (m) => d.deliver(idOf(m.value)));
  await latency(
    'platformatic: produce→consume latency',
    async (id, value) => void (await producer.send({ messages: [{ topic: topics.rawLatency, key: `router-${id.length % 100}`, value }] })),
    d,
  );
  await lc.close(true);
  await producer.close();
}

async function fabric() {
  const f = createKafkaFabric({ brokers, clientId: `${run}-fabric`, logger: silentLogger() });
  let t0 = performance.now();
  for (let i = 0; i < MESSAGES; i += BATCH) {
    await f.publishBatch(payloads.slice(i, i + BATCH).map((p) => ({ topic: topics.fabThroughput, ...p })));
  }
  let s = (performance.now() - t0) / 1000;
  report('KafkaFabric: publishBatch of 100', { msg_per_s: MESSAGES / s, MB_per_s: (MESSAGES * msgBytes) / s / 1e6 });
  t0 = performance.now();
  for (let i = 0; i < SINGLE; i++) await f.publish({ topic: topics.fabThroughput, ...payloads[i]! });
  s = (performance.now() - t0) / 1000;
  report('KafkaFabric: publish, 1 message per call', { msg_per_s: SINGLE / s });
  // 16 callers publishing one message at a time each, concurrently (as partition workers do):
  // the fabric sends one request at a time and merges what queued up meanwhile. (The raw
  // client cannot be measured this way: concurrent idempotent sends lose messages.)
  const CALLERS = 16;
  t0 = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, c) => {
      for (let i = c; i < SINGLE; i += CALLERS) await f.publish({ topic: topics.fabThroughput, ...payloads[i]! });
    }),
  );
  s = (performance.now() - t0) / 1000;
  report('KafkaFabric: publish, 16 concurrent callers', { msg_per_s: SINGLE / s });

  const total = MESSAGES + 2 * SINGLE;
  let n = 0;
  let first = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const sub = await f.subscribe({
    group: `${run}-fab-tp`,
    topics: [topics.fabThroughput],
    handler: async (batch) => {
      if (n === 0) first = performance.now();
      n += batch.length;
      if (n >= total) resolveDone();
    },
  });
  await done;
  s = (performance.now() - first) / 1000;
  report('KafkaFabric: consume (handler + commit per batch)', { msg_per_s: total / s });
  await sub.close();

  const d = deliveries();
  const ls = await f.subscribe({
    group: `${run}-fab-lat`,
    topics: [topics.fabLatency],
    fromBeginning: false,
    handler: async (batch) => {
      for (const m of batch) d.deliver(idOf(m.value));
    },
  });
  await latency('KafkaFabric: publish→handler latency', (id, value) => f.publish({ topic: topics.fabLatency, key: `router-${id.length % 100}`, value }), d);
  await ls.close();
  await f.close();
}

try {
  await admin.createTopics({ topics: Object.values(topics), partitions: PARTITIONS, replicas: -1 });
  // a new partition's leader can answer NOT_LEADER for a moment after creation
  await new Promise((r) => setTimeout(r, 500));
  console.log(
    `@platformatic/kafka ${clientVersion()}, ` +
      `Node ${process.version}, brokers ${brokers.join(',')}, ${PARTITIONS} partitions, message ${msgBytes} B, acks=all, idempotent`,
  );
  await platformaticRaw();
  await fabric();
  console.log(`json ${JSON.stringify(results)}`);
} finally {
  await admin.close();
  await removeBenchTopics(brokers, Object.values(topics), run);
}

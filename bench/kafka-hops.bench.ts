/**
 * The floor under `kafka-pipeline`: the same hops through the real broker with no stage code at
 * all. A chain of HOPS stages on the Kafka fabric (default 2, as processor and inference between
 * the producer and a consumer of the ML topic), each a consumer group that
 * republishes every message of a batch (one publishBatch) to the next topic, fed with BATCH
 * messages every SLOT_MS ms (the pipeline's 1000 routers/s in 10 ms poll slots by default), and a
 * measuring consumer at the end. Prints latency per hop and end to end (p50/p99/max), and how
 * late a bare 2 ms timer fires in this process meanwhile (the machine's scheduling floor: every
 * hop waits for a few such wake-ups). Needs KAFKA_BROKERS; prints a skip line without it.
 *
 * BENCH_HOPS (2), BENCH_BATCH (10), BENCH_SLOT_MS (10), BENCH_SECONDS (20), BENCH_WARMUP (5).
 * BENCH_VALUE_BYTES (0): filler per record, to give the records the pipeline's size.
 * BENCH_WARMUP_SLOT_MS: during the warm-up, feed BATCH messages every this many ms instead of
 * SLOT_MS (e.g. 10 before a 1000 ms run; until 1 s before the measurement), so that V8 has compiled the hot paths of client and
 * feed before a low-rate measurement (docs/performance.md, "What a low-load hop is made of").
 * BENCH_TOPICS_PER_HOP (1): topics per hop, message of key r<k> on topic k mod N — with 1000,
 * the floor under the per-router layout (one topic per router and stage; 3000+ topics).
 * BENCH_HOPS_PROCESSES=1: the feed and each stage run in a process of their own (this file again,
 * with BENCH_HOPS_ROLE), as the pipeline's roles do when deployed; this process only measures.
 * Per hop it then prints publish → next publish (the stages' receive times stay in their processes).
 */
// first, as in the CLI: the V8 heap settings the roles run with
import '../src/core/heap-tuning.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createKafkaFabric } from '../src/fabric/kafka/kafka-fabric.js';
import { silentLogger } from '../src/core/logger.js';
import { removeBenchTopics } from './kafka-cleanup.js';
import { benchNumber, kafkaBrokersOrSkip } from './bench-env.js';

const brokers = kafkaBrokersOrSkip('kafka-hops');
const HOPS = benchNumber('BENCH_HOPS', 2);
const BATCH = benchNumber('BENCH_BATCH', 10);
const SLOT_MS = benchNumber('BENCH_SLOT_MS', 10);
const SECONDS = benchNumber('BENCH_SECONDS', 20);
const WARMUP = benchNumber('BENCH_WARMUP', 5);
const PER_HOP = benchNumber('BENCH_TOPICS_PER_HOP', 1);
const WARMUP_SLOT_MS = benchNumber('BENCH_WARMUP_SLOT_MS', 0);
/** Filler per message (bytes): BENCH_VALUE_BYTES=850 makes the records as large as a TD/TP message. */
const PAD = 'x'.repeat(benchNumber('BENCH_VALUE_BYTES', 0));
const encode = (marks: number[]) => JSON.stringify({ marks, pad: PAD });
const decode = (value: string) => (JSON.parse(value) as { marks: number[] }).marks;

/** BENCH_HOPS_ROLE (set for the child processes of BENCH_HOPS_PROCESSES=1): `feed` or `stage<i>`. */
const ROLE = process.env.BENCH_HOPS_ROLE;
const PROCESSES = process.env.BENCH_HOPS_PROCESSES === '1';
const run = process.env.BENCH_HOPS_RUN ?? `bench-hops-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
const fabric = await createKafkaFabric({ brokers: brokers.split(','), clientId: ROLE ? `${run}-${ROLE}` : run, logger: silentLogger() });
/** topicsOf[hop][k]: the hop's k-th topic (one per router with BENCH_TOPICS_PER_HOP=1000). */
const topicsOf = Array.from({ length: HOPS + 1 }, (_, i) => Array.from({ length: PER_HOP }, (_, k) => (PER_HOP === 1 ? `${run}-${i}` : `${run}-${i}-r${k}`)));
const topics = topicsOf.flat();
const topicOf = (hop: number, key: string) => topicsOf[hop]![Number(key.slice(1)) % PER_HOP]!;
const now = () => performance.timeOrigin + performance.now();
/** per message: the time it was published at each stage, then received at the end */
const hopLatency: number[][] = Array.from({ length: HOPS + 1 }, () => []);
const total: number[] = [];
let measuring = false;

/** Stage i: republishes every message of a batch to the next hop's topic, with its publish time appended. */
const startStage = (i: number) =>
  fabric.subscribe({
    group: `${run}-stage${i}`,
    topics: topicsOf[i]!,
    fromBeginning: true,
    handler: async (batch) => {
      const t = now();
      await fabric.publishBatch(
        batch.map((m) => {
          const marks = decode(m.value);
          if (measuring) hopLatency[i]!.push(t - marks.at(-1)!);
          return { topic: topicOf(i + 1, m.key), key: m.key, value: encode([...marks, now()]) };
        }),
      );
    },
  });

// the feed: BATCH keyed messages per slot, on a drift-free grid (every WARMUP_SLOT_MS until the warm-up ends)
let feeding = true;
let warmingUp = WARMUP_SLOT_MS > 0;
const startFeed = () => {
  let n = 0;
  let feedStart = now();
  let slot = 0;
  const feed = () => {
    if (!feeding) return;
    const t = now();
    void fabric.publishBatch(
      Array.from({ length: BATCH }, () => {
        const key = `r${n++ % 1000}`;
        return { topic: topicOf(0, key), key, value: encode([t]) };
      }),
    );
    slot++;
    if (warmingUp) {
      // fast until 1 s before the measurement starts, so that no fast message is still in flight then
      if (now() - feedStart < (WARMUP - 1) * 1000) return void setTimeout(feed, WARMUP_SLOT_MS);
      // the grid of the measured rate starts one slot from now
      warmingUp = false;
      feedStart = now();
      slot = 1;
    }
    setTimeout(feed, Math.max(0, feedStart + slot * SLOT_MS - now()));
  };
  feed();
};

if (ROLE) {
  // a child of BENCH_HOPS_PROCESSES=1: runs its part until SIGTERM
  if (ROLE === 'feed') startFeed();
  else await startStage(Number(ROLE.slice('stage'.length)));
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  feeding = false;
  await fabric.close();
  process.exit(0);
}

const t0 = Date.now();
await fabric.ensureTopics(topics.map((name) => ({ name })));
if (PER_HOP > 1) console.log(`kafka-hops: ${topics.length} topics ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
let received = 0;
await fabric.subscribe({
  group: `${run}-measure`,
  topics: topicsOf[HOPS]!,
  fromBeginning: true,
  handler: async (batch) => {
    const t = now();
    received += batch.length;
    for (const m of batch) {
      const marks = decode(m.value);
      if (!measuring) continue;
      // in processes, hop i's time is publish → next publish (the receive times are in the children)
      if (PROCESSES) for (let i = 0; i < HOPS; i++) hopLatency[i]!.push(marks[i + 1]! - marks[i]!);
      hopLatency[HOPS]!.push(t - marks.at(-1)!);
      total.push(t - marks[0]!);
    }
  },
});
const children: ChildProcess[] = [];
if (PROCESSES) {
  const spawnRole = (role: string) =>
    children.push(
      spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { env: { ...process.env, BENCH_HOPS_ROLE: role, BENCH_HOPS_RUN: run }, stdio: ['ignore', 'inherit', 'inherit'] }),
    );
  for (let i = 0; i < HOPS; i++) spawnRole(`stage${i}`);
  spawnRole('feed');
  // the warm-up counts from the first message through every hop (the children take a while to start)
  const firstBy = Date.now() + 120_000;
  while (received === 0 && Date.now() < firstBy) await new Promise((r) => setTimeout(r, 50));
  if (received === 0) throw new Error('kafka-hops: no message through the hops within 120 s of starting the processes');
} else {
  for (let i = 0; i < HOPS; i++) await startStage(i);
  startFeed();
}

// the scheduling floor: lateness of a bare 2 ms timer in this process
const lateness: number[] = [];
let last = now();
const probe = setInterval(() => {
  const t = now();
  if (measuring) lateness.push(Math.max(0, t - last - 2));
  last = t;
}, 2);

await new Promise((r) => setTimeout(r, WARMUP * 1000));
measuring = true;
await new Promise((r) => setTimeout(r, SECONDS * 1000));
measuring = false;
feeding = false;
clearInterval(probe);
await Promise.all(children.map((c) => new Promise((r) => (c.once('exit', r), c.kill('SIGTERM')))));

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN).toFixed(1);
};
const describe = (xs: number[]) => `p50 ${pct(xs, 50)} / p99 ${pct(xs, 99)} / max ${pct(xs, 100)} ms`;
console.log(
  `kafka-hops: ${HOPS} hops, ${BATCH} messages every ${SLOT_MS} ms (${((BATCH * 1000) / SLOT_MS).toFixed(0)} msg/s), ${PER_HOP} topic${PER_HOP > 1 ? 's' : ''} per hop, ` +
    `${PROCESSES ? 'feed and each stage in a process of their own' : 'all in this process'}, ${total.length} measured (${(total.length / SECONDS).toFixed(0)} msg/s)`,
);
const hopName = (i: number) => (i === HOPS ? 'publish → measuring consumer' : PROCESSES ? `publish → stage ${i + 1}'s publish` : `publish → stage ${i + 1}`);
for (let i = 0; i <= HOPS; i++) console.log(`kafka-hops: hop ${i + 1} (${hopName(i)}): ${describe(hopLatency[i]!)}`);
console.log(`kafka-hops: end to end (${HOPS + 1} publishes and deliveries): ${describe(total)}`);
console.log(`kafka-hops: a bare 2 ms timer in this process fires late by ${describe(lateness)}`);
await fabric.close();
await removeBenchTopics(brokers.split(','), topics, run);

/**
 * Where a Kafka hop's time goes at low load (issue 16): the reference setup's 7 routers, one
 * poll a second, TD → processor → inference → a measuring consumer, all in this process on the
 * real broker. Prints `epoch_timestamp` → ML consumed (mean, p50, p99), each step of a poll's
 * path (publish called → acknowledged → next stage's handler → its publish …) as p50/mean, and
 * the round trip of each Kafka request type; then runs `kafka-hops` with the same load and hops
 * and no stage code (7 messages a second, 2 stages) as the floor, in the same run.
 *
 * BENCH_ROUTERS (7), BENCH_SECONDS (30), BENCH_WARMUP (10), BENCH_TOPICS=shared (default: one topic per router and
 * stage, the reference's layout), BENCH_SKIP_FLOOR=1. Needs KAFKA_BROKERS.
 */
// first, as in the CLI: the V8 heap settings the roles run with
import '../src/core/heap-tuning.js';
import { tracingChannel } from 'node:diagnostics_channel';
import { createKafkaFabric } from '../src/fabric/kafka/kafka-fabric.js';
import type { Fabric } from '../src/fabric/fabric.js';
import { silentLogger } from '../src/core/logger.js';
import { ExperimentSource, normalizeExperiment } from '../src/router-power/experiment.js';
import { buildTd } from '../src/router-power/producer/build-td.js';
import { testPeriodFamilies } from '../src/router-power/producer/test-metrics.js';
import { createProcessor } from '../src/router-power/processor/processor.js';
import { createInference } from '../src/router-power/inference/inference.js';
import { DummyPredictors } from '../src/router-power/inference/dummy-predictor.js';
import { removeBenchTopics } from './kafka-cleanup.js';
import { runKafkaHopsFloor } from './kafka-hops-floor.js';

const brokersEnv = process.env.KAFKA_BROKERS;
if (!brokersEnv) {
  console.log('hop-breakdown: skipped (KAFKA_BROKERS not set; start Kafka with scripts/services/kafka.sh)');
  process.exit(0);
}
const brokers = brokersEnv.split(',');
const ROUTERS = Number(process.env.BENCH_ROUTERS ?? 7);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const SHARED = process.env.BENCH_TOPICS === 'shared';
/**
 * Warm-up (s): groups joined, connections open, code compiled — and every new partition past its
 * first offset-index entry. The broker writes one per 4 KB appended (`index.interval.bytes`) into
 * a preallocated, memory-mapped sparse file; on this machine's disk that first write stalls the
 * produce 30–45 ms (a broker on tmpfs does not), i.e. at the 4th–5th poll of a fresh topic.
 */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10);
const logger = silentLogger();
const run = `bench_hb_${Date.now().toString(36)}`;
const raw = {
  experiment_id: 'hop-breakdown',
  flag_original_metrics: false,
  flag_debug_params: true,
  max_throughput_mbps: 100,
  polling_interval: 1,
  multiplier: 1,
  topics: SHARED ? { processed: `${run}_TP`, predictions: `${run}_ML` } : { processed: `${run}_TP_{router}`, predictions: `${run}_ML_{router}` },
  routers: Array.from({ length: ROUTERS }, (_, i) => ({ [`r${i}`]: { topic: SHARED ? `${run}_TD` : `${run}_TD_r${i}`, interfaces: ['eth2', 'eth3'], test_metrics: true } })),
};
const exp = normalizeExperiment(raw, 'hop-breakdown');
const source = new ExperimentSource({ ...exp, source: '' });
const now = () => performance.timeOrigin + performance.now();
let measuring = false;

/** Round trip of each Kafka request type (the client's diagnostics channel). */
const API_NAMES: Record<number, string> = { 0: 'Produce', 1: 'Fetch', 3: 'Metadata', 8: 'OffsetCommit', 12: 'Heartbeat' };
const roundTrips = new Map<string, number[]>();
const started = new WeakMap<object, number>();
const noop = () => undefined;
tracingChannel('plt:kafka:connections:api').subscribe({
  start: (ctx: unknown) => void started.set(ctx as object, now()),
  asyncEnd: (ctx: unknown) => {
    const t = started.get(ctx as object);
    if (!measuring || t === undefined) return;
    const name = API_NAMES[(ctx as { apiKey: number }).apiKey] ?? `api ${(ctx as { apiKey: number }).apiKey}`;
    let list = roundTrips.get(name);
    if (!list) roundTrips.set(name, (list = []));
    list.push(now() - t);
  },
  end: noop,
  asyncStart: noop,
  error: noop,
});

/** The events of each poll, in order: [step, time]. */
const polls: Array<Array<[string, number]>> = [];
const mark = (step: string) => {
  if (measuring) polls.at(-1)?.push([step, now()]);
};
/** Marks when `who` publishes, is acknowledged, and when its handlers are called. */
function observed(fabric: Fabric, who: string): Fabric {
  const publishBatch = fabric.publishBatch.bind(fabric);
  fabric.publishBatch = async (messages, options) => {
    mark(`${who} publish`);
    await publishBatch(messages, options);
    mark(`${who} acknowledged`);
  };
  const subscribe = fabric.subscribe.bind(fabric);
  fabric.subscribe = (o) =>
    subscribe({
      ...o,
      handler: (batch) => {
        mark(`${o.group.replace(`${run}-`, '')} handler`);
        return o.handler(batch);
      },
    });
  return fabric;
}

const producerSide = observed(createKafkaFabric({ brokers, clientId: `${run}-producer`, logger }), 'producer');
const stages = observed(createKafkaFabric({ brokers, clientId: `${run}-stages`, logger }), 'stage');
const measure = createKafkaFabric({ brokers, clientId: `${run}-measure`, logger });
const topics = [...new Set(exp.routers.flatMap((r) => [r.topic, exp.tpTopic(r.id), exp.mlTopic(r.id)]))];
await producerSide.ensureTopics(topics.map((name) => ({ name })));
const dummies = new DummyPredictors();
const processor = createProcessor({ fabric: stages, experiment: source, logger, group: `${run}-processor`, stateTopic: `${run}_state` });
const inference = createInference({ fabric: stages, experiment: source, logger, resolve: (r) => dummies.get(r.routerType), group: `${run}-inference` });
const latencies: number[] = [];
const sub = await measure.subscribe({
  group: `${run}-measure`,
  topics: [...new Set(exp.routers.map((r) => exp.mlTopic(r.id)))],
  fromBeginning: false,
  handler: async (batch) => {
    const t = now();
    if (!measuring) return;
    mark('measure handler');
    for (const m of batch) latencies.push(t - Number((JSON.parse(m.value) as { epoch_timestamp: string }).epoch_timestamp) * 1000);
  },
});
await processor.start!();
await inference.start!();
let poll = 0;
const tick = () => {
  const t = now();
  polls.push([['poll', t]]);
  const messages = exp.routers.map((router) => ({
    topic: router.topic,
    key: router.id,
    json: buildTd({
      router,
      experiment: exp,
      nodeExporter: `${router.id}:9100`,
      readAtMs: t,
      collectedAtMs: t,
      families: testPeriodFamilies({ bytes: 12_500_000 * (poll + 1), packets: 10_417 * (poll + 1) }, router.interfaces),
    }),
  }));
  poll++;
  void producerSide.publishBatch(messages);
};
const timer = setInterval(tick, 1000);
await new Promise((r) => setTimeout(r, WARMUP * 1000));
polls.length = 0;
measuring = true;
await new Promise((r) => setTimeout(r, SECONDS * 1000));
measuring = false;
clearInterval(timer);

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
console.log(
  `hop-breakdown: ${ROUTERS} routers at 1 s, ${SHARED ? 'shared topics' : 'one topic per router and stage'}; epoch_timestamp → ML consumed: ` +
    `mean ${mean(latencies).toFixed(2)} ms, p50 ${pct(latencies, 0.5).toFixed(2)} ms, p99 ${pct(latencies, 0.99).toFixed(2)} ms (n=${latencies.length}); target mean <= 4 ms, p99 <= 8 ms`,
);
// the steps of a poll: from each event to the next one (first occurrence of each step per poll)
const steps = new Map<string, number[]>();
for (const events of polls) {
  const seen = new Set<string>();
  const firsts = events.filter(([step]) => !seen.has(step) && (seen.add(step), true));
  for (let i = 1; i < firsts.length; i++) {
    const key = `${firsts[i - 1]![0]} → ${firsts[i]![0]}`;
    let list = steps.get(key);
    if (!list) steps.set(key, (list = []));
    list.push(firsts[i]![1] - firsts[i - 1]![1]);
  }
}
console.log('hop-breakdown: a poll step by step (first event of each kind; ms p50 / mean, n):');
for (const [step, xs] of [...steps].sort((a, b) => b[1].length - a[1].length).slice(0, 12)) {
  console.log(`  ${step.padEnd(48)} ${pct(xs, 0.5).toFixed(2).padStart(7)} / ${mean(xs).toFixed(2).padStart(7)}  (${xs.length})`);
}
console.log(
  'hop-breakdown: Kafka request round trips p50/p99 (ms): ' +
    [...roundTrips]
      .filter(([name]) => name !== 'Fetch')
      .map(([name, xs]) => `${name} ${pct(xs, 0.5).toFixed(2)}/${pct(xs, 0.99).toFixed(2)} (${xs.length})`)
      .join(', ') +
    ' (fetches long-poll up to maxWaitTimeMs when idle)',
);
await sub.close();
await processor.stop!();
await inference.stop!();
await Promise.all([producerSide.close(), stages.close(), measure.close()]);
await removeBenchTopics(brokers, [...topics, `${run}_state`], run);

if (process.env.BENCH_SKIP_FLOOR !== '1') {
  // the floor: the same hops and load with no stage code
  const floor = runKafkaHopsFloor({ hops: 2, batch: ROUTERS, slotMs: 1000, seconds: SECONDS, warmupSeconds: WARMUP, topicsPerHop: SHARED ? 1 : ROUTERS });
  const lines = [...floor.lines('end to end'), ...floor.lines('timer')];
  console.log(`hop-breakdown: floor (kafka-hops, same load and hops, no stage code):\n  ${lines.join('\n  ')}`);
}
process.exit(0);

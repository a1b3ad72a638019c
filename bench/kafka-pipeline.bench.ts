/**
 * Through the real broker (issue 3, bench 2): producer → processor → inference on Kafka with
 * 1000 routers polled every second (synthetic test-metrics counters as the fast exporter), and
 * a measuring consumer on the ML topics. Prints the sustained ML messages/s and the end-to-end
 * latency (poll tick → ML message received by a consumer) p50/p99/max after a warm-up.
 * Target: p99 <= 10 ms at 1000 routers/s (the reference: 131 ms mean, 270 ms under stress).
 * Needs KAFKA_BROKERS; prints a skip line without it.
 *
 * BENCH_TOPICS=per-router (default: the reference's layout, one topic per router and stage,
 * 3000 topics) or shared (one topic per stage keyed by router id — `"topic": "TD"` for every
 * router and `topics: {processed: "TP", predictions: "ML"}` in the experiment).
 * BENCH_SPREAD=1: the producer spreads the routers' polls over the second (network.spreadPolls,
 * slots of BENCH_SLOT_MS, default 10) instead of polling all 1000 at the same instant.
 * BENCH_PARTITIONS: partitions of the shared topics. BENCH_PROCESSES=1: the stages run as
 * `wattflow producer|processor|inference` processes instead of inside this one. BENCH_CHAIN=1:
 * the processor predicts too (`network.chainInference`: TP and ML in one request, no TP hop).
 * Also printed: latency per hop (from the messages' debug timestamps), this process's event-loop
 * utilisation and delay; BENCH_REQUESTS=1 adds its Kafka requests/s by API, BENCH_TRACE=FILE
 * writes every message's timestamps (poll, TD built, TP, ML, consumed; ms) as CSV lines.
 * BENCH_FLOOR=1 runs kafka-hops afterwards with the same load, hops and layout (no stage code; with
 * BENCH_PROCESSES=1 a second time with its feed and stages as processes, like the roles) and
 * prints the p99 ratio (issue 16: <= 1.25 × for shared topics), of TD built → ML consumed (kafka-hops
 * times from its publish too) and of poll tick → ML consumed.
 * BENCH_ROLE_NODE_ARGS: node options for the role processes (e.g. `--max-semi-space-size=64`, as the
 * container image sets), BENCH_ROLE_STDOUT=1 shows their stdout (e.g. with `--trace-gc`).
 * The warm-up (BENCH_WARMUP s, default 8) starts when the first ML message arrives.
 * BENCH_JSON=1 adds one line `kafka-pipeline-json: {…}` of the figures (bench/capacity.bench.ts reads it).
 */
// first, as in the CLI: the V8 heap settings the roles run with
import '../src/core/heap-tuning.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createKafkaFabric } from '../src/fabric/kafka/kafka-fabric.js';
import { ExperimentSource, normalizeExperiment } from '../src/router-power/experiment.js';
import { createProducer } from '../src/router-power/producer/producer.js';
import { createProcessor } from '../src/router-power/processor/processor.js';
import { createInference } from '../src/router-power/inference/inference.js';
import { DummyPredictors } from '../src/router-power/inference/dummy-predictor.js';
import { silentLogger } from '../src/core/logger.js';
import { removeBenchTopics } from './kafka-cleanup.js';
import { runKafkaHopsFloor } from './kafka-hops-floor.js';
import { benchNumber, kafkaBrokersOrSkip } from './bench-env.js';

const brokers = kafkaBrokersOrSkip('kafka-pipeline');
const ROUTERS = benchNumber('BENCH_ROUTERS', 1000);
const SECONDS = benchNumber('BENCH_SECONDS', 30);
const WARMUP = benchNumber('BENCH_WARMUP', 8);
const SHARED = process.env.BENCH_TOPICS === 'shared';
const SPREAD = process.env.BENCH_SPREAD === '1';
/** Partitions of the shared topics (BENCH_PARTITIONS, default 1): stages pipeline one batch per partition at a time. */
const PARTITIONS = benchNumber('BENCH_PARTITIONS', 1);
/** BENCH_PROCESSES=1: each stage runs as its own `wattflow <role>` process (the deployed topology) instead of in this one. */
const PROCESSES = process.env.BENCH_PROCESSES === '1';
const SLOT_MS = benchNumber('BENCH_SLOT_MS', 10);
/** BENCH_CHAIN=1: the processor predicts too (network.chainInference), no inference stage. */
const CHAIN = process.env.BENCH_CHAIN === '1';
// role processes join the roles' own groups, so their run gets topics of its own (no backlog of earlier runs)
const runTag = PROCESSES ? `_${Date.now().toString(36)}` : '';
const sharedName = (stage: string) => `bench_shared${PARTITIONS > 1 ? `_p${PARTITIONS}` : ''}${runTag}_${stage}`;
const logger = silentLogger();

// counters of 100 Mbit/s at 1200 B/packet with a 1 s interval, one file per router
const dir = mkdtempSync(join(tmpdir(), 'wattflow-bench-tm-'));
const periods: Record<string, { total_bytes: string; total_packets: string }> = {};
for (let k = 0; k < 600; k++) periods[`period_${k}`] = { total_bytes: String(12_500_000 * (k + 1)), total_packets: String(10_417 * (k + 1)) };
const body = JSON.stringify(periods);
for (let i = 0; i < ROUTERS; i++) writeFileSync(join(dir, `test_metrics_b${i}.json`), body);

const raw = {
  experiment_id: 'bench',
  flag_original_metrics: false,
  flag_debug_params: true,
  max_throughput_mbps: 100,
  polling_interval: 1,
  multiplier: 1,
  test_metrics_dir: dir,
  topics: SHARED ? { processed: sharedName('TP'), predictions: sharedName('ML') } : { processed: `bench${runTag}_TP_{router}`, predictions: `bench${runTag}_ML_{router}` },
  routers: Array.from({ length: ROUTERS }, (_, i) => ({ [`b${i}`]: { topic: SHARED ? sharedName('TD') : `bench${runTag}_TD_b${i}`, interfaces: ['eth2'], test_metrics: true } })),
};
const exp = normalizeExperiment(raw, 'bench');
const source = new ExperimentSource({ ...exp, source: '' });
const fabric = await createKafkaFabric({ brokers: brokers.split(','), clientId: 'wattflow-bench', logger, defaultPartitions: PARTITIONS });
const measure = await createKafkaFabric({ brokers: brokers.split(','), clientId: 'wattflow-bench-measure', logger });
const mlTopics = [...new Set(exp.routers.map((r) => exp.mlTopic(r.id)))];
/** The processor's compacted state topic, this run's own: the shared default would keep every run's state, read again at each start. */
const stateTopic = `bench-state-${Date.now().toString(36)}`;
const benchTopics = [...new Set([...exp.routers.map((r) => r.topic), ...exp.routers.map((r) => exp.tpTopic(r.id)), ...mlTopics])];
const t0 = Date.now();
await fabric.ensureTopics(benchTopics.map((name) => ({ name })));
console.log(`kafka-pipeline: ${ROUTERS} routers, ${SHARED ? `shared topics (one per stage, ${PARTITIONS} partition${PARTITIONS > 1 ? 's' : ''})` : 'one topic per router and stage'}, ${SPREAD ? 'polls spread over the interval' : 'all polled at each tick'}, topics ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

/** BENCH_REQUESTS=1: count this process's Kafka requests by API (the client's diagnostics channel). */
const API_NAMES: Record<number, string> = { 0: 'Produce', 1: 'Fetch', 2: 'ListOffsets', 3: 'Metadata', 8: 'OffsetCommit', 9: 'OffsetFetch', 12: 'Heartbeat' };
const apiCounts = new Map<string, number>();
if (process.env.BENCH_REQUESTS === '1') {
  const { tracingChannel } = await import('node:diagnostics_channel');
  const noop = () => undefined;
  tracingChannel('plt:kafka:connections:api').subscribe({
    start: (ctx: unknown) => {
      if (!measuring) return;
      const key = (ctx as { apiKey: number }).apiKey;
      const name = API_NAMES[key] ?? `api ${key}`;
      apiCounts.set(name, (apiCounts.get(name) ?? 0) + 1);
    },
    end: noop,
    asyncStart: noop,
    asyncEnd: noop,
    error: noop,
  });
}
const roles: ChildProcess[] = [];
const expFile = join(dir, 'experiment.json');
if (PROCESSES) writeFileSync(expFile, JSON.stringify(raw));
function startRole(role: string): void {
  const nodeArgs = process.env.BENCH_ROLE_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/cli.ts', role, '--experiment', expFile, '--port', '0'], {
    stdio: ['ignore', process.env.BENCH_ROLE_STDOUT ? 'inherit' : 'ignore', 'inherit'],
    env: {
      ...process.env,
      WATTFLOW_LOG_LEVEL: 'warn',
      WATTFLOW__fabric__kafka__partitions: String(PARTITIONS),
      WATTFLOW__network__spreadPolls: String(SPREAD),
      WATTFLOW__network__spreadSlotMs: String(SLOT_MS),
      WATTFLOW__network__chainInference: String(CHAIN),
      WATTFLOW__network__watch: 'false',
      WATTFLOW__network__stateTopic: stateTopic,
      // the layout this run measures, whatever the routers' count (topicLayout auto would share them from 100 on)
      WATTFLOW__network__topicLayout: 'as-configured',
    },
  });
  roles.push(child);
}
const dummies = new DummyPredictors();
// The stages' groups keep their names across runs: a new group reads its topics from the
// beginning, i.e. every earlier run's messages again (measured with their old ticks).
const run = Date.now().toString(36);
const processor = createProcessor({ fabric, experiment: source, logger, group: 'bench-processor', stateTopic, chainInference: CHAIN ? (r) => dummies.get(r.routerType) : undefined });
const inference = createInference({ fabric, experiment: source, logger, resolve: (r) => dummies.get(r.routerType), group: 'bench-inference' });
const latencies: number[] = [];
/** per hop: poll tick → TD published (collector_timestamp), → TP (process_timestamp), → ML (ml_timestamp), → consumed */
const hops: number[][] = [[], [], [], []];
const trace: string[] = [];
/** TD built (collector_timestamp) → ML consumed: the same 3 publishes and deliveries kafka-hops times from its publish */
const fromPublish: number[] = [];
let received = 0;
let measuring = false;
const sub = await measure.subscribe({
  group: `bench-measure-${run}`,
  topics: mlTopics,
  fromBeginning: false,
  handler: async (batch) => {
    const now = Date.now();
    for (const m of batch) {
      received++;
      if (!measuring) continue;
      const msg = JSON.parse(m.value) as { epoch_timestamp: string; debug_params?: { collector_timestamp?: string; process_timestamp?: string; ml_timestamp?: string } };
      const tick = Number(msg.epoch_timestamp) * 1000;
      latencies.push(now - tick);
      const d = msg.debug_params;
      if (d?.collector_timestamp && d.process_timestamp && d.ml_timestamp) {
        const marks = [tick, Number(d.collector_timestamp) * 1000, Number(d.process_timestamp), Number(d.ml_timestamp) * 1000, now];
        for (let h = 0; h < 4; h++) hops[h]!.push(marks[h + 1]! - marks[h]!);
        fromPublish.push(now - marks[1]!);
        if (process.env.BENCH_TRACE) trace.push(marks.join(','));
      }
    }
  },
});
const producer = createProducer({ fabric, experiment: source, logger, spreadPolls: SPREAD, spreadSlotMs: SLOT_MS });
if (PROCESSES) {
  for (const role of CHAIN ? ['processor', 'producer'] : ['processor', 'inference', 'producer']) startRole(role);
} else {
  await processor.start!();
  if (!CHAIN) await inference.start!();
  await producer.start!();
}
// the warm-up counts from the first ML message: role processes take seconds to start (and more
// on a busy machine), and their start-up backlog must not be measured as latency
const firstBy = Date.now() + 120_000;
while (received === 0 && Date.now() < firstBy) await new Promise((r) => setTimeout(r, 50));
if (received === 0) throw new Error('kafka-pipeline: no ML message within 120 s of starting the stages');
await new Promise((r) => setTimeout(r, WARMUP * 1000));
measuring = true;
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const elu0 = performance.eventLoopUtilization();
const startReceived = received;
const started = Date.now();
await new Promise((r) => setTimeout(r, SECONDS * 1000));
measuring = false;
loopDelay.disable();
const elu = performance.eventLoopUtilization(elu0);
const elapsed = (Date.now() - started) / 1000;
const rate = (received - startReceived) / elapsed;
latencies.sort((a, b) => a - b);
/** The p-th percentile of an ascending list. */
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const pct = (p: number) => percentile(latencies, p);
const mean = latencies.reduce((s, v) => s + v, 0) / Math.max(1, latencies.length);
console.log(
  `kafka-pipeline: ${rate.toFixed(0)} ML msg/s sustained over ${elapsed.toFixed(0)} s (expected ${ROUTERS}/s); ` +
    `end-to-end latency (poll → ML consumed) mean ${mean.toFixed(1)} ms, p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${latencies.at(-1)} ms (n=${latencies.length})`,
);
if (process.env.BENCH_JSON === '1') {
  const json = { routers: ROUTERS, layout: SHARED ? 'shared' : 'per-router', processes: PROCESSES, rate, elapsed, mean, p50: pct(50), p99: pct(99), max: latencies.at(-1) ?? NaN, n: latencies.length };
  console.log(`kafka-pipeline-json: ${JSON.stringify(json)}`);
}
if (process.env.BENCH_TRACE) writeFileSync(process.env.BENCH_TRACE, trace.join('\n'));
const hopNames = ['poll → TD built', 'TD → TP processed', 'TP → ML predicted', 'ML → consumed'];
console.log(
  'kafka-pipeline: per hop p50/p99 (ms): ' +
    hops.map((xs, h) => (xs.sort((a, b) => a - b), `${hopNames[h]} ${percentile(xs, 50).toFixed(1)}/${percentile(xs, 99).toFixed(1)}`)).join(', '),
);
console.log(
  `kafka-pipeline: this process's event loop: utilisation ${(elu.utilization * 100).toFixed(0)} %, delay p50 ${(loopDelay.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(loopDelay.max / 1e6).toFixed(1)} ms`,
);
if (apiCounts.size) console.log(`kafka-pipeline: this process's Kafka requests/s: ${[...apiCounts].map(([k, n]) => `${k} ${(n / elapsed).toFixed(0)}`).join(', ')}`);
console.log('reference: 131 ms mean, 270 ms under stress');
if (PROCESSES) {
  await Promise.all(roles.map((c) => new Promise((r) => (c.once('exit', r), c.kill('SIGTERM')))));
} else {
  await producer.stop!();
  if (!CHAIN) await inference.stop!();
  await processor.stop!();
}
await sub.close();
await measure.close();
await fabric.close();
// the topics go when the run ends (BENCH_KEEP_TOPICS=1 keeps them), the measuring groups too
await removeBenchTopics(brokers.split(','), [...benchTopics, stateTopic], 'bench-measure-');

/**
 * BENCH_FLOOR=1: then kafka-hops with the same load, hops and layout and no stage code, in the
 * same run — issue 16's target for the shared layout is p99 <= 1.25 × its p99.
 */
if (process.env.BENCH_FLOOR === '1') {
  const load = {
    hops: CHAIN ? 1 : 2,
    batch: SPREAD ? Math.max(1, Math.round((ROUTERS * SLOT_MS) / 1000)) : ROUTERS,
    slotMs: SPREAD ? SLOT_MS : 1000,
    seconds: SECONDS,
    warmupSeconds: WARMUP,
    topicsPerHop: SHARED ? 1 : ROUTERS,
  };
  fromPublish.sort((a, b) => a - b);
  const p99 = percentile(fromPublish, 99);
  /** One floor run and the pipeline's p99 against it. */
  const compare = (what: string, floor: ReturnType<typeof runKafkaHopsFloor>, target: boolean) => {
    const line = floor.lines('end to end')[0];
    console.log(`kafka-pipeline: floor (${what}): ${line?.replace('kafka-hops: ', '') ?? floor.stderr.slice(0, 300)}`);
    if (!Number.isFinite(floor.p99)) return;
    // kafka-hops times from its publish; poll → ML adds the poll's timer and the TD's build before it
    const ratio = p99 / floor.p99;
    console.log(
      `kafka-pipeline: TD built → ML consumed p50 ${percentile(fromPublish, 50)} / p99 ${p99} ms = ${ratio.toFixed(2)} × that floor's p99 ${floor.p99} ms` +
        (target ? ` (target <= 1.25 ×: ${ratio <= 1.25 ? 'met' : 'NOT met'}); from the poll tick: p99 ${pct(99)} ms = ${(pct(99) / floor.p99).toFixed(2)} ×` : ''),
    );
  };
  compare('kafka-hops, same load and hops, no stage code', runKafkaHopsFloor(load), true);
  // with the stages as processes, the same floor with its feed and stages as processes too: how
  // much of the gap is the topology (more processes waking on two cores) and how much stage code
  if (PROCESSES) compare('kafka-hops as processes, like the roles', runKafkaHopsFloor({ ...load, processes: true }), false);
}

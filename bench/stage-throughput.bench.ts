/**
 * Stage throughput through the real broker (issue 16): the processor and the inference, each
 * as one `wattflow <role>` process consuming a pre-filled topic, beside Kafka's own
 * ProducerPerformance and ConsumerPerformance (the floor) run in the same benchmark.
 * Targets: >= 20,000 msg/s and <= 0.05 CPU-ms per message for each stage.
 *
 * A fresh shared TD topic (unique per run) is filled with BENCH_MESSAGES (20,000) TD messages of
 * BENCH_ROUTERS (1,000) test-metrics routers (BENCH_INTERFACES 5: ~1.3 KB; keyed by router, consecutive polls so the
 * processor emits a TP for all but each router's first); then the processor role runs on it,
 * then the inference role (dummy formula) on the TP topic it wrote. Measured window: from the
 * first output message seen by this process's consumer to the last one (start-up excluded,
 * printed apart); CPU: the child's utime+stime (/proc/<pid>/stat) over the window, per output
 * message; peak RSS: VmHWM. The broker's own CPU is not counted for any row.
 * The roles run with the container image's NODE_OPTIONS (--max-semi-space-size=64);
 * BENCH_NODE_OPTIONS overrides them (empty: Node's defaults). BENCH_ROLE_NODE_ARGS: node options
 * that NODE_OPTIONS refuses, for the roles' command line (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
 * BENCH_PARTITIONS (1): partitions of the shared topics (a stage handles one batch per partition
 * at a time). BENCH_SKIP_FLOOR=1 skips Kafka's tools (their records are as long as the mean TD message). Needs KAFKA_BROKERS; skip line without it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaFabric } from '../src/fabric/kafka/kafka-fabric.js';
import { normalizeExperiment } from '../src/router-power/experiment.js';
import { silentLogger } from '../src/core/logger.js';
import { tdPayloads } from './inprocess-fixture.js';
import { removeBenchTopics } from './kafka-cleanup.js';
import { kafkaFloor, runRole, type StageRun } from './stage-throughput-helpers.js';
import { benchNumber, kafkaBrokersOrSkip } from './bench-env.js';

const brokers = kafkaBrokersOrSkip('stage-throughput');
const N = benchNumber('BENCH_MESSAGES', 20_000);
const ROUTERS = benchNumber('BENCH_ROUTERS', 1000);
const PARTITIONS = benchNumber('BENCH_PARTITIONS', 1);
const POLLS = Math.ceil(N / ROUTERS);
/** Interfaces per router (BENCH_INTERFACES, 5): two counters each; 5 makes a TD message of ~1.3 KB. */
const INTERFACES = Array.from({ length: benchNumber('BENCH_INTERFACES', 5) }, (_, i) => `eth${i + 2}`);
const TARGET_RATE = 20_000;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const loadStart = load();
const TARGET_CPU = 0.05;

const tag = Date.now().toString(36);
const topic = (s: string) => `bench_st_${tag}_${s}`;
const dir = mkdtempSync(join(tmpdir(), 'wattflow-bench-st-'));
const raw = {
  experiment_id: 'bench',
  flag_original_metrics: false,
  flag_debug_params: true,
  max_throughput_mbps: 100,
  polling_interval: 1,
  multiplier: 1,
  topics: { processed: topic('TP'), predictions: topic('ML') },
  // router ids unique per run: the processor's state topic (keyed by router) holds no earlier run's state for them
  routers: Array.from({ length: ROUTERS }, (_, i) => ({ [`st${tag}r${i}`]: { topic: topic('TD'), interfaces: INTERFACES, test_metrics: true } })),
};
const exp = normalizeExperiment(raw, 'bench');
const expFile = join(dir, 'experiment.json');
writeFileSync(expFile, JSON.stringify(raw));

const fabric = await createKafkaFabric({ brokers: brokers.split(','), clientId: 'wattflow-bench-st', logger: silentLogger(), defaultPartitions: PARTITIONS });
const topics = [topic('TD'), topic('TP'), topic('ML')];
await fabric.ensureTopics(topics.map((name) => ({ name })));

// pre-fill: poll after poll, every router's TD message (the last poll possibly partial)
const payloads = tdPayloads(exp, POLLS);
let bytes = 0;
let filled = 0;
const t0 = performance.now();
for (let p = 0; p < POLLS && filled < N; p++) {
  const batch = exp.routers.slice(0, Math.min(ROUTERS, N - filled)).map((r, i) => {
    const value = JSON.stringify(payloads[p]![i]!);
    bytes += value.length;
    return { topic: topic('TD'), key: r.id, value };
  });
  await fabric.publishBatch(batch);
  filled += batch.length;
}
console.log(
  `stage-throughput: ${filled.toLocaleString()} TD messages of ${ROUTERS} routers (${POLLS} polls each, mean ${(bytes / filled).toFixed(0)} B) ` +
    `pre-filled in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${PARTITIONS} partition${PARTITIONS > 1 ? 's' : ''}`,
);

// this process counts the outputs as they arrive (TP for the processor, ML for the inference)
const seen = new Map<string, number>();
const listeners = new Set<(topic: string, count: number) => void>();
const sub = await fabric.subscribe({
  group: `bench-st-${tag}-measure`,
  topics: [topic('TP'), topic('ML')],
  fromBeginning: true,
  handler: async (batch) => {
    for (const m of batch) seen.set(m.topic, (seen.get(m.topic) ?? 0) + 1);
    for (const t of new Set(batch.map((m) => m.topic))) for (const l of listeners) l(t, seen.get(t)!);
  },
});

const expectedTp = filled - Math.min(ROUTERS, filled); // each router's first poll has no pair
// the roles run as the container image runs them (its NODE_OPTIONS: a 64 MB young generation);
// BENCH_NODE_OPTIONS= (empty) measures Node's defaults
const NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS ?? '--max-semi-space-size=64';
// the processor's state topic is this run's own: the shared default would keep every run's 60,000
// records (router ids are unique per run, so compaction frees nothing), read again at each start
const env = { WATTFLOW__fabric__kafka__partitions: String(PARTITIONS), WATTFLOW__network__watch: 'false', WATTFLOW__network__stateTopic: topic('state'), NODE_OPTIONS };
const rows: StageRun[] = [];
rows.push(await runRole({ role: 'processor', expFile, outTopic: topic('TP'), expected: expectedTp, inputs: filled, listeners, seen, env }));
rows.push(await runRole({ role: 'inference', expFile, outTopic: topic('ML'), expected: expectedTp, inputs: expectedTp, listeners, seen, env }));
await sub.close();

const floor = process.env.BENCH_SKIP_FLOOR === '1' ? [] : await kafkaFloor({ brokers, topic: topic('floor'), messages: N, recordSize: Math.round(bytes / filled), group: `bench-st-${tag}-floor`, fabric });
await fabric.close();

const fmt = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
console.log('');
console.log(`stage-throughput (targets: >= 20,000 msg/s and <= 0.05 CPU-ms/msg per stage; roles with NODE_OPTIONS="${NODE_OPTIONS}")`);
console.log('  what                          msg/s   CPU-ms/msg  peak RSS MB  start-up s  targets');
for (const r of [...rows, ...floor]) {
  const why = [r.rate >= TARGET_RATE ? '' : 'rate', r.cpuPerMsg <= TARGET_CPU ? '' : 'CPU'].filter(Boolean).join(', ');
  const met = r.target ? (why ? `NOT met (${why})` : 'met') : 'floor';
  console.log(`  ${r.name.padEnd(28)} ${fmt(r.rate, 0).padStart(7)} ${fmt(r.cpuPerMsg, 4).padStart(12)} ${fmt(r.rssMb, 0).padStart(12)} ${fmt(r.startupS, 1).padStart(11)}  ${met}`);
  if (r.note) console.log(`    ${r.note}`);
}
await removeBenchTopics(brokers.split(','), [...topics, topic('floor'), topic('state')], `bench-st-${tag}-`);
rmSync(dir, { recursive: true, force: true });
console.log(`stage-throughput: ${cpus().length} cores, load average ${loadStart} at start, ${load()} at the end`);

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
 * BENCH_SPREAD=1: the producer spreads the routers' polls over the second (network.spreadPolls)
 * instead of polling all 1000 at the same instant.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaFabric } from '../src/fabric/kafka-fabric.js';
import { ExperimentSource, normalizeExperiment } from '../src/network/experiment.js';
import { createProducer } from '../src/network/producer/producer.js';
import { createProcessor } from '../src/network/processor/processor.js';
import { createInference } from '../src/network/inference/inference.js';
import { DummyPredictors } from '../src/network/inference/dummy-predictor.js';
import { silentLogger } from '../src/core/logger.js';

const brokers = process.env.KAFKA_BROKERS;
if (!brokers) {
  console.log('kafka-pipeline: skipped (KAFKA_BROKERS not set; start Kafka with scripts/services/kafka.sh)');
  process.exit(0);
}
const ROUTERS = Number(process.env.BENCH_ROUTERS ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 8);
const SHARED = process.env.BENCH_TOPICS === 'shared';
const SPREAD = process.env.BENCH_SPREAD === '1';
/** Partitions of the shared topics (BENCH_PARTITIONS, default 1): stages pipeline one batch per partition at a time. */
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 1);
const sharedName = (stage: string) => `bench_shared${PARTITIONS > 1 ? `_p${PARTITIONS}` : ''}_${stage}`;
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
  topics: SHARED ? { processed: sharedName('TP'), predictions: sharedName('ML') } : { processed: 'bench_TP_{router}', predictions: 'bench_ML_{router}' },
  routers: Array.from({ length: ROUTERS }, (_, i) => ({ [`b${i}`]: { topic: SHARED ? sharedName('TD') : `bench_TD_b${i}`, interfaces: ['eth2'], test_metrics: true } })),
};
const exp = normalizeExperiment(raw, 'bench');
const source = new ExperimentSource({ ...exp, source: '' });
const fabric = await createKafkaFabric({ brokers: brokers.split(','), clientId: 'wattflow-bench', logger, defaultPartitions: PARTITIONS });
const measure = await createKafkaFabric({ brokers: brokers.split(','), clientId: 'wattflow-bench-measure', logger });
const mlTopics = [...new Set(exp.routers.map((r) => exp.predictionsTopic(r.id)))];
const t0 = Date.now();
await fabric.ensureTopics([...new Set([...exp.routers.map((r) => r.topic), ...exp.routers.map((r) => exp.processedTopic(r.id)), ...mlTopics])].map((name) => ({ name })));
console.log(`kafka-pipeline: ${ROUTERS} routers, ${SHARED ? `shared topics (one per stage, ${PARTITIONS} partition${PARTITIONS > 1 ? 's' : ''})` : 'one topic per router and stage'}, ${SPREAD ? 'polls spread over the interval' : 'all polled at each tick'}, topics ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

const dummies = new DummyPredictors();
// The stages' groups keep their names across runs: a new group reads its topics from the
// beginning, i.e. every earlier run's messages again (measured with their old ticks).
const run = Date.now().toString(36);
const processor = createProcessor({ fabric, experiment: source, logger, group: 'bench-processor' });
const inference = createInference({ fabric, experiment: source, logger, resolve: (r) => dummies.get(r.routerType), group: 'bench-inference' });
const latencies: number[] = [];
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
      const tick = Number((JSON.parse(m.value) as { epoch_timestamp: string }).epoch_timestamp) * 1000;
      latencies.push(now - tick);
    }
  },
});
await processor.start!();
await inference.start!();
const producer = createProducer({ fabric, experiment: source, logger, spreadPolls: SPREAD });
await producer.start!();
await new Promise((r) => setTimeout(r, WARMUP * 1000));
measuring = true;
const startReceived = received;
const started = Date.now();
await new Promise((r) => setTimeout(r, SECONDS * 1000));
measuring = false;
const elapsed = (Date.now() - started) / 1000;
const rate = (received - startReceived) / elapsed;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
const mean = latencies.reduce((s, v) => s + v, 0) / Math.max(1, latencies.length);
console.log(
  `kafka-pipeline: ${rate.toFixed(0)} ML msg/s sustained over ${elapsed.toFixed(0)} s (expected ${ROUTERS}/s); ` +
    `end-to-end latency (poll → ML consumed) mean ${mean.toFixed(1)} ms, p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${latencies.at(-1)} ms (n=${latencies.length})`,
);
console.log(`target p99 <= 10 ms: ${pct(99) <= 10 ? 'met' : 'NOT met'}; reference: 131 ms mean, 270 ms under stress`);
await producer.stop!();
await inference.stop!();
await processor.stop!();
await sub.close();
await measure.close();
await fabric.close();

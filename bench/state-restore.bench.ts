/**
 * The processor's state restore at start-up (docs/performance.md § "State restore"): a state
 * topic holding BENCH_MESSAGES (50,000) TD messages of BENCH_ROUTERS (1,000) routers, as a
 * benchmark leaves it (compaction is lazy: the broker still serves every record). Compared:
 *  - before: the state topic in one partition (the old layout; the old code read the whole topic
 *    whatever it owned, which is what a 1-partition topic still costs);
 *  - after: the state topic in 8 partitions, co-partitioned with the shared TD topic;
 * each for a processor owning all routers and one owning the routers of 1/8 of the partitions.
 * A real processor is started (its own group, the sole member) and timed from start() until its
 * state holds every owned router; the readAll of the state topic is timed on its own as well, and
 * the heap's growth while it reads (sampled every 5 ms: a compacted topic's read keeps only the
 * latest value per key, so it follows the routers owned, not the records read).
 * Median of BENCH_REPEAT (3) starts. Needs KAFKA_BROKERS; prints a skip line without it.
 */
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../src/core/logger.js';
import type { Fabric, IncomingMessage, ReadAllOptions } from '../src/fabric/fabric.js';
import { createKafkaFabric } from '../src/fabric/kafka/kafka-fabric.js';
import { partitionOf } from '../src/fabric/partitioner.js';
import { ExperimentSource, normalizeExperiment } from '../src/router-power/experiment.js';
import { createProcessor } from '../src/router-power/processor/processor.js';
import { removeBenchTopics } from './kafka-cleanup.js';
import { benchNumber, kafkaBrokersOrSkip } from './bench-env.js';

const brokers = kafkaBrokersOrSkip('state-restore');
const ROUTERS = benchNumber('BENCH_ROUTERS', 1000);
const MESSAGES = benchNumber('BENCH_MESSAGES', 50_000);
const REPEAT = benchNumber('BENCH_REPEAT', 3);
const PARTITIONS = 8;

const run = `bench-state-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
const list = brokers.split(',');
const consumer = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 6_000, maxWaitTimeMs: 200 };
const fabric = createKafkaFabric({ brokers: list, clientId: run, logger: silentLogger(), consumer });
const routers = Array.from({ length: ROUTERS }, (_, i) => `r${i}`);
const tdTopic = `${run}.TD`;
const tpTopic = `${run}.TP`;
const stateTopics = { before: `${run}.state1`, after: `${run}.state${PARTITIONS}` };
const topics = [tdTopic, tpTopic, ...Object.values(stateTopics)];

const td = (id: string, k: number) => ({
  node_exporter: `${id}:9100`,
  epoch_timestamp: `${1_700_000_000 + k}.0`,
  experiment_id: run,
  interfaces: ['eth2', 'eth3'],
  flag_debug_params: false,
  metrics: ['receive_bytes', 'receive_packets', 'transmit_bytes', 'transmit_packets'].map((m, j) => ({
    name: `node_network_${m}_total`,
    description: '',
    type: 'counter',
    values: ['eth2', 'eth3'].map((device) => ({ labels: [{ name: 'device', value: device }], value: String((k + 1) * (125_000 + j)) })),
  })),
});

/** The processor's experiment: these routers on the shared TD topic (all its partitions go to the sole member). */
const experimentOf = (ids: string[]) =>
  new ExperimentSource(
    normalizeExperiment(
      {
        experiment_id: run,
        flag_original_metrics: false,
        flag_debug_params: false,
        max_throughput_mbps: 100,
        polling_interval: 1,
        multiplier: 1,
        topics: { processed: tpTopic, predictions: `${run}.ML` },
        routers: ids.map((id) => ({ [id]: { topic: tdTopic, interfaces: ['eth2', 'eth3'], test_metrics: true } })),
      },
      'bench',
    ),
  );

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  await fabric.ensureTopics([
    { name: tdTopic, partitions: PARTITIONS },
    { name: tpTopic },
    { name: stateTopics.before, compacted: true, partitions: 1 },
    { name: stateTopics.after, compacted: true, partitions: PARTITIONS },
  ]);
  const perRouter = Math.ceil(MESSAGES / ROUTERS);
  for (const topic of Object.values(stateTopics)) {
    for (let k = 0; k < perRouter; k++) await fabric.publishBatch(routers.map((id) => ({ topic, key: id, json: td(id, k) })));
  }
  console.log(`state-restore: ${ROUTERS} routers × ${perRouter} = ${ROUTERS * perRouter} messages per state topic (${JSON.stringify(td('r0', 0)).length} B each); median of ${REPEAT} starts`);
  const eighth = routers.filter((id) => partitionOf(id, PARTITIONS) === 0);
  let g = 0;
  for (const [layout, stateTopic] of Object.entries(stateTopics)) {
    for (const [what, owned] of [['all routers', routers], [`1/${PARTITIONS} (${eighth.length} routers)`, eighth]] as const) {
      const starts: number[] = [];
      const readMs: number[] = [];
      const fetched: number[] = [];
      const heapMb: number[] = [];
      for (let i = 0; i < REPEAT; i++) {
        const f = createKafkaFabric({ brokers: list, clientId: `${run}-p${++g}`, logger: silentLogger(), consumer });
        let read = 0;
        let records = 0;
        let heapGrowth = 0;
        const timed: Fabric = new Proxy(f, {
          get(target, prop) {
            if (prop === 'readAll')
              return async (topic: string, options?: ReadAllOptions): Promise<IncomingMessage[]> => {
                const t0 = performance.now();
                const heap0 = process.memoryUsage().heapUsed;
                let heapPeak = heap0;
                const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 5);
                const got = await f.readAll(topic, options).finally(() => clearInterval(sampler));
                heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
                if (topic === stateTopic) {
                  heapGrowth = Math.max(heapGrowth, heapPeak - heap0);
                  read += performance.now() - t0;
                  records += got.length;
                }
                return got;
              };
            const v: unknown = Reflect.get(target, prop, target);
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        });
        const p = createProcessor({ fabric: timed, experiment: experimentOf([...owned]), logger: silentLogger(), group: `${run}-g${g}`, stateTopic });
        const t0 = performance.now();
        await p.start!();
        while (p.stateSize() < owned.length) await new Promise((r) => setTimeout(r, 2));
        starts.push(performance.now() - t0);
        readMs.push(read);
        fetched.push(records);
        heapMb.push(heapGrowth / 2 ** 20);
        await p.stop!();
        await f.close();
      }
      console.log(
        `  ${layout.padEnd(6)} (${stateTopic.endsWith('state1') ? 1 : PARTITIONS} partition${stateTopic.endsWith('state1') ? ' ' : 's'}), owning ${what.padEnd(22)}: ` +
          `state read ${median(readMs).toFixed(0).padStart(5)} ms (${median(fetched)} routers' latest, of ${median(fetched) * perRouter} records), start → restored ${median(starts).toFixed(0).padStart(5)} ms, ` +
          `heap growth during the read ${median(heapMb).toFixed(0)} MB`,
      );
    }
  }
} finally {
  await fabric.close();
  await removeBenchTopics(list, topics, run);
}

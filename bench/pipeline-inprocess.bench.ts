/**
 * In-process processor + inference throughput (issue 3, bench 1): TD messages of 1000 routers
 * (test-metrics counters) pushed through the processor and the dummy inference on the
 * in-process bus, on one core. Prints messages/s (TD in → ML out) and the per-message cost.
 * Target: >= 50,000 msg/s.
 */
// first, as in the CLI: the V8 heap settings the roles run with
import '../src/core/heap-tuning.js';
import { MemoryFabric } from '../src/fabric/memory/memory-fabric.js';
import { ExperimentSource } from '../src/router-power/experiment.js';
import { createProcessor } from '../src/router-power/processor/processor.js';
import { createInference } from '../src/router-power/inference/inference.js';
import { DummyPredictors } from '../src/router-power/inference/dummy-predictor.js';
import { silentLogger } from '../src/core/logger.js';
import { benchExperiment, tdPayloads } from './inprocess-fixture.js';

const ROUTERS = 1000;
const POLLS = Number(process.env.BENCH_POLLS ?? 60);
const logger = silentLogger();

const exp = benchExperiment(ROUTERS);
const source = new ExperimentSource({ ...exp, source: '' });
const fabric = new MemoryFabric({ retainMessages: 1 });
const dummies = new DummyPredictors();
const processor = createProcessor({ fabric, experiment: source, logger });
const inference = createInference({ fabric, experiment: source, logger, resolve: (r) => dummies.get(r.routerType) });
await processor.start!();
await inference.start!();

let out = 0;
const counter = await fabric.subscribe({ group: 'bench-count', topics: exp.routers.map((r) => exp.mlTopic(r.id)), handler: async (b) => void (out += b.length) });

// pre-built TD messages: the figure measures processing, not message construction
const payloads = tdPayloads(exp, POLLS);

const expected = ROUTERS * (POLLS - 1);
const started = performance.now();
const cpu0 = process.cpuUsage();
const mem0 = process.memoryUsage().rss;
for (let p = 0; p < POLLS; p++) {
  await fabric.publishBatch(exp.routers.map((r, i) => ({ topic: r.topic, key: r.id, json: payloads[p]![i]! })));
  // let the consumers keep up (bounded memory): yield until this poll is through
  while (out < ROUTERS * p) await new Promise((r) => setImmediate(r));
}
while (out < expected) await new Promise((r) => setImmediate(r));
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const messages = ROUTERS * POLLS;
const rate = messages / seconds;
const cpuRate = messages / cpuSeconds;
console.log(
  `pipeline-inprocess: ${rate.toFixed(0)} msg/s wall, ${cpuRate.toFixed(0)} msg/s per CPU-second (TD in; ${out} ML out) over ${messages.toLocaleString()} messages; ` +
    `${((seconds / messages) * 1e6).toFixed(1)} µs wall and ${((cpuSeconds / messages) * 1e6).toFixed(1)} µs CPU per message (GC threads included), rss +${((process.memoryUsage().rss - mem0) / 1048576).toFixed(0)} MiB`,
);
// one core's worth of work: judged on CPU time, since the wall clock on a shared machine also
// counts other processes' time slices
console.log(`target >= 50,000 msg/s on one core (CPU time): ${cpuRate >= 50_000 ? 'met' : 'NOT met'}`);
await counter.close();
await inference.stop!();
await processor.stop!();
await fabric.close();

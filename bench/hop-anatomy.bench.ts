/**
 * What one Kafka hop is made of at low load: BENCH_BATCH (7) records of ~850 B published every
 * BENCH_SLOT_MS (1000) ms through wattflow's Kafka fabric to a consumer in the same process — the
 * reference's load, no stage code — and each step of every publish timed from the publish call:
 * the fabric's publisher hands the records to the client (producer.send), the client starts the
 * Produce request, its answer arrives, the publish resolves, the consumer's waiting Fetch answer
 * arrives, the handler runs (the client's diagnostics channels). The broker's request log (Kafka's
 * `kafka.request.logger` at DEBUG, switched on through the Admin API for the run and back to WARN
 * after) gives the broker's share of the same requests: request queue, local work, response queue,
 * send. docs/performance.md, "What a low-load hop is made of", reads the figures.
 *
 * BENCH_WARM_PUBLISHES (0): publishes sent back to back first, so that V8 has compiled the
 * client's and the fabric's hot paths (at one publish a second it does not for minutes).
 * BENCH_SECONDS (30) measured after BENCH_WARMUP (10) s at the measured rate.
 * Needs KAFKA_BROKERS; the broker's log file is KAFKA_LOG_FILE, default the one
 * scripts/services/kafka.sh writes ($WATTFLOW_SERVICES_DIR/kafka/kafka.log; without it the
 * broker's share is not printed).
 */
// first, as in the CLI: the V8 heap settings the roles run with
import '../src/core/heap-tuning.js';
import { tracingChannel } from 'node:diagnostics_channel';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Admin, ConfigResourceTypes, IncrementalAlterConfigOperationTypes } from '@platformatic/kafka';
import { createKafkaFabric } from '../src/fabric/kafka/kafka-fabric.js';
import { silentLogger } from '../src/core/logger.js';
import { removeBenchTopics } from './kafka-cleanup.js';
import { benchNumber, kafkaBrokersOrSkip } from './bench-env.js';
import { quantile } from './up-soak-harness.js';

const brokers = kafkaBrokersOrSkip('hop-anatomy');
const BATCH = benchNumber('BENCH_BATCH', 7);
const SLOT_MS = benchNumber('BENCH_SLOT_MS', 1000);
const SECONDS = benchNumber('BENCH_SECONDS', 30);
const WARMUP = benchNumber('BENCH_WARMUP', 10);
const WARM_PUBLISHES = benchNumber('BENCH_WARM_PUBLISHES', 0);
const logFile = process.env.KAFKA_LOG_FILE ?? join(process.env.WATTFLOW_SERVICES_DIR ?? join(homedir(), '.local/state/wattflow-services'), 'kafka/kafka.log');
const run = `bench-anatomy-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
const now = () => performance.now();

const fabric = await createKafkaFabric({ brokers: brokers.split(','), clientId: run, logger: silentLogger() });
await fabric.ensureTopics([{ name: run }]);

// ---- the client's side: the steps of the publish in progress, from the diagnostics channels
const STEPS = ['handed to the client', 'Produce request started', 'Produce answer', 'publish resolved', 'Fetch answer', 'handler'] as const;
type Step = (typeof STEPS)[number];
let current: Partial<Record<Step | 'published', number>> | undefined;
const first = (step: Step) => {
  if (current && current[step] === undefined) current[step] = now();
};
const ignore = () => undefined;
const PRODUCE = 0;
const FETCH = 1;
tracingChannel('plt:kafka:producer:sends').subscribe({ start: () => first('handed to the client'), end: ignore, asyncStart: ignore, asyncEnd: ignore, error: ignore });
tracingChannel('plt:kafka:connections:api').subscribe({
  start: (ctx) => void ((ctx as { apiKey: number }).apiKey === PRODUCE && first('Produce request started')),
  // an answer is decoded when its callback is about to run
  asyncStart: (ctx) => {
    const api = (ctx as { apiKey: number }).apiKey;
    if (api === PRODUCE) first('Produce answer');
    else if (api === FETCH && current?.['Produce request started'] !== undefined) first('Fetch answer');
  },
  end: ignore,
  asyncEnd: ignore,
  error: ignore,
});
await fabric.subscribe({ group: `${run}-consumer`, topics: [run], fromBeginning: true, handler: async () => first('handler') });

const PAD = 'x'.repeat(850);
const records = () => Array.from({ length: BATCH }, (_, k) => ({ topic: run, key: `r${k}`, value: JSON.stringify({ t: Date.now(), pad: PAD }) }));
for (let i = 0; i < WARM_PUBLISHES; i++) await fabric.publishBatch(records());

// ---- the broker's side: its request log, on for the run
const admin = new Admin({ clientId: `${run}-admin`, bootstrapBrokers: brokers.split(','), retries: 1 });
const brokerId = String((await admin.metadata({ topics: [] })).brokers.keys().next().value);
const requestLog = (level: string) =>
  admin.incrementalAlterConfigs({
    resources: [{ resourceType: ConfigResourceTypes.BROKER_LOGGER, resourceName: brokerId, configs: [{ name: 'kafka.request.logger', configOperation: IncrementalAlterConfigOperationTypes.SET, value: level }] }],
  });
const haveLog = existsSync(logFile);
let logFrom = 0;

const rows: Array<Partial<Record<Step | 'published', number>>> = [];
const slots = Math.round(((WARMUP + SECONDS) * 1000) / SLOT_MS);
const warmSlots = Math.round((WARMUP * 1000) / SLOT_MS);
try {
  for (let slot = 0; slot < slots; slot++) {
    if (slot === warmSlots && haveLog) {
      logFrom = statSync(logFile).size;
      await requestLog('DEBUG');
    }
    await new Promise((r) => setTimeout(r, SLOT_MS));
    current = { published: now() };
    await fabric.publishBatch(records());
    first('publish resolved');
    const row = current;
    // the consumer's delivery (a few ms at most), before the next slot
    await new Promise((r) => setTimeout(r, Math.min(100, SLOT_MS / 2)));
    current = undefined;
    if (slot >= warmSlots) rows.push(row);
  }
} finally {
  if (haveLog) await requestLog('WARN');
  await admin.close();
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`hop-anatomy: ${BATCH} records of ~${PAD.length + 30} B every ${SLOT_MS} ms, one hop (publish → consumer in this process), ${rows.length} publishes measured${WARM_PUBLISHES ? `, after ${WARM_PUBLISHES} publishes back to back (V8 warm)` : ' (no warm-up burst: the code runs as it does at this rate)'}`);
console.log('  from the publish call (ms)              p50     mean    p90');
for (const step of STEPS) {
  const xs = rows.map((r) => r[step]! - r.published!).filter(Number.isFinite);
  if (xs.length === 0) {
    console.log(`  ${step.padEnd(36)} not seen`);
    continue;
  }
  console.log(`  ${step.padEnd(36)} ${quantile(xs, 0.5).toFixed(3).padStart(6)}  ${mean(xs).toFixed(3).padStart(6)}  ${quantile(xs, 0.9).toFixed(3).padStart(6)}`);
}

if (haveLog) {
  type Times = Record<'totalTimeMs' | 'requestQueueTimeMs' | 'localTimeMs' | 'responseQueueTimeMs' | 'sendTimeMs', number> & {
    requestHeader: { requestApiKeyName: string; clientId: string };
    response: { responses?: Array<{ partitions?: Array<{ recordsSizeInBytes?: number }> }> };
  };
  /** A Fetch that brought records (the others are long polls that timed out empty). */
  const brought = (t: Times) => (t.response.responses ?? []).some((r) => (r.partitions ?? []).some((p) => (p.recordsSizeInBytes ?? 0) > 0));
  const size = statSync(logFile).size - logFrom;
  const buf = Buffer.alloc(size);
  const fd = openSync(logFile, 'r');
  readSync(fd, buf, 0, size, logFrom);
  closeSync(fd);
  const byApi = new Map<string, Times[]>();
  for (const line of buf.toString().split('\n')) {
    if (!line.includes('Completed request:') || !line.includes(run)) continue;
    const t = JSON.parse(line.slice(line.indexOf('{'), line.lastIndexOf('}') + 1)) as Times;
    const api = t.requestHeader.requestApiKeyName;
    if (!byApi.has(api)) byApi.set(api, []);
    byApi.get(api)!.push(t);
  }
  const cell = (xs: Times[], k: keyof Omit<Times, 'requestHeader' | 'response'>) => `${quantile(xs.map((x) => x[k]), 0.5).toFixed(2)} / ${mean(xs.map((x) => x[k])).toFixed(2)}`.padEnd(15);
  console.log('hop-anatomy: the broker\'s times for the same requests (its request log; p50 / mean, ms)');
  console.log('  request     n  total          request queue  local          response queue send');
  for (const api of ['PRODUCE', 'FETCH']) {
    const xs = (byApi.get(api) ?? []).filter((x) => api !== 'FETCH' || brought(x));
    if (xs.length === 0) console.log(`  ${api.padEnd(8)} none logged: is ${logFile} the log of the broker at ${brokers}?`);
    // a Fetch waits in purgatory until data arrives (or its maxWait passes): its total is that wait, not work
    else console.log(`  ${api.padEnd(8)} ${String(xs.length).padStart(4)}  ${api === 'FETCH' ? '(long poll)'.padEnd(15) : cell(xs, 'totalTimeMs')}${cell(xs, 'requestQueueTimeMs')}${cell(xs, 'localTimeMs')}${cell(xs, 'responseQueueTimeMs')}${cell(xs, 'sendTimeMs')}`);
  }
} else {
  console.log(`hop-anatomy: the broker's share not measured (no log file at ${logFile}; set KAFKA_LOG_FILE)`);
}
await fabric.close();
await removeBenchTopics(brokers.split(','), [run], run);

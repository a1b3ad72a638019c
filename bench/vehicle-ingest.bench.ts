/**
 * Vehicle API ingest benchmark: a real listening Vehicle API on the real Redis (REDIS_URL),
 * concurrent keep-alive clients posting 100-measurement requests (the reference log's signals,
 * a fleet of vehicles, data time moving forward so every measurement is new and vectors are
 * aligned, stored and announced), for a bounded duration after a warm-up. Prints measurements/s
 * and request latency percentiles, then checks that every accepted measurement is in Redis.
 * By default the clients share the API's event loop (client work counts against the API: the
 * figures are a lower bound); BENCH_CLIENT=worker runs them in a thread of their own, which on
 * a 2-core machine makes three busy threads (API, clients, Redis) share two cores.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 node --import tsx bench/vehicle-ingest.bench.ts
 *   env: BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_CONCURRENCY (2), BENCH_VEHICLES (64),
 *        BENCH_BATCH (100), BENCH_CLIENT (inline | worker), BENCH_MODE (pull | push: every vector is
 *        also journaled and forwarded to an in-process predictor that returns at once, so the figure
 *        includes the forward journal's write and acknowledgement; the journal is checked empty)
 */
import { Agent, request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { defaultCatalog } from '../src/vehicle/catalog/signals.js';
import { logMeasurements, readVehicleLog } from '../src/vehicle/logs/csv-log.js';
import { DEMO_DATA_DIR } from '../src/vehicle/demo.js';

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const SECONDS = num('BENCH_SECONDS', 10);
const WARMUP = num('BENCH_WARMUP_SECONDS', 2);
const CONCURRENCY = num('BENCH_CONCURRENCY', 2);
const VEHICLES = num('BENCH_VEHICLES', 64);
const BATCH = num('BENCH_BATCH', 100);
/** Where the clients run: `inline` (the API's event loop; 2 threads with Redis) or `worker` (a thread of their own). */
const CLIENT = process.env.BENCH_CLIENT === 'worker' ? 'worker' : 'inline';
const MODE = process.env.BENCH_MODE === 'push' ? 'push' : 'pull';

interface PhaseResult {
  latencies: number[];
  measurements: number;
  accepted: number;
  vectors: number;
  errors: number;
  elapsed: number;
}

/** The load generator (worker thread): vehicles replaying the reference log with data time moving on. */
async function clients(apiUrl: string): Promise<{ warm: PhaseResult; run: PhaseResult; sent: number }> {
  const log = readVehicleLog(`${DEMO_DATA_DIR}DS2_national_road_90km_h_max_25Jan24_153019.csv`);
  const samples = logMeasurements(log, 0).map((m) => ({ signal: defaultCatalog.resolve(m.signal)!.id, value: m.value, t: m.timestamp }));
  const logSpanMs = samples.at(-1)!.t + 1000;
  const base = Date.now() - 20 * 3600_000;
  const cursor = Array.from({ length: VEHICLES }, (_, i) => ({ id: `bench-${i}`, pos: 0, lap: 0, offset: i * 37 }));
  let next = 0;
  const nextBody = (): { path: string; body: string } => {
    const c = cursor[next++ % VEHICLES]!;
    let body = '[';
    for (let k = 0; k < BATCH; k++) {
      const sm = samples[c.pos]!;
      body += `${k ? ',' : ''}{"signal":"${sm.signal}","value":${sm.value},"timestamp":${base + c.lap * logSpanMs + sm.t + c.offset}}`;
      if (++c.pos === samples.length) {
        c.pos = 0;
        c.lap++;
      }
    }
    return { path: `/v1/vehicles/${c.id}/measurements`, body: body + ']' };
  };
  const url = new URL(apiUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = (path: string, body: string): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const phase = async (seconds: number): Promise<PhaseResult> => {
    const r: PhaseResult = { latencies: [], measurements: 0, accepted: 0, vectors: 0, errors: 0, elapsed: 0 };
    const t0 = performance.now();
    const until = t0 + seconds * 1000;
    const worker = async () => {
      while (performance.now() < until) {
        const { path, body } = nextBody();
        const started = performance.now();
        const res = await post(path, body);
        r.latencies.push(performance.now() - started);
        if (res.status !== 200) {
          r.errors++;
          if (r.errors <= 3) console.error(`HTTP ${res.status}: ${res.text.slice(0, 200)}`);
          continue;
        }
        const out = JSON.parse(res.text) as { accepted: number; vectors: number };
        r.measurements += BATCH;
        r.accepted += out.accepted;
        r.vectors += out.vectors;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    r.elapsed = (performance.now() - t0) / 1000;
    return r;
  };
  const warm = await phase(WARMUP);
  const run = await phase(SECONDS);
  agent.destroy();
  return { warm, run, sent: cursor.reduce((n, c) => n + c.lap * samples.length + c.pos, 0) };
}

async function main(): Promise<void> {
  const REDIS_URL = process.env.REDIS_URL;
  if (!REDIS_URL) {
    console.log('vehicle-ingest: SKIPPED (REDIS_URL not set: this benchmark needs a real Redis; e.g. REDIS_URL=redis://127.0.0.1:6379)');
    return;
  }
  const { startComponents } = await import('../src/core/lifecycle.js');
  const { silentLogger } = await import('../src/core/logger.js');
  const { buildVehicleApi, createRedisStore, storeComponent } = await import('../src/vehicle/components.js');
  const { inProcessTransport } = await import('../src/vehicle/ingest/predictor-transport.js');
  const { defaultVehicleConfig } = await import('../src/vehicle/config.js');
  const v = defaultVehicleConfig();
  const prefix = `wfbench:${randomBytes(4).toString('hex')}:`;
  v.redis.keyPrefix = prefix;
  v.redis.channel = `${prefix}announce`;
  v.redis.url = REDIS_URL;
  v.inference.mode = MODE; // pull: ingest only (vectors stored and announced); push: also journaled and forwarded
  v.api.rateLimit.measurementsPerSecond = 0;
  const logger = silentLogger();
  const store = createRedisStore(v, logger);
  let forwarded = 0;
  const api = buildVehicleApi({ v, store, logger, ...(MODE === 'push' ? { forwardTo: [inProcessTransport(async (vectors) => ((forwarded += vectors.length), []))] } : {}) });
  const app = await startComponents([storeComponent(store), api.component], { host: '127.0.0.1', port: 0, logger });
  const lines: string[] = []; // printed after the cleanup (a closed stdout must not leave keys behind)
  try {
    let result: Awaited<ReturnType<typeof clients>>;
    if (CLIENT === 'worker') {
      // the worker loads this file through tsx (loader hooks are per thread)
      const tsx = import.meta.resolve('tsx/esm/api');
      const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
      const worker = new Worker(code, { eval: true, workerData: { url: app.url } });
      result = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      await worker.terminate();
    } else result = await clients(app.url);
    const r = result.run;
    const lat = [...r.latencies].sort((a, b) => a - b);
    const pct = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]!;
    const rate = r.measurements / r.elapsed;
    lines.push(`vehicle-ingest: ${MODE} mode, ${CONCURRENCY} keep-alive clients (${CLIENT === 'worker' ? 'worker thread' : 'same event loop'}), ${VEHICLES} vehicles, ${BATCH} measurements/request, ${SECONDS} s after ${WARMUP} s warm-up, Redis ${REDIS_URL}`);
    lines.push(`  requests      ${lat.length} (${Math.round(lat.length / r.elapsed)}/s), errors ${r.errors}`);
    lines.push(`  throughput    ${Math.round(rate).toLocaleString('en-US')} measurements/s (target ≥ 50,000) ${rate >= 50_000 ? 'OK' : 'BELOW TARGET'}`);
    lines.push(`  latency (ms)  p50 ${pct(0.5).toFixed(2)}  p90 ${pct(0.9).toFixed(2)}  p99 ${pct(0.99).toFixed(2)} (target < 5) ${pct(0.99) < 5 ? 'OK' : 'ABOVE TARGET'}  max ${lat.at(-1)!.toFixed(2)}`);
    lines.push(`  vectors       ${r.vectors.toLocaleString('en-US')} aligned, stored and announced (${Math.round(r.vectors / r.elapsed)}/s)`);
    // every accepted measurement is in Redis (warm-up included)
    let stored = 0;
    for (let i = 0; i < VEHICLES; i++) for (const sig of await store.listSignals(`bench-${i}`)) stored += await store.redis.zcard(store.keys.raw(`bench-${i}`, sig));
    lines.push(`  check         ${stored.toLocaleString('en-US')} measurements in Redis for ${result.sent.toLocaleString('en-US')} sent${stored === result.sent ? ' (all stored)' : ' MISMATCH'}`);
    let journalLeft = 0;
    if (MODE === 'push') {
      await api.forwarder!.drain(10_000);
      journalLeft = (await store.journaledVectors(1_000_000)).length;
      lines.push(`  forwarded     ${forwarded.toLocaleString('en-US')} vectors; ${journalLeft} left in the forward journal${journalLeft === 0 ? ' (all acknowledged)' : ' MISMATCH'}`);
    }
    if (r.errors > 0 || result.warm.errors > 0 || stored !== result.sent || journalLeft > 0) process.exitCode = 1;
  } finally {
    await app.stop(); // flushes the last vectors first
    const cleaner = createRedisStore(v, logger);
    await cleaner.start();
    let cursorId = '0';
    do {
      const [nextId, keys] = await cleaner.redis.scan(cursorId, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursorId = nextId;
      if (keys.length > 0) await cleaner.redis.del(...keys);
    } while (cursorId !== '0');
    await cleaner.close();
  }
  console.log(lines.join('\n'));
}

if (isMainThread) await main();
else parentPort!.postMessage(await clients((workerData as { url: string }).url));

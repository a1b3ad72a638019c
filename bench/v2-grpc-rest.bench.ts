/**
 * KServe V2 inference over gRPC vs REST, on one server (the main thread: a trained power model
 * `ne40@1` behind the worker's V2 provider, REST on Fastify and gRPC on @grpc/grpc-js, both
 * through the same V2 core) with the load generator in a worker thread (so on a 2-core machine
 * the server and the clients each have a core). Same inferences both ways, for a bounded time
 * per scenario after a warm-up:
 *   - 1 row (FP32 [1, 2]: REST JSON, gRPC typed fp32_contents) and 256 rows (REST JSON, gRPC
 *     raw_input_contents);
 *   - 1 connection with 1 request in flight; 4 connections with 1 each; and for gRPC 1 connection
 *     with 8 concurrent streams (HTTP/2 multiplexing; HTTP/1.1 has no equivalent).
 * Prints requests/s, rows/s and latency p50/p99 per scenario, REST and gRPC side by side.
 *
 *   node --import tsx bench/v2-grpc-rest.bench.ts      (npm run bench -- v2-grpc)
 *   env: BENCH_SECONDS (3 per scenario), BENCH_WARMUP_SECONDS (1)
 */
import { Agent, request } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);

interface Scenario {
  transport: 'REST' | 'gRPC';
  rows: number;
  connections: number;
  inflight: number;
}
interface Result extends Scenario {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  errors: number;
}

const SCENARIOS: Scenario[] = [];
for (const rows of [1, 256]) {
  for (const [connections, inflight] of [[1, 1], [4, 1]] as const) for (const transport of ['REST', 'gRPC'] as const) SCENARIOS.push({ transport, rows, connections, inflight });
  SCENARIOS.push({ transport: 'gRPC', rows, connections: 1, inflight: 8 });
}

function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;
}

// ------------------------------------------------------------------ load generator (worker thread)

async function loadGenerator(restUrl: string, grpcAddr: string, protoFile: string): Promise<Result[]> {
  const protoLoader = await import('@grpc/proto-loader');
  const pkg = protoLoader.loadSync(protoFile, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const Service = (grpc.loadPackageDefinition(pkg).inference as unknown as { GRPCInferenceService: grpc.ServiceClientConstructor }).GRPCInferenceService;
  const rowsOf = (n: number) => Array.from({ length: n * 2 }, (_, i) => (i % 2 === 0 ? 64 + ((i * 37) % 1436) : ((i * 13) % 100) / 100));
  const results: Result[] = [];

  for (const sc of SCENARIOS) {
    const data = rowsOf(sc.rows);
    let send: (conn: number) => Promise<void>;
    const cleanup: Array<() => void> = [];
    if (sc.transport === 'REST') {
      const body = JSON.stringify({ inputs: [{ name: 'input', shape: [sc.rows, 2], datatype: 'FP32', data }] });
      const agents = Array.from({ length: sc.connections }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
      cleanup.push(() => agents.forEach((a) => a.destroy()));
      const u = new URL(`${restUrl}/v2/models/ne40/infer`);
      send = (conn) =>
        new Promise((resolve, reject) => {
          const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: agents[conn], headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
          });
          req.on('error', reject);
          req.end(body);
        });
    } else {
      // one channel per connection (its own subchannel pool: separate HTTP/2 connections)
      const clients = Array.from({ length: sc.connections }, () => new Service(grpcAddr, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
      cleanup.push(() => clients.forEach((c) => c.close()));
      const raw = sc.rows > 1;
      const msg = raw
        ? { model_name: 'ne40', inputs: [{ name: 'input', datatype: 'FP32', shape: [sc.rows, 2] }], raw_input_contents: [Buffer.from(new Float32Array(data).buffer)] }
        : { model_name: 'ne40', inputs: [{ name: 'input', datatype: 'FP32', shape: [sc.rows, 2], contents: { fp32_contents: data } }] };
      send = (conn) =>
        new Promise((resolve, reject) =>
          (clients[conn] as unknown as Record<string, (m: unknown, cb: (e: grpc.ServiceError | null) => void) => void>).ModelInfer!(msg, (err) => (err ? reject(err) : resolve())),
        );
    }
    const lat: number[] = [];
    let errors = 0;
    let measuring = false;
    let requests = 0;
    const end = Date.now() + (WARMUP + SECONDS) * 1000;
    const startAt = Date.now() + WARMUP * 1000;
    const loops: Array<Promise<void>> = [];
    for (let c = 0; c < sc.connections; c++) {
      for (let k = 0; k < sc.inflight; k++) {
        loops.push(
          (async () => {
            while (Date.now() < end) {
              const t0 = performance.now();
              try {
                await send(c);
                if (Date.now() >= startAt) {
                  measuring = true;
                  lat.push(performance.now() - t0);
                  requests++;
                }
              } catch {
                errors++;
              }
            }
          })(),
        );
      }
    }
    await Promise.all(loops);
    cleanup.forEach((f) => f());
    lat.sort((a, b) => a - b);
    results.push({ ...sc, requests: measuring ? requests : 0, seconds: SECONDS, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), errors });
  }
  return results;
}

if (!isMainThread) {
  const { restUrl, grpcAddr, protoFile } = workerData as { restUrl: string; grpcAddr: string; protoFile: string };
  void loadGenerator(restUrl, grpcAddr, protoFile).then((r) => parentPort!.postMessage(r));
} else {
  // ---------------------------------------------------------------- server (main thread)
  const { loadAppConfig } = await import('../src/app-config.js');
  const { silentLogger } = await import('../src/core/logger.js');
  const { startComponents } = await import('../src/core/lifecycle.js');
  const { registerKServeRoutes } = await import('../src/router-power/inference/kserve.js');
  const { ModelPredictor } = await import('../src/router-power/inference/model-predictor.js');
  const { V2_PROTO_FILE, v2GrpcComponent } = await import('../src/router-power/inference/v2-grpc.js');
  const { loadCsvDataset } = await import('../src/ml/dataset/index.js');
  const { trainPowerModel } = await import('../src/ml/train/index.js');

  const dataset = await loadCsvDataset(new URL('../test/fixtures/power/huawei-synthetic.csv', import.meta.url).pathname, { features: ['PacketSize_B', 'Throughput_Percentage'], target: 'power_W' });
  const t = trainPowerModel({ dataset, modelType: 'polynomial', name: 'ne40', version: '1', routerType: 'huawei', seed: 1, testFraction: 0.2 });
  const power = await ModelPredictor.load(t.onnx, t.metadata);
  const logger = silentLogger();
  const cfg = loadAppConfig(undefined, { '/storage/dir': '', '/http/port': 0, '/log/level': 'silent' }, {});
  const grpcV2 = v2GrpcComponent(cfg, logger);
  const app = await startComponents(
    [{ name: 'kserve', routes: (x) => registerKServeRoutes(x, { served: () => [{ predictor: power, routers: ['r1'] }], ready: () => true, epsilon: 0.01 }) }, grpcV2],
    { host: '127.0.0.1', port: 0, logger },
  );
  console.log(`KServe V2 inference, REST vs gRPC — polynomial power model ne40@1, server on the main thread, clients in a worker thread; ${SECONDS} s per scenario after ${WARMUP} s warm-up`);
  // this file again, in a worker thread, with tsx's loader registered there (Node 20 does not run --import hooks before a worker's .ts entry)
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { restUrl: app.url, grpcAddr: grpcV2.address(), protoFile: V2_PROTO_FILE } });
  const results = await new Promise<Result[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  await app.stop();
  await power.close();

  const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');
  console.log('');
  console.log('rows  connections × in flight  transport   requests/s       rows/s   p50 ms   p99 ms  errors');
  for (const r of results) {
    const rps = r.requests / r.seconds;
    console.log(
      `${String(r.rows).padStart(4)}  ${`${r.connections} × ${r.inflight}`.padEnd(23)}  ${r.transport.padEnd(9)} ${fmt(rps).padStart(11)} ${fmt(rps * r.rows).padStart(12)} ${fmt(r.p50, 3).padStart(8)} ${fmt(r.p99, 3).padStart(8)} ${String(r.errors).padStart(7)}`,
    );
  }
  const bad = results.filter((r) => r.errors > 0 || r.requests === 0);
  if (bad.length) {
    console.error(`errors or no requests in: ${bad.map((r) => `${r.transport} ${r.rows} rows ${r.connections}×${r.inflight}`).join(', ')}`);
    process.exit(1);
  }
}

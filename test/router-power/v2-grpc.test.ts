/**
 * KServe V2 over gRPC (`inference.GRPCInferenceService`, src/router-power/inference/v2-grpc.ts)
 * beside the REST server, on one process serving both kinds of model as `wattflow up` does (a
 * trained power model and the vehicle model): an independent Python client
 * (test/router-power/v2-grpc/v2_grpc_client.py; stubs generated at test time from the vendored
 * official proto with Debian's python3-grpc-tools, calls through python3-grpcio, run by
 * /usr/bin/python3) gets identical answers over REST and gRPC for the same inputs — typed and
 * raw contents, both models, metadata, readiness, errors — without and with bearer tokens
 * (UNAUTHENTICATED, PERMISSION_DENIED). Then, in Node: the message size limit, the port
 * setting, and the component's busy-port behaviour.
 *
 * Needs /usr/bin/python3 with grpc and grpc_tools: skipped with the reason when absent, a
 * failure under CI=true (scripts/services/start-all.sh installs python3-grpcio and
 * python3-grpc-tools).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadAppConfig, type AppConfig } from '../../src/app-config.js';
import { newToken, serverAuthOf, tokenEntry } from '../../src/core/auth.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { registerKServeRoutes, type KServeSource } from '../../src/router-power/inference/kserve.js';
import { ModelPredictor } from '../../src/router-power/inference/model-predictor.js';
import { grpcPortOf, V2_PROTO_FILE, v2GrpcComponent, v2ServiceDefinition, type V2GrpcComponent } from '../../src/router-power/inference/v2-grpc.js';
import { buildVehiclePredictor } from '../../src/vehicle/components.js';
import { IsolationForestModel } from '../../src/vehicle/model/anomaly-model.js';
import { trainVehicleModel } from '../../src/vehicle/model/train.js';
import { NullPredictionSink } from '../../src/vehicle/predictor/sinks.js';
import { tool } from '../helpers/services.js';
import { silent, trained } from '../registry/helpers.js';
import { DS1, DS2, vehicleCfg } from '../vehicle/helpers.js';

const PYTHON = '/usr/bin/python3';
const CLIENT = new URL('./v2-grpc/v2_grpc_client.py', import.meta.url).pathname;

const pythonGrpc = tool(
  'python3 with grpcio and grpc_tools',
  () => {
    try {
      execFileSync(PYTHON, ['-c', 'import grpc, grpc_tools.protoc'], { stdio: 'ignore', timeout: 30_000 });
      return undefined;
    } catch {
      return `${PYTHON} cannot import grpc and grpc_tools`;
    }
  },
  'apt-get install -y python3-grpcio python3-grpc-tools (scripts/services/start-all.sh does)',
);

interface Served {
  app: RunningApp;
  grpc: V2GrpcComponent;
  close(): Promise<void>;
}

let vehicleModel: IsolationForestModel | undefined;

/** A process serving ne40@1 and the vehicle model over REST and gRPC (port 0 for both). */
async function serve(cfg: AppConfig): Promise<Served> {
  vehicleModel ??= new IsolationForestModel(trainVehicleModel({ files: [DS1, DS2], trees: 10 }).artifact);
  const a = await trained({ name: 'ne40', version: '1' });
  const power = await ModelPredictor.load(a.onnx, a.metadata);
  const src: KServeSource = { served: () => [{ predictor: power, routers: ['r1'] }], ready: () => true, epsilon: 0.01 };
  const vehicle = buildVehiclePredictor({ v: vehicleCfg(), mode: 'push', model: vehicleModel, sink: new NullPredictionSink(), logger: silent });
  const grpcV2 = v2GrpcComponent(cfg, silent);
  const auth = serverAuthOf(cfg);
  const app = await startComponents([{ name: 'kserve', routes: (x) => registerKServeRoutes(x, src) }, vehicle.component, grpcV2], {
    host: '127.0.0.1',
    port: 0,
    logger: silent,
    ...(auth.enabled ? { auth } : {}),
  });
  return {
    app,
    grpc: grpcV2,
    close: async () => {
      await app.stop();
      await power.close();
    },
  };
}

function runClient(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [CLIENT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const cfgOf = (over: Record<string, unknown> = {}) => loadAppConfig(undefined, { '/storage/dir': '', '/http/port': 0, ...over }, {});

describe('KServe V2 gRPC: an independent Python client gets the REST answers', { skip: pythonGrpc.skip }, () => {
  test('without tokens: typed and raw contents, both models, metadata, readiness, errors', { timeout: 180_000 }, async () => {
    const s = await serve(cfgOf());
    try {
      const r = await runClient([V2_PROTO_FILE, s.grpc.address()!, s.app.url, 'ne40', vehicleModel!.name]);
      assert.equal(r.code, 0, r.out);
      const n = Number(/V2-GRPC-CHECKS-PASSED (\d+)/.exec(r.out)?.[1]);
      assert.ok(n >= 90, r.out);
    } finally {
      await s.close();
    }
  });

  test('with tokens: the same answers with a read token; UNAUTHENTICATED and PERMISSION_DENIED as REST 401/403', { timeout: 180_000 }, async () => {
    const read = newToken();
    const s = await serve(cfgOf({ '/auth/tokens': [tokenEntry('reader', read, ['read'])] }));
    try {
      const r = await runClient([V2_PROTO_FILE, s.grpc.address()!, s.app.url, 'ne40', vehicleModel!.name, read]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /ok no token: REST 401 ↔ gRPC UNAUTHENTICATED/);
      assert.match(r.out, /ok a read-only token writing vehicle predictions: REST 403 ↔ gRPC PERMISSION_DENIED/);
    } finally {
      await s.close();
    }
  });
});

describe('KServe V2 gRPC: settings', () => {
  let s: Served;
  before(async () => {
    s = await serve(cfgOf({ '/grpc/maxMessageBytes': 64 * 1024 }));
  });
  after(async () => s.close());

  const client = () => {
    const Ctor = grpc.makeGenericClientConstructor(v2ServiceDefinition(), 'GRPCInferenceService');
    return new Ctor(s.grpc.address()!, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 16 * 1024 * 1024 }) as unknown as Record<string, (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void> & grpc.Client;
  };
  const call = (c: ReturnType<typeof client>, method: string, req: unknown) => new Promise<{ err: grpc.ServiceError | null; res: unknown }>((res) => c[method]!(req, (err, r) => res({ err, res: r })));

  test('a message over grpc.maxMessageBytes is refused RESOURCE_EXHAUSTED naming the limit; smaller ones are answered', async () => {
    const c = client();
    try {
      const rows = 20_000; // 160 kB of FP32 > 64 KiB
      const big = await call(c, 'ModelInfer', { model_name: 'ne40', inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 2], contents: { fp32_contents: new Array(rows * 2).fill(1) } }] });
      assert.equal(big.err?.code, grpc.status.RESOURCE_EXHAUSTED, String(big.err?.details));
      assert.match(big.err!.details, /larger than max \(\d+ vs\. 65536\)|65536/);
      const small = await call(c, 'ModelInfer', { model_name: 'ne40', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [576, 0.5] } }] });
      assert.equal(small.err, null);
      assert.equal((small.res as { outputs: Array<{ contents: { fp32_contents: number[] } }> }).outputs[0]!.contents.fp32_contents.length, 1);
    } finally {
      c.close();
    }
  });

  test('the port: grpc.port, else http.port + 1 (8001 beside 8000), 0 with http.port 0', () => {
    assert.equal(grpcPortOf(cfgOf({ '/http/port': 8000 })), 8001);
    assert.equal(grpcPortOf(cfgOf({ '/http/port': 8100 })), 8101);
    assert.equal(grpcPortOf(cfgOf({ '/http/port': 0 })), 0);
    assert.equal(grpcPortOf(cfgOf({ '/http/port': 8000, '/grpc/port': 9500 })), 9500);
    assert.equal(grpcPortOf(loadAppConfig(undefined, {}, { GRPC_PORT: '7001' })), 7001);
  });

  test('a busy port fails the start naming the setting; optional (up) logs it and the banner says so', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(serve(cfgOf({ '/grpc/port': port })), /KServe V2 gRPC: cannot listen on 127\.0\.0\.1:\d+: .*set grpc\.port/);
      const cfg = cfgOf({ '/grpc/port': port });
      const optional = v2GrpcComponent(cfg, silent, { optional: true });
      const a = await trained({ name: 'opt', version: '1' });
      const p = await ModelPredictor.load(a.onnx, a.metadata);
      const app = await startComponents([{ name: 'kserve', routes: (x) => registerKServeRoutes(x, { served: () => [{ predictor: p, routers: [] }], ready: () => true, epsilon: 0.01 }) }, optional], { host: '127.0.0.1', port: 0, logger: silent });
      assert.match(optional.bannerLine(), /gRPC V2: +not listening: cannot listen on 127\.0\.0\.1:\d+/);
      await app.stop();
      await p.close();
      assert.match(v2GrpcComponent(cfgOf({ '/grpc/enabled': false }), silent).bannerLine(), /off \(grpc\.enabled: false\)/);
      assert.match(s.grpc.bannerLine(), /gRPC V2: +127\.0\.0\.1:\d+ +\(inference\.GRPCInferenceService/);
    } finally {
      blocker.close();
    }
  });
});

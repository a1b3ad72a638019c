/**
 * Shared pieces of the registry tests: trained models from the synthetic power fixture,
 * special ONNX graphs (scikit-learn-like signature, NaN output), a registry on an in-memory kv
 * with a temporary local artifact directory, TP message builders, an experiment, waitFor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/logger.js';
export { waitFor } from '../helpers/wait-for.js';
import type { Fabric } from '../../src/fabric/fabric.js';
import { loadCsvDataset, type Dataset } from '../../src/ml/dataset/index.js';
import { DataType, encodeModel, floatTensor, node, tensorValueInfo } from '../../src/ml/onnx/index.js';
import { trainPowerModel, type ModelType, type TrainedArtifact } from '../../src/ml/train/index.js';
import { ExperimentSource, normalizeExperiment, type Experiment } from '../../src/router-power/experiment.js';
import { OCCUPATION, PACKET_LENGTH, type TpMessage } from '../../src/router-power/messages.js';
import { LocalArtifactStore, type ArtifactStore } from '../../src/registry/artifacts.js';
import { Registry } from '../../src/registry/registry.js';
import { vehicleArtifactValidator } from '../../src/vehicle/model/registry-upload-check.js';
import { MemoryStore } from '../../src/storage/index.js';
import type { Role } from '../../src/roles/role.js';

export const FIXTURE_CSV = new URL('../fixtures/power/huawei-synthetic.csv', import.meta.url).pathname;

let dataset: Promise<Dataset> | undefined;
export function fixtureDataset(): Promise<Dataset> {
  dataset ??= loadCsvDataset(FIXTURE_CSV, { features: ['PacketSize_B', 'Throughput_Percentage'], target: 'power_W' });
  return dataset;
}

export async function trained(opts: { modelType?: ModelType; name?: string; version?: string; routerType?: string; seed?: number } = {}): Promise<TrainedArtifact> {
  return trainPowerModel({
    dataset: await fixtureDataset(),
    modelType: opts.modelType ?? 'polynomial',
    name: opts.name ?? 'm',
    version: opts.version ?? '1',
    routerType: opts.routerType ?? 'huawei',
    seed: opts.seed ?? 1,
    testFraction: 0.2,
  });
}

function graph(nodes: ReturnType<typeof node>[], inits: ReturnType<typeof floatTensor>[], inName: string, outName: string, outDims: Array<number | string>) {
  return encodeModel({
    ir_version: 8,
    producer_name: 'skl2onnx',
    producer_version: '1.17',
    opset_import: [{ domain: '', version: 17 }],
    metadata_props: [],
    graph: { name: 'g', node: nodes, initializer: inits, input: [tensorValueInfo(inName, DataType.FLOAT, ['N', 2])], output: [tensorValueInfo(outName, DataType.FLOAT, outDims)] },
  });
}

/** A scikit-learn-like export (input float_input, output variable [N,1], no metadata): y = 0.001·s + 20·x + 700. */
export function sklearnLikeLinear(): Uint8Array {
  return graph(
    [node('MatMul', ['float_input', 'W'], ['mm'], 'mm'), node('Add', ['mm', 'B'], ['variable'], 'add')],
    [floatTensor('W', [2, 1], [0.001, 20]), floatTensor('B', [1], [700])],
    'float_input',
    'variable',
    ['N', 1],
  );
}

/** A well-formed model whose every prediction is NaN (0/0). */
export function nanModel(): Uint8Array {
  return graph(
    [node('MatMul', ['input', 'W'], ['mm'], 'mm'), node('Div', ['mm', 'mm'], ['output'], 'div')],
    [floatTensor('W', [2, 1], [0, 0])],
    'input',
    'output',
    ['N', 1],
  );
}

export const silent = silentLogger();

export interface TestRegistry {
  registry: Registry;
  store: MemoryStore;
  artifacts: ArtifactStore & { dir: string };
  cleanup(): void;
}

export function testRegistry(opts: { fabric?: Fabric; experiment?: ExperimentSource; controlTopic?: string; statusTopic?: string } = {}): TestRegistry {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-registry-test-'));
  const store = new MemoryStore({ retentionHours: 1 });
  const artifacts = new LocalArtifactStore(dir);
  const registry = new Registry({ kv: store, artifacts, logger: silent, vehicleModels: vehicleArtifactValidator, ...opts });
  return {
    registry,
    store,
    artifacts,
    cleanup: () => {
      void store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An experiment with routers r1..rN (router type per router, default huawei), on TP/ML topics with a prefix. */
export function testExperiment(opts: { routers?: Array<{ id: string; type?: string; model?: string }>; prefix?: string } = {}): Experiment {
  const routers = opts.routers ?? [{ id: 'r1' }, { id: 'r2' }, { id: 'r3' }];
  const p = opts.prefix ?? '';
  return normalizeExperiment(
    {
      experiment_id: 'registry-test',
      flag_original_metrics: false,
      flag_debug_params: false,
      max_throughput_mbps: 100,
      polling_interval: 1,
      multiplier: 1,
      topics: { processed: `${p}TP_{router}`, predictions: `${p}ML_{router}` },
      routers: routers.map((r) => ({
        [r.id]: { topic: `${p}TD_${r.id}`, interfaces: ['eth0'], test_metrics: true, router_type: r.type ?? 'huawei', model_type: r.model ?? 'dummy' },
      })),
    },
    '(test)',
  );
}

/** A TP message with the given features (occupation in %, packet length in bytes) and sequence number. */
export function tp(seq: number, occupationPct: number, packetLength: number): TpMessage {
  return {
    node_exporter: 'r:9100',
    epoch_timestamp: String(1_700_000_000 + seq),
    experiment_id: 'registry-test',
    interfaces: ['eth0'],
    flag_debug_params: false,
    input_ml_metrics: [
      { name: 'node_network_receive_packets_total_rate', type: 'rate', value: 1000 },
      { name: 'node_network_receive_bytes_total_rate', type: 'rate', value: 1e6 },
      { name: PACKET_LENGTH, type: 'bytes', value: packetLength },
      { name: OCCUPATION, type: 'percent', value: occupationPct },
    ],
  };
}


export const sourceOf = (exp: Experiment) => new ExperimentSource(exp);

/** Runs a CLI role in process, capturing what it prints. */
export async function cli(role: Role, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    const code = (await role.run(args)) ?? 0;
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

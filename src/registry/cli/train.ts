/**
 * `wattflow train`: fits a power model from a CSV (src/ml/train), writes the ONNX graph and its
 * metadata (held-out metrics), and optionally registers it in one step (--register).
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from '../../core/usage-error.js';
import { loadCsvDataset } from '../../ml/dataset/index.js';
import { MODEL_TYPES, trainPowerModel, writeModelArtifacts, type HyperByType, type ModelType } from '../../ml/train/index.js';
import { parseFeatures } from '../api.js';
import type { RegistryClient } from '../client.js';
import { num, reportErrors } from './args.js';
import { fmt } from './format.js';

export const TRAIN_SUMMARY = 'fit a power model (linear|polynomial|rf|mlp) from a CSV, write ONNX + metadata, optionally register it';

export const TRAIN_USAGE = [
    'usage: wattflow train --router-type T --model-type linear|polynomial|rf|mlp --data FILE.csv',
    '                      [--target COL] [--features A,B] [--test-split 0.2] [--seed N] [--out DIR]',
    '                      [--name NAME] [--version V] [--register NAME [--registry URL] [--alias A] [--token T]]',
    '                      [hyper-parameters] [--json]',
    '',
    'Fits the model on a seeded train/test split, reports held-out MAE/MAPE/R², writes',
    '<out>/<name>-<version>.onnx and .json (default out: .wattflow/models). --register NAME uploads',
    'it to the registry (--registry, WATTFLOW_REGISTRY_URL, WATTFLOW_URL, the `up` running here, else',
    'http://127.0.0.1:8000; the one used is printed) as the next',
    'version of NAME (created when missing); --alias sets e.g. staging or production. The registry',
    'token (scope models:write): --token, else WATTFLOW_TOKEN.',
    '',
    'Defaults: --features PacketSize_B,Throughput_Percentage (graph column order; NAME:UNIT to',
    'give a unit, e.g. Throughput_Percentage:percent), --target power_W (or power), --test-split',
    '0.2, --seed 0, --name <router-type>-<model-type>.',
    '',
    'Hyper-parameters: polynomial --degree N (2) --no-intercept; linear --no-intercept;',
    'rf --trees N (50) --max-depth N (10) --min-samples-leaf N (5) --min-samples-split N',
    '   --max-features X --no-bootstrap;',
    'mlp --hidden 64,32,16,8 --epochs N (150) --batch-size N (64) --learning-rate X (0.002)',
    '    --l2 X (1e-5) --patience N (15); any type: --hyper \'{"key": value}\'.',
].join('\n');

export const trainOptions = {
  'router-type': { type: 'string' },
  'model-type': { type: 'string' },
  data: { type: 'string' },
  target: { type: 'string' },
  features: { type: 'string' },
  'test-split': { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  name: { type: 'string' },
  version: { type: 'string' },
  register: { type: 'string' },
  registry: { type: 'string' },
  alias: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  // hyper-parameters
  degree: { type: 'string' },
  'no-intercept': { type: 'boolean' },
  trees: { type: 'string' },
  'max-depth': { type: 'string' },
  'min-samples-leaf': { type: 'string' },
  'min-samples-split': { type: 'string' },
  'max-features': { type: 'string' },
  'no-bootstrap': { type: 'boolean' },
  hidden: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  'learning-rate': { type: 'string' },
  l2: { type: 'string' },
  patience: { type: 'string' },
  hyper: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export type TrainValues = { [K in keyof typeof trainOptions]?: (typeof trainOptions)[K]['type'] extends 'boolean' ? boolean : string };

function hyperFrom(type: ModelType, v: TrainValues): Record<string, unknown> {
  const h: Record<string, unknown> = {};
  const set = (k: string, x: unknown) => {
    if (x !== undefined) h[k] = x;
  };
  if (type === 'linear' || type === 'polynomial') {
    if (v['no-intercept']) h.fitIntercept = false;
    if (type === 'polynomial') set('degree', num('degree', v.degree, { int: true, min: 1, max: 4 }));
  } else if (type === 'rf') {
    set('nEstimators', num('trees', v.trees, { int: true, min: 1 }));
    set('maxDepth', num('max-depth', v['max-depth'], { int: true, min: 0 }));
    set('minSamplesLeaf', num('min-samples-leaf', v['min-samples-leaf'], { int: true, min: 1 }));
    set('minSamplesSplit', num('min-samples-split', v['min-samples-split'], { int: true, min: 2 }));
    set('maxFeatures', num('max-features', v['max-features'], { min: 0 }));
    if (v['no-bootstrap']) h.bootstrap = false;
  } else {
    if (v.hidden !== undefined) {
      const layers = v.hidden.split(',').map((s) => num('hidden', s.trim(), { int: true, min: 1 })!);
      h.hiddenLayers = layers;
    }
    set('epochs', num('epochs', v.epochs, { int: true, min: 1 }));
    set('batchSize', num('batch-size', v['batch-size'], { int: true, min: 1 }));
    set('learningRate', num('learning-rate', v['learning-rate'], { min: 0 }));
    set('l2', num('l2', v.l2, { min: 0 }));
    set('patience', num('patience', v.patience, { int: true, min: 1 }));
  }
  if (v.hyper !== undefined) {
    try {
      Object.assign(h, JSON.parse(v.hyper) as Record<string, unknown>);
    } catch {
      throw new UsageError(`--hyper must be a JSON object, got ${v.hyper}`);
    }
  }
  return h;
}

async function defaultTarget(file: string): Promise<string> {
  let header = '';
  try {
    header = (await readFile(file, 'utf8')).split(/\r?\n/, 1)[0] ?? '';
  } catch {
    return 'power_W'; // the loader reports the unreadable file
  }
  const cols = header.replace(/^\uFEFF/, '').split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  const found = ['power_W', 'power', 'Power_W', 'power_w', 'Power'].find((c) => cols.includes(c));
  if (!found) throw new UsageError(`--target COL is required: no power column (power_W, power) in the header of ${file} (${cols.join(', ')})`);
  return found;
}

/** Runs `wattflow train` with its parsed options; `registryClient` gives the client --register uses. */
export async function runTrain(values: TrainValues, registryClient: () => RegistryClient): Promise<number> {
  const routerType = values['router-type'];
  const modelType = values['model-type'] as ModelType | undefined;
  if (!routerType) throw new UsageError('--router-type is required');
  if (!modelType || !MODEL_TYPES.includes(modelType)) throw new UsageError(`--model-type must be one of ${MODEL_TYPES.join(', ')}`);
  if (!values.data) throw new UsageError('--data FILE.csv is required');
  const testFraction = num('test-split', values['test-split'], { min: 0, max: 0.9 }) ?? 0.2;
  const seed = num('seed', values.seed, { int: true, min: 0 }) ?? 0;
  const hyper = hyperFrom(modelType, values);
  let featureSpecs;
  try {
    featureSpecs = parseFeatures(values.features ?? 'PacketSize_B,Throughput_Percentage');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const target = values.target ?? (await defaultTarget(values.data));
  const name = values.name ?? values.register ?? `${routerType}-${modelType}`;
  return reportErrors(async () => {
    const client = values.register ? registryClient() : undefined;
    let version = values.version;
    if (!version && client) version = (await client.getModel(values.register!))?.next_version ?? '1';
    version ??= '1';
    const t0 = performance.now();
    const dataset = await loadCsvDataset(values.data!, { features: featureSpecs.map((f) => f.name), target });
    const { metadata, onnx } = trainPowerModel({
      dataset,
      modelType,
      name,
      version,
      routerType,
      seed,
      testFraction,
      hyper: hyper as HyperByType[typeof modelType],
      featureUnits: Object.fromEntries(featureSpecs.map((f) => [f.name, f.unit])),
    });
    const seconds = (performance.now() - t0) / 1000;
    const paths = await writeModelArtifacts(values.out ?? join('.wattflow', 'models'), { onnx, metadata });
    let registered: { version: string; url: string } | undefined;
    if (client) {
      const rec = await client.upload(values.register!, onnx, {
        metadata,
        version,
        ...(values.alias ? { alias: values.alias } : {}),
        source: basename(paths.onnxPath),
      });
      registered = { version: rec.version, url: client.baseUrl };
    }
    const m = metadata.metrics;
    if (values.json) {
      console.log(JSON.stringify({ ...paths, metadata, seconds, ...(registered ? { registered: { model: values.register, ...registered } } : {}) }, null, 2));
      return 0;
    }
    console.log(
      [
        `trained ${modelType} model ${name}@${version} for router type ${routerType} on ${metadata.training_data?.rows ?? '?'} rows (${metadata.training_data?.test_rows ?? 0} held out) in ${seconds.toFixed(2)} s`,
        m ? `  held-out: MAE ${fmt(m.MAE)} W  MAPE ${fmt(m.MAPE)} %  R² ${fmt(m.R2)}  (${m.rows} rows)` : '  held-out: no test rows',
        `  wrote ${paths.onnxPath} (sha256 ${metadata.sha256.slice(0, 12)}…, ${onnx.length} bytes) and ${paths.metadataPath}`,
        ...(registered ? [`  registered ${values.register}@${registered.version} at ${registered.url}${values.alias ? ` (alias ${values.alias})` : ''}`] : []),
      ].join('\n'),
    );
    return 0;
  });
}

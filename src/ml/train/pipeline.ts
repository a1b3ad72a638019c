/**
 * End-to-end training of a power model: seeded train/test split of a Dataset, training, held-out
 * metrics, ONNX export with embedded metadata_props, and the ModelMetadata JSON document
 * (with sha256 of the ONNX bytes). `writeModelArtifacts` saves `<name>-<version>.onnx` + `.json`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { regressionMetrics } from '../dataset/metrics.js';
import { trainTestSplit } from '../dataset/split.js';
import { summarizeColumns, type Dataset } from '../dataset/types.js';
import {
  KNOWN_FEATURE_UNITS,
  METADATA_SCHEMA_VERSION,
  metadataProps,
  POWER_TARGET_SPEC,
  sha256Hex,
  validateModelMetadata,
  type ModelMetadata,
} from '../onnx/metadata.js';
import { trainModel } from './train.js';
import type { HyperByType, ModelType, TrainedModel, TrainOptions } from './types.js';

export interface TrainPowerModelOptions<T extends ModelType = ModelType> {
  dataset: Dataset;
  modelType: T;
  /** Model name, e.g. `huawei-ne40-mlp`. */
  name: string;
  /** Model version string, e.g. `1.0.0`. */
  version: string;
  /** Router type the model describes, e.g. `huawei-ne40`. */
  routerType: string;
  seed?: number;
  /** Held-out fraction for metrics (default 0.2). */
  testFraction?: number;
  hyper?: HyperByType[T];
  /** Units of features not in KNOWN_FEATURE_UNITS. */
  featureUnits?: Record<string, string>;
  /** Target description (default power in W). */
  target?: { name: string; unit: string };
  /** Creation time (default now); not part of the ONNX bytes. */
  createdAt?: Date;
}

export interface TrainedArtifact {
  model: TrainedModel;
  onnx: Uint8Array;
  metadata: ModelMetadata;
}

export function trainPowerModel<T extends ModelType>(options: TrainPowerModelOptions<T>): TrainedArtifact {
  const { dataset, modelType } = options;
  const seed = options.seed ?? 0;
  const { train, test } = trainTestSplit(dataset, { testFraction: options.testFraction ?? 0.2, seed });
  const model = trainModel({
    modelType,
    X: train.X,
    y: train.y,
    featureNames: train.featureNames,
    seed,
    hyper: options.hyper,
  } as TrainOptions);
  const m = regressionMetrics(test.y, model.predict(test.X));
  const ySummary = summarizeColumns(train.y, ['y'])[0]!;
  const features = dataset.featureNames.map((name) => {
    const unit = options.featureUnits?.[name] ?? KNOWN_FEATURE_UNITS[name];
    if (unit === undefined) throw new RangeError(`unit of feature "${name}" unknown: pass featureUnits`);
    return { name, unit };
  });
  const base: Omit<ModelMetadata, 'created_at' | 'sha256'> = {
    schema_version: METADATA_SCHEMA_VERSION,
    name: options.name,
    version: options.version,
    router_type: options.routerType,
    model_type: modelType,
    features,
    target: options.target ?? { ...POWER_TARGET_SPEC },
    training_data: {
      rows: train.rows,
      test_rows: test.rows,
      ...(dataset.source !== undefined ? { source: dataset.source } : {}),
      features: summarizeColumns(train.X, train.featureNames),
      target: { min: ySummary.min, max: ySummary.max, mean: ySummary.mean },
    },
    metrics: { ...m, rows: test.rows },
    hyper_parameters: model.hyper,
    seed,
  };
  // Round-trip through JSON so that the embedded props and the document agree (NaN → null etc.).
  const clean = JSON.parse(JSON.stringify(base)) as typeof base;
  const onnx = model.toOnnx({ metadataProps: metadataProps(clean), docString: `wattflow ${modelType} power model` });
  const metadata = validateModelMetadata({
    ...clean,
    created_at: (options.createdAt ?? new Date()).toISOString(),
    sha256: sha256Hex(onnx),
  });
  return { model, onnx, metadata };
}

/** Writes `<dir>/<name>-<version>.onnx` and the matching `.json` metadata. */
export async function writeModelArtifacts(
  dir: string,
  artifact: Pick<TrainedArtifact, 'onnx' | 'metadata'>,
): Promise<{ onnxPath: string; metadataPath: string }> {
  await mkdir(dir, { recursive: true });
  const stem = `${artifact.metadata.name}-${artifact.metadata.version}`.replace(/[^A-Za-z0-9._-]/g, '_');
  const onnxPath = join(dir, `${stem}.onnx`);
  const metadataPath = join(dir, `${stem}.json`);
  await writeFile(onnxPath, artifact.onnx);
  await writeFile(metadataPath, JSON.stringify(artifact.metadata, null, 2) + '\n');
  return { onnxPath, metadataPath };
}

/**
 * End-to-end training pipeline on the synthetic fixture: metadata (schema-valid, sha256 of the
 * ONNX bytes, held-out metrics, data summary), embedded metadata_props, reproducibility, artifact
 * files loaded back by the runtime, and the JSON Schema rejecting bad documents.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadCsvDataset } from '../../src/ml/dataset/index.js';
import {
  decodeModelSummary,
  MetadataError,
  metadataFromProps,
  MODEL_METADATA_JSON_SCHEMA,
  sha256Hex,
  validateModelMetadata,
} from '../../src/ml/onnx/index.js';
import { OnnxPowerModel } from '../../src/ml/runtime/index.js';
import { MODEL_TYPES, trainPowerModel, writeModelArtifacts, type TrainedArtifact } from '../../src/ml/train/index.js';

const FIXTURE = new URL('../fixtures/power/huawei-synthetic.csv', import.meta.url).pathname;
const CREATED = new Date('2025-01-02T03:04:05.000Z');

describe('trainPowerModel on the synthetic Huawei fixture', async () => {
  const dataset = await loadCsvDataset(FIXTURE, { features: ['PacketSize_B', 'Throughput_Percentage'], target: 'power_W' });
  const artifacts = new Map<string, TrainedArtifact>();
  for (const modelType of MODEL_TYPES) {
    artifacts.set(
      modelType,
      trainPowerModel({
        dataset,
        modelType,
        name: `huawei-synthetic-${modelType}`,
        version: '1.0.0',
        routerType: 'huawei-synthetic',
        seed: 11,
        createdAt: CREATED,
        hyper: modelType === 'mlp' ? { epochs: 60 } : undefined,
      }),
    );
  }

  test('metadata is schema-valid and describes the model', () => {
    for (const [modelType, { onnx, metadata }] of artifacts) {
      validateModelMetadata(metadata);
      assert.equal(metadata.model_type, modelType);
      assert.equal(metadata.sha256, sha256Hex(onnx));
      assert.equal(metadata.created_at, CREATED.toISOString());
      assert.deepEqual(metadata.features, [
        { name: 'PacketSize_B', unit: 'bytes' },
        { name: 'Throughput_Percentage', unit: 'fraction' },
      ]);
      assert.deepEqual(metadata.target, { name: 'power', unit: 'W' });
      assert.equal(metadata.seed, 11);
      const td = metadata.training_data!;
      assert.equal(td.rows, 1600);
      assert.equal(td.test_rows, 400);
      assert.equal(td.source, FIXTURE);
      assert.equal(td.features[0]!.name, 'PacketSize_B');
      assert.ok(td.features[0]!.min >= 64 && td.features[0]!.max <= 1500);
      assert.ok(td.features[1]!.min >= 0 && td.features[1]!.max <= 1);
      assert.ok(td.target.mean > 690 && td.target.mean < 720);
      const m = metadata.metrics!;
      assert.equal(m.rows, 400);
      assert.ok(m.MAE > 0.8 && m.MAE < 2.5, `${modelType} MAE ${m.MAE}`);
      assert.ok(m.MAPE < 0.4 && m.SMAPE < 0.4);
      assert.ok(Math.abs(m.MSE - m.MAE ** 2) < 5 * m.MSE);
      assert.ok(m.R2 > 0.75, `${modelType} R2 ${m.R2}`);
      assert.ok(metadata.hyper_parameters && Object.keys(metadata.hyper_parameters).length > 0);
    }
    const poly = artifacts.get('polynomial')!.metadata.metrics!;
    assert.ok(poly.MAE < 1.5, `polynomial MAE ${poly.MAE} should approach the 1.3 W noise level`);
    assert.deepEqual(artifacts.get('rf')!.metadata.hyper_parameters!.nEstimators, 50);
    assert.deepEqual(artifacts.get('mlp')!.metadata.hyper_parameters!.hiddenLayers, [64, 32, 16, 8]);
  });

  test('the ONNX carries the metadata (minus created_at and sha256) in metadata_props', () => {
    for (const { onnx, metadata } of artifacts.values()) {
      const props = decodeModelSummary(onnx).metadataProps;
      const { created_at: _c, sha256: _s, ...rest } = metadata;
      assert.deepEqual(metadataFromProps(props), rest);
    }
  });

  test('same data, seed and time give identical bytes and metadata', () => {
    for (const modelType of ['polynomial', 'rf'] as const) {
      const again = trainPowerModel({
        dataset,
        modelType,
        name: `huawei-synthetic-${modelType}`,
        version: '1.0.0',
        routerType: 'huawei-synthetic',
        seed: 11,
        createdAt: CREATED,
      });
      assert.deepEqual(again.metadata, artifacts.get(modelType)!.metadata);
    }
  });

  test('artifacts written to disk load back into the runtime with the same predictions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wattflow-models-'));
    for (const { model, onnx, metadata } of artifacts.values()) {
      const { onnxPath, metadataPath } = await writeModelArtifacts(dir, { onnx, metadata });
      assert.match(onnxPath, /huawei-synthetic-\w+-1\.0\.0\.onnx$/);
      const rt = await OnnxPowerModel.loadFiles(onnxPath, metadataPath);
      try {
        assert.equal(rt.metadata.sha256, metadata.sha256);
        const X = dataset.X.subarray(0, 200);
        const got = await rt.predictBatch(Float32Array.from(X));
        const want = model.predict(X);
        for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * Math.abs(want[i]!));
      } finally {
        await rt.close();
      }
    }
  });

  test('the JSON Schema rejects malformed metadata', () => {
    const good = artifacts.get('linear')!.metadata;
    assert.equal(MODEL_METADATA_JSON_SCHEMA.$schema, 'http://json-schema.org/draft-07/schema#');
    const bad = (doc: unknown, re: RegExp) =>
      assert.throws(() => validateModelMetadata(doc), (e: unknown) => e instanceof MetadataError && re.test(e.message));
    const { sha256: _s, ...noSha } = good;
    bad(noSha, /sha256/);
    bad({ ...good, sha256: 'XYZ' }, /pattern/);
    bad({ ...good, model_type: 'svm' }, /allowed values/);
    bad({ ...good, created_at: 'yesterday' }, /date-time/);
    bad({ ...good, extra: 1 }, /unknown key "extra" in the metadata document \(allowed: schema_version, name, version, router_type, model_type, features, target, training_data, metrics, hyper_parameters, seed, created_at, sha256, user_metadata\)/);
    bad({ ...good, features: [{ name: 'PacketSize_B' }] }, /unit/);
    // Minimal document for a foreign (e.g. skl2onnx) model.
    validateModelMetadata({
      schema_version: 1,
      name: 'sk-mlp',
      version: '3',
      router_type: 'cisco-8000',
      model_type: 'external',
      features: good.features,
      target: good.target,
      created_at: good.created_at,
      sha256: good.sha256,
    });
  });
});

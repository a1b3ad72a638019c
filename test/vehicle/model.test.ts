/**
 * Vehicle anomaly model: isolation forest basics, training from the reference logs
 * (deterministic version), scoring labels (normal, anomaly, implausible, insufficient data),
 * artifact round trip and tamper detection.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../../src/ml/dataset/rng.js';
import { averagePathLength, fitIsolationForest, isolationScore } from '../../src/vehicle/model/isolation-forest.js';
import { IsolationForestModel, loadVehicleModel, ModelFileError, saveModelArtifact, type VehicleModelArtifact } from '../../src/vehicle/model/anomaly-model.js';
import { trainVehicleModel } from '../../src/vehicle/model/train.js';
import { DS1, DS2, vector } from './helpers.js';

let dir: string;
let artifact: VehicleModelArtifact;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wf-vmodel-'));
  artifact = trainVehicleModel({ files: [DS1, DS2], createdAt: '2026-01-01T00:00:00.000Z' }).artifact;
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A typical DS2 cruising vector. */
const cruising = {
  vehicle_speed: 88,
  normed_load: 45,
  accelerator_pedal_position: 30,
  engine_torque: 120,
  oil_fill_level: 50,
  engine_oil_temperature: 85,
  fuel_consumption: 6,
  brake_pressure: 0,
  engaged_gear: 6,
  scr_efficiency: 0.3,
};

describe('isolation forest', () => {
  test('c(n) and scores: outliers score higher than inliers', () => {
    assert.equal(averagePathLength(1), 0);
    assert.equal(averagePathLength(2), 1);
    assert.ok(Math.abs(averagePathLength(256) - 10.24) < 0.01);
    const rng = createRng(1);
    const rows = Array.from({ length: 500 }, () => Float64Array.from([rng.normal(), rng.normal()]));
    const forest = fitIsolationForest(rows, { trees: 100, sampleSize: 256, rng: createRng(2) });
    const inlier = isolationScore(forest, [0, 0]);
    const outlier = isolationScore(forest, [6, -6]);
    assert.ok(inlier < 0.5, `inlier ${inlier}`);
    assert.ok(outlier > 0.65, `outlier ${outlier}`);
    assert.throws(() => fitIsolationForest(rows.slice(0, 1), { trees: 1, sampleSize: 2, rng }), /at least 2/);
  });
});

describe('vehicle anomaly model', () => {
  test('trained from both reference logs: features, threshold, deterministic version', () => {
    assert.deepEqual(artifact.features, [
      'vehicle_speed',
      'normed_load',
      'accelerator_pedal_position',
      'engine_torque',
      'oil_fill_level',
      'engine_oil_temperature',
      'fuel_consumption',
      'brake_pressure',
      'engaged_gear',
      'scr_efficiency',
    ]);
    assert.equal(artifact.training.vectors, 1391);
    assert.deepEqual(artifact.training.files.map((f) => [f.measurements, f.vectors]), [
      [5376, 671],
      [5772, 720],
    ]);
    assert.ok(artifact.threshold > 0.5 && artifact.threshold < 0.8, String(artifact.threshold));
    const again = trainVehicleModel({ files: [DS1, DS2], createdAt: '2027-01-01T00:00:00.000Z' }).artifact;
    assert.equal(again.version, artifact.version); // same data and seed → same version
    const other = trainVehicleModel({ files: [DS1, DS2], seed: 7 }).artifact;
    assert.notEqual(other.version, artifact.version);
  });

  test('scores: normal driving, a fault, implausible and insufficient data', () => {
    const m = new IsolationForestModel(artifact);
    const normal = m.score(vector(cruising));
    assert.equal(normal.label, 'normal', JSON.stringify(normal));
    // overheating oil (far beyond anything seen): anomaly, named first
    const hot = m.score(vector({ ...cruising, engine_oil_temperature: 150 }));
    assert.equal(hot.label, 'anomaly');
    assert.ok(hot.score! > normal.score!);
    assert.deepEqual(hot.top[0], { signal: 'engine_oil_temperature', z: hot.top[0]!.z, outside: true });
    // joint anomaly: 90 km/h with full load, pedal released, no torque, no gear
    const odd = m.score(vector({ ...cruising, normed_load: 100, accelerator_pedal_position: 14.5, engine_torque: 0, engaged_gear: 0, fuel_consumption: 25 }));
    assert.equal(odd.label, 'anomaly', JSON.stringify(odd));
    const flagged = m.score(vector(cruising, { flags: [{ rule: 'speed_jump', message: '', signals: [] }] }));
    assert.equal(flagged.label, 'implausible');
    const sparse = m.score(vector({ vehicle_speed: 80, engine_torque: null, normed_load: null }));
    assert.equal(sparse.label, 'insufficient_data');
    assert.equal(sparse.score, null);
  });

  test('artifact round trip; a modified or foreign file is refused', () => {
    const file = join(dir, 'sub', 'model.json');
    saveModelArtifact(artifact, file);
    const loaded = loadVehicleModel(file);
    assert.equal(loaded.version, artifact.version);
    assert.equal(loaded.score(vector(cruising)).score, new IsolationForestModel(artifact).score(vector(cruising)).score);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as VehicleModelArtifact;
    doc.threshold = 0.99;
    writeFileSync(file, JSON.stringify(doc));
    assert.throws(() => loadVehicleModel(file), (e: unknown) => e instanceof ModelFileError && /was modified/.test(e.message));
    writeFileSync(file, JSON.stringify({ kind: 'something-else' }));
    assert.throws(() => loadVehicleModel(file), /kind must be "wattflow.vehicle-anomaly-model"/);
    writeFileSync(file, '{not json');
    assert.throws(() => loadVehicleModel(file), /not valid JSON/);
    assert.throws(() => loadVehicleModel(join(dir, 'nope.json')), /train one with: wattflow train-vehicle/);
  });

  test('training refuses unusable input', () => {
    const tiny = join(dir, 'tiny.csv');
    writeFileSync(tiny, ',STAMP,Vehicle speed,\n,, km/h,\n,0.1,5,\n,1.1,6,\n');
    assert.throws(() => trainVehicleModel({ files: [tiny] }), /only \d+ vectors/);
    assert.throws(() => trainVehicleModel({ files: [] }), /no data files/);
    assert.throws(() => trainVehicleModel({ files: [DS1], contamination: 0.7 }), /contamination/);
  });
});

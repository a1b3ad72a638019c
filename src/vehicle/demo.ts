/**
 * Demo data and the demo model of the single-process mode. The two reference logs
 * (SUCCESS6G edge repository, Apache-2.0) ship in test/fixtures/vehicle/ and double as the demo
 * data of `npm start`: when no model artifact exists at the model path (vehicle.model.path,
 * default <storage.dir>/vehicle-model.json), `wattflow up` trains one from them (≈ 0.3 s) and
 * saves it there (with in-memory storage and no path: keeps it in memory).
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Logger } from '../core/logger.js';
import type { AlignmentConfig } from './config.js';
import { IsolationForestModel, loadVehicleModel, saveModelArtifact } from './model/anomaly-model.js';
import { trainVehicleModel } from './model/train.js';

/** test/fixtures/vehicle/ of this checkout (same relative path from src/vehicle/ and dist/vehicle/). */
export const DEMO_DATA_DIR = fileURLToPath(new URL('../../test/fixtures/vehicle/', import.meta.url));

/** The reference logs in a directory (.csv or .CSV), sorted. */
export function logsIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.csv$/i.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Loads the model artifact, or trains the demo model from `data` (default: the bundled logs) and saves it there first (no path: in memory only). */
export function loadOrTrainDemoModel(path: string | undefined, alignment: Pick<AlignmentConfig, 'cadenceMs' | 'maxAgeMs'>, logger: Logger, data?: string[]): IsolationForestModel {
  if (path !== undefined && existsSync(path)) return loadVehicleModel(path);
  const files = data && data.length > 0 ? data : logsIn(DEMO_DATA_DIR);
  if (files.length === 0) throw new Error(`no vehicle model at ${path} and no demo logs in ${DEMO_DATA_DIR} to train one (run: wattflow train-vehicle --data LOG.csv --out ${path})`);
  const started = Date.now();
  const { artifact } = trainVehicleModel({ files, alignment });
  logger.info({ model: path ?? '(in memory)', version: artifact.version, files: files.length, vectors: artifact.training.vectors, ms: Date.now() - started }, 'trained the demo vehicle model');
  if (path === undefined) return new IsolationForestModel(artifact);
  saveModelArtifact(artifact, path);
  return loadVehicleModel(path);
}

/**
 * Training of the default vehicle model from logs in the reference CSV format (what
 * `wattflow train-vehicle --data FILE...` runs): each log goes through the same path as live
 * data — catalog validation and unit normalisation, then the aligner at the configured cadence
 * and maximum age — and the resulting vectors train the isolation forest. The threshold is the
 * (1 − contamination) quantile of the training scores.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRng } from '../../ml/dataset/rng.js';
import { defaultCatalog, type SignalCatalog } from '../catalog/signals.js';
import type { AlignmentConfig } from '../config.js';
import { logMeasurements, logName, parseVehicleLog, type LogWarning } from '../logs/csv-log.js';
import { validateMeasurements } from '../ingest/measurements.js';
import { FleetAligner } from '../align/aligner.js';
import type { AlignedVector } from '../align/vector.js';
import { fitIsolationForest, isolationScore } from './isolation-forest.js';
import { MODEL_FORMAT_VERSION, MODEL_KIND, modelVersionOf, type FeatureStats, type TrainingFileInfo, type VehicleModelArtifact } from './anomaly-model.js';

export interface TrainOptions {
  files: string[];
  alignment?: Pick<AlignmentConfig, 'cadenceMs' | 'maxAgeMs'>;
  trees?: number;
  sampleSize?: number;
  contamination?: number;
  seed?: number;
  /** Features to use (default: catalog signals marked as features present in ≥ half the vectors). */
  features?: string[];
  minPresentFraction?: number;
  envelopeMargin?: number;
  name?: string;
  catalog?: SignalCatalog;
  /** Fixed creation time (tests); default now. */
  createdAt?: string;
}

export interface TrainResult {
  artifact: VehicleModelArtifact;
  warnings: Array<LogWarning & { file: string }>;
  /** Training measurements the catalog rejected (file: reason → count). */
  rejected: Record<string, number>;
  /** Training vectors labelled anomalous at the chosen threshold. */
  anomalies: number;
}

/** A fixed clock for training logs (2024-01-01T00:00:00Z); each file gets its own vehicle. */
const TRAIN_BASE_MS = Date.UTC(2024, 0, 1);

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function statsOf(values: number[], total: number): FeatureStats {
  const s = [...values].sort((a, b) => a - b);
  const median = quantile(s, 0.5);
  const dev = s.map((x) => Math.abs(x - median)).sort((a, b) => a - b);
  const mad = quantile(dev, 0.5);
  const p01 = quantile(s, 0.01);
  const p99 = quantile(s, 0.99);
  const min = s[0]!;
  const max = s[s.length - 1]!;
  // MAD is 0 for signals that are mostly constant (gear 0 when stopped): fall back to the spread
  const scale = 1.4826 * mad || (p99 - p01) / 6 || (max - min) / 6 || Math.max(Math.abs(median) * 1e-3, 1e-3);
  return { median, mad, scale, min, max, p01, p99, presence: values.length / total };
}

/** A log's vectors as the API would produce them from a replay (same validation and aligner). */
export function vectorsFromLog(text: string, source: string, opts: { alignment: Pick<AlignmentConfig, 'cadenceMs' | 'maxAgeMs'> & { latenessMs?: number }; catalog: SignalCatalog; baseMs: number; vehicleId: string }) {
  const log = parseVehicleLog(text, source);
  const raw = logMeasurements(log, opts.baseMs);
  const { valid, rejections } = validateMeasurements(raw, { catalog: opts.catalog, unknownSignals: 'reject', outOfRange: 'reject', maxFutureSkewMs: Number.MAX_SAFE_INTEGER, nowMs: 0 });
  const aligner = new FleetAligner({ ...opts.alignment, latenessMs: opts.alignment.latenessMs ?? 1000 });
  const known = valid.filter((m) => m.known);
  const vectors: AlignedVector[] = [...aligner.push(opts.vehicleId, known).vectors, ...aligner.flush()];
  return { log, vectors, rejections, measurements: raw.length };
}

export function trainVehicleModel(opts: TrainOptions): TrainResult {
  if (opts.files.length === 0) throw new Error('train-vehicle: no data files');
  const catalog = opts.catalog ?? defaultCatalog;
  const alignment = opts.alignment ?? { cadenceMs: 1000, maxAgeMs: 5000 };
  const contamination = opts.contamination ?? 0.01;
  if (!(contamination > 0 && contamination < 0.5)) throw new Error(`contamination must be in (0, 0.5), got ${contamination}`);
  const seed = opts.seed ?? 42;
  const trees = opts.trees ?? 100;
  const warnings: TrainResult['warnings'] = [];
  const rejected: Record<string, number> = {};
  const files: TrainingFileInfo[] = [];
  const vectors: AlignedVector[] = [];
  opts.files.forEach((file, i) => {
    const text = readFileSync(file, 'utf8');
    const r = vectorsFromLog(text, file, { alignment, catalog, baseMs: TRAIN_BASE_MS + i * 30 * 86_400_000, vehicleId: `train-${i}` });
    for (const w of r.log.warnings) warnings.push({ ...w, file });
    for (const rej of r.rejections) {
      const key = `${logName(file)}: ${rej.reason.replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/gi, 'N')}`;
      rejected[key] = (rejected[key] ?? 0) + 1;
    }
    files.push({ name: logName(file), sha256: createHash('sha256').update(text).digest('hex'), measurements: r.measurements, vectors: r.vectors.length });
    vectors.push(...r.vectors);
  });
  if (vectors.length < 10) throw new Error(`train-vehicle: only ${vectors.length} vectors from the data; need at least 10`);

  let features = opts.features;
  if (!features) {
    const counts = new Map<string, number>();
    for (const v of vectors) for (const [k, x] of Object.entries(v.values)) if (x !== null) counts.set(k, (counts.get(k) ?? 0) + 1);
    features = catalog.signals.filter((s) => s.feature && (counts.get(s.id) ?? 0) >= vectors.length / 2).map((s) => s.id);
  }
  if (features.length === 0) throw new Error('train-vehicle: no usable features in the data');
  const stats: Record<string, FeatureStats> = {};
  for (const f of features) {
    const vals = vectors.map((v) => v.values[f]).filter((x): x is number => x !== null && x !== undefined);
    if (vals.length === 0) throw new Error(`train-vehicle: feature ${f} never present in the data`);
    stats[f] = statsOf(vals, vectors.length);
  }
  const rows = vectors.map((v) => Float64Array.from(features!.map((f) => v.values[f] ?? stats[f]!.median)));
  const forest = fitIsolationForest(rows, { trees, sampleSize: opts.sampleSize ?? 256, rng: createRng(seed) });
  const scores = rows.map((r) => isolationScore(forest, r)).sort((a, b) => a - b);
  const threshold = Number(quantile(scores, 1 - contamination).toFixed(6));
  const scoreQuantiles: Record<string, number> = {};
  for (const q of [0.5, 0.9, 0.99, 1]) scoreQuantiles[`p${Math.round(q * 100)}`] = Number(quantile(scores, q).toFixed(6));
  const body: Omit<VehicleModelArtifact, 'version' | 'createdAt'> = {
    kind: MODEL_KIND,
    formatVersion: MODEL_FORMAT_VERSION,
    name: opts.name ?? 'vehicle-anomaly',
    algorithm: 'isolation-forest',
    features,
    stats,
    threshold,
    contamination,
    minPresentFraction: opts.minPresentFraction ?? 0.5,
    envelopeMargin: opts.envelopeMargin ?? 0.1,
    alignment: { cadenceMs: alignment.cadenceMs, maxAgeMs: alignment.maxAgeMs },
    forest,
    training: { files, vectors: vectors.length, seed, trees, scoreQuantiles },
  };
  const artifact: VehicleModelArtifact = { ...body, version: modelVersionOf(body), createdAt: opts.createdAt ?? new Date().toISOString() };
  return { artifact, warnings, rejected, anomalies: scores.filter((s) => s >= threshold).length };
}

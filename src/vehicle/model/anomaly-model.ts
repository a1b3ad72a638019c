/**
 * The default vehicle model: an isolation forest over the aligned feature vector (joint
 * structure: e.g. high speed with no load and no gear), plus per-signal statistics from the
 * training data: the median imputes missing features, the robust z (median/MAD) names the
 * signals that deviate most, and the training envelope catches single signals far outside
 * anything seen (which an isolation forest scores no higher than the most extreme training
 * point). score = max(isolation score, envelope score); the envelope score is the threshold at
 * the envelope's edge (min/max ± `envelopeMargin` × range) and rises towards 1 beyond it. Stored as one JSON artifact (`kind`, `name`, `version`, metadata, the
 * forest) so a model registry can hold it as-is later; `version` is a content hash, so the same
 * data and seed give the same version.
 *
 * Labels: `insufficient_data` (too few features present), else `implausible` (plausibility
 * flags or out-of-range values on the vector), else `anomaly` (score ≥ the threshold fixed at
 * training from the contamination quantile), else `normal`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AlignedVector } from '../align/vector.js';
import { isolationScore, type IsolationForest } from './isolation-forest.js';

export const MODEL_KIND = 'wattflow.vehicle-anomaly-model';
export const MODEL_FORMAT_VERSION = 1;

export interface FeatureStats {
  median: number;
  mad: number;
  /** Robust scale for z-scores (1.4826 × MAD, or a fallback when MAD is 0). */
  scale: number;
  min: number;
  max: number;
  p01: number;
  p99: number;
  /** Fraction of training vectors where the signal was present. */
  presence: number;
}

export interface TrainingFileInfo {
  name: string;
  sha256: string;
  measurements: number;
  vectors: number;
}

export interface VehicleModelArtifact {
  kind: typeof MODEL_KIND;
  formatVersion: number;
  name: string;
  version: string;
  createdAt: string;
  algorithm: 'isolation-forest';
  features: string[];
  stats: Record<string, FeatureStats>;
  threshold: number;
  contamination: number;
  /** Below this fraction of features present the label is insufficient_data. */
  minPresentFraction: number;
  /** Envelope = training [min, max] widened by this fraction of the range on each side. */
  envelopeMargin: number;
  alignment: { cadenceMs: number; maxAgeMs: number };
  forest: IsolationForest;
  training: {
    files: TrainingFileInfo[];
    vectors: number;
    seed: number;
    trees: number;
    scoreQuantiles: Record<string, number>;
  };
}

export type VehicleLabel = 'normal' | 'anomaly' | 'implausible' | 'insufficient_data';

export interface VehicleScore {
  /** Isolation score in (0, 1] (null when there is not enough data). */
  score: number | null;
  label: VehicleLabel;
  /** The signals deviating most from the training median (robust z, descending), up to 3. */
  top: Array<{ signal: string; z: number; outside?: boolean }>;
  /** Features present in the vector / in the model. */
  present: number;
  features: number;
}

/** What the predictor needs from a model (the default one is the isolation forest below). */
export interface VehicleModel {
  readonly name: string;
  /** The artifact's content hash. */
  readonly version: string;
  /** The registry version it was loaded as (`--model NAME@REF`); absent for a model file. */
  readonly registry?: { name: string; version: string };
  readonly features: readonly string[];
  readonly threshold: number;
  score(v: AlignedVector): VehicleScore;
}

/** The content hash that names a model version (everything but createdAt and version). */
export function modelVersionOf(a: Omit<VehicleModelArtifact, 'version' | 'createdAt'>): string {
  const { kind, formatVersion, name, algorithm, features, stats, threshold, contamination, minPresentFraction, envelopeMargin, alignment, forest, training } = a;
  const body = JSON.stringify({ kind, formatVersion, name, algorithm, features, stats, threshold, contamination, minPresentFraction, envelopeMargin, alignment, forest, training });
  return createHash('sha256').update(body).digest('hex').slice(0, 12);
}

export class IsolationForestModel implements VehicleModel {
  readonly name: string;
  readonly version: string;
  readonly features: readonly string[];
  readonly threshold: number;
  private readonly medians: Float64Array;
  private readonly scales: Float64Array;
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  private readonly width: Float64Array;

  constructor(
    readonly artifact: VehicleModelArtifact,
    readonly registry?: { name: string; version: string },
  ) {
    this.name = artifact.name;
    this.version = artifact.version;
    this.features = artifact.features;
    this.threshold = artifact.threshold;
    this.medians = Float64Array.from(artifact.features.map((f) => artifact.stats[f]!.median));
    this.scales = Float64Array.from(artifact.features.map((f) => artifact.stats[f]!.scale));
    this.width = Float64Array.from(artifact.features.map((f) => {
      const st = artifact.stats[f]!;
      return Math.max(st.max - st.min, 6 * st.scale);
    }));
    this.lo = Float64Array.from(artifact.features.map((f, i) => artifact.stats[f]!.min - artifact.envelopeMargin * this.width[i]!));
    this.hi = Float64Array.from(artifact.features.map((f, i) => artifact.stats[f]!.max + artifact.envelopeMargin * this.width[i]!));
  }

  score(v: AlignedVector): VehicleScore {
    const n = this.features.length;
    const x = new Float64Array(n);
    let present = 0;
    let exceed = 0;
    const zs: Array<{ signal: string; z: number; e: number }> = [];
    for (let i = 0; i < n; i++) {
      const f = this.features[i]!;
      const val = v.values[f];
      if (val === null || val === undefined) {
        x[i] = this.medians[i]!;
        continue;
      }
      x[i] = val;
      present++;
      const e = Math.max(0, (val - this.hi[i]!) / this.width[i]!, (this.lo[i]! - val) / this.width[i]!);
      if (e > exceed) exceed = e;
      zs.push({ signal: f, z: Math.abs(val - this.medians[i]!) / this.scales[i]!, e });
    }
    zs.sort((a, b) => b.e - a.e || b.z - a.z);
    const top = zs.slice(0, 3).map((t) => (t.e > 0 ? { signal: t.signal, z: round2(t.z), outside: true } : { signal: t.signal, z: round2(t.z) }));
    if (n === 0 || present / n < this.artifact.minPresentFraction) return { score: null, label: 'insufficient_data', top, present, features: n };
    const iso = isolationScore(this.artifact.forest, x);
    const envelope = exceed > 0 ? this.threshold + (1 - this.threshold) * (1 - Math.exp(-exceed / 0.5)) : 0;
    const score = Math.max(iso, envelope);
    let label: VehicleLabel = score >= this.threshold ? 'anomaly' : 'normal';
    if (v.flags.length > 0 || v.outOfRange.length > 0) label = 'implausible';
    return { score, label, top, present, features: n };
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export class ModelFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`vehicle model ${file}: ${reason}`);
    this.name = 'ModelFileError';
  }
}

export function checkArtifact(doc: unknown, file: string): VehicleModelArtifact {
  const a = doc as Partial<VehicleModelArtifact> | null;
  if (!a || typeof a !== 'object') throw new ModelFileError(file, 'not a JSON object');
  if (a.kind !== MODEL_KIND) throw new ModelFileError(file, `kind must be "${MODEL_KIND}", found ${JSON.stringify(a.kind)}`);
  if (a.formatVersion !== MODEL_FORMAT_VERSION) throw new ModelFileError(file, `unsupported formatVersion ${JSON.stringify(a.formatVersion)} (this build reads ${MODEL_FORMAT_VERSION})`);
  if (a.algorithm !== 'isolation-forest') throw new ModelFileError(file, `unsupported algorithm ${JSON.stringify(a.algorithm)}`);
  if (!Array.isArray(a.features) || !a.stats || !a.forest || !Array.isArray(a.forest.trees) || typeof a.threshold !== 'number' || typeof a.envelopeMargin !== 'number') {
    throw new ModelFileError(file, 'missing features, stats, threshold or forest');
  }
  for (const f of a.features) if (!a.stats[f]) throw new ModelFileError(file, `no statistics for feature ${f}`);
  const dims = a.features.length;
  for (const t of a.forest.trees) {
    if (!Array.isArray(t.f) || t.f.length !== t.s.length || t.f.length !== t.l.length || t.f.length !== t.r.length) throw new ModelFileError(file, 'malformed tree');
    for (let i = 0; i < t.f.length; i++) {
      const f = t.f[i]!;
      if (f >= dims || (f >= 0 && (t.l[i]! <= i || t.r[i]! <= i || t.l[i]! >= t.f.length || t.r[i]! >= t.f.length))) throw new ModelFileError(file, 'malformed tree');
    }
  }
  const expected = modelVersionOf(a as VehicleModelArtifact);
  if (a.version !== expected) throw new ModelFileError(file, `content does not match its version ${a.version} (expected ${expected}): the file was modified`);
  return a as VehicleModelArtifact;
}

export function loadModelArtifact(file: string): VehicleModelArtifact {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ModelFileError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); train one with: wattflow train-vehicle --data LOG.csv --out ${file}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ModelFileError(file, `not valid JSON: ${(err as Error).message}`);
  }
  return checkArtifact(doc, file);
}

export function loadVehicleModel(file: string): IsolationForestModel {
  return new IsolationForestModel(loadModelArtifact(file));
}

/** Writes the artifact atomically (temp file + rename). */
export function saveModelArtifact(a: VehicleModelArtifact, file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(a) + '\n');
  renameSync(tmp, file);
}

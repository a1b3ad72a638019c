/**
 * Vehicle models in the registry (an additive model kind next to the ONNX power models): the
 * JSON isolation-forest artifact of src/vehicle/model/ (what `wattflow train-vehicle` writes).
 * A version of this kind has `kind: "vehicle-anomaly"` in its metadata and on its record, is
 * stored as `<model>/<version>/vehicle-model.json` (+ `metadata.json`), and is validated on
 * upload by loading it with the vehicle model loader (format, trees, content hash) and scoring
 * a smoke vector (the training medians) to a finite score. It is served by `wattflow
 * vehicle-predictor --model NAME@VERSION|ALIAS`, not deployed to inference workers through the
 * control channel (deploying one is refused).
 */
import { METADATA_SCHEMA_VERSION, sha256Hex, type ModelMetadata } from '../ml/onnx/metadata.js';
import { defaultCatalog } from '../vehicle/catalog/signals.js';
import { checkArtifact, IsolationForestModel, MODEL_KIND, ModelFileError, type VehicleModelArtifact } from '../vehicle/model/anomaly-model.js';
import { RegistryError } from './errors.js';

export const VEHICLE_MODEL_KIND = 'vehicle-anomaly';
/** The router_type recorded for vehicle models (they have no router). */
export const VEHICLE_ROUTER_TYPE = 'vehicle';

/** Metadata of a vehicle model version (ModelMetadata's fields, plus the kind and the model's own). */
export interface VehicleModelMetadata extends ModelMetadata {
  kind: typeof VEHICLE_MODEL_KIND;
  vehicle: {
    /** The artifact's own name and content-hash version. */
    model_name: string;
    model_version: string;
    algorithm: string;
    threshold: number;
    contamination: number;
    trees: number;
    training_vectors: number;
    training_files: string[];
    alignment: { cadenceMs: number; maxAgeMs: number };
  };
}

export const artifactKeysVehicle = (model: string, version: string) => ({
  onnx: `${model}/${version}/vehicle-model.json`,
  metadata: `${model}/${version}/metadata.json`,
});

export function isVehicleMetadata(m: unknown): m is VehicleModelMetadata {
  return !!m && typeof m === 'object' && (m as { kind?: unknown }).kind === VEHICLE_MODEL_KIND;
}

/** Whether uploaded bytes are a vehicle model artifact (a JSON document of its kind), cheaply. */
export function looksLikeVehicleArtifact(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x7b) return false; // '{'
  const head = new TextDecoder().decode(bytes.subarray(0, 4096));
  return head.includes(`"${MODEL_KIND}"`);
}

/** Parses and validates a vehicle artifact: the loader's checks plus a smoke score. */
export function validateVehicleArtifact(bytes: Uint8Array, label: string): VehicleModelArtifact {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new RegistryError('INVALID_MODEL', `${label}: not a JSON vehicle model: ${(err as Error).message}`, 'CORRUPT');
  }
  let artifact: VehicleModelArtifact;
  try {
    artifact = checkArtifact(doc, label);
  } catch (err) {
    if (err instanceof ModelFileError) throw new RegistryError('INVALID_MODEL', err.message, 'CORRUPT');
    throw err;
  }
  const model = new IsolationForestModel(artifact);
  const values: Record<string, number> = {};
  for (const f of artifact.features) values[f] = artifact.stats[f]!.median;
  const s = model.score({ vehicleId: 'smoke', ts: 0, seq: 1, values, sourceTs: {}, missing: [], filled: [], outOfRange: [], flags: [] });
  if (s.score === null || !Number.isFinite(s.score) || s.score <= 0 || s.score > 1) {
    throw new RegistryError('INVALID_MODEL', `${label}: smoke score of the training medians is ${String(s.score)} (expected a number in (0, 1])`, 'SMOKE_FAILED');
  }
  return artifact;
}

/** The registry metadata of a validated vehicle artifact. */
export function vehicleMetadataOf(a: VehicleModelArtifact, o: { name: string; version: string; bytes: Uint8Array; createdAt: string }): VehicleModelMetadata {
  return {
    schema_version: METADATA_SCHEMA_VERSION as 1,
    kind: VEHICLE_MODEL_KIND,
    name: o.name,
    version: o.version,
    router_type: VEHICLE_ROUTER_TYPE,
    model_type: 'external',
    features: a.features.map((f) => ({ name: f, unit: defaultCatalog.signals.find((s) => s.id === f)?.unit ?? '' })),
    target: { name: 'anomaly_score', unit: 'score' },
    created_at: o.createdAt,
    sha256: sha256Hex(o.bytes),
    vehicle: {
      model_name: a.name,
      model_version: a.version,
      algorithm: a.algorithm,
      threshold: a.threshold,
      contamination: a.contamination,
      trees: a.training.trees,
      training_vectors: a.training.vectors,
      training_files: a.training.files.map((f) => f.name),
      alignment: a.alignment,
    },
  };
}

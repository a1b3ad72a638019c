/**
 * Vehicle models in the registry (a model kind next to the ONNX power models): the JSON
 * isolation-forest artifact `wattflow train-vehicle` writes. A version of this kind has
 * `kind: "vehicle-anomaly"` in its metadata and on its record, is stored as
 * `<model>/<version>/vehicle-model.json` (+ `metadata.json`), and is served by `wattflow
 * vehicle-predictor`, not deployed to inference workers (deploying one is refused).
 * The registry does not read the artifact itself: the vehicle module passes a
 * VehicleArtifactValidator in (src/vehicle/model/registry-upload-check.ts).
 */
import { METADATA_SCHEMA_VERSION, sha256Hex, type ModelMetadata } from '../ml/onnx/metadata.js';

export const VEHICLE_MODEL_KIND = 'vehicle-anomaly';
/** The router_type recorded for vehicle models (they have no router). */
export const VEHICLE_ROUTER_TYPE = 'vehicle';

/** A vehicle model's own figures, as its version's metadata records them. */
export interface VehicleModelFigures {
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
}

/** What the registry records of a validated vehicle artifact. */
export interface VehicleArtifactFacts {
  features: Array<{ name: string; unit: string }>;
  vehicle: VehicleModelFigures;
}

/** Validates uploaded vehicle artifacts (format, trees, content hash, a smoke score). */
export interface VehicleArtifactValidator {
  /** The kind marker inside a vehicle artifact's JSON (cheap detection of an upload's kind). */
  readonly marker: string;
  /** The artifact's facts; throws RegistryError INVALID_MODEL (detail CORRUPT or SMOKE_FAILED). */
  validate(bytes: Uint8Array, label: string): VehicleArtifactFacts;
}

/** Metadata of a vehicle model version (ModelMetadata's fields, plus the kind and the model's own). */
export interface VehicleModelMetadata extends ModelMetadata {
  kind: typeof VEHICLE_MODEL_KIND;
  vehicle: VehicleModelFigures;
}

export const artifactKeysVehicle = (model: string, version: string) => ({
  onnx: `${model}/${version}/vehicle-model.json`,
  metadata: `${model}/${version}/metadata.json`,
});

export function isVehicleMetadata(m: unknown): m is VehicleModelMetadata {
  return !!m && typeof m === 'object' && (m as { kind?: unknown }).kind === VEHICLE_MODEL_KIND;
}

/** Whether uploaded bytes are a vehicle model artifact (a JSON document carrying `marker`), cheaply. */
export function looksLikeVehicleArtifact(bytes: Uint8Array, marker: string): boolean {
  if (bytes[0] !== 0x7b) return false; // '{'
  const head = new TextDecoder().decode(bytes.subarray(0, 4096));
  return head.includes(`"${marker}"`);
}

/** The registry metadata of a validated vehicle artifact. */
export function vehicleMetadataOf(a: VehicleArtifactFacts, o: { name: string; version: string; bytes: Uint8Array; createdAt: string }): VehicleModelMetadata {
  return {
    schema_version: METADATA_SCHEMA_VERSION as 1,
    kind: VEHICLE_MODEL_KIND,
    name: o.name,
    version: o.version,
    router_type: VEHICLE_ROUTER_TYPE,
    model_type: 'external',
    features: a.features.map((f) => ({ name: f.name, unit: f.unit })),
    target: { name: 'anomaly_score', unit: 'score' },
    created_at: o.createdAt,
    sha256: sha256Hex(o.bytes),
    vehicle: { ...a.vehicle },
  };
}

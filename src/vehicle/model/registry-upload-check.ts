/**
 * The vehicle model kind as the model registry validates it on upload (passed to the registry,
 * which does not import the vehicle module): the artifact loader's checks (format, trees,
 * content hash) plus a smoke score of the training medians, finite in (0, 1].
 */
import { RegistryError } from '../../registry/errors.js';
import type { VehicleArtifactFacts, VehicleArtifactValidator } from '../../registry/vehicle-kind.js';
import { defaultCatalog } from '../catalog/signals.js';
import { checkArtifact, IsolationForestModel, MODEL_KIND, ModelFileError, type VehicleModelArtifact } from './anomaly-model.js';

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

/** What the registry records of an artifact (feature units from the signal catalog). */
export function vehicleArtifactFacts(a: VehicleModelArtifact): VehicleArtifactFacts {
  return {
    features: a.features.map((f) => ({ name: f, unit: defaultCatalog.signals.find((s) => s.id === f)?.unit ?? '' })),
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

/** The validator the registry is given (roles wire it in). */
export const vehicleArtifactValidator: VehicleArtifactValidator = {
  marker: MODEL_KIND,
  validate: (bytes, label) => vehicleArtifactFacts(validateVehicleArtifact(bytes, label)),
};

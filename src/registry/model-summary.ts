/**
 * The summary of a model as `models list/show`, the REST API and the web page give it: its
 * versions with aliases, the scopes they are deployed to and the workers serving them.
 */
import type { ModelMetadata } from '../ml/onnx/metadata.js';
import type { ModelRecord, VersionRecord } from './catalog.js';
import type { DeploymentRecord, WorkerStatus } from './control.js';
import { nextVersion } from './refs.js';
import { VEHICLE_MODEL_KIND, type VehicleModelMetadata } from './vehicle-kind.js';

export interface ModelSummary extends ModelRecord {
  latest_version?: string;
  next_version: string;
  versions: VersionSummary[];
  deployments: Array<{ scope: string; version: string; ref: string }>;
}

/** A version as listed: its record's figures, plus where it is deployed and who serves it. */
export interface VersionSummary extends Pick<VersionRecord, 'version' | 'created_at' | 'model_type' | 'router_type' | 'sha256' | 'size'> {
  metrics?: ModelMetadata['metrics'];
  aliases: string[];
  deployed_to: string[];
  served_by: string[];
  artifact_uri: string;
  /** `vehicle-anomaly` for a vehicle model (an isolation forest scoring vehicle vectors, not a power model). */
  kind?: 'vehicle-anomaly';
  /** A vehicle model's own figures (instead of power metrics in W). */
  vehicle?: { algorithm: string; features: number; threshold: number; contamination: number; trees: number; training_vectors: number };
}

/** The summary fields of a vehicle model version (its own figures, not power metrics). */
function vehicleSummary(v: VersionRecord): Pick<VersionSummary, 'kind' | 'vehicle'> {
  const m = v.metadata as Partial<VehicleModelMetadata>;
  const x = m.vehicle;
  return {
    kind: VEHICLE_MODEL_KIND,
    ...(x
      ? {
          vehicle: {
            algorithm: x.algorithm,
            features: m.features?.length ?? 0,
            threshold: x.threshold,
            contamination: x.contamination,
            trees: x.trees,
            training_vectors: x.training_vectors,
          },
        }
      : {}),
  };
}

/** Aliases pointing at a version. */
export const aliasesOf = (m: ModelRecord, version: string): string[] =>
  Object.entries(m.aliases)
    .filter(([, ver]) => ver === version)
    .map(([a]) => a);

function versionSummary(m: ModelRecord, v: VersionRecord, deps: ModelSummary['deployments'], workers: WorkerStatus[]): VersionSummary {
  return {
    version: v.version,
    created_at: v.created_at,
    model_type: v.model_type,
    router_type: v.router_type,
    sha256: v.sha256,
    size: v.size,
    ...(v.metadata.metrics ? { metrics: v.metadata.metrics } : {}),
    aliases: aliasesOf(m, v.version),
    deployed_to: deps.filter((d) => d.version === v.version).map((d) => d.scope),
    served_by: workers
      .filter((w) => w.state === 'running' && w.models.some((x) => x.model === m.name && x.version === v.version))
      .map((w) => w.worker),
    artifact_uri: v.artifact.uri,
    ...(v.kind === VEHICLE_MODEL_KIND ? vehicleSummary(v) : {}),
  };
}

/** A model with its versions (oldest first), deployments and serving workers. */
export function summarizeModel(m: ModelRecord, versions: VersionRecord[], desired: ReadonlyMap<string, DeploymentRecord>, workers: WorkerStatus[]): ModelSummary {
  const deps: ModelSummary['deployments'] = [];
  for (const [key, r] of desired) {
    if (r.target?.kind === 'model' && r.target.model === m.name) deps.push({ scope: key, version: r.target.version, ref: r.target.ref });
  }
  return {
    name: m.name,
    ...(m.description ? { description: m.description } : {}),
    ...(m.router_type ? { router_type: m.router_type } : {}),
    created_at: m.created_at,
    updated_at: m.updated_at,
    aliases: m.aliases,
    ...(versions.length ? { latest_version: versions[versions.length - 1]!.version } : {}),
    next_version: nextVersion(versions),
    versions: versions.map((v) => versionSummary(m, v, deps, workers)),
    deployments: deps,
  };
}

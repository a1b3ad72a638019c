/**
 * The model catalog (the registry's records): models (name, description, router type, aliases), versions (metadata
 * document, sha256, size, artifact keys) and the desired deployments, kept as JSON values in a
 * key-value table. The embedded storage's kv API (`TimeSeriesStore.kvGet/kvPut/kvDelete/kvList`,
 * SQLite file `registry.db`, or in memory) provides it; anything with those four methods works.
 *
 * Keys: `model/<name>`, `version/<name>/<version>`, `deployment/<scope key>`. Model names and
 * versions never contain '/', so prefixes are unambiguous.
 */
import type { ModelMetadata } from '../ml/onnx/metadata.js';
import type { DeploymentRecord } from './control.js';

export interface KvLike {
  kvGet<T = unknown>(key: string): Promise<T | undefined>;
  kvPut(key: string, value: unknown): Promise<void>;
  kvDelete(key: string): Promise<boolean>;
  kvList<T = unknown>(prefix?: string): Promise<Array<{ key: string; value: T; updatedMs: number }>>;
}

export interface ModelRecord {
  name: string;
  description?: string;
  router_type?: string;
  created_at: string;
  updated_at: string;
  /** alias → version */
  aliases: Record<string, string>;
}

export interface VersionRecord {
  model: string;
  version: string;
  created_at: string;
  model_type: string;
  router_type: string;
  sha256: string;
  size: number;
  /** Artifact keys in the store, and the URI of the ONNX file. */
  artifact: { onnx: string; metadata: string; uri: string };
  /** The metadata document (name/version are the registry's). */
  metadata: ModelMetadata;
  /** Upload file name, if given. */
  source?: string;
  /** `vehicle-anomaly` for a vehicle model (JSON artifact, key in `artifact.onnx`); absent for ONNX power models. */
  kind?: 'vehicle-anomaly';
}

/** Numeric-aware version order: 2 < 10, 1.0.0 < 1.0.10. */
export const compareVersions = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

export class ModelCatalog {
  constructor(private readonly kv: KvLike) {}

  getModel(name: string): Promise<ModelRecord | undefined> {
    return this.kv.kvGet<ModelRecord>(`model/${name}`);
  }

  putModel(m: ModelRecord): Promise<void> {
    return this.kv.kvPut(`model/${m.name}`, m);
  }

  async deleteModel(name: string): Promise<void> {
    await this.kv.kvDelete(`model/${name}`);
  }

  async listModels(): Promise<ModelRecord[]> {
    return (await this.kv.kvList<ModelRecord>('model/')).map((e) => e.value);
  }

  getVersion(name: string, version: string): Promise<VersionRecord | undefined> {
    return this.kv.kvGet<VersionRecord>(`version/${name}/${version}`);
  }

  putVersion(v: VersionRecord): Promise<void> {
    return this.kv.kvPut(`version/${v.model}/${v.version}`, v);
  }

  async deleteVersion(name: string, version: string): Promise<void> {
    await this.kv.kvDelete(`version/${name}/${version}`);
  }

  /** Versions of a model, oldest first (numeric-aware order). */
  async listVersions(name: string): Promise<VersionRecord[]> {
    return (await this.kv.kvList<VersionRecord>(`version/${name}/`)).map((e) => e.value).sort((a, b) => compareVersions(a.version, b.version));
  }

  getDeployment(key: string): Promise<DeploymentRecord | undefined> {
    return this.kv.kvGet<DeploymentRecord>(`deployment/${key}`);
  }

  putDeployment(key: string, r: DeploymentRecord): Promise<void> {
    return this.kv.kvPut(`deployment/${key}`, r);
  }

  /** Every deployment record, including cleared scopes (target null). */
  async listDeployments(): Promise<Map<string, DeploymentRecord>> {
    const out = new Map<string, DeploymentRecord>();
    for (const e of await this.kv.kvList<DeploymentRecord>('deployment/')) out.set(e.key.slice('deployment/'.length), e.value);
    return out;
  }
}

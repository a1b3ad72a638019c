/**
 * What the MLflow-compatible API keeps beside the registry's own records, in the same key-value
 * store (prefix `mlflow/`, so the registry's `model/`, `version/`, `deployment/` keys are never
 * touched):
 *
 *   mlflow/experiment/<id>          experiments (id "0" is "Default", made on first use)
 *   mlflow/experiment-seq           the last experiment id given
 *   mlflow/run/<run_id>             runs: info, params, latest metrics, tags, logged models
 *   mlflow/model/<name>             a registered model's MLflow-only fields (tags)
 *   mlflow/version/<name>/<version> a version's MLflow-only fields (source, run id, tags, MLmodel)
 *   mlflow/artifact/<path>          the index of the artifact proxy's files (size, time)
 *
 * A version record holds the registry version's `created_at` and sha256: a record left by a
 * deleted version is ignored when a new version later gets the same number.
 */
import type { KvLike } from '../catalog.js';

export interface KeyValue {
  key: string;
  value: string;
}

export interface ExperimentRecord {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: 'active' | 'deleted';
  creation_time: number;
  last_update_time: number;
  tags: KeyValue[];
}

export interface MetricRecord {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export interface RunRecord {
  info: {
    run_id: string;
    run_uuid: string;
    run_name: string;
    experiment_id: string;
    user_id: string;
    status: string;
    start_time: number;
    end_time?: number;
    artifact_uri: string;
    lifecycle_stage: 'active' | 'deleted';
  };
  params: KeyValue[];
  /** Latest value per key (what GetRun returns). */
  metrics: MetricRecord[];
  tags: KeyValue[];
  /** `runs/log-model` documents (MLmodel as JSON), kept as sent. */
  models: unknown[];
}

export interface ModelExtra {
  tags: KeyValue[];
}

export interface VersionExtra {
  /** The registry version this record belongs to (created_at + sha256 must match). */
  created_at: string;
  sha256: string;
  source: string;
  run_id?: string;
  run_link?: string;
  user_id?: string;
  description?: string;
  tags: KeyValue[];
  /** The MLmodel file registered with it (YAML text), served again under the version's download URI. */
  mlmodel?: string;
  /** Where the ONNX file is in that MLmodel layout (flavors.onnx.data). */
  data_path?: string;
}

export interface ArtifactEntry {
  size: number;
  updated_ms: number;
}

export const ARTIFACT_PREFIX = 'mlflow/artifact/';

export class MlflowCatalog {
  constructor(readonly kv: KvLike) {}

  getExperiment(id: string): Promise<ExperimentRecord | undefined> {
    return this.kv.kvGet<ExperimentRecord>(`mlflow/experiment/${id}`);
  }
  putExperiment(e: ExperimentRecord): Promise<void> {
    return this.kv.kvPut(`mlflow/experiment/${e.experiment_id}`, e);
  }
  async listExperiments(): Promise<ExperimentRecord[]> {
    return (await this.kv.kvList<ExperimentRecord>('mlflow/experiment/')).map((e) => e.value);
  }
  async nextExperimentId(): Promise<string> {
    const last = (await this.kv.kvGet<number>('mlflow/experiment-seq')) ?? 0;
    await this.kv.kvPut('mlflow/experiment-seq', last + 1);
    return String(last + 1);
  }

  getRun(id: string): Promise<RunRecord | undefined> {
    return this.kv.kvGet<RunRecord>(`mlflow/run/${id}`);
  }
  putRun(r: RunRecord): Promise<void> {
    return this.kv.kvPut(`mlflow/run/${r.info.run_id}`, r);
  }

  async getModelExtra(name: string): Promise<ModelExtra> {
    return (await this.kv.kvGet<ModelExtra>(`mlflow/model/${name}`)) ?? { tags: [] };
  }
  putModelExtra(name: string, m: ModelExtra): Promise<void> {
    return this.kv.kvPut(`mlflow/model/${name}`, m);
  }
  async deleteModelExtra(name: string): Promise<void> {
    await this.kv.kvDelete(`mlflow/model/${name}`);
  }

  /** The version's MLflow fields, if they belong to this registry version. */
  async getVersionExtra(name: string, version: string, owner: { created_at: string; sha256: string }): Promise<VersionExtra | undefined> {
    const x = await this.kv.kvGet<VersionExtra>(`mlflow/version/${name}/${version}`);
    return x && x.created_at === owner.created_at && x.sha256 === owner.sha256 ? x : undefined;
  }
  putVersionExtra(name: string, version: string, x: VersionExtra): Promise<void> {
    return this.kv.kvPut(`mlflow/version/${name}/${version}`, x);
  }
  async deleteVersionExtra(name: string, version: string): Promise<void> {
    await this.kv.kvDelete(`mlflow/version/${name}/${version}`);
  }

  getArtifact(path: string): Promise<ArtifactEntry | undefined> {
    return this.kv.kvGet<ArtifactEntry>(ARTIFACT_PREFIX + path);
  }
  putArtifact(path: string, e: ArtifactEntry): Promise<void> {
    return this.kv.kvPut(ARTIFACT_PREFIX + path, e);
  }
  async deleteArtifact(path: string): Promise<boolean> {
    return this.kv.kvDelete(ARTIFACT_PREFIX + path);
  }
  /** Files at or under `dir` ('' = everything), as paths relative to the root. */
  async artifactsUnder(dir: string): Promise<Array<{ path: string; entry: ArtifactEntry }>> {
    const prefix = ARTIFACT_PREFIX + (dir === '' ? '' : `${dir}/`);
    return (await this.kv.kvList<ArtifactEntry>(prefix)).map((e) => ({ path: e.key.slice(ARTIFACT_PREFIX.length), entry: e.value }));
  }
}

/**
 * The MLflow-compatible view of the registry (the logic behind src/registry/mlflow/api.ts):
 * registered models and model versions ARE the registry's models and versions — an MLflow
 * client's `model-versions/create` validates and stores the ONNX exactly like
 * `wattflow models upload`, and a version uploaded with wattflow's own API is an MLflow model
 * version (with an MLmodel layout under its download URI). Beside them: the experiments and
 * runs an MLflow client creates before registering (tracking.ts), the artifact proxy where it
 * uploads the model's files (artifact-proxy.ts), and the sources it registers from
 * (version-source.ts).
 */
import type { Caller } from '../../core/auth.js';
import type { ArtifactStore } from '../artifact-store.js';
import type { ModelRecord, VersionRecord } from '../catalog.js';
import { VERSION_RE, type Registry } from '../registry.js';
import { MlflowArtifactProxy, REGISTRY_TREE } from './artifact-proxy.js';
import type { KeyValue, MlflowCatalog, VersionExtra } from './catalog.js';
import { MlflowError } from './errors.js';
import { ms, omitEmpty } from './json.js';
import { nameFilter, paginate, sortBy } from './search.js';
import { MlflowTracking } from './tracking.js';
import { VersionSources } from './version-source.js';

export { checkArtifactPath, REGISTRY_TREE, WATTFLOW_METADATA_FILE } from './artifact-proxy.js';
export { nameFilter } from './search.js';

export interface MlflowServiceOptions {
  registry: Registry;
  catalog: MlflowCatalog;
  artifacts: ArtifactStore;
  maxArtifactBytes: number;
}

export interface ModelVersionJson {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  current_stage: string;
  description?: string;
  source: string;
  run_id?: string;
  status: 'READY';
  tags?: KeyValue[];
  run_link?: string;
  aliases?: string[];
}

export class MlflowService {
  readonly catalog: MlflowCatalog;
  private readonly registry: Registry;
  private readonly artifacts: ArtifactStore;

  /** Experiments and runs. */
  readonly tracking: MlflowTracking;
  /** The artifact proxy and the registry tree. */
  readonly artifactProxy: MlflowArtifactProxy;
  private readonly sources: VersionSources;

  constructor(private readonly o: MlflowServiceOptions) {
    this.catalog = o.catalog;
    this.registry = o.registry;
    this.artifacts = o.artifacts;
    this.tracking = new MlflowTracking(o.catalog);
    this.artifactProxy = new MlflowArtifactProxy(o);
    this.sources = new VersionSources(o.catalog, this.artifactProxy);
  }

  // ------------------------------------------------------------ registered models

  async registeredModelJson(m: ModelRecord): Promise<Record<string, unknown>> {
    const versions = await this.registry.catalog.listVersions(m.name);
    const extra = await this.catalog.getModelExtra(m.name);
    const latest = versions[versions.length - 1];
    return omitEmpty({
      name: m.name,
      creation_timestamp: ms(m.created_at),
      last_updated_timestamp: ms(m.updated_at),
      description: m.description,
      latest_versions: latest ? [await this.versionJson(m, latest)] : [],
      tags: extra.tags,
      aliases: Object.entries(m.aliases)
        .filter(([alias]) => Object.hasOwn(m.aliases, alias))
        .map(([alias, version]) => ({ alias, version })),
    });
  }

  async model(name: string): Promise<ModelRecord> {
    const m = await this.registry.catalog.getModel(name);
    if (!m) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);
    return m;
  }

  async createRegisteredModel(name: string, description: string | undefined, tags: KeyValue[]): Promise<Record<string, unknown>> {
    if ((await this.registry.catalog.getModel(name)) !== undefined) {
      throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
    }
    const m = await this.registry.createModel({ name, ...(description ? { description } : {}) });
    await this.catalog.putModelExtra(name, { tags });
    return this.registeredModelJson(m);
  }

  async updateRegisteredModel(name: string, description: string | undefined): Promise<Record<string, unknown>> {
    const m = await this.model(name);
    const updated: ModelRecord = { ...m, updated_at: new Date().toISOString() };
    if (description !== undefined) {
      if (description === '') delete updated.description;
      else updated.description = description;
    }
    await this.registry.catalog.putModel(updated);
    return this.registeredModelJson(updated);
  }

  /** MLflow deletes a registered model with its versions: refused up front when any version is deployed. */
  async deleteRegisteredModel(name: string): Promise<void> {
    await this.model(name);
    const deployed = (await this.registry.listDeployments()).filter((r) => r.target?.kind === 'model' && r.target.model === name);
    if (deployed.length > 0) {
      throw new MlflowError(
        'RESOURCE_CONFLICT',
        `Registered Model ${name} is deployed (${deployed.map((r) => `${r.target?.kind === 'model' ? `${r.target.model}@${r.target.version}` : ''} on ${JSON.stringify(r.scope)}`).join(', ')}): deploy another model there first`,
      );
    }
    for (const v of await this.registry.catalog.listVersions(name)) {
      await this.registry.deleteVersion(`${name}@${v.version}`);
      await this.catalog.deleteVersionExtra(name, v.version);
    }
    await this.registry.deleteModel(name);
    await this.catalog.deleteModelExtra(name);
  }

  async searchRegisteredModels(filter: string | undefined, maxResults: number, orderBy: string[], pageToken: string | undefined): Promise<Record<string, unknown>> {
    const match = nameFilter(filter, ['name']);
    let models = (await this.registry.catalog.listModels()).filter((m) => match({ name: m.name }));
    models = sortBy(models, orderBy, { name: (m) => m.name, last_updated_timestamp: (m) => ms(m.updated_at), timestamp: (m) => ms(m.updated_at) }, 'name');
    const { page, next } = paginate(models, maxResults, pageToken, 1000);
    return omitEmpty({ registered_models: await Promise.all(page.map((m) => this.registeredModelJson(m))), next_page_token: next });
  }

  async setTag(name: string, key: string, value: string): Promise<void> {
    await this.model(name);
    const extra = await this.catalog.getModelExtra(name);
    await this.catalog.putModelExtra(name, { tags: [...extra.tags.filter((t) => t.key !== key), { key, value }] });
  }

  async deleteTag(name: string, key: string): Promise<void> {
    await this.model(name);
    const extra = await this.catalog.getModelExtra(name);
    if (!extra.tags.some((t) => t.key === key)) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No tag with name: ${key} in Registered Model ${name}`);
    await this.catalog.putModelExtra(name, { tags: extra.tags.filter((t) => t.key !== key) });
  }

  // ------------------------------------------------------------ model versions

  /** The registry-tree URI of a version (what get-download-uri answers: an MLmodel layout). */
  downloadUri(name: string, version: string): string {
    return `mlflow-artifacts:/${REGISTRY_TREE}/${name}/${version}`;
  }

  async versionJson(m: ModelRecord, v: VersionRecord): Promise<ModelVersionJson> {
    const x = await this.catalog.getVersionExtra(m.name, v.version, v);
    const aliases = Object.entries(m.aliases).filter(([, ver]) => ver === v.version).map(([a]) => a);
    return omitEmpty({
      name: m.name,
      version: v.version,
      creation_timestamp: ms(v.created_at),
      last_updated_timestamp: ms(v.created_at),
      user_id: x?.user_id,
      current_stage: 'None',
      description: x?.description,
      source: x?.source ?? this.downloadUri(m.name, v.version),
      run_id: x?.run_id,
      status: 'READY' as const,
      tags: x?.tags ?? [],
      run_link: x?.run_link,
      aliases,
    });
  }

  async version(name: string, version: string): Promise<{ m: ModelRecord; v: VersionRecord }> {
    const m = await this.model(name);
    const v = VERSION_RE.test(version) ? await this.registry.catalog.getVersion(name, version) : undefined;
    if (!v) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Model Version (name=${name}, version=${version}) not found`);
    return { m, v };
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersionJson> {
    const { m, v } = await this.version(name, version);
    return this.versionJson(m, v);
  }

  async getLatestVersions(name: string, stages: string[]): Promise<ModelVersionJson[]> {
    const m = await this.model(name);
    const versions = await this.registry.catalog.listVersions(name);
    const latest = versions[versions.length - 1];
    // wattflow has no stages: every version is in stage "None"
    if (!latest || (stages.length > 0 && !stages.some((s) => s.toLowerCase() === 'none'))) return [];
    return [await this.versionJson(m, latest)];
  }

  async searchModelVersions(filter: string | undefined, maxResults: number, orderBy: string[], pageToken: string | undefined): Promise<Record<string, unknown>> {
    const match = nameFilter(filter, ['name', 'run_id', 'source_path', 'version_number']);
    const rows: Array<{ m: ModelRecord; v: VersionRecord; json: ModelVersionJson }> = [];
    for (const m of await this.registry.catalog.listModels()) {
      for (const v of await this.registry.catalog.listVersions(m.name)) {
        const json = await this.versionJson(m, v);
        if (match({ name: m.name, run_id: json.run_id ?? '', source_path: json.source, version_number: v.version })) rows.push({ m, v, json });
      }
    }
    const sorted = sortBy(
      rows,
      orderBy.length ? orderBy : ['name ASC', 'version_number DESC'],
      {
        name: (r) => r.m.name,
        version_number: (r) => (/^\d+$/.test(r.v.version) ? Number(r.v.version) : r.v.version),
        creation_timestamp: (r) => r.json.creation_timestamp,
        last_updated_timestamp: (r) => r.json.last_updated_timestamp,
      },
      'name',
    );
    const { page, next } = paginate(sorted, maxResults, pageToken, 200_000);
    return omitEmpty({ model_versions: page.map((r) => r.json), next_page_token: next });
  }

  async updateModelVersion(name: string, version: string, description: string | undefined): Promise<ModelVersionJson> {
    const { m, v } = await this.version(name, version);
    if (description !== undefined) {
      const x = (await this.catalog.getVersionExtra(name, v.version, v)) ?? this.blankExtra(m, v);
      await this.catalog.putVersionExtra(name, v.version, { ...x, ...(description === '' ? { description: undefined } : { description }) });
    }
    return this.versionJson(m, v);
  }

  async setVersionTag(name: string, version: string, key: string, value: string | undefined): Promise<void> {
    const { m, v } = await this.version(name, version);
    const x = (await this.catalog.getVersionExtra(name, v.version, v)) ?? this.blankExtra(m, v);
    const tags = x.tags.filter((t) => t.key !== key);
    if (value === undefined && tags.length === x.tags.length) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No tag with name: ${key} in Model Version ${name}/${version}`);
    await this.catalog.putVersionExtra(name, v.version, { ...x, tags: value === undefined ? tags : [...tags, { key, value }] });
  }

  private blankExtra(m: ModelRecord, v: VersionRecord): VersionExtra {
    return { created_at: v.created_at, sha256: v.sha256, source: this.downloadUri(m.name, v.version), tags: [] };
  }

  async deleteModelVersion(name: string, version: string): Promise<void> {
    const { v } = await this.version(name, version);
    await this.registry.deleteVersion(`${name}@${v.version}`);
    await this.catalog.deleteVersionExtra(name, v.version);
  }

  async getByAlias(name: string, alias: string): Promise<ModelVersionJson> {
    const m = await this.model(name);
    const version = Object.hasOwn(m.aliases, alias) ? m.aliases[alias] : undefined;
    if (version === undefined) throw new MlflowError('INVALID_PARAMETER_VALUE', `Registered model alias ${alias} not found.`);
    return this.getModelVersion(name, version);
  }

  /**
   * Registers the model at `source` as the next version of `name` — validated and stored by the
   * registry exactly like an upload through wattflow's own API (nothing is stored on a refusal).
   */
  async createModelVersion(req: { name: string; source: string; run_id?: string; run_link?: string; description?: string; tags: KeyValue[]; caller: Caller | null }): Promise<ModelVersionJson> {
    const model = await this.model(req.name);
    const { bytes, metadata, features, routerType, modelType, mlmodel, dataPath } = await this.sources.load(req.source, req.tags);
    const v = await this.registry.upload(req.name, bytes, {
      metadata,
      ...(features ? { features } : {}),
      ...(routerType ? { routerType } : {}),
      ...(modelType ? { modelType } : {}),
      source: req.source.slice(0, 500),
    });
    const user = req.caller && req.caller.name !== 'open' ? req.caller.name : undefined;
    await this.catalog.putVersionExtra(req.name, v.version, {
      created_at: v.created_at,
      sha256: v.sha256,
      source: req.source,
      tags: req.tags,
      ...(req.run_id ? { run_id: req.run_id } : {}),
      ...(req.run_link ? { run_link: req.run_link } : {}),
      ...(req.description ? { description: req.description } : {}),
      ...(user ? { user_id: user } : {}),
      ...(mlmodel ? { mlmodel } : {}),
      ...(dataPath ? { data_path: dataPath } : {}),
    });
    return this.versionJson((await this.registry.catalog.getModel(model.name)) ?? model, v);
  }
}

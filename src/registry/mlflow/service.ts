/**
 * The MLflow-compatible view of the registry (the logic behind src/registry/mlflow/api.ts):
 * registered models and model versions ARE the registry's models and versions — an MLflow
 * client's `model-versions/create` validates and stores the ONNX exactly like
 * `wattflow models upload`, and a version uploaded with wattflow's own API is an MLflow model
 * version (with an MLmodel layout under its download URI). Beside them: the minimal
 * experiments and runs an MLflow client creates before registering, and the artifact proxy
 * (`mlflow-artifacts:`) where it uploads the model's files.
 *
 * Model version sources accepted by `model-versions/create`: `mlflow-artifacts:/<path>` (also
 * with a host), `runs:/<run_id>/<path>` (the run's artifact URI + path), and this server's
 * `…/api/2.0/mlflow-artifacts/artifacts/<path>` URL — a directory with an `MLmodel` file whose
 * `onnx` flavor names the ONNX file (`data`), or an `.onnx` file itself. What wattflow needs
 * besides the ONNX (the features in graph column order, the router type) comes from, in
 * increasing precedence: the metadata embedded in a wattflow ONNX, a `wattflow-metadata.json`
 * file next to the MLmodel, the MLmodel's `metadata` block (keys with or without a `wattflow.`
 * prefix; `features` as a list of {name, unit} or `A:unit,B:unit`), a column-based MLmodel
 * signature naming known features, and the version's tags `wattflow.features`,
 * `wattflow.router_type`, `wattflow.model_type`. Other metadata keys are kept as user metadata.
 */
import { randomUUID } from 'node:crypto';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { Caller } from '../../core/auth.js';
import { KNOWN_FEATURE_UNITS, type FeatureSpec } from '../../ml/onnx/metadata.js';
import { parseFeatures } from '../api.js';
import type { ArtifactStore } from '../artifacts.js';
import { RegistryError } from '../errors.js';
import { NAME_RE, VERSION_RE, type Registry } from '../registry.js';
import type { ModelRecord, VersionRecord } from '../catalog.js';
import { VEHICLE_MODEL_KIND } from '../vehicle-kind.js';
import { invalidParam, MlflowError } from './errors.js';
import { MlflowCatalog, type ExperimentRecord, type KeyValue, type RunRecord, type VersionExtra } from './catalog.js';

/** The read-only part of the artifact tree that shows every registry version in MLflow's layout. */
export const REGISTRY_TREE = 'wattflow-registry';
/** The artifact store key prefix of files uploaded through the artifact proxy. */
const STORE_PREFIX = 'mlflow-artifacts/';
const DEFAULT_EXPERIMENT = { id: '0', name: 'Default' };
const SEGMENT = /^[A-Za-z0-9._=+@-]+$/;
const ARTIFACT_SEGMENT = /^[A-Za-z0-9._-]+$/;
export const WATTFLOW_METADATA_FILE = 'wattflow-metadata.json';

const ms = (iso: string): number => Date.parse(iso);
const omitEmpty = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))) as T;

/** An artifact path as MLflow's server checks it (relative, no `..`), with wattflow's characters. */
export function checkArtifactPath(path: string, what = 'artifact path'): string {
  const p = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '') return '';
  const parts = p.split('/');
  for (const s of parts) {
    if (s === '' || s === '.' || s === '..' || !ARTIFACT_SEGMENT.test(s)) {
      throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid ${what} "${path.slice(0, 200)}": relative segments of letters, digits, . _ - only (no "..", no empty segment)`);
    }
  }
  return p;
}

export interface MlflowServiceOptions {
  registry: Registry;
  store: MlflowCatalog;
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
  readonly store: MlflowCatalog;
  private readonly registry: Registry;
  private readonly artifacts: ArtifactStore;

  constructor(private readonly o: MlflowServiceOptions) {
    this.store = o.store;
    this.registry = o.registry;
    this.artifacts = o.artifacts;
  }

  // ------------------------------------------------------------ registered models

  async registeredModelJson(m: ModelRecord): Promise<Record<string, unknown>> {
    const versions = await this.registry.catalog.listVersions(m.name);
    const extra = await this.store.getModelExtra(m.name);
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
    await this.store.putModelExtra(name, { tags });
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
      await this.store.deleteVersionExtra(name, v.version);
    }
    await this.registry.deleteModel(name);
    await this.store.deleteModelExtra(name);
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
    const extra = await this.store.getModelExtra(name);
    await this.store.putModelExtra(name, { tags: [...extra.tags.filter((t) => t.key !== key), { key, value }] });
  }

  async deleteTag(name: string, key: string): Promise<void> {
    await this.model(name);
    const extra = await this.store.getModelExtra(name);
    if (!extra.tags.some((t) => t.key === key)) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No tag with name: ${key} in Registered Model ${name}`);
    await this.store.putModelExtra(name, { tags: extra.tags.filter((t) => t.key !== key) });
  }

  // ------------------------------------------------------------ model versions

  /** The registry-tree URI of a version (what get-download-uri answers: an MLmodel layout). */
  downloadUri(name: string, version: string): string {
    return `mlflow-artifacts:/${REGISTRY_TREE}/${name}/${version}`;
  }

  async versionJson(m: ModelRecord, v: VersionRecord): Promise<ModelVersionJson> {
    const x = await this.store.getVersionExtra(m.name, v.version, v);
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
      const x = (await this.store.getVersionExtra(name, v.version, v)) ?? this.blankExtra(m, v);
      await this.store.putVersionExtra(name, v.version, { ...x, ...(description === '' ? { description: undefined } : { description }) });
    }
    return this.versionJson(m, v);
  }

  async setVersionTag(name: string, version: string, key: string, value: string | undefined): Promise<void> {
    const { m, v } = await this.version(name, version);
    const x = (await this.store.getVersionExtra(name, v.version, v)) ?? this.blankExtra(m, v);
    const tags = x.tags.filter((t) => t.key !== key);
    if (value === undefined && tags.length === x.tags.length) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No tag with name: ${key} in Model Version ${name}/${version}`);
    await this.store.putVersionExtra(name, v.version, { ...x, tags: value === undefined ? tags : [...tags, { key, value }] });
  }

  private blankExtra(m: ModelRecord, v: VersionRecord): VersionExtra {
    return { created_at: v.created_at, sha256: v.sha256, source: this.downloadUri(m.name, v.version), tags: [] };
  }

  async deleteModelVersion(name: string, version: string): Promise<void> {
    const { v } = await this.version(name, version);
    await this.registry.deleteVersion(`${name}@${v.version}`);
    await this.store.deleteVersionExtra(name, v.version);
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
    const { bytes, metadata, features, routerType, modelType, mlmodel, dataPath } = await this.loadSource(req.source, req.tags);
    const v = await this.registry.upload(req.name, bytes, {
      metadata,
      ...(features ? { features } : {}),
      ...(routerType ? { routerType } : {}),
      ...(modelType ? { modelType } : {}),
      source: req.source.slice(0, 500),
    });
    const user = req.caller && req.caller.name !== 'open' ? req.caller.name : undefined;
    await this.store.putVersionExtra(req.name, v.version, {
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

  /** The artifact path a model version source names (see the module comment for the forms). */
  async sourcePath(source: string): Promise<string> {
    let m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(source);
    if (m) return checkArtifactPath(decodeURIComponent(m[1]!), 'source');
    m = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
    if (m) {
      const run = await this.store.getRun(m[1]!);
      if (!run) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run with id=${m[1]} not found (source ${source})`);
      const base = await this.sourcePath(run.info.artifact_uri);
      const rel = checkArtifactPath(m[2] ?? '', 'source');
      return rel === '' ? base : `${base}/${rel}`;
    }
    m = /^https?:\/\/[^/]+(?:\/.*)?\/api\/2\.0\/mlflow-artifacts\/artifacts\/(.*)$/.exec(source);
    if (m) return checkArtifactPath(decodeURIComponent(m[1]!), 'source');
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Unsupported model version source "${source.slice(0, 200)}": wattflow registers models from its artifact proxy — runs:/<run_id>/<path>, mlflow-artifacts:/<path> or this server's /api/2.0/mlflow-artifacts/artifacts/<path> (log the model to a run of this server first)`,
    );
  }

  private async loadSource(source: string, tags: KeyValue[]) {
    const path = await this.sourcePath(source);
    let bytes: Uint8Array;
    let mlmodelText: string | undefined;
    let dataPath: string | undefined;
    const doc: Record<string, unknown> = {};
    if (path.endsWith('.onnx') && (await this.store.getArtifact(path))) {
      bytes = await this.readArtifact(path);
    } else {
      const mlmodelPath = path === '' ? 'MLmodel' : `${path}/MLmodel`;
      if (!(await this.store.getArtifact(mlmodelPath))) {
        const there = (await this.listArtifacts(path)).map((f) => f.path);
        throw new MlflowError(
          'INVALID_PARAMETER_VALUE',
          `No MLmodel file at source ${source} (artifact path ${path || '/'}${there.length ? `; it holds ${there.join(', ')}` : ' is empty'}): log the model with mlflow.onnx.log_model, or point the source at an .onnx file`,
        );
      }
      mlmodelText = new TextDecoder().decode(await this.readArtifact(mlmodelPath));
      let mlmodel: Record<string, unknown>;
      try {
        mlmodel = parseYaml(mlmodelText, { maxAliasCount: 50 }) as Record<string, unknown>;
      } catch (err) {
        throw new MlflowError('INVALID_PARAMETER_VALUE', `The MLmodel file at ${mlmodelPath} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
      }
      if (!mlmodel || typeof mlmodel !== 'object') throw new MlflowError('INVALID_PARAMETER_VALUE', `The MLmodel file at ${mlmodelPath} is not a YAML mapping`);
      const flavors = (mlmodel.flavors ?? {}) as Record<string, Record<string, unknown> | undefined>;
      const onnx = flavors.onnx;
      if (!onnx || typeof onnx !== 'object') {
        throw new MlflowError(
          'INVALID_PARAMETER_VALUE',
          `The MLmodel at ${mlmodelPath} has no onnx flavor (flavors: ${Object.keys(flavors).join(', ') || 'none'}): wattflow serves ONNX regressors — log the model with mlflow.onnx.log_model (e.g. after skl2onnx)`,
        );
      }
      dataPath = checkArtifactPath(typeof onnx.data === 'string' ? onnx.data : 'model.onnx', 'onnx flavor data path');
      const onnxPath = path === '' ? dataPath : `${path}/${dataPath}`;
      if (!(await this.store.getArtifact(onnxPath))) throw new MlflowError('INVALID_PARAMETER_VALUE', `The onnx flavor names ${dataPath}, which is not at ${onnxPath}`);
      bytes = await this.readArtifact(onnxPath);
      const filePath = path === '' ? WATTFLOW_METADATA_FILE : `${path}/${WATTFLOW_METADATA_FILE}`;
      if (await this.store.getArtifact(filePath)) {
        try {
          const file = JSON.parse(new TextDecoder().decode(await this.readArtifact(filePath))) as unknown;
          if (file && typeof file === 'object' && !Array.isArray(file)) Object.assign(doc, file);
          else throw new Error('not a JSON object');
        } catch (err) {
          throw new MlflowError('INVALID_PARAMETER_VALUE', `${filePath} must be a JSON object (wattflow's metadata document): ${(err as Error).message}`);
        }
      }
      const meta = mlmodel.metadata;
      if (meta && typeof meta === 'object' && !Array.isArray(meta)) {
        for (const [k, val] of Object.entries(meta as Record<string, unknown>)) doc[k.startsWith('wattflow.') ? k.slice(9) : k] = val;
      }
      if (doc.features === undefined) {
        const cols = signatureColumns(mlmodel.signature);
        if (cols && cols.length > 0 && cols.every((c) => Object.hasOwn(KNOWN_FEATURE_UNITS, c))) doc.features = cols.map((c) => ({ name: c, unit: KNOWN_FEATURE_UNITS[c]! }));
      }
    }
    const tag = (k: string) => tags.find((t) => t.key === `wattflow.${k}`)?.value;
    const featureSpec = tag('features') ?? (typeof doc.features === 'string' ? doc.features : undefined);
    let features: FeatureSpec[] | undefined;
    if (featureSpec !== undefined) {
      features = parseFeatures(featureSpec);
      delete doc.features;
    }
    const routerType = tag('router_type');
    const modelType = tag('model_type');
    return { bytes, metadata: doc, features, routerType, modelType, mlmodel: mlmodelText, dataPath };
  }

  // ------------------------------------------------------------ artifacts

  private async readArtifact(path: string): Promise<Uint8Array> {
    try {
      return await this.artifacts.get(STORE_PREFIX + path);
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'ARTIFACT_MISSING') throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No artifact at ${path}`);
      throw err;
    }
  }

  /** Stores an uploaded file (the artifact proxy's PUT). */
  async putArtifact(rawPath: string, bytes: Uint8Array): Promise<void> {
    const path = checkArtifactPath(rawPath);
    if (path === '') throw new MlflowError('INVALID_PARAMETER_VALUE', 'Upload needs a file path: PUT /api/2.0/mlflow-artifacts/artifacts/<path>');
    if (path === REGISTRY_TREE || path.startsWith(`${REGISTRY_TREE}/`)) {
      throw new MlflowError('PERMISSION_DENIED', `${REGISTRY_TREE}/ is the registry's read-only view of its model versions: upload under another path (e.g. a run's artifact URI)`);
    }
    if (bytes.length > this.o.maxArtifactBytes) throw new MlflowError('INVALID_PARAMETER_VALUE', `The artifact has ${bytes.length} bytes, more than the limit ${this.o.maxArtifactBytes} (registry.maxArtifactBytes)`);
    const under = await this.store.artifactsUnder(path);
    if (under.length > 0) throw new MlflowError('INVALID_PARAMETER_VALUE', `${path} is a directory (it holds ${under.length} file(s))`);
    await this.artifacts.put(STORE_PREFIX + path, bytes);
    await this.store.putArtifact(path, { size: bytes.length, updated_ms: Date.now() });
  }

  async deleteArtifact(rawPath: string): Promise<void> {
    const path = checkArtifactPath(rawPath);
    if (path === REGISTRY_TREE || path.startsWith(`${REGISTRY_TREE}/`)) throw new MlflowError('PERMISSION_DENIED', `${REGISTRY_TREE}/ is read-only: delete a model version instead`);
    const files = (await this.store.getArtifact(path)) ? [path] : (await this.store.artifactsUnder(path)).map((f) => f.path);
    if (files.length === 0) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No artifact at ${path}`);
    for (const f of files) {
      await this.artifacts.delete(STORE_PREFIX + f);
      await this.store.deleteArtifact(f);
    }
  }

  /** A file's bytes: an uploaded one, or a file of the registry tree. */
  async getArtifact(rawPath: string): Promise<{ bytes: Uint8Array; contentType: string }> {
    const path = checkArtifactPath(rawPath);
    if (path.startsWith(`${REGISTRY_TREE}/`)) {
      const [, name, version, ...rest] = path.split('/');
      const file = rest.join('/');
      const tree = name && version && file ? await this.registryFiles(name, version) : undefined;
      const f = tree?.find((x) => x.path === file);
      if (!f) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No artifact at ${path}`);
      return { bytes: await f.read(), contentType: f.contentType };
    }
    if (!(await this.store.getArtifact(path))) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No artifact at ${path}`);
    return { bytes: await this.readArtifact(path), contentType: 'application/octet-stream' };
  }

  /** The direct children of a directory (MLflow's list: base names, `is_dir`, `file_size` for files). */
  async listArtifacts(rawPath: string): Promise<Array<{ path: string; is_dir: boolean; file_size?: number }>> {
    const path = checkArtifactPath(rawPath);
    if (path === REGISTRY_TREE || path.startsWith(`${REGISTRY_TREE}/`)) return this.listRegistryTree(path);
    const children = new Map<string, { path: string; is_dir: boolean; file_size?: number }>();
    for (const { path: p, entry } of await this.store.artifactsUnder(path)) {
      const rest = path === '' ? p : p.slice(path.length + 1);
      const [first, ...more] = rest.split('/');
      if (!first) continue;
      if (more.length > 0) children.set(first, { path: first, is_dir: true });
      else children.set(first, { path: first, is_dir: false, file_size: entry.size });
    }
    if (path === '' && (await this.registry.catalog.listModels()).length > 0) children.set(REGISTRY_TREE, { path: REGISTRY_TREE, is_dir: true });
    return [...children.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  private async listRegistryTree(path: string): Promise<Array<{ path: string; is_dir: boolean; file_size?: number }>> {
    const [, name, version, ...rest] = path.split('/');
    if (name === undefined) return (await this.registry.catalog.listModels()).map((m) => ({ path: m.name, is_dir: true }));
    if (!NAME_RE.test(name)) return [];
    if (version === undefined) return (await this.registry.catalog.listVersions(name)).map((v) => ({ path: v.version, is_dir: true }));
    if (rest.length > 0) return [];
    const files = await this.registryFiles(name, version);
    return (files ?? []).map((f) => ({ path: f.path, is_dir: false, file_size: f.size }));
  }

  /** A registry version in MLflow's layout: MLmodel (the one registered with it, else one written here), the model file, the metadata document. */
  private async registryFiles(name: string, version: string): Promise<Array<{ path: string; size: number; contentType: string; read: () => Promise<Uint8Array> }> | undefined> {
    if (!NAME_RE.test(name) || !VERSION_RE.test(version)) return undefined;
    const v = await this.registry.catalog.getVersion(name, version);
    if (!v) return undefined;
    const enc = (s: string) => new TextEncoder().encode(s);
    const meta = enc(JSON.stringify(v.metadata, null, 2) + '\n');
    const model = async () => (await this.registry.download(`${name}@${v.version}`)).bytes;
    const metaFile = { path: WATTFLOW_METADATA_FILE, size: meta.length, contentType: 'application/json', read: async () => meta };
    if (v.kind === VEHICLE_MODEL_KIND) return [metaFile, { path: 'vehicle-model.json', size: v.size, contentType: 'application/json', read: model }];
    const x = await this.store.getVersionExtra(name, v.version, v);
    const dataPath = x?.mlmodel && x.data_path ? x.data_path : 'model.onnx';
    const mlmodel = enc(x?.mlmodel ?? synthesizedMlmodel(v, dataPath));
    return [
      { path: 'MLmodel', size: mlmodel.length, contentType: 'text/yaml', read: async () => mlmodel },
      { path: dataPath, size: v.size, contentType: 'application/octet-stream', read: model },
      ...(dataPath === WATTFLOW_METADATA_FILE ? [] : [metaFile]),
    ];
  }

  // ------------------------------------------------------------ experiments and runs

  private defaultExperiment(): ExperimentRecord {
    return {
      experiment_id: DEFAULT_EXPERIMENT.id,
      name: DEFAULT_EXPERIMENT.name,
      artifact_location: `mlflow-artifacts:/${DEFAULT_EXPERIMENT.id}`,
      lifecycle_stage: 'active',
      creation_time: 0,
      last_update_time: 0,
      tags: [],
    };
  }

  async experiment(id: string): Promise<ExperimentRecord> {
    const e = (await this.store.getExperiment(id)) ?? (id === DEFAULT_EXPERIMENT.id ? this.defaultExperiment() : undefined);
    if (!e) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${id} exists`);
    return e;
  }

  async experimentByName(name: string): Promise<ExperimentRecord> {
    const all = await this.store.listExperiments();
    const e = all.find((x) => x.name === name && x.lifecycle_stage === 'active') ?? all.find((x) => x.name === name) ?? (name === DEFAULT_EXPERIMENT.name && !all.some((x) => x.experiment_id === DEFAULT_EXPERIMENT.id) ? this.defaultExperiment() : undefined);
    if (!e) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name '${name}'`);
    return e;
  }

  async createExperiment(name: string, tags: KeyValue[]): Promise<string> {
    if (name === DEFAULT_EXPERIMENT.name || (await this.store.listExperiments()).some((x) => x.name === name)) {
      throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Experiment '${name}' already exists.`);
    }
    const id = await this.store.nextExperimentId();
    const now = Date.now();
    await this.store.putExperiment({ experiment_id: id, name, artifact_location: `mlflow-artifacts:/${id}`, lifecycle_stage: 'active', creation_time: now, last_update_time: now, tags });
    return id;
  }

  experimentJson(e: ExperimentRecord): Record<string, unknown> {
    return omitEmpty({ ...e });
  }

  async createRun(req: { experiment_id: string; user_id?: string; run_name?: string; start_time?: number; tags: KeyValue[] }): Promise<RunRecord> {
    const e = await this.experiment(req.experiment_id);
    const id = randomUUID().replace(/-/g, '');
    const runName = req.run_name || req.tags.find((t) => t.key === 'mlflow.runName')?.value || `run-${id.slice(0, 8)}`;
    const run: RunRecord = {
      info: {
        run_id: id,
        run_uuid: id,
        run_name: runName,
        experiment_id: e.experiment_id,
        user_id: req.user_id ?? '',
        status: 'RUNNING',
        start_time: req.start_time ?? Date.now(),
        artifact_uri: `${e.artifact_location.replace(/\/+$/, '')}/${id}/artifacts`,
        lifecycle_stage: 'active',
      },
      params: [],
      metrics: [],
      tags: [...req.tags.filter((t) => t.key !== 'mlflow.runName'), { key: 'mlflow.runName', value: runName }],
      models: [],
    };
    await this.store.putRun(run);
    return run;
  }

  async run(id: string): Promise<RunRecord> {
    const r = await this.store.getRun(id);
    if (!r) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run with id=${id} not found`);
    return r;
  }

  runJson(r: RunRecord): Record<string, unknown> {
    return { info: omitEmpty({ ...r.info }), data: omitEmpty({ metrics: r.metrics, params: r.params, tags: r.tags }), inputs: {} };
  }

  async updateRun(id: string, u: { status?: string; end_time?: number; run_name?: string }): Promise<RunRecord> {
    const r = await this.run(id);
    if (u.status !== undefined) {
      if (!['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'].includes(u.status)) throw invalidParam('status', u.status, 'one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED');
      r.info.status = u.status;
    }
    if (u.end_time !== undefined) r.info.end_time = u.end_time;
    if (u.run_name) {
      r.info.run_name = u.run_name;
      r.tags = [...r.tags.filter((t) => t.key !== 'mlflow.runName'), { key: 'mlflow.runName', value: u.run_name }];
    }
    await this.store.putRun(r);
    return r;
  }

  /** log-metric / log-parameter / set-tag / log-batch / log-model: stored on the run (GetRun returns them). */
  async logToRun(id: string, add: { metrics?: Array<{ key: string; value: number; timestamp: number; step: number }>; params?: KeyValue[]; tags?: KeyValue[]; model?: unknown; deleteTag?: string }): Promise<void> {
    const r = await this.run(id);
    for (const p of add.params ?? []) {
      const had = r.params.find((x) => x.key === p.key);
      if (had && had.value !== p.value) {
        throw new MlflowError('INVALID_PARAMETER_VALUE', `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${had.value}' for run ID='${id}'. Attempted logging new value '${p.value}'.`);
      }
      if (!had) r.params.push(p);
    }
    for (const m of add.metrics ?? []) {
      const had = r.metrics.findIndex((x) => x.key === m.key);
      if (had < 0) r.metrics.push(m);
      else if (m.timestamp >= r.metrics[had]!.timestamp) r.metrics[had] = m;
    }
    for (const t of add.tags ?? []) r.tags = [...r.tags.filter((x) => x.key !== t.key), t];
    if (add.deleteTag !== undefined) {
      if (!r.tags.some((t) => t.key === add.deleteTag)) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No tag with name: ${add.deleteTag} in run with id ${id}`);
      r.tags = r.tags.filter((t) => t.key !== add.deleteTag);
    }
    if (add.model !== undefined) r.models.push(add.model);
    await this.store.putRun(r);
  }
}

/** Column names of a column-based MLmodel signature (`inputs` is a JSON string), if it is one. */
function signatureColumns(signature: unknown): string[] | undefined {
  if (!signature || typeof signature !== 'object') return undefined;
  const inputs = (signature as { inputs?: unknown }).inputs;
  if (typeof inputs !== 'string') return undefined;
  try {
    const cols = JSON.parse(inputs) as Array<{ name?: unknown; type?: unknown }>;
    if (!Array.isArray(cols) || cols.some((c) => typeof c?.name !== 'string' || c.type === 'tensor')) return undefined;
    return cols.map((c) => c.name as string);
  } catch {
    return undefined;
  }
}

/** An MLmodel for a version registered without one (onnx + python_function flavors, wattflow's metadata). */
function synthesizedMlmodel(v: VersionRecord, dataPath: string): string {
  return stringifyYaml({
    artifact_path: 'model',
    flavors: {
      onnx: { code: null, data: dataPath, providers: ['CPUExecutionProvider'] },
      python_function: { data: dataPath, loader_module: 'mlflow.onnx' },
    },
    metadata: {
      'wattflow.router_type': v.router_type,
      'wattflow.model_type': v.model_type,
      'wattflow.features': v.metadata.features.map((f) => `${f.name}:${f.unit}`).join(','),
      'wattflow.sha256': v.sha256,
    },
    model_uuid: v.sha256.slice(0, 32),
    utc_time_created: v.created_at.replace('T', ' ').replace('Z', ''),
  });
}

// ------------------------------------------------------------ search filters, order, pages

/**
 * The subset of MLflow's search filter grammar wattflow understands: conditions
 * `<key> = 'v'`, `!=`, `LIKE`, `ILIKE` (`%` and `_` wildcards), `IN ('a', 'b')`, joined by AND.
 * Anything else is refused naming what was not understood.
 */
export function nameFilter(filter: string | undefined, keys: readonly string[]): (row: Record<string, string>) => boolean {
  const f = (filter ?? '').trim();
  if (f === '') return () => true;
  const parts = f.split(/\s+AND\s+/i);
  const conds = parts.map((p) => {
    const m = /^\s*([A-Za-z_.`"]+)\s*(=|!=|LIKE|ILIKE|IN)\s*(.+?)\s*$/i.exec(p);
    if (!m) throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid filter '${f}': could not parse "${p.trim()}" (wattflow supports <key> = 'value', !=, LIKE, ILIKE, IN ('a', 'b') joined by AND; keys: ${keys.join(', ')})`);
    const key = m[1]!.replace(/[`"]/g, '');
    if (!keys.includes(key)) throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid filter '${f}': unsupported key "${key}" (keys: ${keys.join(', ')})`);
    const op = m[2]!.toUpperCase();
    const values = op === 'IN' ? parseInList(m[3]!, f) : [parseLiteral(m[3]!, f)];
    return { key, op, values };
  });
  return (row) =>
    conds.every(({ key, op, values }) => {
      const have = row[key] ?? '';
      switch (op) {
        case '=':
          return have === values[0];
        case '!=':
          return have !== values[0];
        case 'IN':
          return values.includes(have);
        default:
          return likeToRegExp(values[0]!, op === 'ILIKE').test(have);
      }
    });
}

function parseLiteral(s: string, f: string): string {
  const m = /^'((?:[^']|'')*)'$|^"((?:[^"]|"")*)"$|^(\d+)$/.exec(s.trim());
  if (!m) throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid filter '${f}': value ${s.trim()} must be a quoted string`);
  return m[1] !== undefined ? m[1].replace(/''/g, "'") : m[2] !== undefined ? m[2].replace(/""/g, '"') : m[3]!;
}

function parseInList(s: string, f: string): string[] {
  const m = /^\((.*)\)$/.exec(s.trim());
  if (!m) throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid filter '${f}': IN needs a list ('a', 'b')`);
  return m[1]!.split(',').map((x) => parseLiteral(x, f));
}

function likeToRegExp(pattern: string, insensitive: boolean): RegExp {
  const re = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
  return new RegExp(`^${re}$`, insensitive ? 'is' : 's');
}

function sortBy<T>(rows: T[], orderBy: readonly string[], columns: Record<string, (r: T) => string | number>, tiebreak: string): T[] {
  const keys = orderBy.map((o) => {
    const m = /^\s*([A-Za-z_]+)(?:\s+(ASC|DESC))?\s*$/i.exec(o);
    const col = m?.[1];
    if (!m || !col || !Object.hasOwn(columns, col)) throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid order_by clause '${o}' (columns: ${Object.keys(columns).join(', ')}, with ASC or DESC)`);
    return { get: columns[col]!, desc: (m[2] ?? 'ASC').toUpperCase() === 'DESC' };
  });
  keys.push({ get: columns[tiebreak]!, desc: false });
  return [...rows].sort((a, b) => {
    for (const k of keys) {
      const x = k.get(a);
      const y = k.get(b);
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), 'en', { numeric: true });
      if (c !== 0) return k.desc ? -c : c;
    }
    return 0;
  });
}

function paginate<T>(rows: T[], maxResults: number, token: string | undefined, limit: number): { page: T[]; next?: string } {
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > limit) throw invalidParam('max_results', maxResults, `an integer 1..${limit}`);
  let offset = 0;
  if (token) {
    try {
      offset = (JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset: number }).offset;
    } catch {
      offset = NaN;
    }
    if (!Number.isInteger(offset) || offset < 0) throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid page token, could not base64-decode it: ${token.slice(0, 100)}`);
  }
  const page = rows.slice(offset, offset + maxResults);
  const next = offset + maxResults < rows.length ? Buffer.from(JSON.stringify({ offset: offset + maxResults })).toString('base64') : undefined;
  return { page, ...(next ? { next } : {}) };
}

/**
 * MLflow's artifact proxy (`mlflow-artifacts:`): files an MLflow client uploads (kept in the
 * artifact store under `mlflow-artifacts/`, indexed in the MLflow catalog), and the read-only
 * `wattflow-registry/<model>/<version>/` tree showing every registry version in MLflow's layout.
 */
import { stringify as stringifyYaml } from 'yaml';
import type { ArtifactStore } from '../artifact-store.js';
import type { VersionRecord } from '../catalog.js';
import { RegistryError } from '../errors.js';
import { NAME_RE, VERSION_RE, type Registry } from '../registry.js';
import { VEHICLE_MODEL_KIND } from '../vehicle-kind.js';
import type { MlflowCatalog } from './catalog.js';
import { MlflowError } from './errors.js';

/** The read-only part of the artifact tree that shows every registry version in MLflow's layout. */
export const REGISTRY_TREE = 'wattflow-registry';
/** The artifact store key prefix of files uploaded through the artifact proxy. */
const STORE_PREFIX = 'mlflow-artifacts/';
const ARTIFACT_SEGMENT = /^[A-Za-z0-9._-]+$/;
export const WATTFLOW_METADATA_FILE = 'wattflow-metadata.json';

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

export interface ArtifactProxyOptions {
  registry: Registry;
  catalog: MlflowCatalog;
  artifacts: ArtifactStore;
  maxArtifactBytes: number;
}

export class MlflowArtifactProxy {
  constructor(private readonly o: ArtifactProxyOptions) {}

  /** The bytes of an uploaded file (RESOURCE_DOES_NOT_EXIST when absent). */
  async readArtifact(path: string): Promise<Uint8Array> {
    try {
      return await this.o.artifacts.get(STORE_PREFIX + path);
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
    const under = await this.o.catalog.artifactsUnder(path);
    if (under.length > 0) throw new MlflowError('INVALID_PARAMETER_VALUE', `${path} is a directory (it holds ${under.length} file(s))`);
    await this.o.artifacts.put(STORE_PREFIX + path, bytes);
    await this.o.catalog.putArtifact(path, { size: bytes.length, updated_ms: Date.now() });
  }

  async deleteArtifact(rawPath: string): Promise<void> {
    const path = checkArtifactPath(rawPath);
    if (path === REGISTRY_TREE || path.startsWith(`${REGISTRY_TREE}/`)) throw new MlflowError('PERMISSION_DENIED', `${REGISTRY_TREE}/ is read-only: delete a model version instead`);
    const files = (await this.o.catalog.getArtifact(path)) ? [path] : (await this.o.catalog.artifactsUnder(path)).map((f) => f.path);
    if (files.length === 0) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No artifact at ${path}`);
    for (const f of files) {
      await this.o.artifacts.delete(STORE_PREFIX + f);
      await this.o.catalog.deleteArtifact(f);
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
    if (!(await this.o.catalog.getArtifact(path))) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No artifact at ${path}`);
    return { bytes: await this.readArtifact(path), contentType: 'application/octet-stream' };
  }

  /** The direct children of a directory (MLflow's list: base names, `is_dir`, `file_size` for files). */
  async listArtifacts(rawPath: string): Promise<Array<{ path: string; is_dir: boolean; file_size?: number }>> {
    const path = checkArtifactPath(rawPath);
    if (path === REGISTRY_TREE || path.startsWith(`${REGISTRY_TREE}/`)) return this.listRegistryTree(path);
    const children = new Map<string, { path: string; is_dir: boolean; file_size?: number }>();
    for (const { path: p, entry } of await this.o.catalog.artifactsUnder(path)) {
      const rest = path === '' ? p : p.slice(path.length + 1);
      const [first, ...more] = rest.split('/');
      if (!first) continue;
      if (more.length > 0) children.set(first, { path: first, is_dir: true });
      else children.set(first, { path: first, is_dir: false, file_size: entry.size });
    }
    if (path === '' && (await this.o.registry.catalog.listModels()).length > 0) children.set(REGISTRY_TREE, { path: REGISTRY_TREE, is_dir: true });
    return [...children.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  private async listRegistryTree(path: string): Promise<Array<{ path: string; is_dir: boolean; file_size?: number }>> {
    const [, name, version, ...rest] = path.split('/');
    if (name === undefined) return (await this.o.registry.catalog.listModels()).map((m) => ({ path: m.name, is_dir: true }));
    if (!NAME_RE.test(name)) return [];
    if (version === undefined) return (await this.o.registry.catalog.listVersions(name)).map((v) => ({ path: v.version, is_dir: true }));
    if (rest.length > 0) return [];
    const files = await this.registryFiles(name, version);
    return (files ?? []).map((f) => ({ path: f.path, is_dir: false, file_size: f.size }));
  }

  /** A registry version in MLflow's layout: MLmodel (the one registered with it, else one written here), the model file, the metadata document. */
  private async registryFiles(name: string, version: string): Promise<Array<{ path: string; size: number; contentType: string; read: () => Promise<Uint8Array> }> | undefined> {
    if (!NAME_RE.test(name) || !VERSION_RE.test(version)) return undefined;
    const v = await this.o.registry.catalog.getVersion(name, version);
    if (!v) return undefined;
    const enc = (s: string) => new TextEncoder().encode(s);
    const meta = enc(JSON.stringify(v.metadata, null, 2) + '\n');
    const model = async () => (await this.o.registry.download(`${name}@${v.version}`)).bytes;
    const metaFile = { path: WATTFLOW_METADATA_FILE, size: meta.length, contentType: 'application/json', read: async () => meta };
    if (v.kind === VEHICLE_MODEL_KIND) return [metaFile, { path: 'vehicle-model.json', size: v.size, contentType: 'application/json', read: model }];
    const x = await this.o.catalog.getVersionExtra(name, v.version, v);
    const dataPath = x?.mlmodel && x.data_path ? x.data_path : 'model.onnx';
    const mlmodel = enc(x?.mlmodel ?? synthesizedMlmodel(v, dataPath));
    return [
      { path: 'MLmodel', size: mlmodel.length, contentType: 'text/yaml', read: async () => mlmodel },
      { path: dataPath, size: v.size, contentType: 'application/octet-stream', read: model },
      ...(dataPath === WATTFLOW_METADATA_FILE ? [] : [metaFile]),
    ];
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

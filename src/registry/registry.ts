/**
 * The model registry service (what the REST API and the `models` CLI drive):
 *  - models: create, list, show, delete (when it has no versions);
 *  - versions: upload (validated: metadata naming the features, ONNX signature, a smoke run
 *    with sensitivities; stored as `<model>/<version>/model.onnx` + `metadata.json`), download
 *    (sha256 re-checked), delete (refused while deployed or served by a worker);
 *  - aliases (`production`, `staging`, …): set/unset; a deployment made through an alias
 *    follows it when it moves;
 *  - deployments: desired state per scope (router, router type, all) recorded in the metadata
 *    store and announced on the compacted control topic; validated first (known routers and
 *    router types, model router type, artifact present with the right sha256) so that nothing is
 *    half-deployed; rollback re-deploys a scope's previous target; `switch` sets a scope and
 *    clears the narrower ones;
 *  - status: desired vs what each inference worker reports on the status topic.
 * Mutations are serialised by one in-process lock (one registry process owns its metadata).
 */
import { randomUUID } from 'node:crypto';
import { clientAuthHeaders } from '../core/auth.js';
import type { Logger } from '../core/logger.js';
import { counter } from '../core/metrics.js';
import type { Fabric } from '../fabric/fabric.js';
import {
  METADATA_SCHEMA_VERSION,
  POWER_TARGET_SPEC,
  sha256Hex,
  splitUserMetadata,
  validateModelMetadata,
  type FeatureSpec,
  type ModelMetadata,
} from '../ml/onnx/metadata.js';
import { decodeModelSummary } from '../ml/onnx/proto.js';
import { metadataFromProps } from '../ml/onnx/metadata.js';
import { OnnxPowerModel } from '../ml/runtime/onnx-power-model.js';
import type { ExperimentSource } from '../router-power/experiment.js';
import { artifactKeys, type ArtifactStore } from './artifacts.js';
import {
  DEFAULT_CONTROL_TOPIC,
  DEFAULT_STATUS_TOPIC,
  describeScope,
  effectiveRecord,
  parseDeploymentRecord,
  scopeKey,
  targetLabel,
  type DeploymentRecord,
  type DeploymentScope,
  type DeploymentTarget,
  type ModelTarget,
  type WorkerStatus,
} from './control.js';
import { counted, RegistryError } from './errors.js';
import { smokeCheck } from './smoke.js';
import { artifactKeysVehicle, isVehicleMetadata, looksLikeVehicleArtifact, validateVehicleArtifact, VEHICLE_MODEL_KIND, VEHICLE_ROUTER_TYPE, vehicleMetadataOf, type VehicleModelMetadata } from './vehicle-models.js';
import { compareVersions, RegistryStore, type KvLike, type ModelRecord, type VersionRecord } from './store.js';

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const VERSION_RE = /^[0-9][0-9A-Za-z._-]{0,63}$/;
export const ALIAS_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

const uploads = counter<'result'>({
  name: 'wattflow_registry_uploads_total',
  help: 'Model version uploads, per result (ok|rejected)',
  labelNames: ['result'],
});
const deployments = counter<'target'>({
  name: 'wattflow_registry_deployments_total',
  help: 'Deployment records announced on the control channel, per target kind (model|dummy|cleared)',
  labelNames: ['target'],
});

export interface ModelRef {
  name: string;
  /** A version (starts with a digit) or an alias; absent = latest version. */
  selector?: string;
}

/** `name`, `name@version` or `name@alias`. */
export function parseRef(ref: string): ModelRef {
  const at = ref.indexOf('@');
  const name = at < 0 ? ref : ref.slice(0, at);
  const selector = at < 0 ? undefined : ref.slice(at + 1);
  if (!NAME_RE.test(name)) throw new RegistryError('INVALID', `invalid model name "${name}" (letters, digits, . _ -; starts with a letter or digit)`);
  if (selector !== undefined && !VERSION_RE.test(selector) && !ALIAS_RE.test(selector)) {
    throw new RegistryError('INVALID', `invalid version or alias "${selector}" in "${ref}"`);
  }
  return { name, ...(selector !== undefined ? { selector } : {}) };
}

export interface UploadOptions {
  version?: string;
  alias?: string;
  /** A (possibly partial) metadata document; merged over the metadata embedded in the ONNX. */
  metadata?: unknown;
  routerType?: string;
  modelType?: string;
  features?: FeatureSpec[];
  description?: string;
  /** Upload file name (informational). */
  source?: string;
}

export interface DeployRequest {
  /** `name@version`, `name@alias` or `name` (latest); absent when `dummy`. */
  ref?: string;
  dummy?: boolean;
  routers?: string[];
  routerType?: string;
  all?: boolean;
  /** Deploy even when the model's router type differs from the routers'. */
  force?: boolean;
  /** Also clear the narrower scopes, so every router of the scope uses this target (switch). */
  exclusive?: boolean;
}

export interface ScopeRequest {
  routers?: string[];
  routerType?: string;
  all?: boolean;
}

export interface ModelSummary extends ModelRecord {
  latest_version?: string;
  next_version: string;
  versions: VersionSummary[];
  deployments: Array<{ scope: string; version: string; ref: string }>;
}

export interface VersionSummary {
  version: string;
  created_at: string;
  model_type: string;
  router_type: string;
  sha256: string;
  size: number;
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

export interface RouterStatusRow {
  router: string;
  router_type: string;
  desired: string;
  desired_scope: string;
  workers: Record<string, { actual: string; ok: boolean; error?: string }>;
}

export interface StatusReport {
  desired: Array<{ scope: string; target: string; deployed_at: string; id: string }>;
  workers: Array<WorkerStatus & { stale_seconds: number; reachable?: boolean }>;
  routers: RouterStatusRow[];
}

export interface RegistryOptions {
  kv: KvLike;
  artifacts: ArtifactStore;
  logger: Logger;
  fabric?: Fabric;
  controlTopic?: string;
  statusTopic?: string;
  /** The experiment the workers run: validates router ids and types of deployments. */
  experiment?: ExperimentSource;
  /** Base URL of this registry's REST API (download URLs in deployment records). */
  baseUrl?: () => string | undefined;
  maxArtifactBytes?: number;
  now?: () => Date;
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

function nextVersion(versions: VersionRecord[]): string {
  let max = 0;
  for (const v of versions) if (/^\d+$/.test(v.version)) max = Math.max(max, Number(v.version));
  const taken = new Set(versions.map((v) => v.version));
  let n = max + 1;
  while (taken.has(String(n))) n++;
  return String(n);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export class Registry {
  readonly store: RegistryStore;
  readonly controlTopic: string;
  readonly statusTopic: string;
  private readonly log: Logger;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: RegistryOptions) {
    this.store = new RegistryStore(o.kv);
    this.controlTopic = o.controlTopic ?? DEFAULT_CONTROL_TOPIC;
    this.statusTopic = o.statusTopic ?? DEFAULT_STATUS_TOPIC;
    this.log = o.logger.child({ module: 'registry' });
  }

  get artifacts(): ArtifactStore {
    return this.o.artifacts;
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  /** Runs `fn` alone (mutations are serialised). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /**
   * Creates the control and status topics and reconciles the control topic with the recorded
   * desired state: per scope the newer record wins (a restart between recording and announcing
   * re-announces; records announced by another registry instance are adopted).
   */
  async start(): Promise<void> {
    const fabric = this.o.fabric;
    if (!fabric) return;
    await fabric.ensureTopics([
      { name: this.controlTopic, compacted: true },
      { name: this.statusTopic, compacted: true },
    ]);
    await this.exclusive(async () => {
      const onTopic = new Map<string, DeploymentRecord>();
      for (const m of await fabric.readAll(this.controlTopic)) {
        const r = parseDeploymentRecord(m.key, m.value);
        if (r) onTopic.set(m.key, r);
      }
      const recorded = await this.store.listDeployments();
      const republish: Array<[string, DeploymentRecord]> = [];
      for (const [key, r] of recorded) {
        const t = onTopic.get(key);
        if (!t || (t.id !== r.id && r.deployed_at > t.deployed_at)) republish.push([key, r]);
      }
      for (const [key, t] of onTopic) {
        const r = recorded.get(key);
        if (!r || (t.id !== r.id && t.deployed_at > r.deployed_at)) await this.store.putDeployment(key, t);
      }
      if (republish.length > 0) {
        await fabric.publishBatch(republish.map(([key, r]) => ({ topic: this.controlTopic, key, value: JSON.stringify(r) })));
        this.log.info({ scopes: republish.map(([k]) => k) }, 're-announced recorded deployments on the control topic');
      }
    });
  }

  // ---------------------------------------------------------------- models

  createModel(input: { name: string; description?: string; router_type?: string }, opts: { existsOk?: boolean } = {}): Promise<ModelRecord> {
    return counted('create', () =>
      this.exclusive(async () => {
        if (!NAME_RE.test(input.name)) throw new RegistryError('INVALID', `invalid model name "${input.name}" (letters, digits, . _ -; at most 128)`);
        const existing = await this.store.getModel(input.name);
        if (existing) {
          if (opts.existsOk) return existing;
          throw new RegistryError('MODEL_EXISTS', `model ${input.name} already exists`);
        }
        const now = this.now().toISOString();
        const m: ModelRecord = {
          name: input.name,
          ...(input.description ? { description: input.description } : {}),
          ...(input.router_type ? { router_type: input.router_type } : {}),
          created_at: now,
          updated_at: now,
          aliases: {},
        };
        await this.store.putModel(m);
        this.log.info({ model: m.name }, 'model created');
        return m;
      }),
    );
  }

  async getModelRecord(name: string): Promise<ModelRecord> {
    const m = await this.store.getModel(name);
    if (!m) throw new RegistryError('NOT_FOUND', `model ${name} not found`);
    return m;
  }

  deleteModel(name: string): Promise<void> {
    return counted('delete_model', () =>
      this.exclusive(async () => {
        await this.getModelRecord(name);
        const versions = await this.store.listVersions(name);
        if (versions.length > 0) {
          throw new RegistryError('HAS_VERSIONS', `model ${name} still has versions ${versions.map((v) => v.version).join(', ')}: delete them first`);
        }
        await this.store.deleteModel(name);
      }),
    );
  }

  async listModels(): Promise<ModelSummary[]> {
    const [models, desired, workers] = await Promise.all([this.store.listModels(), this.store.listDeployments(), this.workerStatuses()]);
    return Promise.all(models.map((m) => this.summarize(m, desired, workers)));
  }

  async showModel(name: string): Promise<ModelSummary> {
    const m = await this.getModelRecord(name);
    const [desired, workers] = await Promise.all([this.store.listDeployments(), this.workerStatuses()]);
    return this.summarize(m, desired, workers);
  }

  private async summarize(m: ModelRecord, desired: Map<string, DeploymentRecord>, workers: WorkerStatus[]): Promise<ModelSummary> {
    const versions = await this.store.listVersions(m.name);
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
      versions: versions.map((v) => this.versionSummary(m, v, deps, workers)),
      deployments: deps,
    };
  }

  private versionSummary(m: ModelRecord, v: VersionRecord, deps: ModelSummary['deployments'], workers: WorkerStatus[]): VersionSummary {
    return {
      version: v.version,
      created_at: v.created_at,
      model_type: v.model_type,
      router_type: v.router_type,
      sha256: v.sha256,
      size: v.size,
      ...(v.metadata.metrics ? { metrics: v.metadata.metrics } : {}),
      aliases: Object.entries(m.aliases)
        .filter(([, ver]) => ver === v.version)
        .map(([a]) => a),
      deployed_to: deps.filter((d) => d.version === v.version).map((d) => d.scope),
      served_by: workers
        .filter((w) => w.state === 'running' && w.models.some((x) => x.model === m.name && x.version === v.version))
        .map((w) => w.worker),
      artifact_uri: v.artifact.uri,
      ...(v.kind === VEHICLE_MODEL_KIND ? vehicleSummary(v) : {}),
    };
  }

  // ---------------------------------------------------------------- versions

  /** The version a selector names (version, alias, or latest when absent). */
  async resolveVersion(name: string, selector?: string): Promise<VersionRecord> {
    const m = await this.getModelRecord(name);
    let version = selector;
    if (selector === undefined) {
      const all = await this.store.listVersions(name);
      if (all.length === 0) throw new RegistryError('VERSION_NOT_FOUND', `model ${name} has no versions`);
      return all[all.length - 1]!;
    }
    if (!VERSION_RE.test(selector)) {
      // own keys only: an alias named like an Object.prototype member ("constructor") is not one unless set
      version = Object.hasOwn(m.aliases, selector) ? m.aliases[selector] : undefined;
      if (version === undefined) {
        throw new RegistryError('VERSION_NOT_FOUND', `model ${name} has no alias "${selector}" (aliases: ${Object.keys(m.aliases).join(', ') || 'none'})`);
      }
    }
    const v = await this.store.getVersion(name, version!);
    if (!v) throw new RegistryError('VERSION_NOT_FOUND', `model ${name} has no version ${version}`);
    return v;
  }

  async showVersion(ref: string): Promise<VersionRecord & { aliases: string[] }> {
    const { name, selector } = parseRef(ref);
    const v = await this.resolveVersion(name, selector);
    const m = await this.getModelRecord(name);
    return { ...v, aliases: Object.entries(m.aliases).filter(([, x]) => x === v.version).map(([a]) => a) };
  }

  /** The ONNX bytes of a version, sha256 re-checked. */
  async download(ref: string): Promise<{ version: VersionRecord; bytes: Uint8Array }> {
    return counted('download', async () => {
      const { name, selector } = parseRef(ref);
      const version = await this.resolveVersion(name, selector);
      return { version, bytes: await this.verifiedBytes(version) };
    });
  }

  private async verifiedBytes(v: VersionRecord): Promise<Uint8Array> {
    const bytes = await this.o.artifacts.get(v.artifact.onnx);
    const sha = sha256Hex(bytes);
    if (sha !== v.sha256) {
      throw new RegistryError('CHECKSUM_MISMATCH', `artifact of ${v.model}@${v.version} is corrupt: sha256 ${sha} in the store, ${v.sha256} registered`);
    }
    return bytes;
  }

  upload(name: string, bytes: Uint8Array, opts: UploadOptions = {}): Promise<VersionRecord> {
    return counted('upload', async () => {
      try {
        const v = await this.exclusive(() => this.doUpload(name, bytes, opts));
        uploads.inc({ result: 'ok' });
        return v;
      } catch (err) {
        uploads.inc({ result: 'rejected' });
        throw err;
      }
    });
  }

  private async doUpload(name: string, bytes: Uint8Array, opts: UploadOptions): Promise<VersionRecord> {
    if (!NAME_RE.test(name)) throw new RegistryError('INVALID', `invalid model name "${name}"`);
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new RegistryError('INVALID_MODEL', 'the ONNX file is empty', 'EMPTY');
    const max = this.o.maxArtifactBytes ?? 64 * 1024 * 1024;
    if (bytes.length > max) throw new RegistryError('TOO_LARGE', `the ONNX file has ${bytes.length} bytes, more than the limit ${max}`);
    if (opts.version !== undefined && !VERSION_RE.test(opts.version)) {
      throw new RegistryError('INVALID', `invalid version "${opts.version}" (starts with a digit; letters, digits, . _ -)`);
    }
    if (opts.alias !== undefined && !ALIAS_RE.test(opts.alias)) {
      throw new RegistryError('INVALID', `invalid alias "${opts.alias}" (starts with a letter; letters, digits, _ -)`);
    }
    if (opts.metadata !== undefined && !isObject(opts.metadata)) throw new RegistryError('INVALID_METADATA', 'the metadata document must be a JSON object');
    if (isVehicleMetadata(opts.metadata) || looksLikeVehicleArtifact(bytes)) return this.doUploadVehicle(name, bytes, opts);
    const sha = sha256Hex(bytes);
    let embedded: Partial<ModelMetadata> = {};
    try {
      embedded = metadataFromProps(decodeModelSummary(bytes).metadataProps);
    } catch (err) {
      throw new RegistryError('INVALID_MODEL', `the file is not an ONNX model: ${(err as Error).message}`, 'CORRUPT', { cause: err });
    }
    // keys the schema does not define (a scikit-learn user's own fields) are kept as user_metadata
    const doc = splitUserMetadata((opts.metadata ?? {}) as Record<string, unknown>) as Partial<ModelMetadata>;
    if (doc.sha256 !== undefined && doc.sha256 !== sha) {
      throw new RegistryError('CHECKSUM_MISMATCH', `the metadata's sha256 ${String(doc.sha256)} does not match the ONNX bytes (${sha})`);
    }
    const model = await this.store.getModel(name);
    const versions = await this.store.listVersions(name);
    const version = opts.version ?? nextVersion(versions);
    if (versions.some((v) => v.version === version)) throw new RegistryError('VERSION_EXISTS', `model ${name} already has version ${version}`);
    const merged: Partial<ModelMetadata> = { ...embedded, ...doc };
    const features = opts.features ?? merged.features;
    if (!features || features.length === 0) {
      throw new RegistryError(
        'INVALID_METADATA',
        'the metadata must name the features in graph column order (e.g. PacketSize_B:bytes,Throughput_Percentage:fraction): upload a metadata JSON or pass features',
      );
    }
    const routerType = opts.routerType ?? merged.router_type ?? model?.router_type;
    if (!routerType) throw new RegistryError('INVALID_METADATA', 'the router type of the model is unknown: set router_type in the metadata or pass it');
    const candidate = {
      ...merged,
      schema_version: METADATA_SCHEMA_VERSION,
      name,
      version,
      router_type: routerType,
      model_type: opts.modelType ?? merged.model_type ?? 'external',
      features,
      target: merged.target ?? { ...POWER_TARGET_SPEC },
      created_at: merged.created_at ?? this.now().toISOString(),
      sha256: sha,
    };
    const metadata = validateModelMetadata(JSON.parse(JSON.stringify(candidate)));
    await smokeTest(bytes, metadata);

    const record = await this.recordVersion({
      name,
      version,
      model,
      routerType,
      keys: artifactKeys(name, version),
      bytes,
      contentType: 'application/octet-stream',
      metadata,
      sha,
      extra: {},
      opts,
    });
    this.log.info({ model: name, version, sha256: sha, size: bytes.length, alias: opts.alias }, 'model version uploaded');
    if (opts.alias) await this.followAlias(name, opts.alias, record);
    return record;
  }

  deleteVersion(ref: string): Promise<{ removedAliases: string[] }> {
    return counted('delete', () =>
      this.exclusive(async () => {
        const { name, selector } = parseRef(ref);
        if (selector === undefined || !VERSION_RE.test(selector)) {
          throw new RegistryError('INVALID', `delete needs an explicit version: ${name}@<version>`);
        }
        const v = await this.resolveVersion(name, selector);
        const desired = await this.store.listDeployments();
        const scopes = [...desired].filter(([, r]) => r.target?.kind === 'model' && r.target.model === name && r.target.version === v.version).map(([k]) => k);
        if (scopes.length > 0) {
          throw new RegistryError('DEPLOYED', `${name}@${v.version} is deployed (${scopes.join(', ')}): deploy another version there first`);
        }
        const serving = (await this.workerStatuses()).filter(
          (w) => w.state === 'running' && w.models.some((x) => x.model === name && x.version === v.version),
        );
        if (serving.length > 0) {
          throw new RegistryError('DEPLOYED', `${name}@${v.version} is still served by worker(s) ${serving.map((w) => w.worker).join(', ')}`);
        }
        const m = await this.getModelRecord(name);
        const removedAliases = Object.entries(m.aliases).filter(([, x]) => x === v.version).map(([a]) => a);
        const aliases = Object.fromEntries(Object.entries(m.aliases).filter(([, x]) => x !== v.version));
        await this.store.deleteVersion(name, v.version);
        await this.store.putModel({ ...m, aliases, updated_at: this.now().toISOString() });
        await Promise.allSettled([this.o.artifacts.delete(v.artifact.onnx), this.o.artifacts.delete(v.artifact.metadata)]);
        this.log.info({ model: name, version: v.version, removedAliases }, 'model version deleted');
        return { removedAliases };
      }),
    );
  }

  // ---------------------------------------------------------------- aliases

  setAlias(name: string, alias: string, selector: string): Promise<{ redeployed: string[] }> {
    return counted('alias', () =>
      this.exclusive(async () => {
        if (!ALIAS_RE.test(alias)) throw new RegistryError('INVALID', `invalid alias "${alias}" (starts with a letter; letters, digits, _ -)`);
        const v = await this.resolveVersion(name, selector);
        const m = await this.getModelRecord(name);
        const redeployed = await this.followAlias(name, alias, v, true);
        await this.store.putModel({ ...m, aliases: { ...m.aliases, [alias]: v.version }, updated_at: this.now().toISOString() });
        this.log.info({ model: name, alias, version: v.version, redeployed }, 'alias set');
        return { redeployed };
      }),
    );
  }

  unsetAlias(name: string, alias: string): Promise<void> {
    return counted('alias', () =>
      this.exclusive(async () => {
        const m = await this.getModelRecord(name);
        if (!Object.hasOwn(m.aliases, alias)) throw new RegistryError('NOT_FOUND', `model ${name} has no alias "${alias}"`);
        const aliases = { ...m.aliases };
        delete aliases[alias];
        await this.store.putModel({ ...m, aliases, updated_at: this.now().toISOString() });
      }),
    );
  }

  /** A vehicle model version (kind vehicle-anomaly): validated with the vehicle model loader + a smoke score. */
  private async doUploadVehicle(name: string, bytes: Uint8Array, opts: UploadOptions): Promise<VersionRecord> {
    const artifact = validateVehicleArtifact(bytes, `vehicle model upload for ${name}`);
    const sha = sha256Hex(bytes);
    const doc = (opts.metadata ?? {}) as { sha256?: unknown };
    if (doc.sha256 !== undefined && doc.sha256 !== sha) {
      throw new RegistryError('CHECKSUM_MISMATCH', `the metadata's sha256 ${String(doc.sha256)} does not match the artifact bytes (${sha})`);
    }
    const model = await this.store.getModel(name);
    if (model?.router_type !== undefined && model.router_type !== VEHICLE_ROUTER_TYPE) {
      throw new RegistryError('INVALID', `model ${name} holds power models (router type ${model.router_type}); register the vehicle model under another name`);
    }
    const versions = await this.store.listVersions(name);
    const version = opts.version ?? nextVersion(versions);
    if (versions.some((v) => v.version === version)) throw new RegistryError('VERSION_EXISTS', `model ${name} already has version ${version}`);
    const metadata = vehicleMetadataOf(artifact, { name, version, bytes, createdAt: this.now().toISOString() });
    const record = await this.recordVersion({
      name,
      version,
      model,
      routerType: VEHICLE_ROUTER_TYPE,
      keys: artifactKeysVehicle(name, version),
      bytes,
      contentType: 'application/json',
      metadata,
      sha,
      extra: { kind: VEHICLE_MODEL_KIND },
      opts,
    });
    this.log.info({ model: name, version, kind: VEHICLE_MODEL_KIND, sha256: sha, size: bytes.length, alias: opts.alias }, 'vehicle model version uploaded');
    return record;
  }

  /**
   * Stores a validated version: the artifact and its metadata in object storage, then the
   * version and model records; on a failure to record, the stored objects are removed again so
   * nothing is half-registered.
   */
  private async recordVersion(a: {
    name: string;
    version: string;
    model: ModelRecord | undefined;
    routerType: string | undefined;
    keys: ReturnType<typeof artifactKeys>;
    bytes: Uint8Array;
    contentType: string;
    metadata: VersionRecord['metadata'];
    sha: string;
    extra: Partial<VersionRecord>;
    opts: { alias?: string; description?: string; source?: VersionRecord['source'] };
  }): Promise<VersionRecord> {
    const { name, version, keys, bytes, metadata, opts } = a;
    await this.o.artifacts.put(keys.onnx, bytes, a.contentType);
    await this.o.artifacts.put(keys.metadata, new TextEncoder().encode(JSON.stringify(metadata, null, 2) + '\n'), 'application/json');
    const now = this.now().toISOString();
    const record: VersionRecord = {
      model: name,
      version,
      created_at: now,
      model_type: metadata.model_type,
      router_type: metadata.router_type,
      sha256: a.sha,
      size: bytes.length,
      artifact: { ...keys, uri: this.o.artifacts.uri(keys.onnx) },
      metadata,
      ...a.extra,
      ...(opts.source ? { source: opts.source } : {}),
    };
    try {
      const m: ModelRecord = a.model ?? { name, router_type: a.routerType, created_at: now, updated_at: now, aliases: {}, ...(opts.description ? { description: opts.description } : {}) };
      await this.store.putVersion(record);
      await this.store.putModel({ ...m, updated_at: now, aliases: opts.alias ? { ...m.aliases, [opts.alias]: version } : m.aliases });
    } catch (err) {
      await this.store.deleteVersion(name, version).catch(() => undefined);
      await Promise.allSettled([this.o.artifacts.delete(keys.onnx), this.o.artifacts.delete(keys.metadata)]);
      throw new RegistryError('STORE_FAILED', `cannot record ${name}@${version}: ${(err as Error).message}`, undefined, { cause: err });
    }
    return record;
  }

  /** Re-deploys the scopes that follow `name@alias` to version `v` (validated first). */
  private async followAlias(name: string, alias: string, v: VersionRecord, verify = true): Promise<string[]> {
    const desired = await this.store.listDeployments();
    const follow = [...desired].filter(
      ([, r]) => r.target?.kind === 'model' && r.target.model === name && r.target.alias === alias && r.target.version !== v.version,
    );
    if (follow.length === 0) return [];
    const target = await this.modelTarget(v, `${name}@${alias}`, alias, verify);
    await this.announce(follow.map(([, r]) => ({ scope: r.scope, target })), desired);
    return follow.map(([k]) => k);
  }

  // ---------------------------------------------------------------- deployments

  private async modelTarget(v: VersionRecord, ref: string, alias: string | undefined, verify: boolean): Promise<ModelTarget> {
    if (verify) await this.verifiedBytes(v);
    const base = this.o.baseUrl?.();
    return {
      kind: 'model',
      model: v.model,
      version: v.version,
      ref,
      ...(alias ? { alias } : {}),
      model_type: v.model_type,
      router_type: v.router_type,
      sha256: v.sha256,
      size: v.size,
      artifact_uri: v.artifact.uri,
      ...(base ? { download_url: `${base}/api/registry/models/${encodeURIComponent(v.model)}/versions/${encodeURIComponent(v.version)}/artifact` } : {}),
      metadata: v.metadata,
    };
  }

  /** Scopes of a request, validated against the experiment (when known). */
  scopesOf(req: ScopeRequest): DeploymentScope[] {
    const forms = [req.routers && req.routers.length > 0, req.routerType !== undefined, req.all === true].filter(Boolean).length;
    if (forms !== 1) throw new RegistryError('INVALID', 'choose exactly one of: routers (r1,r3), a router type, or all');
    const exp = this.o.experiment?.current;
    if (req.routers && req.routers.length > 0) {
      if (exp) {
        const unknown = req.routers.filter((id) => !exp.routers.some((r) => r.id === id));
        if (unknown.length > 0) {
          throw new RegistryError('UNKNOWN_ROUTER', `unknown router(s) ${unknown.join(', ')} (the experiment has ${exp.routers.map((r) => r.id).join(', ')})`);
        }
      }
      return [...new Set(req.routers)].map((router) => ({ kind: 'router', router }));
    }
    if (req.routerType !== undefined) {
      if (exp && !exp.routers.some((r) => r.routerType === req.routerType)) {
        const known = [...new Set(exp.routers.map((r) => r.routerType))];
        throw new RegistryError('UNKNOWN_ROUTER_TYPE', `unknown router type "${req.routerType}" (the experiment's router types: ${known.join(', ')})`);
      }
      return [{ kind: 'router_type', router_type: req.routerType }];
    }
    return [{ kind: 'all' }];
  }

  /** Router types a scope covers (undefined when no experiment is known). */
  private routerTypesOf(scope: DeploymentScope): string[] | undefined {
    const exp = this.o.experiment?.current;
    if (scope.kind === 'router_type') return [scope.router_type];
    if (!exp) return undefined;
    if (scope.kind === 'router') return exp.routers.filter((r) => r.id === scope.router).map((r) => r.routerType);
    return [...new Set(exp.routers.map((r) => r.routerType))];
  }

  deploy(req: DeployRequest): Promise<DeploymentRecord[]> {
    return counted('deploy', () =>
      this.exclusive(async () => {
        const scopes = this.scopesOf(req);
        let target: DeploymentTarget;
        if (req.dummy) {
          if (req.ref) throw new RegistryError('INVALID', 'deploy either a model reference or dummy, not both');
          target = { kind: 'dummy' };
        } else {
          if (!req.ref) throw new RegistryError('INVALID', 'which model? NAME@VERSION, NAME@ALIAS or NAME (latest)');
          const { name, selector } = parseRef(req.ref);
          const v = await this.resolveVersion(name, selector);
          if (v.kind === VEHICLE_MODEL_KIND) {
            throw new RegistryError(
              'INVALID',
              `${name}@${v.version} is a vehicle model (kind ${VEHICLE_MODEL_KIND}): it is served by \`wattflow vehicle-predictor --model ${name}@${selector ?? v.version}\`, not deployed to inference workers`,
            );
          }
          const alias = selector !== undefined && !VERSION_RE.test(selector) ? selector : undefined;
          if (!req.force) {
            for (const scope of scopes) {
              const types = this.routerTypesOf(scope);
              const other = types?.filter((t) => t !== v.router_type) ?? [];
              if (other.length > 0) {
                throw new RegistryError(
                  'ROUTER_TYPE_MISMATCH',
                  `${name}@${v.version} is a model of router type "${v.router_type}" but ${describeScope(scope)} includes router type(s) ${other.join(', ')} (use force to deploy anyway)`,
                );
              }
            }
          }
          target = await this.modelTarget(v, `${name}@${selector ?? v.version}`, alias, true);
        }
        const desired = await this.store.listDeployments();
        const changes: Array<{ scope: DeploymentScope; target: DeploymentTarget | null }> = scopes.map((scope) => ({ scope, target }));
        if (req.exclusive) {
          for (const scope of scopes) {
            for (const [key, r] of desired) {
              if (!r.target || scopes.some((s) => scopeKey(s) === key)) continue;
              const narrower =
                scope.kind === 'all' ? key !== 'all' : scope.kind === 'router_type' ? this.routerOfType(key, scope.router_type) : false;
              if (narrower) changes.push({ scope: r.scope, target: null });
            }
          }
        }
        return this.announce(changes, desired);
      }),
    );
  }

  private routerOfType(key: string, routerType: string): boolean {
    if (!key.startsWith('router:')) return false;
    const r = this.o.experiment?.routerById(key.slice(7));
    return r !== undefined && r.routerType === routerType;
  }

  undeploy(req: ScopeRequest): Promise<DeploymentRecord[]> {
    return counted('undeploy', () =>
      this.exclusive(async () => {
        const scopes = this.scopesOf(req);
        const desired = await this.store.listDeployments();
        const live = scopes.filter((s) => desired.get(scopeKey(s))?.target);
        if (live.length === 0) throw new RegistryError('NOT_FOUND', `nothing is deployed on ${scopes.map(describeScope).join(', ')}`);
        return this.announce(live.map((scope) => ({ scope, target: null })), desired);
      }),
    );
  }

  rollback(req: ScopeRequest): Promise<DeploymentRecord[]> {
    return counted('rollback', () =>
      this.exclusive(async () => {
        const scopes = this.scopesOf(req);
        const desired = await this.store.listDeployments();
        const changes: Array<{ scope: DeploymentScope; target: DeploymentTarget | null }> = [];
        for (const scope of scopes) {
          const cur = desired.get(scopeKey(scope));
          if (!cur || cur.previous === undefined) {
            throw new RegistryError('NOTHING_TO_ROLL_BACK', `${describeScope(scope)} has no previous deployment`);
          }
          let target = cur.previous;
          if (target?.kind === 'model') {
            // the previous target as it was: a version, or an alias it followed (if the alias
            // still exists it is followed again, at its current version); never a silent change
            // from following an alias to a fixed version (`→ ne40@1 (was ne40@1)` of issue 17)
            const prev: ModelTarget = target;
            let followed: string | undefined;
            let v: VersionRecord | undefined;
            if (prev.alias) {
              v = await this.resolveVersion(prev.model, prev.alias).catch(() => undefined);
              if (v) followed = prev.alias;
            }
            v ??= await this.resolveVersion(prev.model, prev.version);
            target = await this.modelTarget(v, `${v.model}@${followed ?? v.version}`, followed, true);
          }
          changes.push({ scope, target });
        }
        return this.announce(changes, desired);
      }),
    );
  }

  /** Records then announces new targets (one batch on the control topic). */
  private async announce(
    changes: Array<{ scope: DeploymentScope; target: DeploymentTarget | null }>,
    desired: Map<string, DeploymentRecord>,
  ): Promise<DeploymentRecord[]> {
    const at = this.now().toISOString();
    const records = changes.map(({ scope, target }) => {
      const key = scopeKey(scope);
      const prev = desired.get(key)?.target ?? null;
      return { id: randomUUID(), scope, target, deployed_at: at, previous: prev } satisfies DeploymentRecord;
    });
    if (this.o.fabric) {
      try {
        await this.o.fabric.publishBatch(records.map((r) => ({ topic: this.controlTopic, key: scopeKey(r.scope), value: JSON.stringify(r) })));
      } catch (err) {
        throw new RegistryError('UNAVAILABLE', `cannot announce the deployment on ${this.controlTopic}: ${(err as Error).message}`, undefined, { cause: err });
      }
    }
    for (const r of records) {
      await this.store.putDeployment(scopeKey(r.scope), r);
      deployments.inc({ target: r.target ? r.target.kind : 'cleared' });
    }
    this.log.info({ deployments: records.map((r) => `${scopeKey(r.scope)} → ${targetLabel(r.target)}`) }, 'deployment announced');
    return records;
  }

  async listDeployments(): Promise<DeploymentRecord[]> {
    return [...(await this.store.listDeployments()).values()].filter((r) => r.target !== null);
  }

  // ---------------------------------------------------------------- status

  /**
   * What the workers reported on the status topic. With `probe`, each running worker that
   * reported a URL is asked for its current status (1 s timeout): the answer replaces the
   * reported one (`reachable: true`), no answer marks it `reachable: false` (crashed or cut off).
   */
  async workerStatuses(probe = false): Promise<Array<WorkerStatus & { reachable?: boolean }>> {
    if (!this.o.fabric) return [];
    const out: Array<WorkerStatus & { reachable?: boolean }> = [];
    for (const m of await this.o.fabric.readAll(this.statusTopic)) {
      try {
        const s = JSON.parse(m.value) as WorkerStatus;
        if (s && typeof s.worker === 'string' && s.routers && typeof s.routers === 'object') out.push(s);
      } catch {
        // not a status document: ignore
      }
    }
    if (probe) {
      await Promise.all(
        out.map(async (s, i) => {
          if (s.state !== 'running' || !s.url) return;
          try {
            const res = await fetch(`${s.url}/api/models/status`, { headers: clientAuthHeaders(), signal: AbortSignal.timeout(1000) });
            const live = res.ok ? ((await res.json()) as WorkerStatus) : undefined;
            out[i] = live && live.worker === s.worker ? { ...live, reachable: true } : { ...s, reachable: false };
          } catch {
            out[i] = { ...s, reachable: false };
          }
        }),
      );
    }
    return out.sort((a, b) => a.worker.localeCompare(b.worker));
  }

  async status(): Promise<StatusReport> {
    const [desired, workers] = await Promise.all([this.store.listDeployments(), this.workerStatuses(true)]);
    const nowMs = this.now().getTime();
    const exp = this.o.experiment?.current;
    const routerIds = new Map<string, string>();
    if (exp) for (const r of exp.routers) routerIds.set(r.id, r.routerType);
    for (const w of workers) for (const [id, a] of Object.entries(w.routers)) if (!routerIds.has(id)) routerIds.set(id, a.router_type);
    const routers: RouterStatusRow[] = [...routerIds].map(([id, routerType]) => {
      const rec = effectiveRecord(desired, { id, routerType });
      const expDefault = exp?.routers.find((r) => r.id === id)?.modelType;
      const desiredLabel = rec ? targetLabel(rec.target) : expDefault === undefined || expDefault === 'dummy' ? 'dummy' : `${expDefault} (experiment; not deployed)`;
      const row: RouterStatusRow = { router: id, router_type: routerType, desired: desiredLabel, desired_scope: rec ? scopeKey(rec.scope) : '', workers: {} };
      for (const w of workers) {
        if (w.state !== 'running' || w.reachable === false) continue;
        const a = w.routers[id];
        if (!a) continue;
        const actual = a.model_type === 'dummy' ? 'dummy' : `${a.model}@${a.version}`;
        row.workers[w.worker] = { actual, ok: actual === desiredLabel, ...(a.error ? { error: a.error } : {}) };
      }
      return row;
    });
    return {
      desired: [...desired]
        .filter(([, r]) => r.target !== null)
        .map(([key, r]) => ({ scope: key, target: targetLabel(r.target), deployed_at: r.deployed_at, id: r.id })),
      workers: workers.map((w) => ({ ...w, stale_seconds: Math.max(0, Math.round((nowMs - Date.parse(w.updated_at)) / 1000)) })),
      routers,
    };
  }
}

/** Loads the model as a worker would and runs the smoke prediction with sensitivities. */
export async function smokeTest(bytes: Uint8Array, metadata: ModelMetadata): Promise<void> {
  const model = await OnnxPowerModel.load(bytes, metadata);
  try {
    await smokeCheck(model);
  } finally {
    await model.close();
  }
}

export { compareVersions };

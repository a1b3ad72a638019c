/**
 * The model registry service (what the REST API, the MLflow API and the `models` CLI drive):
 * models (create, list, show, delete when empty), versions (upload, download with the sha256
 * re-checked, delete unless deployed or served), aliases (a deployment through an alias follows
 * it), deployments (deploy, undeploy, rollback, switch) and the status of the workers.
 * Mutations are serialised by one in-process lock (one registry process owns its catalog).
 * The jobs live beside it: version-upload.ts, deployment-resolution.ts, control-announcer.ts,
 * worker-status.ts, model-summary.ts (docs/registry.md).
 */
import type { Logger } from '../core/logger.js';
import { counter } from '../core/metrics.js';
import type { Fabric } from '../fabric/fabric.js';
import { sha256Hex } from '../ml/onnx/metadata.js';
import type { ArtifactStore } from './artifact-store.js';
import { ModelCatalog, type KvLike, type ModelRecord, type VersionRecord } from './catalog.js';
import { ControlAnnouncer } from './control-announcer.js';
import { DEFAULT_CONTROL_TOPIC, DEFAULT_STATUS_TOPIC, describeScope, type DeploymentRecord, type DeploymentTarget } from './control.js';
import {
  aliasFollowers,
  checkDeployable,
  checkRouterTypes,
  liveScopes,
  modelTarget,
  narrowerScopes,
  rollbackTarget,
  scopesDeploying,
  scopesOf,
  type DeploymentChange,
  type RouterInventory,
  type ScopeRequest,
} from './deployment-resolution.js';
import { counted, RegistryError } from './errors.js';
import { aliasesOf, summarizeModel, type ModelSummary } from './model-summary.js';
import { ALIAS_RE, aliasOf, NAME_RE, parseRef, VERSION_RE } from './refs.js';
import { VersionUploader, type UploadOptions } from './version-upload.js';
import type { VehicleArtifactValidator } from './vehicle-kind.js';
import { readWorkerStatuses, statusReport, type ProbedWorkerStatus, type StatusReport } from './worker-status.js';

export { ALIAS_RE, NAME_RE, parseRef, VERSION_RE, type ModelRef } from './refs.js';
export { smokeTest, type UploadOptions } from './version-upload.js';
export type { ModelSummary, VersionSummary } from './model-summary.js';
export type { RouterStatusRow, StatusReport } from './worker-status.js';
export type { RouterInventory, ScopeRequest } from './deployment-resolution.js';
export { compareVersions } from './catalog.js';

const uploads = counter<'result'>({
  name: 'wattflow_registry_uploads_total',
  help: 'Model version uploads, per result (ok|rejected)',
  labelNames: ['result'],
});

export interface DeployRequest extends ScopeRequest {
  /** `name@version`, `name@alias` or `name` (latest); absent when `dummy`. */
  ref?: string;
  dummy?: boolean;
  /** Deploy even when the model's router type differs from the routers'. */
  force?: boolean;
  /** Also clear the narrower scopes, so every router of the scope uses this target (switch). */
  exclusive?: boolean;
}

export interface RegistryOptions {
  kv: KvLike;
  artifacts: ArtifactStore;
  logger: Logger;
  fabric?: Fabric;
  controlTopic?: string;
  statusTopic?: string;
  /** The routers of the experiment the workers run: validates router ids and types of deployments. */
  experiment?: RouterInventory;
  /** Base URL of this registry's REST API (download URLs in deployment records). */
  baseUrl?: () => string | undefined;
  maxArtifactBytes?: number;
  /** Accepts vehicle model artifacts (the vehicle module's validator; absent: ONNX power models only). */
  vehicleModels?: VehicleArtifactValidator;
  now?: () => Date;
}

export class Registry {
  readonly catalog: ModelCatalog;
  readonly controlTopic: string;
  readonly statusTopic: string;
  private readonly log: Logger;
  private readonly announcer: ControlAnnouncer;
  private readonly uploader: VersionUploader;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: RegistryOptions) {
    this.catalog = new ModelCatalog(o.kv);
    this.controlTopic = o.controlTopic ?? DEFAULT_CONTROL_TOPIC;
    this.statusTopic = o.statusTopic ?? DEFAULT_STATUS_TOPIC;
    this.log = o.logger.child({ module: 'registry' });
    const now = () => this.now();
    this.announcer = new ControlAnnouncer({ catalog: this.catalog, fabric: o.fabric, controlTopic: this.controlTopic, statusTopic: this.statusTopic, logger: this.log, now });
    this.uploader = new VersionUploader({ catalog: this.catalog, artifacts: o.artifacts, logger: this.log, now, maxArtifactBytes: o.maxArtifactBytes, vehicleModels: o.vehicleModels });
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

  /** Creates the control and status topics and reconciles the control topic with the catalog. */
  async start(): Promise<void> {
    if (!this.o.fabric) return;
    await this.announcer.ensureTopics();
    await this.exclusive(() => this.announcer.reconcile());
  }

  // ---------------------------------------------------------------- models

  createModel(input: { name: string; description?: string; router_type?: string }, opts: { existsOk?: boolean } = {}): Promise<ModelRecord> {
    return counted('create', () =>
      this.exclusive(async () => {
        if (!NAME_RE.test(input.name)) throw new RegistryError('INVALID', `invalid model name "${input.name}" (letters, digits, . _ -; at most 128)`);
        const existing = await this.catalog.getModel(input.name);
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
        await this.catalog.putModel(m);
        this.log.info({ model: m.name }, 'model created');
        return m;
      }),
    );
  }

  async getModelRecord(name: string): Promise<ModelRecord> {
    const m = await this.catalog.getModel(name);
    if (!m) throw new RegistryError('NOT_FOUND', `model ${name} not found`);
    return m;
  }

  deleteModel(name: string): Promise<void> {
    return counted('delete_model', () =>
      this.exclusive(async () => {
        await this.getModelRecord(name);
        const versions = await this.catalog.listVersions(name);
        if (versions.length > 0) {
          throw new RegistryError('HAS_VERSIONS', `model ${name} still has versions ${versions.map((v) => v.version).join(', ')}: delete them first`);
        }
        await this.catalog.deleteModel(name);
      }),
    );
  }

  async listModels(): Promise<ModelSummary[]> {
    const [models, desired, workers] = await Promise.all([this.catalog.listModels(), this.catalog.listDeployments(), this.workerStatuses()]);
    return Promise.all(models.map(async (m) => summarizeModel(m, await this.catalog.listVersions(m.name), desired, workers)));
  }

  async showModel(name: string): Promise<ModelSummary> {
    const m = await this.getModelRecord(name);
    const [desired, workers] = await Promise.all([this.catalog.listDeployments(), this.workerStatuses()]);
    return summarizeModel(m, await this.catalog.listVersions(m.name), desired, workers);
  }

  // ---------------------------------------------------------------- versions

  /** The version a selector names (version, alias, or latest when absent). */
  async resolveVersion(name: string, selector?: string): Promise<VersionRecord> {
    const m = await this.getModelRecord(name);
    let version = selector;
    if (selector === undefined) {
      const all = await this.catalog.listVersions(name);
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
    const v = await this.catalog.getVersion(name, version!);
    if (!v) throw new RegistryError('VERSION_NOT_FOUND', `model ${name} has no version ${version}`);
    return v;
  }

  async showVersion(ref: string): Promise<VersionRecord & { aliases: string[] }> {
    const { name, selector } = parseRef(ref);
    const v = await this.resolveVersion(name, selector);
    const m = await this.getModelRecord(name);
    return { ...v, aliases: aliasesOf(m, v.version) };
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

  /** Validates and stores a version (version-upload.ts); an alias given moves, with the scopes following it. */
  upload(name: string, bytes: Uint8Array, opts: UploadOptions = {}): Promise<VersionRecord> {
    return counted('upload', async () => {
      try {
        const v = await this.exclusive(async () => {
          const record = await this.uploader.upload(name, bytes, opts);
          if (opts.alias && record.kind === undefined) await this.followAlias(name, opts.alias, record);
          return record;
        });
        uploads.inc({ result: 'ok' });
        return v;
      } catch (err) {
        uploads.inc({ result: 'rejected' });
        throw err;
      }
    });
  }

  deleteVersion(ref: string): Promise<{ removedAliases: string[] }> {
    return counted('delete', () =>
      this.exclusive(async () => {
        const { name, selector } = parseRef(ref);
        if (selector === undefined || !VERSION_RE.test(selector)) {
          throw new RegistryError('INVALID', `delete needs an explicit version: ${name}@<version>`);
        }
        const v = await this.resolveVersion(name, selector);
        const scopes = scopesDeploying(await this.catalog.listDeployments(), name, v.version);
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
        const removedAliases = aliasesOf(m, v.version);
        const aliases = Object.fromEntries(Object.entries(m.aliases).filter(([, x]) => x !== v.version));
        await this.catalog.deleteVersion(name, v.version);
        await this.catalog.putModel({ ...m, aliases, updated_at: this.now().toISOString() });
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
        const redeployed = await this.followAlias(name, alias, v);
        await this.catalog.putModel({ ...m, aliases: { ...m.aliases, [alias]: v.version }, updated_at: this.now().toISOString() });
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
        await this.catalog.putModel({ ...m, aliases, updated_at: this.now().toISOString() });
      }),
    );
  }

  /** Re-deploys the scopes that follow `name@alias` to version `v` (validated first). */
  private async followAlias(name: string, alias: string, v: VersionRecord): Promise<string[]> {
    const desired = await this.catalog.listDeployments();
    const follow = aliasFollowers(desired, name, alias, v.version);
    if (follow.length === 0) return [];
    const target = await this.verifiedTarget(v, `${name}@${alias}`, alias);
    await this.announcer.announce(follow.map(([, r]) => ({ scope: r.scope, target })), desired);
    return follow.map(([k]) => k);
  }

  // ---------------------------------------------------------------- deployments

  /** The target of a version, its artifact checked first (present, right sha256). */
  private async verifiedTarget(v: VersionRecord, ref: string, alias: string | undefined): Promise<DeploymentTarget> {
    await this.verifiedBytes(v);
    return modelTarget(v, ref, alias, this.o.baseUrl?.());
  }

  /** Scopes of a request, validated against the experiment (when known). */
  scopesOf(req: ScopeRequest) {
    return scopesOf(req, this.o.experiment);
  }

  deploy(req: DeployRequest): Promise<DeploymentRecord[]> {
    return counted('deploy', () =>
      this.exclusive(async () => {
        const scopes = scopesOf(req, this.o.experiment);
        let target: DeploymentTarget;
        if (req.dummy) {
          if (req.ref) throw new RegistryError('INVALID', 'deploy either a model reference or dummy, not both');
          target = { kind: 'dummy' };
        } else {
          if (!req.ref) throw new RegistryError('INVALID', 'which model? NAME@VERSION, NAME@ALIAS or NAME (latest)');
          const { name, selector } = parseRef(req.ref);
          const v = await this.resolveVersion(name, selector);
          checkDeployable(v, name, selector);
          if (!req.force) checkRouterTypes(v, name, scopes, this.o.experiment);
          target = await this.verifiedTarget(v, `${name}@${selector ?? v.version}`, aliasOf(selector));
        }
        const desired = await this.catalog.listDeployments();
        const changes: DeploymentChange[] = scopes.map((scope) => ({ scope, target }));
        if (req.exclusive) for (const scope of narrowerScopes(scopes, desired, this.o.experiment)) changes.push({ scope, target: null });
        return this.announcer.announce(changes, desired);
      }),
    );
  }

  undeploy(req: ScopeRequest): Promise<DeploymentRecord[]> {
    return counted('undeploy', () =>
      this.exclusive(async () => {
        const scopes = scopesOf(req, this.o.experiment);
        const desired = await this.catalog.listDeployments();
        const live = liveScopes(scopes, desired);
        if (live.length === 0) throw new RegistryError('NOT_FOUND', `nothing is deployed on ${scopes.map(describeScope).join(', ')}`);
        return this.announcer.announce(live.map((scope) => ({ scope, target: null })), desired);
      }),
    );
  }

  rollback(req: ScopeRequest): Promise<DeploymentRecord[]> {
    return counted('rollback', () =>
      this.exclusive(async () => {
        const scopes = scopesOf(req, this.o.experiment);
        const desired = await this.catalog.listDeployments();
        const changes: DeploymentChange[] = [];
        for (const scope of scopes) {
          const prev = await rollbackTarget(scope, desired, (name, selector) => this.resolveVersion(name, selector));
          const target = prev.kind === 'target' ? prev.target : await this.verifiedTarget(prev.version, `${prev.version.model}@${prev.followed ?? prev.version.version}`, prev.followed);
          changes.push({ scope, target });
        }
        return this.announcer.announce(changes, desired);
      }),
    );
  }

  async listDeployments(): Promise<DeploymentRecord[]> {
    return [...(await this.catalog.listDeployments()).values()].filter((r) => r.target !== null);
  }

  // ---------------------------------------------------------------- status

  /** What the workers reported on the status topic (with `probe`, asked live: worker-status.ts). */
  workerStatuses(probe = false): Promise<ProbedWorkerStatus[]> {
    return readWorkerStatuses(this.o.fabric, this.statusTopic, probe);
  }

  async status(): Promise<StatusReport> {
    const [desired, workers] = await Promise.all([this.catalog.listDeployments(), this.workerStatuses(true)]);
    return statusReport(desired, workers, this.o.experiment, this.now().getTime());
  }
}


/**
 * The inference worker's side of model deployment: reads the compacted control topic at start,
 * then follows it with its own consumer group; loads the models the records name (model-loading.ts)
 * and swaps the router → predictor map in one assignment; keeps the current model when a load
 * fails and retries; reports what it serves (served-status.ts). Design: docs/registry.md, "Deployment".
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Component } from '../../core/component.js';
import type { Logger } from '../../core/logger.js';
import { counter, gauge } from '../../core/metrics.js';
import { schemeOf } from '../../core/tls.js';
import type { Fabric, IncomingMessage, Subscription } from '../../fabric/fabric.js';
import { fetchArtifact } from '../../registry/artifacts.js';
import type { RegistryConfig } from '../../registry/config.js';
import {
  DEFAULT_CONTROL_TOPIC,
  DEFAULT_STATUS_TOPIC,
  effectiveRecord,
  parseDeploymentRecord,
  scopeKey,
  type AppliedRecord,
  type DeploymentRecord,
  type ModelTarget,
  type WorkerError,
  type WorkerStatus,
} from '../../registry/control.js';
import { asRegistryError } from '../../registry/errors.js';
import type { ExperimentSource, RouterConfig } from '../experiment.js';
import { registerKServeRoutes } from './kserve.js';
import { loadDeployedModel, loadErrorCode, loadRetryDelayMs, modelKey, type LoadFailure } from './model-loading.js';
import type { ModelPredictor } from './model-predictor.js';
import type { PowerPredictor } from './predictor.js';
import { workerStatusOf, type Assignment } from './served-status.js';

export type { Assignment } from './served-status.js';

const loads = counter<'result' | 'code'>({
  name: 'wattflow_model_loads_total',
  help: 'Model loads by inference workers, per result (ok|error) and error code',
  labelNames: ['result', 'code'],
});
const swaps = counter({
  name: 'wattflow_model_swaps_total',
  help: 'Router → model assignment changes applied by this worker',
});
const controlIgnored = counter({
  name: 'wattflow_model_control_ignored_total',
  help: 'Control messages ignored because they are not deployment records',
});

const instances = new Set<DeployedModels>();
gauge({
  name: 'wattflow_model_load_failures_active',
  help: 'Deployment scopes whose desired model this worker could not load (it keeps serving the previous one)',
  collect() {
    let n = 0;
    for (const i of instances) n += i.activeFailures;
    this.set(n);
  },
});

export interface DeployedModelsOptions {
  fabric: Fabric;
  experiment: ExperimentSource;
  logger: Logger;
  workerId: string;
  controlTopic?: string;
  statusTopic?: string;
  /** Fetches a target's ONNX bytes (the sha256 is checked here). */
  fetch: (target: ModelTarget) => Promise<Uint8Array>;
  /** Finite-difference step on occupation (network.epsilon). */
  epsilon?: number;
  maxDelayMs?: number;
  maxBatchRows?: number;
  /** First retry delay of a failed load (ms; doubles, at most 10 min). */
  retryMs?: number;
  /** This worker's base URL (reported in its status); default: the address its HTTP server listens on. */
  url?: () => string | undefined;
}

export class DeployedModels {
  private readonly log: Logger;
  private readonly controlTopic: string;
  private readonly statusTopic: string;
  private records = new Map<string, DeploymentRecord>();
  private offsets = new Map<string, bigint>();
  private loaded = new Map<string, ModelPredictor>();
  private failures = new Map<string, LoadFailure>();
  private assignment = new Map<string, Assignment>();
  private applied: Record<string, AppliedRecord> = {};
  private errors: WorkerError[] = [];
  private sub: Subscription | undefined;
  private chain: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private unsubscribeExperiment: (() => void) | undefined;
  private started = false;
  private stopping = false;
  private readonly startedAt = new Date().toISOString();
  private lastPublished = '';
  private app: FastifyInstance | undefined;
  private listenTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: DeployedModelsOptions) {
    this.log = o.logger.child({ module: 'model-deployments', worker: o.workerId });
    this.controlTopic = o.controlTopic ?? DEFAULT_CONTROL_TOPIC;
    this.statusTopic = o.statusTopic ?? DEFAULT_STATUS_TOPIC;
    instances.add(this);
  }

  /** Scopes whose current record could not be loaded. */
  get activeFailures(): number {
    let n = 0;
    for (const [key, f] of this.failures) if (this.records.get(key)?.id === f.id) n++;
    return n;
  }

  get workerId(): string {
    return this.o.workerId;
  }

  /** The predictor of a router: a model, 'dummy', or undefined (no deployment: experiment default). */
  resolve(router: { id: string; routerType: string; modelType: string }): PowerPredictor | 'dummy' | undefined {
    const a = this.assignment.get(router.id);
    if (!a) return undefined;
    if (a.kind === 'model') return a.predictor;
    if (a.kind === 'dummy') return 'dummy';
    return undefined;
  }

  /** Models currently assigned to at least one router (what KServe serves). */
  servedModels(): Array<{ predictor: ModelPredictor; routers: string[] }> {
    const byPredictor = new Map<ModelPredictor, string[]>();
    for (const [router, a] of this.assignment) {
      if (a.kind !== 'model') continue;
      let list = byPredictor.get(a.predictor);
      if (!list) byPredictor.set(a.predictor, (list = []));
      list.push(router);
    }
    return [...byPredictor].map(([predictor, routers]) => ({ predictor, routers }));
  }

  get isReady(): boolean {
    return this.started && !this.stopping;
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch((err) => this.log.error({ err }, 'model deployment update failed'));
    return run;
  }

  /** Applies control messages in order (older-than-known ones are ignored). */
  private applyMessages(messages: IncomingMessage[]): boolean {
    let changed = false;
    for (const m of messages) {
      const r = parseDeploymentRecord(m.key, m.value);
      if (!r) {
        controlIgnored.inc();
        this.log.warn({ key: m.key, offset: m.offset }, 'ignored a control message that is not a deployment record');
        continue;
      }
      const offset = BigInt(m.offset);
      const known = this.offsets.get(m.key);
      if (known !== undefined && offset <= known) continue;
      this.offsets.set(m.key, offset);
      if (this.records.get(m.key)?.id === r.id) continue;
      this.records.set(m.key, r);
      changed = true;
    }
    return changed;
  }

  /** Loads what the records need, then swaps the router → predictor map in one assignment. */
  private async reconcile(): Promise<void> {
    if (this.stopping) return;
    const exp = this.o.experiment.current;
    const now = Date.now();
    // 1. load the models the effective records name (each once)
    const wanted = new Map<string, { target: ModelTarget; scopes: string[]; ids: string[] }>();
    for (const router of exp.routers) {
      const rec = effectiveRecord(this.records, router);
      if (rec?.target?.kind !== 'model') continue;
      const k = modelKey(rec.target);
      let w = wanted.get(k);
      if (!w) wanted.set(k, (w = { target: rec.target, scopes: [], ids: [] }));
      const key = scopeKey(rec.scope);
      if (!w.scopes.includes(key)) {
        w.scopes.push(key);
        w.ids.push(rec.id);
      }
    }
    for (const [k, w] of wanted) {
      if (this.loaded.has(k)) continue;
      const due = w.scopes.some((s, i) => {
        const f = this.failures.get(s);
        return !f || f.id !== w.ids[i] || f.retryAt <= now;
      });
      if (!due) continue;
      try {
        const p = await this.load(w.target);
        this.loaded.set(k, p);
        loads.inc({ result: 'ok', code: '' });
        for (const s of w.scopes) this.failures.delete(s);
        this.log.info({ model: w.target.model, version: w.target.version, sha256: w.target.sha256, scopes: w.scopes }, 'model loaded');
      } catch (err) {
        const code = loadErrorCode(err);
        const message = (asRegistryError(err) as Error).message;
        loads.inc({ result: 'error', code });
        w.scopes.forEach((s, i) => {
          const prev = this.failures.get(s);
          const attempts = prev && prev.id === w.ids[i] ? prev.attempts + 1 : 1;
          const delay = loadRetryDelayMs(this.o.retryMs, attempts);
          this.failures.set(s, { id: w.ids[i]!, code, error: message, attempts, retryAt: Date.now() + delay });
        });
        this.errors.push({ at: new Date().toISOString(), scope: w.scopes.join(','), model: w.target.model, version: w.target.version, code, error: message });
        if (this.errors.length > 20) this.errors.splice(0, this.errors.length - 20);
        this.log.error(
          { model: w.target.model, version: w.target.version, scopes: w.scopes, code, err: message },
          'cannot load the deployed model; keeping the current one',
        );
      }
    }
    // 2. the new assignment, built aside and swapped in one step
    const next = new Map<string, Assignment>();
    for (const router of exp.routers) next.set(router.id, this.assignmentFor(router));
    let changes = 0;
    for (const [id, a] of next) {
      const old = this.assignment.get(id);
      if (!old || old.kind !== a.kind || (a.kind === 'model' && old.kind === 'model' && old.predictor !== a.predictor)) changes++;
    }
    this.assignment = next;
    if (changes > 0) swaps.inc(changes);
    // 3. what was applied, per scope
    for (const [key, r] of this.records) {
      const f = this.failures.get(key);
      this.applied[key] = f && f.id === r.id ? { id: r.id, ok: false, at: new Date().toISOString(), code: f.code, error: f.error } : { id: r.id, ok: true, at: this.applied[key]?.id === r.id ? this.applied[key]!.at : new Date().toISOString() };
    }
    // 4. release models nobody uses any more
    const used = new Set<ModelPredictor>();
    for (const a of next.values()) if (a.kind === 'model') used.add(a.predictor);
    for (const [k, p] of this.loaded) {
      if (used.has(p)) continue;
      this.loaded.delete(k);
      p.retire();
      this.log.info({ model: p.info.model, version: p.info.version }, 'model unloaded');
    }
    this.scheduleRetry();
    await this.publishStatus();
  }

  private assignmentFor(router: RouterConfig): Assignment {
    const fallback: Assignment = router.modelType === 'dummy' ? { kind: 'dummy', scope: '' } : { kind: 'none', scope: '' };
    const rec = effectiveRecord(this.records, router);
    if (!rec || !rec.target) return fallback;
    const key = scopeKey(rec.scope);
    if (rec.target.kind === 'dummy') return { kind: 'dummy', scope: key };
    const p = this.loaded.get(modelKey(rec.target));
    if (p) return { kind: 'model', scope: key, predictor: p };
    // could not load the desired model: keep serving what this router had (if still loaded)
    const cur = this.assignment.get(router.id);
    if (cur?.kind === 'model' && [...this.loaded.values()].includes(cur.predictor)) return cur;
    return cur ?? fallback;
  }

  private async load(t: ModelTarget): Promise<ModelPredictor> {
    return loadDeployedModel(t, await this.o.fetch(t), this.o);
  }

  private scheduleRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    let soonest = Infinity;
    for (const [key, f] of this.failures) if (this.records.get(key)?.id === f.id) soonest = Math.min(soonest, f.retryAt);
    if (soonest === Infinity || this.stopping) return;
    this.retryTimer = setTimeout(() => void this.enqueue(() => this.reconcile()), Math.max(100, soonest - Date.now()));
    this.retryTimer.unref();
  }

  /** The base URL of the HTTP server this watcher's routes are on (once it listens). */
  private listeningUrl(): string | undefined {
    const addr = this.app?.server.listening ? this.app.server.address() : undefined;
    if (!addr || typeof addr !== 'object') return undefined;
    const host = addr.address === '0.0.0.0' || addr.address === '::' ? hostname() : addr.address;
    return `${schemeOf(this.app)}://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
  }

  status(): WorkerStatus {
    return workerStatusOf({
      workerId: this.o.workerId,
      url: this.o.url?.() ?? this.listeningUrl(),
      stopping: this.stopping,
      startedAt: this.startedAt,
      routers: this.o.experiment.current.routers,
      assignmentOf: (router) => this.assignment.get(router.id) ?? this.assignmentFor(router),
      records: this.records,
      failures: this.failures,
      applied: this.applied,
      errors: this.errors,
      served: this.servedModels(),
    });
  }

  private async publishStatus(force = false): Promise<void> {
    const s = this.status();
    const { updated_at: _u, ...comparable } = s;
    const fingerprint = JSON.stringify(comparable);
    if (!force && fingerprint === this.lastPublished) return;
    try {
      await this.o.fabric.publish({ topic: this.statusTopic, key: this.o.workerId, value: JSON.stringify(s) });
      this.lastPublished = fingerprint;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot publish the worker status');
    }
  }

  component(): Component {
    return {
      name: 'model-deployments',
      routes: (app: FastifyInstance) => {
        this.app = app;
        app.get('/api/models/status', { config: { auth: 'read' } }, async () => this.status());
        registerKServeRoutes(app, {
          served: () => this.servedModels(),
          ready: () => this.isReady,
          epsilon: this.o.epsilon ?? 0.01,
        });
      },
      start: async () => {
        await this.o.fabric.ensureTopics([
          { name: this.controlTopic, compacted: true },
          { name: this.statusTopic, compacted: true },
        ]);
        await this.enqueue(async () => {
          this.applyMessages(await this.o.fabric.readAll(this.controlTopic));
          await this.reconcile();
        });
        this.sub = await this.o.fabric.subscribe({
          group: `wattflow-models-${this.o.workerId}`,
          topics: [this.controlTopic],
          fromBeginning: true,
          handler: (batch) =>
            this.enqueue(async () => {
              if (this.applyMessages(batch)) await this.reconcile();
            }),
        });
        this.unsubscribeExperiment = this.o.experiment.onChange(() => this.enqueue(() => this.reconcile()));
        this.started = true;
        await this.publishStatus(true);
        // the server listens after every component started: report the URL once it does
        let tries = 0;
        const waitListening = () => {
          this.listenTimer = undefined;
          if (this.stopping || !this.app) return;
          if (this.app.server.listening) void this.enqueue(() => this.publishStatus());
          else if (++tries < 600) this.listenTimer = setTimeout(waitListening, 50);
        };
        waitListening();
      },
      stop: async () => {
        this.unsubscribeExperiment?.();
        if (this.listenTimer) clearTimeout(this.listenTimer);
        await this.sub?.close().catch((err) => this.log.warn({ err: (err as Error).message }, 'control subscription close failed'));
        this.stopping = true;
        if (this.retryTimer) clearTimeout(this.retryTimer);
        await this.chain;
        await this.publishStatus(true);
        const models = [...this.loaded.values()];
        this.loaded.clear();
        for (const p of models) p.retire();
        instances.delete(this);
      },
      ready: () => (this.started ? true : 'loading the deployed models'),
    };
  }
}

/** Default worker id: hostname:port (pid when the port is chosen by the OS). */
export function defaultWorkerId(hostname: string, port: number): string {
  return port > 0 ? `${hostname}:${port}` : `${hostname}:pid${process.pid}`;
}

/** The watcher of an inference worker, configured from the app configuration. */
/** The sections the watcher reads: the registry's, the HTTP port (default worker id) and the sensitivity step. */
export interface DeployedModelsHostConfig {
  registry: RegistryConfig;
  http: { port: number };
  network: { epsilon: number };
}

export function createDeployedModels(cfg: DeployedModelsHostConfig, logger: Logger, fabric: Fabric, experiment: ExperimentSource): DeployedModels {
  const rc = cfg.registry;
  const s3 = rc.artifacts.kind === 's3' ? rc.artifacts.s3 : undefined;
  return new DeployedModels({
    fabric,
    experiment,
    logger,
    workerId: rc.worker.id ?? defaultWorkerId(hostname(), cfg.http.port),
    controlTopic: rc.controlTopic,
    statusTopic: rc.statusTopic,
    epsilon: cfg.network.epsilon,
    maxDelayMs: rc.worker.microBatchDelayMs,
    maxBatchRows: rc.worker.maxBatchRows,
    retryMs: rc.worker.retryMs,
    fetch: (t) => fetchArtifact(t.artifact_uri, t.download_url, { ...(s3 ? { s3 } : {}), timeoutMs: rc.worker.downloadTimeoutMs }),
  });
}

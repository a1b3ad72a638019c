/**
 * The model deployment control channel, shared by the registry (writer) and the inference
 * workers (readers): message formats, topic names, scope keys and the resolution rule.
 *
 * Desired state lives on a compacted topic (default `wattflow_model_deployments`), one key per
 * scope: `router:<id>`, `type:<router_type>` or `all`. The value is a DeploymentRecord whose
 * `target` is a model (name, version, sha256, artifact location, metadata), the formula dummy,
 * or null (scope cleared: the fabric has no tombstones, so "deleted" is a value). A router uses
 * the most specific scope that has a target: router > router type > all > the experiment's
 * `model_type` (`dummy` = formula).
 *
 * Workers report what they actually serve on a second compacted topic (default
 * `wattflow_model_status`), keyed by worker id: WorkerStatus.
 */
import type { ModelMetadata } from '../ml/onnx/metadata.js';

export type DeploymentScope = { kind: 'router'; router: string } | { kind: 'router_type'; router_type: string } | { kind: 'all' };

export interface ModelTarget {
  kind: 'model';
  model: string;
  version: string;
  /** What was asked for: `name@version` or `name@alias` (an alias deployment follows the alias). */
  ref: string;
  alias?: string;
  model_type: string;
  router_type: string;
  sha256: string;
  size: number;
  /** Where the ONNX bytes are: `s3://bucket/key` or `file:///abs/path`. */
  artifact_uri: string;
  /** The registry's download URL of the same bytes (fallback for workers without store access). */
  download_url?: string;
  metadata: ModelMetadata;
}

export interface DummyTarget {
  kind: 'dummy';
}

export type DeploymentTarget = ModelTarget | DummyTarget;

export interface DeploymentRecord {
  /** Unique per announcement (workers report which one they applied). */
  id: string;
  scope: DeploymentScope;
  /** null = the scope was cleared (undeployed). */
  target: DeploymentTarget | null;
  deployed_at: string;
  /** The scope's target before this one (what `models rollback` re-deploys). */
  previous?: DeploymentTarget | null;
}

export interface RouterActual {
  router_type: string;
  /** Scope key of the record in effect ('' = experiment default). */
  scope: string;
  model_type: string;
  model: string;
  version: string;
  sha256?: string;
  /** What the most specific record asks for (absent: experiment default). */
  desired?: { kind: 'dummy' } | { kind: 'model'; model: string; version: string; sha256: string };
  /** Why the desired model is not served (load failure), if so. */
  error?: string;
}

export interface AppliedRecord {
  id: string;
  ok: boolean;
  at: string;
  code?: string;
  error?: string;
}

export interface LoadedModelStatus {
  model: string;
  version: string;
  sha256: string;
  model_type: string;
  loaded_at: string;
  routers: string[];
}

export interface WorkerError {
  at: string;
  scope: string;
  model?: string;
  version?: string;
  code: string;
  error: string;
}

export interface WorkerStatus {
  worker: string;
  url?: string;
  state: 'running' | 'stopped';
  started_at: string;
  updated_at: string;
  /** Per scope key: the record applied (or failed) last. */
  applied: Record<string, AppliedRecord>;
  routers: Record<string, RouterActual>;
  models: LoadedModelStatus[];
  /** Most recent errors, newest last (at most 20). */
  errors: WorkerError[];
}

export const DEFAULT_CONTROL_TOPIC = 'wattflow_model_deployments';
export const DEFAULT_STATUS_TOPIC = 'wattflow_model_status';

export function scopeKey(scope: DeploymentScope): string {
  switch (scope.kind) {
    case 'router':
      return `router:${scope.router}`;
    case 'router_type':
      return `type:${scope.router_type}`;
    case 'all':
      return 'all';
  }
}

export function parseScopeKey(key: string): DeploymentScope | undefined {
  if (key === 'all') return { kind: 'all' };
  if (key.startsWith('router:') && key.length > 7) return { kind: 'router', router: key.slice(7) };
  if (key.startsWith('type:') && key.length > 5) return { kind: 'router_type', router_type: key.slice(5) };
  return undefined;
}

export function describeScope(scope: DeploymentScope): string {
  switch (scope.kind) {
    case 'router':
      return `router ${scope.router}`;
    case 'router_type':
      return `router type ${scope.router_type}`;
    case 'all':
      return 'all routers';
  }
}

/** Scope keys that can apply to a router, most specific first. */
export function scopeKeysFor(router: { id: string; routerType: string }): string[] {
  return [`router:${router.id}`, `type:${router.routerType}`, 'all'];
}

/** The record in effect for a router: the most specific one with a target (undefined: none). */
export function effectiveRecord(
  records: ReadonlyMap<string, DeploymentRecord>,
  router: { id: string; routerType: string },
): DeploymentRecord | undefined {
  for (const key of scopeKeysFor(router)) {
    const r = records.get(key);
    if (r?.target) return r;
  }
  return undefined;
}

export const targetLabel = (t: DeploymentTarget | null | undefined): string =>
  !t ? '-' : t.kind === 'dummy' ? 'dummy' : `${t.model}@${t.version}`;

/** Parses a control message value; undefined when it is not a deployment record. */
export function parseDeploymentRecord(key: string, value: string): DeploymentRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const r = v as DeploymentRecord;
  const scope = parseScopeKey(key);
  if (!scope || typeof r.id !== 'string' || !('target' in r)) return undefined;
  const t = r.target;
  if (t !== null) {
    if (typeof t !== 'object') return undefined;
    if (t.kind === 'model') {
      if (typeof t.model !== 'string' || typeof t.version !== 'string' || !/^[0-9a-f]{64}$/.test(String(t.sha256))) return undefined;
      if (typeof t.artifact_uri !== 'string' || !t.metadata || typeof t.metadata !== 'object') return undefined;
    } else if (t.kind !== 'dummy') return undefined;
  }
  return { ...r, scope };
}

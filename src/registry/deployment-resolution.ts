/**
 * Deployment resolution: which scopes a request names (validated against the routers the
 * experiment has), whether a model fits their router types, the target a version becomes, which
 * narrower scopes a `switch` clears, which scopes follow an alias, and what a rollback restores.
 * Pure decisions over the recorded deployments; the Registry records and announces the result.
 */
import { RegistryError } from './errors.js';
import { describeScope, scopeKey, type DeploymentRecord, type DeploymentScope, type DeploymentTarget, type ModelTarget } from './control.js';
import type { VersionRecord } from './catalog.js';
import { VEHICLE_MODEL_KIND } from './vehicle-kind.js';

/**
 * The routers of the experiment the inference workers run, as far as the registry needs them
 * (the router-power pipeline's ExperimentSource is one; the caller passes it in).
 */
export interface RouterInventory {
  readonly current: { readonly routers: ReadonlyArray<{ id: string; routerType: string; modelType?: string }> };
  routerById(id: string): { routerType: string } | undefined;
}

export interface ScopeRequest {
  routers?: string[];
  routerType?: string;
  all?: boolean;
}

export interface DeploymentChange {
  scope: DeploymentScope;
  /** null = clear the scope. */
  target: DeploymentTarget | null;
}

/** Scopes of a request, validated against the experiment (when known). */
export function scopesOf(req: ScopeRequest, routers?: RouterInventory): DeploymentScope[] {
  const forms = [req.routers && req.routers.length > 0, req.routerType !== undefined, req.all === true].filter(Boolean).length;
  if (forms !== 1) throw new RegistryError('INVALID', 'choose exactly one of: routers (r1,r3), a router type, or all');
  const exp = routers?.current;
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
export function routerTypesOf(scope: DeploymentScope, routers?: RouterInventory): string[] | undefined {
  const exp = routers?.current;
  if (scope.kind === 'router_type') return [scope.router_type];
  if (!exp) return undefined;
  if (scope.kind === 'router') return exp.routers.filter((r) => r.id === scope.router).map((r) => r.routerType);
  return [...new Set(exp.routers.map((r) => r.routerType))];
}

/** Refuses a version that inference workers cannot serve (a vehicle model). */
export function checkDeployable(v: VersionRecord, name: string, selector: string | undefined): void {
  if (v.kind === VEHICLE_MODEL_KIND) {
    throw new RegistryError(
      'INVALID',
      `${name}@${v.version} is a vehicle model (kind ${VEHICLE_MODEL_KIND}): it is served by \`wattflow vehicle-predictor --model ${name}@${selector ?? v.version}\`, not deployed to inference workers`,
    );
  }
}

/** Refuses a model whose router type differs from a router type of the scopes. */
export function checkRouterTypes(v: VersionRecord, name: string, scopes: DeploymentScope[], routers?: RouterInventory): void {
  for (const scope of scopes) {
    const types = routerTypesOf(scope, routers);
    const other = types?.filter((t) => t !== v.router_type) ?? [];
    if (other.length > 0) {
      throw new RegistryError(
        'ROUTER_TYPE_MISMATCH',
        `${name}@${v.version} is a model of router type "${v.router_type}" but ${describeScope(scope)} includes router type(s) ${other.join(', ')} (use force to deploy anyway)`,
      );
    }
  }
}

/** The deployment target of a version (`download_url` when the registry's URL is known). */
export function modelTarget(v: VersionRecord, ref: string, alias: string | undefined, baseUrl: string | undefined): ModelTarget {
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
    ...(baseUrl ? { download_url: `${baseUrl}/api/registry/models/${encodeURIComponent(v.model)}/versions/${encodeURIComponent(v.version)}/artifact` } : {}),
    metadata: v.metadata,
  };
}

/** Whether a scope key names one router of the router type. */
function isRouterOfType(key: string, routerType: string, routers?: RouterInventory): boolean {
  if (!key.startsWith('router:')) return false;
  const r = routers?.routerById(key.slice(7));
  return r !== undefined && r.routerType === routerType;
}

/** The deployed scopes narrower than the requested ones (what a `switch` clears). */
export function narrowerScopes(scopes: DeploymentScope[], desired: ReadonlyMap<string, DeploymentRecord>, routers?: RouterInventory): DeploymentScope[] {
  const out: DeploymentScope[] = [];
  for (const scope of scopes) {
    for (const [key, r] of desired) {
      if (!r.target || scopes.some((s) => scopeKey(s) === key)) continue;
      const narrower = scope.kind === 'all' ? key !== 'all' : scope.kind === 'router_type' ? isRouterOfType(key, scope.router_type, routers) : false;
      if (narrower) out.push(r.scope);
    }
  }
  return out;
}

/** The scopes with a target among those asked for (what undeploy clears). */
export const liveScopes = (scopes: DeploymentScope[], desired: ReadonlyMap<string, DeploymentRecord>): DeploymentScope[] =>
  scopes.filter((s) => desired.get(scopeKey(s))?.target);

/** Scopes that follow `name@alias` and are not yet at `version`. */
export function aliasFollowers(desired: ReadonlyMap<string, DeploymentRecord>, name: string, alias: string, version: string): Array<[string, DeploymentRecord]> {
  return [...desired].filter(
    ([, r]) => r.target?.kind === 'model' && r.target.model === name && r.target.alias === alias && r.target.version !== version,
  );
}

/** Scope keys where a version is deployed. */
export function scopesDeploying(desired: ReadonlyMap<string, DeploymentRecord>, name: string, version: string): string[] {
  return [...desired].filter(([, r]) => r.target?.kind === 'model' && r.target.model === name && r.target.version === version).map(([k]) => k);
}

/**
 * What a rollback of a scope restores: its previous target as it was — a version, or an alias it
 * followed (followed again at its current version if the alias still exists); never a silent
 * change from following an alias to a fixed version (`→ ne40@1 (was ne40@1)` of issue 17).
 * A model target is returned as the version and the alias followed, for the caller to verify.
 */
export async function rollbackTarget(
  scope: DeploymentScope,
  desired: ReadonlyMap<string, DeploymentRecord>,
  resolveVersion: (name: string, selector: string) => Promise<VersionRecord>,
): Promise<{ kind: 'target'; target: DeploymentTarget | null } | { kind: 'model'; version: VersionRecord; followed: string | undefined }> {
  const cur = desired.get(scopeKey(scope));
  if (!cur || cur.previous === undefined) {
    throw new RegistryError('NOTHING_TO_ROLL_BACK', `${describeScope(scope)} has no previous deployment`);
  }
  const prev = cur.previous;
  if (prev?.kind !== 'model') return { kind: 'target', target: prev };
  let followed: string | undefined;
  let v: VersionRecord | undefined;
  if (prev.alias) {
    v = await resolveVersion(prev.model, prev.alias).catch(() => undefined);
    if (v) followed = prev.alias;
  }
  v ??= await resolveVersion(prev.model, prev.version);
  return { kind: 'model', version: v, followed };
}

/** The records of a set of changes: each with a new id and the scope's target before it. */
export function deploymentRecords(changes: DeploymentChange[], desired: ReadonlyMap<string, DeploymentRecord>, at: string, newId: () => string): DeploymentRecord[] {
  return changes.map(({ scope, target }) => {
    const prev = desired.get(scopeKey(scope))?.target ?? null;
    return { id: newId(), scope, target, deployed_at: at, previous: prev } satisfies DeploymentRecord;
  });
}

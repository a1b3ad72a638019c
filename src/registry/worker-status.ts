/**
 * What the inference workers serve: their reports on the status topic (optionally probed live),
 * and the status report of desired vs actual model per router (`models status`, the web page).
 */
import { clientAuthHeaders } from '../core/auth.js';
import type { Fabric } from '../fabric/fabric.js';
import { effectiveRecord, scopeKey, targetLabel, type DeploymentRecord, type WorkerStatus } from './control.js';
import type { RouterInventory } from './deployment-resolution.js';

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

export type ProbedWorkerStatus = WorkerStatus & { reachable?: boolean };

/**
 * What the workers reported on the status topic. With `probe`, each running worker that
 * reported a URL is asked for its current status (1 s timeout): the answer replaces the
 * reported one (`reachable: true`), no answer marks it `reachable: false` (crashed or cut off).
 */
export async function readWorkerStatuses(fabric: Fabric | undefined, statusTopic: string, probe = false): Promise<ProbedWorkerStatus[]> {
  if (!fabric) return [];
  const out: ProbedWorkerStatus[] = [];
  for (const m of await fabric.readAll(statusTopic)) {
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

/** Desired vs actual per router: the experiment's routers and any a worker reports. */
export function statusReport(desired: ReadonlyMap<string, DeploymentRecord>, workers: ProbedWorkerStatus[], routers: RouterInventory | undefined, nowMs: number): StatusReport {
  const exp = routers?.current;
  const routerIds = new Map<string, string>();
  if (exp) for (const r of exp.routers) routerIds.set(r.id, r.routerType);
  for (const w of workers) for (const [id, a] of Object.entries(w.routers)) if (!routerIds.has(id)) routerIds.set(id, a.router_type);
  const rows: RouterStatusRow[] = [...routerIds].map(([id, routerType]) => {
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
    routers: rows,
  };
}

/**
 * The WorkerStatus an inference worker publishes on the status topic and serves at
 * GET /api/models/status: desired vs actual model per router, loaded models, recent errors.
 */
import { effectiveRecord, scopeKey, type AppliedRecord, type DeploymentRecord, type RouterActual, type WorkerError, type WorkerStatus } from '../../registry/control.js';
import type { RouterConfig } from '../experiment.js';
import type { LoadFailure } from './model-loading.js';
import type { ModelPredictor } from './model-predictor.js';

export type Assignment =
  | { kind: 'dummy'; scope: string }
  | { kind: 'model'; scope: string; predictor: ModelPredictor }
  | { kind: 'none'; scope: string };

export interface WorkerState {
  workerId: string;
  url: string | undefined;
  stopping: boolean;
  startedAt: string;
  routers: readonly RouterConfig[];
  assignmentOf(router: RouterConfig): Assignment;
  records: ReadonlyMap<string, DeploymentRecord>;
  failures: ReadonlyMap<string, LoadFailure>;
  applied: Record<string, AppliedRecord>;
  errors: WorkerError[];
  served: Array<{ predictor: ModelPredictor; routers: string[] }>;
}

export function workerStatusOf(w: WorkerState): WorkerStatus {
  const routers: Record<string, RouterActual> = {};
  for (const router of w.routers) {
    const a = w.assignmentOf(router);
    const rec = effectiveRecord(w.records, router);
    const key = rec ? scopeKey(rec.scope) : '';
    const f = rec ? w.failures.get(key) : undefined;
    const info =
      a.kind === 'model'
        ? { model_type: a.predictor.info.model_type, model: a.predictor.info.model, version: a.predictor.info.version, sha256: a.predictor.sha256 }
        : a.kind === 'dummy'
          ? { model_type: 'dummy', model: `dummy:${router.routerType}`, version: '' }
          : { model_type: 'none', model: '', version: '' };
    routers[router.id] = {
      router_type: router.routerType,
      scope: a.scope,
      ...info,
      ...(rec?.target
        ? {
            desired:
              rec.target.kind === 'dummy'
                ? { kind: 'dummy' as const }
                : { kind: 'model' as const, model: rec.target.model, version: rec.target.version, sha256: rec.target.sha256 },
          }
        : {}),
      ...(f && rec && f.id === rec.id ? { error: `${f.code}: ${f.error}` } : {}),
    };
  }
  return {
    worker: w.workerId,
    ...(w.url ? { url: w.url } : {}),
    state: w.stopping ? 'stopped' : 'running',
    started_at: w.startedAt,
    updated_at: new Date().toISOString(),
    applied: { ...w.applied },
    routers,
    models: w.served.map(({ predictor, routers: rs }) => ({
      model: predictor.info.model,
      version: predictor.info.version,
      sha256: predictor.sha256,
      model_type: predictor.info.model_type,
      loaded_at: predictor.loadedAt.toISOString(),
      routers: rs.sort(),
    })),
    errors: [...w.errors],
  };
}

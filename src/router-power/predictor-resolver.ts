/**
 * Which predictor answers for a router: its deployed model (router > router type > all, from
 * the control channel) when there is one; else model_type "dummy" is the formula of its router
 * type (validated now, so a bad formula fails the start) and any other model_type needs a
 * deployed model.
 */
import type { RouterPowerConfig } from './config.js';
import type { ExperimentSource } from './experiment.js';
import type { DeployedModels } from './inference/deployed-models.js';
import { DummyPredictors } from './inference/dummy-predictor.js';
import type { PredictorResolver } from './inference/predictor.js';

export function predictorResolver(cfg: { network: Pick<RouterPowerConfig, 'formulaDir'> }, experiment: ExperimentSource, models?: DeployedModels): PredictorResolver {
  const dummies = new DummyPredictors(cfg.network.formulaDir);
  const preload = () => dummies.preload(new Set(experiment.current.routers.filter((r) => r.modelType === 'dummy').map((r) => r.routerType)));
  preload();
  experiment.onChange(preload);
  return (router) => {
    const deployed = models?.resolve(router);
    if (deployed === 'dummy') return dummies.get(router.routerType);
    if (deployed) return deployed;
    if (router.modelType === 'dummy') return dummies.get(router.routerType);
    throw new Error(`model type "${router.modelType}" of router ${router.id} has no deployed model (use "dummy" or deploy one: wattflow models deploy NAME@VERSION --routers ${router.id})`);
  };
}

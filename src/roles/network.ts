/**
 * The roles of the network telemetry pipeline — producer, processor, inference, api — and the
 * builder `wattflow up` uses to run them together. Each role runs the same stage code; only
 * the fabric (Kafka or in-process) and the stores differ.
 */
import { resolve } from 'node:path';
import type { AppConfig } from '../app-config.js';
import type { Component } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import type { Fabric } from '../fabric/fabric.js';
import { createRouterApi } from '../api/router-api.js';
import { BUNDLED_CONFIG_DIR, ExperimentSource, loadExperiment } from '../router-power/experiment.js';
import { createProducer } from '../router-power/producer/producer.js';
import { createProcessor } from '../router-power/processor/processor.js';
import { createInference } from '../router-power/inference/inference.js';
import { DummyPredictors } from '../router-power/inference/dummy-predictor.js';
import type { PredictorResolver } from '../router-power/inference/predictor.js';
import { createDeployedModels, type DeployedModels } from '../router-power/inference/deployed-models.js';
import { InfluxWriter } from '../sinks/influx/writer.js';
import { createMlInfluxSink, createMlStoreSink } from '../sinks/ml-sinks.js';
import { openTimeSeriesStore, type TimeSeriesStore } from '../storage/index.js';
import type { Role } from './role.js';
import { ConfigError, createFabric, fabricComponent, loadRoleConfig, parseRoleArgs, roleLogger, serve } from './common.js';
import { stageEnergyComponents } from './energy.js';
import { v2GrpcComponent } from '../router-power/inference/v2-grpc.js';
import { createUi } from '../ui/index.js';

export const DEFAULT_EXPERIMENT_FILE = resolve(BUNDLED_CONFIG_DIR, 'default-experiment.json');

export function experimentFor(cfg: AppConfig, logger: Logger): ExperimentSource {
  const file = cfg.network.experiment ?? DEFAULT_EXPERIMENT_FILE;
  const source = new ExperimentSource(loadExperiment(file), (err) =>
    logger.error({ err: err.message }, 'experiment file change rejected; keeping the previous experiment'),
  );
  if (cfg.network.watch) source.watch();
  return source;
}

/**
 * Dummy formulas per router type (validated now, so a bad formula fails the start), and the
 * deployed models: a router's deployment (router > router type > all, from the control channel)
 * wins; without one, model_type "dummy" is the formula and any other model_type needs a
 * deployed model.
 */
export function predictorResolver(cfg: AppConfig, experiment: ExperimentSource, models?: DeployedModels): PredictorResolver {
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

export interface NetworkParts {
  producer?: boolean;
  processor?: boolean;
  inference?: boolean;
  api?: boolean;
  influx?: boolean;
  /** The web UI with the router API (role api; `up` adds its own, with the vehicles): src/ui/. */
  ui?: boolean;
}

/** The experiment's stage components for the selected parts, in start order. */
export async function networkComponents(
  cfg: AppConfig,
  logger: Logger,
  fabric: Fabric,
  experiment: ExperimentSource,
  parts: NetworkParts,
  store?: TimeSeriesStore,
): Promise<Component[]> {
  const components: Component[] = [];
  if (parts.api) {
    const s = store ?? (await openTimeSeriesStore({ dir: cfg.storage.dir, retentionHours: cfg.storage.retentionHours }));
    components.push(createMlStoreSink({ fabric, experiment, store: s, logger }));
    components.push(createRouterApi({ store: s, experiment }));
    if (parts.ui && cfg.ui.enabled) components.push(createUi({ cfg, logger, fabric, experiment, store: s, role: 'api' }).component);
    if (!store) components.push({ name: 'store', stop: () => s.close() });
  }
  if (parts.influx && cfg.influx.url) {
    const writer = new InfluxWriter({ ...cfg.influx, url: cfg.influx.url }, logger);
    components.push(createMlInfluxSink({ fabric, experiment, writer, logger }));
  }
  const chained = cfg.network.chainInference;
  if (chained && parts.inference && !parts.processor) {
    throw new ConfigError('the network settings', '/network/chainInference', 'is true: the processor predicts, so the inference role must not run (it would publish every ML message twice)');
  }
  let chainResolver: PredictorResolver | undefined;
  if (parts.inference || (chained && parts.processor)) {
    // the deployment watcher starts first: the stage's first message already uses the deployed models
    const models = createDeployedModels(cfg, logger, fabric, experiment);
    components.push(models.component());
    const resolve = predictorResolver(cfg, experiment, models);
    if (chained) chainResolver = resolve;
    else components.push(createInference({ fabric, experiment, logger, resolve }));
  }
  if (parts.processor) components.push(createProcessor({ fabric, experiment, logger, chainInference: chainResolver }));
  if (parts.producer) components.push(createProducer({ fabric, experiment, logger, spreadPolls: cfg.network.spreadPolls, spreadSlotMs: cfg.network.spreadSlotMs, outbox: { maxAgeMs: cfg.network.outboxMaxAgeMs, maxMessages: cfg.network.outboxMaxMessages } }));
  return components;
}

function networkRole(name: string, summary: string, parts: NetworkParts, extraUsage = ''): Role {
  const usage = `usage: wattflow ${name} [--config FILE] [--experiment FILE] [--port N]\n\n${summary}${extraUsage}`;
  return {
    name,
    summary,
    usage,
    async run(args) {
      const { values } = parseRoleArgs(args, { experiment: { type: 'string', short: 'e' } });
      const cfg = loadRoleConfig(values);
      if (values.experiment) cfg.network.experiment = values.experiment;
      const logger = roleLogger(cfg, name);
      const fabric = await createFabric(cfg, logger);
      const experiment = experimentFor(cfg, logger);
      const components = [
        fabricComponent(fabric),
        { name: 'experiment', stop: async () => experiment.close(), reload: () => experiment.reload() },
        ...(await networkComponents(cfg, logger, fabric, experiment, parts)),
        // energy per message of the stage this process runs (wattflow_stage_energy_*: docs/energy.md)
        ...(parts.processor ? stageEnergyComponents(cfg, logger, 'processor') : parts.inference ? stageEnergyComponents(cfg, logger, 'inference') : []),
        // KServe V2 over gRPC beside the REST server, wherever models are served (src/router-power/inference/v2-grpc.ts)
        ...(parts.inference || (cfg.network.chainInference && parts.processor) ? [v2GrpcComponent(cfg, logger)] : []),
      ];
      await serve(cfg, logger, components);
    },
  };
}

export const producerRole = networkRole('producer', 'poll every router of the experiment and publish TD_<router> messages', { producer: true });
export const processorRole = networkRole('processor', 'TD_<router> → TP_<router>: rates, packet length, capacity occupation', { processor: true });
export const inferenceRole = networkRole('inference', 'TP_<router> → ML_<router>: power and its sensitivities (dummy formula or models)', { inference: true });
export const apiRole = networkRole(
  'api',
  'router API over the predictions (/api/routers…), the web UI at / and the InfluxDB sink when INFLUX_URL is set',
  { api: true, influx: true, ui: true },
);

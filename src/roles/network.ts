/**
 * The roles of the router-power pipeline — producer, processor, inference, api — as data: each
 * runs the same modules `up` runs (src/roles/modules.ts); only the fabric (Kafka or in-process)
 * and the stores differ.
 */
import type { AppConfig } from '../app-config.js';
import type { Component } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import { initModules } from '../core/modules.js';
import type { Fabric } from '../fabric/fabric.js';
import type { ExperimentSource } from '../router-power/experiment.js';
import type { TimeSeriesStore } from '../storage/index.js';
import { MODULES, type ModuleName } from './modules.js';
import type { RoleName } from './names.js';
import { serverRole, type ServerRoleDef } from './server-role.js';

function networkRole(name: RoleName, summary: string, modules: ServerRoleDef['modules'], extraUsage = '') {
  return serverRole({
    name,
    summary,
    usage: `usage: wattflow ${name} [--config FILE] [--experiment FILE] [--port N]\n\n${summary}${extraUsage}`,
    flags: { experiment: { type: 'string', short: 'e' } },
    configure: (cfg, flags) => {
      if (typeof flags.experiment === 'string') cfg.network.experiment = flags.experiment;
    },
    modules,
  });
}

/** With network.chainInference the processor predicts too: it needs the models (and serves V2 over gRPC). */
const chained = (cfg: AppConfig): ModuleName[] => (cfg.network.chainInference ? ['predictors', 'v2-grpc'] : []);

export const producerRole = networkRole('producer', 'poll every router of the experiment and publish TD_<router> messages', ['producer']);
export const processorRole = networkRole('processor', 'TD_<router> → TP_<router>: rates, packet length, capacity occupation', (cfg) => [...chained(cfg), 'processor', 'stage-energy']);
export const inferenceRole = networkRole('inference', 'TP_<router> → ML_<router>: power and its sensitivities (dummy formula or models)', ['inference', 'stage-energy', 'v2-grpc']);
export const apiRole = networkRole('api', 'router API over the predictions (/api/routers…), the web UI at / and the InfluxDB sink when INFLUX_URL is set', ['ml-store-sink', 'router-api', 'ui', 'ml-influx-sink']);

export interface NetworkParts {
  producer?: boolean;
  processor?: boolean;
  inference?: boolean;
  api?: boolean;
  influx?: boolean;
  /** The web UI with the router API. */
  ui?: boolean;
}

/** The pipeline's components for the selected parts on a given fabric and experiment (tests, benchmarks). */
export async function networkComponents(cfg: AppConfig, logger: Logger, fabric: Fabric, experiment: ExperimentSource, parts: NetworkParts, store?: TimeSeriesStore): Promise<Component[]> {
  const targets: ModuleName[] = [
    ...(parts.api ? (['ml-store-sink', 'router-api'] as const) : []),
    ...(parts.api && parts.ui ? (['ui'] as const) : []),
    ...(parts.influx ? (['ml-influx-sink'] as const) : []),
    ...(parts.inference ? (['inference'] as const) : []),
    ...(parts.processor ? [...chained(cfg).filter((m) => m !== 'v2-grpc'), 'processor' as const] : []),
    ...(parts.producer ? (['producer'] as const) : []),
  ];
  const { components } = await initModules(MODULES, targets, { cfg, logger, role: 'api' }, { fabric, experiment, ...(store ? { store } : {}) });
  return components;
}

/**
 * wattflow's modules (src/core/modules.ts): each with the modules it needs and what it builds.
 * A role names its target modules (src/roles/*.ts); `up` runs them all. The table's order is
 * the start order where dependencies leave it open.
 */
import { resolve as resolvePath } from 'node:path';
import { createRouterApi } from '../api/router-api.js';
import type { AppConfig } from '../app-config.js';
import { createCollector } from '../collector/collector.js';
import type { Component } from '../core/component.js';
import { ConfigError } from '../core/config.js';
import { stateDirOf, wattflowVersion, writeUpState } from '../core/instance.js';
import type { Logger } from '../core/logger.js';
import type { ModuleDef } from '../core/modules.js';
import { createEnergyExporter, type EnergyExporter } from '../energy/exporter.js';
import { energyComponentsForUp, stageEnergyComponents } from '../energy/wiring.js';
import type { Fabric } from '../fabric/fabric.js';
import { createRegistryComponents } from '../registry/index.js';
import { demoExperiment, experimentFor, type LocalRouterPlan } from '../router-power/demo-experiment.js';
import type { ExperimentSource } from '../router-power/experiment.js';
import { createDeployedModels, type DeployedModels } from '../router-power/inference/deployed-models.js';
import { createInference } from '../router-power/inference/inference.js';
import type { PredictorResolver } from '../router-power/inference/predictor.js';
import { v2GrpcComponent, type V2GrpcComponent } from '../router-power/inference/v2-grpc.js';
import { predictorResolver } from '../router-power/predictor-resolver.js';
import { createProcessor } from '../router-power/processor/processor.js';
import { createProducer } from '../router-power/producer/producer.js';
import { InfluxWriter } from '../sinks/influx/writer.js';
import { createMlInfluxSink, createMlStoreSink } from '../sinks/ml-sinks.js';
import { openTimeSeriesStore, type TimeSeriesStore } from '../storage/index.js';
import { createUi, type Ui } from '../ui/index.js';
import { vehicleApiComponents } from '../vehicle/components/api.js';
import { setUpVehiclePredictor } from '../vehicle/components/predictor-setup.js';
import { createVehicleComponents } from '../vehicle/components.js';
import { modelPathOf, vehicleConfigOf } from '../vehicle/config.js';
import { vehicleArtifactValidator } from '../vehicle/model/registry-upload-check.js';
import { createFabric, fabricComponent } from './common.js';
import { ROLE_NAMES } from './names.js';
import { SetupError } from './setup-error.js';

/** What every module's init gets. */
export interface ModuleEnv {
  cfg: AppConfig;
  logger: Logger;
  /** The role this process runs (`up`, `api`, `processor` …). */
  role: string;
  /** The role's own command-line flags (e.g. vehicle-api --memory). */
  flags?: Readonly<Record<string, string | boolean | undefined>>;
}

/** The service each module gives its dependants (void: components only). */
export interface Services {
  fabric: Fabric;
  /** `up` without an experiment file: the demo's router `local`, when the local exporter answers. */
  demo: { local?: LocalRouterPlan };
  experiment: ExperimentSource;
  store: TimeSeriesStore;
  collector: void;
  registry: void;
  /** The web UI (undefined when ui.enabled is false). */
  ui: Ui | undefined;
  'ml-store-sink': void;
  'router-api': void;
  'ml-influx-sink': void;
  'deployed-models': DeployedModels;
  predictors: PredictorResolver;
  inference: void;
  processor: void;
  producer: void;
  vehicle: void;
  /** The Vehicle API on its own (role vehicle-api). */
  'vehicle-api': void;
  /** The vehicle predictor on its own (role vehicle-predictor). */
  'vehicle-predictor': void;
  /** `up`: the energy exporter and the stage meters it drives (its banner line). */
  energy: { bannerLine(): string };
  /** The exporter run on its own (role energy-exporter: a busy port fails the start). */
  'energy-exporter': EnergyExporter;
  'stage-energy': void;
  'v2-grpc': V2GrpcComponent;
  'up-state': void;
}

export type WattflowModule = ModuleDef<ModuleEnv, Services>;
export type ModuleName = keyof Services;

export const MODULES: WattflowModule[] = [
  {
    name: 'fabric',
    async init({ cfg, logger }) {
      const fabric = await createFabric(cfg, logger);
      return { service: fabric, components: [fabricComponent(fabric)] };
    },
  },
  {
    name: 'store',
    async init({ cfg }) {
      const store = await openTimeSeriesStore({ dir: cfg.storage.dir, retentionHours: cfg.storage.retentionHours });
      return { service: store, components: [{ name: 'store', stop: () => store.close() }] };
    },
  },
  {
    name: 'demo',
    async init() {
      return { service: {} };
    },
  },
  {
    name: 'experiment',
    after: ['demo'],
    async init({ cfg, logger }, deps) {
      const demo = deps.optional('demo');
      let experiment: ExperimentSource;
      if (demo && !cfg.network.experiment) {
        const built = await demoExperiment(cfg.http.port, logger);
        experiment = built.experiment;
        if (built.local) demo.local = built.local;
      } else {
        experiment = experimentFor(cfg.network, logger);
      }
      return { service: experiment, components: [{ name: 'experiment', stop: async () => experiment.close(), reload: () => experiment.reload() }] };
    },
  },
  {
    name: 'collector',
    init: ({ cfg }) => ({ components: [createCollector(cfg.collector)] }),
  },
  {
    name: 'registry',
    deps: ['fabric', 'experiment'],
    async init({ cfg, logger, role }, deps) {
      if (role === 'registry' && deps.use('fabric').kind === 'memory') {
        logger.warn('no KAFKA_BROKERS: deployments go to an in-process bus that inference workers in other processes do not see (use `wattflow up`, or Kafka)');
      }
      return { components: await createRegistryComponents(cfg, logger, deps.use('fabric'), deps.use('experiment'), { vehicleModels: vehicleArtifactValidator }) };
    },
  },
  {
    // the web UI at / (src/ui/): under `up` its live hub also follows the vehicle predictions
    name: 'ui',
    deps: ['fabric', 'experiment', 'store'],
    init({ cfg, logger, role }, deps) {
      if (!cfg.ui.enabled) return { service: undefined };
      const ui = createUi({ cfg, logger, fabric: deps.use('fabric'), experiment: deps.use('experiment'), store: deps.use('store'), role, ...(role === 'up' ? { vehicles: true } : {}) });
      return { service: ui, components: [ui.component] };
    },
  },
  {
    name: 'ml-store-sink',
    deps: ['fabric', 'experiment', 'store'],
    init: ({ cfg, logger }, deps) => ({ components: [createMlStoreSink({ fabric: deps.use('fabric'), experiment: deps.use('experiment'), store: deps.use('store'), logger, group: cfg.network.storeSinkGroup })] }),
  },
  {
    name: 'router-api',
    deps: ['experiment', 'store'],
    init: (_env, deps) => ({ components: [createRouterApi({ store: deps.use('store'), experiment: deps.use('experiment') })] }),
  },
  {
    name: 'ml-influx-sink',
    deps: ['fabric', 'experiment'],
    init({ cfg, logger }, deps) {
      if (!cfg.influx.url) return {};
      const writer = new InfluxWriter({ ...cfg.influx, url: cfg.influx.url }, logger);
      return { components: [createMlInfluxSink({ fabric: deps.use('fabric'), experiment: deps.use('experiment'), writer, logger, group: cfg.network.influxSinkGroup })] };
    },
  },
  {
    // the deployment watcher starts before the stages: their first message already uses the deployed models
    name: 'deployed-models',
    deps: ['fabric', 'experiment'],
    init({ cfg, logger }, deps) {
      const models = createDeployedModels(cfg, logger, deps.use('fabric'), deps.use('experiment'));
      return { service: models, components: [models.component()] };
    },
  },
  {
    name: 'predictors',
    deps: ['experiment', 'deployed-models'],
    init: ({ cfg }, deps) => ({ service: predictorResolver(cfg, deps.use('experiment'), deps.use('deployed-models')) }),
  },
  {
    name: 'inference',
    deps: ['fabric', 'experiment', 'predictors'],
    init({ cfg, logger }, deps) {
      if (!cfg.network.chainInference) return { components: [createInference({ fabric: deps.use('fabric'), experiment: deps.use('experiment'), logger, resolve: deps.use('predictors'), group: cfg.network.inferenceGroup })] };
      if (!deps.includes('processor')) {
        throw new ConfigError('the network settings', '/network/chainInference', 'is true: the processor predicts, so the inference role must not run (it would publish every ML message twice)');
      }
      return {}; // operator chaining: the processor predicts
    },
  },
  {
    name: 'processor',
    deps: ['fabric', 'experiment'],
    after: ['predictors'],
    init({ cfg, logger }, deps) {
      const n = cfg.network;
      const chainInference = n.chainInference ? deps.optional('predictors') : undefined;
      // the state topic co-partitioned with a shared TD topic when one is configured (docs/performance.md § "State restore")
      const statePartitions = n.statePartitions ?? (cfg.fabric.kafka.partitions > 1 ? cfg.fabric.kafka.partitions : undefined);
      return { components: [createProcessor({ fabric: deps.use('fabric'), experiment: deps.use('experiment'), logger, chainInference, group: n.processorGroup, stateTopic: n.stateTopic, statePartitions })] };
    },
  },
  {
    name: 'producer',
    deps: ['fabric', 'experiment'],
    init({ cfg, logger }, deps) {
      const n = cfg.network;
      const producer = createProducer({ fabric: deps.use('fabric'), experiment: deps.use('experiment'), logger, spreadPolls: n.spreadPolls, spreadSlotMs: n.spreadSlotMs, outbox: { maxAgeMs: n.outboxMaxAgeMs, maxMessages: n.outboxMaxMessages } });
      return { components: [producer] };
    },
  },
  {
    name: 'vehicle',
    deps: ['store'],
    after: ['ui'],
    init({ cfg, logger }, deps) {
      const ui = deps.optional('ui');
      return { components: createVehicleComponents({ cfg, logger, store: deps.use('store'), ...(ui ? { onScored: ui.onScored } : {}) }) };
    },
  },
  {
    name: 'vehicle-api',
    init: ({ cfg, logger, flags }) => ({ components: vehicleApiComponents(cfg.vehicle, logger, { memory: flags?.memory === true }) }),
  },
  {
    // the role's --model (a file, or NAME@REF), --registry and --demo-model; a model file problem stops the start (exit 1)
    name: 'vehicle-predictor',
    async init({ cfg, logger, flags }) {
      const model = flags?.model;
      const setup = await setUpVehiclePredictor(cfg, logger, {
        ...(typeof model === 'string' ? { modelFlag: model } : {}),
        registryFlag: flags?.registry !== undefined,
        demoModel: flags?.['demo-model'] === true,
      });
      if ('error' in setup) throw new SetupError(setup.error);
      return { components: setup.components };
    },
  },
  {
    // `up`: the energy exporter on its own listener (28282) and the stage energy meters it drives
    name: 'energy',
    init({ cfg, logger }) {
      const { components, bannerLine } = energyComponentsForUp(cfg.energy, cfg.http, logger, ROLE_NAMES);
      return { service: { bannerLine }, components };
    },
  },
  {
    name: 'energy-exporter',
    init({ cfg, logger }) {
      const exporter = createEnergyExporter({ cfg: cfg.energy, logger, role: 'energy-exporter', wattflowRoles: ROLE_NAMES, onPortBusy: 'fail', limits: cfg.http });
      return { service: exporter, components: [exporter] };
    },
  },
  {
    // energy per message of the stage this process runs alone (wattflow_stage_energy_*: docs/energy.md)
    name: 'stage-energy',
    init: ({ cfg, logger, role }) => ({ components: stageEnergyComponents(cfg.energy, logger, role) }),
  },
  {
    // KServe V2 over gRPC beside the REST server, wherever models are served; under `up` a busy port is logged and up carries on
    name: 'v2-grpc',
    init({ cfg, logger, role }) {
      const grpc = v2GrpcComponent(cfg, logger, { optional: role === 'up' });
      return { service: grpc, components: [grpc] };
    },
  },
  {
    // <storage.dir>/up.json: how clients started from this directory find this server (removed when it stops)
    name: 'up-state',
    init({ cfg, logger }) {
      return { components: [upStateComponent(cfg, logger)] };
    },
  },
];

function upStateComponent(cfg: AppConfig, logger: Logger): Component {
  const stateDir = stateDirOf(cfg);
  const vehicleModel = modelPathOf(cfg, vehicleConfigOf(cfg));
  let remove: (() => void) | undefined;
  return {
    name: 'up-state',
    listening(url) {
      try {
        remove = writeUpState(stateDir, {
          url,
          version: wattflowVersion(),
          storage_dir: cfg.storage.dir.trim() === '' || cfg.storage.dir === ':memory:' ? '' : resolvePath(cfg.storage.dir),
          ...(vehicleModel ? { vehicle_model: resolvePath(vehicleModel) } : {}),
        });
      } catch (err) {
        logger.warn({ err: (err as Error).message, dir: stateDir }, 'could not record this server in up.json: clients need WATTFLOW_URL');
      }
    },
    stop: async () => remove?.(),
  };
}

/** Variants for a process that runs one stage or the exporter alone; `up` has its own (energy). */
const ALONE: readonly ModuleName[] = ['energy-exporter', 'stage-energy', 'vehicle-api', 'vehicle-predictor'];

/** All modules: what `wattflow up` runs. */
export const UP_MODULES: ModuleName[] = MODULES.map((m) => m.name).filter((n) => !ALONE.includes(n));

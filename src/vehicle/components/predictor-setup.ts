/**
 * The standalone vehicle predictor (role vehicle-predictor): its model (artifact file, registry
 * reference, or the demo model), its prediction sink (InfluxDB, else the embedded storage it
 * opens), the node-local store in pull mode, and the predictor component — in start order.
 */
import type { Component } from '../../core/component.js';
import { announceServer, chooseServer, OperatorError, stateDirOf } from '../../core/instance.js';
import type { Logger } from '../../core/logger.js';
import type { InfluxConfig } from '../../sinks/config.js';
import { openTimeSeriesStore } from '../../storage/index.js';
import { StorageInUseError } from '../../storage/sqlite-store.js';
import type { TimeSeriesStore } from '../../storage/types.js';
import { DEFAULT_MODEL_PATH, modelPathOf, type VehicleConfig } from '../config.js';
import { loadOrTrainDemoModel } from '../demo.js';
import { loadVehicleModel, ModelFileError, type VehicleModel } from '../model/anomaly-model.js';
import { isRegistryRef, loadRegistryVehicleModel } from '../model/registry-model.js';
import { createPredictionSink } from './prediction-sink.js';
import { buildVehiclePredictor, predictorModeOf } from './predictor.js';
import { createNodeStore, storeComponent } from './stores.js';

export interface PredictorSetupConfig {
  vehicle: VehicleConfig;
  influx: InfluxConfig;
  storage: { dir: string; retentionHours: number };
  registry: { url?: string };
}

export interface PredictorSetupOptions {
  /** --model as given (a file, or NAME@REF). */
  modelFlag?: string;
  /** --registry was given (names the setting in messages). */
  registryFlag?: boolean;
  /** --demo-model: train the demo model when the artifact does not exist. */
  demoModel?: boolean;
}

/** The predictor's components, or why it cannot start (a model file problem: exit 1 with it). */
export async function setUpVehiclePredictor(cfg: PredictorSetupConfig, logger: Logger, o: PredictorSetupOptions): Promise<{ components: Component[] } | { error: string }> {
  const v = cfg.vehicle;
  const modelPath = modelPathOf(cfg, v) ?? DEFAULT_MODEL_PATH;
  const ref = o.modelFlag !== undefined && !isRegistryRef(o.modelFlag) ? undefined : v.model.ref;
  const setting = v.model.registryUrl !== undefined ? { name: o.registryFlag ? '--registry' : 'vehicle.model.registryUrl', value: v.model.registryUrl } : { name: 'registry.url / WATTFLOW_REGISTRY_URL', value: cfg.registry.url };
  const registryChoice = ref ? chooseServer({ setting, stateDir: stateDirOf(cfg) }) : undefined;
  if (registryChoice) announceServer('vehicle-predictor', registryChoice, 'registry');
  const fromRegistry = async () => {
    const r = await loadRegistryVehicleModel(ref!, registryChoice?.url);
    logger.info({ ref, version: r.version, sha256: r.sha256, model: r.model.version }, 'vehicle model loaded from the registry');
    return r.model;
  };
  let model: VehicleModel;
  try {
    model = ref ? await fromRegistry() : o.demoModel ? loadOrTrainDemoModel(modelPath, v.alignment, logger, v.model.demoData) : loadVehicleModel(modelPath);
  } catch (err) {
    if (err instanceof ModelFileError) return { error: err.message };
    throw err;
  }
  const components: Component[] = [];
  const tsStore = cfg.influx.url ? undefined : await openPredictionStorage(cfg, logger);
  if (tsStore) components.push({ name: 'embedded-storage', stop: () => tsStore.close() });
  const sink = createPredictionSink(cfg, logger, tsStore ? { store: tsStore } : {});
  const mode = predictorModeOf(v.predictor.mode);
  const store = mode === 'push' ? undefined : createNodeStore(v, logger);
  if (store) components.push(storeComponent(store));
  const pred = buildVehiclePredictor({ v, mode, model, sink, logger, ...(store ? { store } : {}), reloadModel: ref ? fromRegistry : () => loadVehicleModel(modelPath) });
  components.push(pred.component);
  logger.info({ mode, model: model.version, ...(ref ? { ref } : { path: modelPath }), sink: sink.name, redis: store?.location }, 'vehicle-predictor');
  return { components };
}

/** The embedded storage for the predictions, when INFLUX_URL is not set. */
async function openPredictionStorage(cfg: PredictorSetupConfig, logger: Logger): Promise<TimeSeriesStore> {
  let tsStore: TimeSeriesStore;
  try {
    tsStore = await openTimeSeriesStore({ dir: cfg.storage.dir, retentionHours: cfg.storage.retentionHours });
  } catch (err) {
    // the only reason this role opens the embedded storage: its predictions, without INFLUX_URL
    if (err instanceof StorageInUseError) {
      throw new OperatorError(`${err.message}; this role needs it only for its predictions: with INFLUX_URL set it does not open it`);
    }
    throw err;
  }
  logger.warn({ dir: cfg.storage.dir }, 'INFLUX_URL not set: predictions go to the embedded storage');
  return tsStore;
}

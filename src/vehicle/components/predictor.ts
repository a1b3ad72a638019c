/** The predictor component: the push endpoints (V2 infer, JSON), or the pull stage on the node-local fabric. */
import type { Component } from '../../core/component.js';
import type { Logger } from '../../core/logger.js';
import type { Fabric } from '../../fabric/fabric.js';
import type { VehicleConfig } from '../config.js';
import type { VehicleModel } from '../model/anomaly-model.js';
import { registerPredictJson } from '../predictor/json-endpoint.js';
import { VehiclePredictor } from '../predictor/predictor.js';
import { VehiclePullStage } from '../predictor/pull-stage.js';
import type { PredictionSink } from '../predictor/sinks.js';
import { registerPredictV2 } from '../predictor/v2-endpoint.js';
import { createVectorFabric, vectorTopic } from '../predictor/vector-stream.js';
import { RedisVehicleStore } from '../store/redis-store.js';
import type { VehicleStore } from '../store/store.js';
import { DEFAULT_REDIS_URL } from './stores.js';

export interface PredictorParts {
  predictor: VehiclePredictor;
  stage?: VehiclePullStage;
  component: Component;
}

/** push, or pull (the vector stream); the former pull modes `subscribe` and `poll` are pull. */
export type PredictorMode = 'push' | 'pull';

export function predictorModeOf(mode: string): PredictorMode {
  return mode === 'push' ? 'push' : 'pull';
}

/** The predictor component: push endpoints, or the pull stage on the node-local fabric (the vector stream). */
export function buildVehiclePredictor(o: {
  v: VehicleConfig;
  /** push | pull (subscribe and poll: pull). */
  mode: PredictorMode | 'subscribe' | 'poll';
  model: VehicleModel;
  sink: PredictionSink;
  logger: Logger;
  /** Pull mode: keeps each vehicle's latest prediction (in push mode the API does it). */
  store?: VehicleStore;
  /** Pull mode: the node-local fabric (default: Redis Streams on vehicle.redis.url). */
  fabric?: Fabric;
  /** Reloads the model on SIGHUP (the role: from the artifact file, or the registry). */
  reloadModel?: () => VehicleModel | Promise<VehicleModel>;
  /** Serve POST /v1/vehicle/predict and POST /v2/models/{name}/infer (default: in push mode). */
  serveEndpoint?: boolean;
}): PredictorParts {
  const mode = predictorModeOf(o.mode);
  const logger = o.logger.child({ component: 'vehicle-predictor', mode });
  const predictor = new VehiclePredictor({ model: o.model, sink: o.sink, logger, ...(mode === 'pull' && o.store ? { latestStore: o.store } : {}) });
  let stage: VehiclePullStage | undefined;
  let ownFabric: Fabric | undefined;
  if (mode === 'pull') {
    const fabric = o.fabric ?? (ownFabric = createVectorFabric({
      // the node-local Redis the store uses (a store made for another URL, e.g. a test's, says which)
      url: (o.store instanceof RedisVehicleStore ? o.store.connectionUrl : undefined) ?? o.v.redis.url ?? DEFAULT_REDIS_URL,
      ...(o.v.redis.password !== undefined ? { password: o.v.redis.password } : {}),
      keyPrefix: o.v.redis.keyPrefix,
      vectorStreamMaxLen: o.v.redis.vectorStreamMaxLen,
      connectTimeoutMs: o.v.redis.connectTimeoutMs,
      ...(o.v.predictor.consumer ? { consumer: o.v.predictor.consumer } : {}),
      batchSize: o.v.predictor.batchSize,
      blockMs: o.v.predictor.pollIntervalMs,
      logger,
    }));
    stage = new VehiclePullStage({ fabric, topic: vectorTopic(o.v.redis.keyPrefix), group: o.v.predictor.group, predictor, logger });
  }
  const ready = () => stage?.ready() ?? true;
  const component: Component = {
    name: `vehicle-predictor-${mode}`,
    routes: (app) => {
      const predict = o.serveEndpoint ?? mode === 'push';
      registerPredictJson(app, predictor, logger, { predict });
      registerPredictV2(app, predictor, logger, { predict, ready });
    },
    async start() {
      logger.info({ model: o.model.name, version: o.model.version, sink: o.sink.name }, 'vehicle predictor starting');
      await stage?.start();
    },
    async stop() {
      await stage?.stop();
      await ownFabric?.close();
      await predictor.close();
    },
    ready,
    async reload() {
      if (o.reloadModel) predictor.setModel(await o.reloadModel());
    },
  };
  return { predictor, ...(stage ? { stage } : {}), component };
}

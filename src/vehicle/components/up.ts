/** The vehicle pipeline for `wattflow up`: vehicle store, predictor (push, in-process) and Vehicle API. */
import type { Component } from '../../core/component.js';
import type { Logger } from '../../core/logger.js';
import type { InfluxConfig } from '../../sinks/config.js';
import type { TimeSeriesStore } from '../../storage/types.js';
import { modelPathOf, vehicleConfigOf } from '../config.js';
import { loadOrTrainDemoModel } from '../demo.js';
import { inProcessTransport } from '../ingest/predictor-transport.js';
import { loadVehicleModel } from '../model/anomaly-model.js';
import type { PointWriter, Scored } from '../predictor/sinks.js';
import type { VehicleStore } from '../store/store.js';
import { buildVehicleApi } from './api.js';
import { createPredictionSink, tappedSink } from './prediction-sink.js';
import { buildVehiclePredictor } from './predictor.js';
import { createMemoryStore, createNodeStore, storeComponent } from './stores.js';

export interface VehicleComponentsOptions {
  /** The app configuration: its vehicle, storage and influx sections. */
  cfg: { vehicle?: unknown; storage: { dir: string }; influx: InfluxConfig };
  logger: Logger;
  /** Embedded storage for predictions when InfluxDB is not configured. */
  store?: TimeSeriesStore;
  /** Share an InfluxDB writer with the telemetry pipeline (else one is made when influx.url is set). */
  influxWriter?: PointWriter;
  /** Override the vehicle store (default: Redis when vehicle.redis.url / REDIS_URL is set, else in-process). */
  vehicleStore?: VehicleStore;
  /** Told of every scored vector once its sink has it (the web UI's live hub, src/ui/). */
  onScored?: (items: readonly Scored[]) => void;
}

/**
 * The vehicle pipeline for `wattflow up`: vehicle store, predictor (push, called in-process)
 * and Vehicle API, in start order. The model is `vehicle.model.path` (default
 * <storage.dir>/vehicle-model.json), trained from the bundled demo logs when that file does not
 * exist.
 */
export function createVehicleComponents(o: VehicleComponentsOptions): Component[] {
  const v = vehicleConfigOf(o.cfg);
  const logger = o.logger.child({ pipeline: 'vehicle' });
  const store = o.vehicleStore ?? (v.redis.url ? createNodeStore(v, logger) : createMemoryStore(v));
  const modelPath = modelPathOf(o.cfg, v);
  const model = loadOrTrainDemoModel(modelPath, v.alignment, logger, v.model.demoData);
  const written = createPredictionSink(o.cfg, logger, { ...(o.store ? { store: o.store } : {}), ...(o.influxWriter ? { influxWriter: o.influxWriter } : {}) });
  const sink = o.onScored ? tappedSink(written, o.onScored) : written;
  const pred = buildVehiclePredictor({
    v,
    mode: 'push',
    model,
    sink,
    logger,
    store,
    serveEndpoint: true,
    ...(modelPath ? { reloadModel: () => loadVehicleModel(modelPath) } : {}),
  });
  const api = buildVehicleApi({ v, store, logger, forwardTo: [inProcessTransport((vectors) => pred.predictor.predict(vectors))] });
  logger.info({ store: store.location, sink: sink.name, model: model.version }, 'vehicle pipeline: API + predictor (push, in-process)');
  return [storeComponent(store), pred.component, api.component];
}

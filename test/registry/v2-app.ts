/**
 * One V2 server with both kinds of provider, as `wattflow up` runs them: a trained power model
 * `ne40@1` (serving router r1) and the vehicle model, on one listening app. Shared by the V2
 * server and V2 fuzz tests.
 */
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { registerKServeRoutes, type KServeSource } from '../../src/router-power/inference/kserve.js';
import { ModelPredictor } from '../../src/router-power/inference/model-predictor.js';
import { buildVehiclePredictor } from '../../src/vehicle/components.js';
import { IsolationForestModel } from '../../src/vehicle/model/anomaly-model.js';
import { trainVehicleModel } from '../../src/vehicle/model/train.js';
import { NullPredictionSink } from '../../src/vehicle/predictor/sinks.js';
import { DS1, DS2, vehicleCfg } from '../vehicle/helpers.js';
import { silent, trained } from './helpers.js';

export interface V2App {
  app: RunningApp;
  power: ModelPredictor;
  vehicleModel: IsolationForestModel;
  close(): Promise<void>;
}

/** `ready` is the inference worker's readiness (default: always ready). */
export async function startV2App(ready: () => boolean = () => true): Promise<V2App> {
  const vehicleModel = new IsolationForestModel(trainVehicleModel({ files: [DS1, DS2], trees: 10 }).artifact);
  const a = await trained({ name: 'ne40', version: '1' });
  const power = await ModelPredictor.load(a.onnx, a.metadata);
  const src: KServeSource = { served: () => [{ predictor: power, routers: ['r1'] }], ready, epsilon: 0.01 };
  const vehicle = buildVehiclePredictor({ v: vehicleCfg(), mode: 'push', model: vehicleModel, sink: new NullPredictionSink(), logger: silent });
  const app = await startComponents([{ name: 'kserve', routes: (x) => registerKServeRoutes(x, src) }, vehicle.component], { host: '127.0.0.1', port: 0, logger: silent });
  return {
    app,
    power,
    vehicleModel,
    close: async () => {
      await app.stop();
      await power.close();
    },
  };
}

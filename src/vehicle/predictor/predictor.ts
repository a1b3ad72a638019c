/**
 * The vehicle predictor's core, independent of how vectors arrive (HTTP push, in-process push,
 * Redis channel, Redis stream): scores a batch of aligned vectors with the deployed model,
 * writes the results to the sink and resolves once they are durably written, optionally keeping
 * each vehicle's latest prediction in the vehicle store.
 */
import type { Logger } from '../../core/logger.js';
import { countStageMessages, trackStage } from '../../energy/stage-cpu.js';
import type { AlignedVector } from '../align/vector.js';
import type { VehicleModel } from '../model/anomaly-model.js';
import { predictionsTotal, predictSeconds, sinkFailures } from '../metrics.js';
import type { VehicleStore } from '../store/store.js';
import { predictionOf, type VehiclePrediction } from './prediction.js';
import type { PredictionSink, Scored } from './sinks.js';

export interface PredictorOptions {
  model: VehicleModel;
  sink: PredictionSink;
  logger: Logger;
  /** Keep each vehicle's latest prediction here (pull modes; in push mode the API does it). */
  latestStore?: VehicleStore;
}

export class VehiclePredictor {
  private modelRef: VehicleModel;
  scored = 0;

  constructor(private readonly o: PredictorOptions) {
    this.modelRef = o.model;
  }

  get model(): VehicleModel {
    return this.modelRef;
  }

  get sinkName(): string {
    return this.o.sink.name;
  }

  /** Replaces the model (reload); batches in progress finish with the previous one. */
  setModel(model: VehicleModel): void {
    this.o.logger.info({ from: this.modelRef.version, to: model.version }, 'vehicle model replaced');
    this.modelRef = model;
  }

  async predict(vectors: readonly AlignedVector[]): Promise<VehiclePrediction[]> {
    if (vectors.length === 0) return [];
    // CPU time and vectors counted for the stage's energy per vector (src/energy/stage-cpu.ts)
    countStageMessages('vehicle-predictor', vectors.length);
    return trackStage('vehicle-predictor', () => this.score(vectors));
  }

  private async score(vectors: readonly AlignedVector[]): Promise<VehiclePrediction[]> {
    const started = performance.now();
    const model = this.modelRef;
    const now = Date.now();
    const items: Scored[] = vectors.map((vector) => ({ vector, prediction: predictionOf(vector, model.score(vector), model, now) }));
    try {
      await this.o.sink.write(items);
    } catch (err) {
      sinkFailures.inc();
      throw err;
    }
    const predictions = items.map((i) => i.prediction);
    if (this.o.latestStore) {
      try {
        await this.o.latestStore.setLatestPredictions(predictions);
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'could not keep the latest predictions in the vehicle store');
      }
    }
    for (const p of predictions) predictionsTotal.inc({ label: p.label });
    this.scored += predictions.length;
    predictSeconds.observe((performance.now() - started) / 1000);
    return predictions;
  }

  async close(): Promise<void> {
    await this.o.sink.close();
  }
}

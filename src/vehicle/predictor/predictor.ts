/**
 * The vehicle predictor's core, independent of how vectors arrive (HTTP push, in-process push,
 * the vector stream): scores aligned vectors with the deployed model (`score`, nothing else)
 * and hands scored results to the prediction sink component (`write`, prediction-writer.ts);
 * `predict` does both, resolving once the results are durably written.
 */
import type { Logger } from '../../core/logger.js';
import { countStageMessages, trackStage } from '../../energy/stage-cpu.js';
import type { AlignedVector } from '../align/vector.js';
import type { VehicleModel } from '../model/anomaly-model.js';
import { predictSeconds } from '../metrics.js';
import type { VehicleStore } from '../store/store.js';
import { predictionOf, type VehiclePrediction } from './prediction.js';
import { PredictionWriter } from './prediction-writer.js';
import type { PredictionSink, Scored } from './sinks.js';

export interface PredictorOptions {
  model: VehicleModel;
  sink: PredictionSink;
  logger: Logger;
  /** Keep each vehicle's latest prediction here (pull mode; in push mode the API does it). */
  latestStore?: VehicleStore;
}

export class VehiclePredictor {
  private modelRef: VehicleModel;
  /** Where scored results go (the prediction sink component). */
  readonly results: PredictionWriter;

  constructor(private readonly o: PredictorOptions) {
    this.modelRef = o.model;
    this.results = new PredictionWriter({ sink: o.sink, logger: o.logger, ...(o.latestStore ? { latestStore: o.latestStore } : {}) });
  }

  get model(): VehicleModel {
    return this.modelRef;
  }

  get sinkName(): string {
    return this.results.sinkName;
  }

  /** Vectors scored and written since start. */
  get scored(): number {
    return this.results.written;
  }

  /** Replaces the model (reload); batches in progress finish with the previous one. */
  setModel(model: VehicleModel): void {
    this.o.logger.info({ from: this.modelRef.version, to: model.version }, 'vehicle model replaced');
    this.modelRef = model;
  }

  /** Scores only: nothing is written. */
  score(vectors: readonly AlignedVector[], now = Date.now()): Scored[] {
    const model = this.modelRef;
    return vectors.map((vector) => ({ vector, prediction: predictionOf(vector, model.score(vector), model, now) }));
  }

  /** Hands scored results to the prediction sink; resolves once they are durably written. */
  write(items: readonly Scored[]): Promise<VehiclePrediction[]> {
    return this.results.write(items);
  }

  /** Scores and writes (the caller accounts the stage's CPU time, as the stage loop does). */
  async scoreAndWrite(vectors: readonly AlignedVector[]): Promise<VehiclePrediction[]> {
    if (vectors.length === 0) return [];
    const started = performance.now();
    const predictions = await this.write(this.score(vectors));
    predictSeconds.observe((performance.now() - started) / 1000);
    return predictions;
  }

  /** Scores and writes a pushed batch, its CPU time and vectors accounted to the stage (src/energy/stage-cpu.ts). */
  async predict(vectors: readonly AlignedVector[]): Promise<VehiclePrediction[]> {
    if (vectors.length === 0) return [];
    countStageMessages('vehicle-predictor', vectors.length);
    return trackStage('vehicle-predictor', () => this.scoreAndWrite(vectors));
  }

  async close(): Promise<void> {
    await this.results.close();
  }
}

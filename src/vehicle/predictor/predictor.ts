/**
 * The vehicle predictor's core, independent of how vectors arrive (HTTP push, in-process push,
 * Redis channel, Redis stream): scores a batch of aligned vectors with the deployed model,
 * writes the results to the sink and resolves once they are durably written, optionally keeping
 * each vehicle's latest prediction in the vehicle store. Also validates vectors received from
 * outside (the JSON endpoint).
 */
import type { Logger } from '../../core/logger.js';
import type { AlignedVector } from '../align/vector.js';
import type { VehicleModel } from '../model/anomaly-model.js';
import { predictionsTotal, predictSeconds, sinkFailures } from '../metrics.js';
import { VEHICLE_ID_PATTERN, type VehicleStore } from '../store/store.js';
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

const isNumOrNull = (x: unknown): boolean => x === null || (typeof x === 'number' && Number.isFinite(x));

/** Checks a vector received from outside; returns the reason when it is not one. */
export function checkVector(x: unknown): string | undefined {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return 'a vector must be an object';
  const v = x as Partial<AlignedVector>;
  if (typeof v.vehicleId !== 'string' || !VEHICLE_ID_PATTERN.test(v.vehicleId)) return 'vehicleId must be a valid vehicle id';
  if (typeof v.ts !== 'number' || !Number.isFinite(v.ts)) return 'ts must be epoch milliseconds';
  if (typeof v.seq !== 'number' || !Number.isInteger(v.seq)) return 'seq must be an integer';
  if (!v.values || typeof v.values !== 'object' || Array.isArray(v.values)) return 'values must be an object {signal: number|null}';
  for (const [k, val] of Object.entries(v.values)) if (!isNumOrNull(val)) return `values.${k} must be a number or null`;
  if (v.sourceTs !== undefined && (typeof v.sourceTs !== 'object' || v.sourceTs === null)) return 'sourceTs must be an object';
  for (const key of ['missing', 'filled', 'outOfRange'] as const) {
    if (v[key] !== undefined && (!Array.isArray(v[key]) || !v[key]!.every((s) => typeof s === 'string'))) return `${key} must be an array of signal ids`;
  }
  if (v.flags !== undefined && (!Array.isArray(v.flags) || !v.flags.every((f) => f && typeof f === 'object' && typeof f.rule === 'string'))) return 'flags must be an array of {rule, message, signals}';
  return undefined;
}

/** Fills the optional parts of a checked vector. */
export function completeVector(x: Partial<AlignedVector> & Pick<AlignedVector, 'vehicleId' | 'ts' | 'seq' | 'values'>): AlignedVector {
  return {
    vehicleId: x.vehicleId,
    ts: x.ts,
    seq: x.seq,
    values: x.values,
    sourceTs: x.sourceTs ?? {},
    missing: x.missing ?? Object.entries(x.values).filter(([, v]) => v === null).map(([k]) => k),
    filled: x.filled ?? [],
    outOfRange: x.outOfRange ?? [],
    flags: (x.flags ?? []).map((f) => ({ rule: f.rule, message: String(f.message ?? ''), signals: Array.isArray(f.signals) ? f.signals.map(String) : [] })),
  };
}

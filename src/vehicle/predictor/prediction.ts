/**
 * The prediction record: the score and label the vehicle model gives one aligned vector, with
 * the model's name and version. The predictor writes it to InfluxDB (`prediction` point) or the
 * embedded store, returns it from its HTTP endpoint, and the vehicle store keeps each vehicle's
 * latest one for `GET /api/vehicles/{id}/latest`.
 */
import type { AlignedVector } from '../align/vector.js';
import type { VehicleLabel, VehicleModel, VehicleScore } from '../model/anomaly-model.js';

export interface VehiclePrediction {
  vehicleId: string;
  /** The vector's tick (epoch ms): the prediction's time stamp. */
  ts: number;
  seq: number;
  score: number | null;
  label: VehicleLabel;
  threshold: number;
  modelName: string;
  modelVersion: string;
  /** Signals deviating most (robust z; `outside` = beyond the training envelope). */
  top: VehicleScore['top'];
  /** Plausibility rules raised on the vector, plus `out_of_range:<signal>`. */
  flags: string[];
  /** Signals missing from the vector. */
  missing: number;
  /** Wall clock of the prediction (ms). */
  predictedAt: number;
}

export function predictionOf(v: AlignedVector, s: VehicleScore, model: VehicleModel, now = Date.now()): VehiclePrediction {
  return {
    vehicleId: v.vehicleId,
    ts: v.ts,
    seq: v.seq,
    score: s.score,
    label: s.label,
    threshold: model.threshold,
    modelName: model.name,
    modelVersion: model.version,
    top: s.top,
    flags: [...v.flags.map((f) => f.rule), ...v.outOfRange.map((sig) => `out_of_range:${sig}`)],
    missing: v.missing.length,
    predictedAt: now,
  };
}

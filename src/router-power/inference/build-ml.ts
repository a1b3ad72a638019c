/**
 * Builds the ML message (topic ML_<router>) from a TP message and a prediction, exactly as the
 * reference's output_ml_metrics.json: power and occupation rate as one-element arrays, the
 * packet-length rate as a plain number, `ml_timestamp` (seconds) in debug_params. Extension:
 * `ml_metadata` (model, version, processing time) — additive, after output_ml_metrics.
 */
import {
  OCCUPATION,
  PACKET_LENGTH,
  POWER,
  POWER_RATE_OCCUPATION,
  POWER_RATE_PACKET_LENGTH,
  epochSeconds,
  type MlMessage,
  type TpMessage,
} from '../messages.js';
import type { ModelInfo, PowerFeatures, PowerPrediction } from './predictor.js';

/** The model's features from a TP message: occupation % → fraction, packet length in bytes. */
export function featuresOf(tp: TpMessage): PowerFeatures | { error: string } {
  const occ = tp.input_ml_metrics.find((m) => m.name === OCCUPATION)?.value;
  const len = tp.input_ml_metrics.find((m) => m.name === PACKET_LENGTH)?.value;
  if (typeof occ !== 'number' || !Number.isFinite(occ) || occ < 0) return { error: `${OCCUPATION} missing, negative or not finite` };
  if (typeof len !== 'number' || !Number.isFinite(len) || len < 0) return { error: `${PACKET_LENGTH} missing, negative or not finite` };
  return { occupation: occ / 100, packetLength: len };
}

export interface MlMetadata extends ModelInfo {
  router_type: string;
  processing_time_ms: number;
}

export function buildMl(tp: TpMessage, p: PowerPrediction, meta: MlMetadata, nowMs: number): MlMessage {
  // copies the TP's fields in their order (for-in: no intermediate arrays on this hot path)
  const ml: Record<string, unknown> = {};
  const src = tp as unknown as Record<string, unknown>;
  for (const key in src) {
    if (key === 'output_ml_metrics' || key === 'ml_metadata') continue;
    const value = src[key];
    ml[key] = key === 'debug_params' && value ? { ...(value as object), ml_timestamp: epochSeconds(nowMs) } : value;
  }
  ml.output_ml_metrics = [
    { name: POWER, type: 'power_consumption_wats', value: [p.power] },
    { name: POWER_RATE_OCCUPATION, type: 'power_consumption_variation_rate', value: [p.dPowerDOccupation] },
    { name: POWER_RATE_PACKET_LENGTH, type: 'power_consumption_variation_rate', value: p.dPowerDPacketLength },
  ];
  ml.ml_metadata = meta;
  return ml as MlMessage;
}

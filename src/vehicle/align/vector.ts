/**
 * The aligned feature vector: one per vehicle and tick of the fixed cadence, holding for every
 * signal the vehicle has reported its last value carried forward (up to the maximum age) or an
 * explicit null ("missing"), plus the plausibility flags raised on it. This is what is stored as
 * the vehicle's latest vector, announced on the pub/sub channel and scored by the predictor.
 */

export interface PlausibilityFlag {
  /** Rule id, e.g. `speed_without_engine`. */
  rule: string;
  /** Human-readable explanation with the values involved. */
  message: string;
  /** Signals the rule looked at. */
  signals: string[];
}

export interface AlignedVector {
  vehicleId: string;
  /** Tick time (epoch ms, a multiple of the cadence). */
  ts: number;
  /** Per-vehicle sequence number (1, 2, …). */
  seq: number;
  /** Every aligned signal the vehicle has reported: value in the catalog unit, or null = missing. */
  values: Record<string, number | null>;
  /** Time stamp (epoch ms) of the measurement behind each present value. */
  sourceTs: Record<string, number>;
  /** Signals without a value within the maximum age at this tick. */
  missing: string[];
  /** Present values carried forward from an earlier cadence interval (gap filling). */
  filled: string[];
  /** Present values that were outside their valid range (stored flagged). */
  outOfRange: string[];
  /** Cross-signal plausibility flags. */
  flags: PlausibilityFlag[];
}

/** Present values only (what the model and the InfluxDB `vehicle_measurement` point use). */
export function presentValues(v: AlignedVector): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v.values)) if (x !== null) out[k] = x;
  return out;
}

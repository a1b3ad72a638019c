/**
 * The vehicle store interface: everything the Vehicle API and the predictor keep in the
 * node-local Redis — raw measurements per vehicle and signal (idempotent: a measurement
 * already stored is a duplicate, a different value at the same time stamp a conflict),
 * the latest aligned vector and prediction per vehicle, each new vector announced (pub/sub) and
 * appended to the capped vector stream (which the pull-mode predictor consumes as a fabric topic:
 * predictor/vector-stream.ts), and — in push mode — the forward
 * journal (vectors handed to the predictor and not yet acknowledged, re-sent after a crash) and
 * the dead-letter stream of vectors the predictor refused. Two adapters: Redis
 * (redis-store.ts) and in-process memory (memory-store.ts, for `wattflow up` without Redis).
 */
import type { AlignedVector } from '../align/vector.js';
import type { VehiclePrediction } from '../predictor/prediction.js';

export interface RawMeasurement {
  signal: string;
  tsMs: number;
  value: number;
  flagged: boolean;
}

/** Per measurement: stored now, already stored (same value), conflicting value at that time stamp, or older than the retention. */
export type AppendStatus = 'stored' | 'duplicate' | 'conflict' | 'expired';

export interface SeriesPoint {
  ts: number;
  value: number;
  flagged?: boolean;
}

export interface DeadLetter {
  /** The vector; null when the entry was not a valid vector (then `raw` holds its text). */
  vector: AlignedVector | null;
  raw?: string;
  reason: string;
  atMs: number;
}

export interface StoreLimits {
  /** Raw history per series, by age relative to the series' newest time stamp. */
  retentionMs: number;
  /** …and by count. */
  maxPerSeries: number;
  /** Approximate cap of the vector stream. */
  vectorStreamMaxLen: number;
}

export interface VehicleStore {
  readonly kind: 'redis' | 'memory';
  /** Human-readable location (URL without credentials, or "in-process"). */
  readonly location: string;
  /** true when usable now; else why not (ingest answers 503 with it). */
  available(): true | string;
  start(): Promise<void>;
  close(): Promise<void>;

  /** Appends raw measurements of one vehicle atomically; one status per measurement, in order. */
  appendMeasurements(vehicleId: string, items: readonly RawMeasurement[]): Promise<AppendStatus[]>;
  /**
   * Persists new vectors (in order): latest per vehicle, the vector stream, one announcement
   * each; with `journal`, also records each in the forward journal, in the same atomic step.
   */
  publishVectors(vectors: readonly AlignedVector[], opts?: { journal?: boolean }): Promise<void>;
  /** Journaled vectors not yet acknowledged (oldest first, at most `limit`): what a crashed API had not forwarded. */
  journaledVectors(limit: number): Promise<AlignedVector[]>;
  /** Removes vectors from the forward journal (delivered, or dead-lettered). */
  ackJournaled(vectors: readonly AlignedVector[]): Promise<void>;
  /** Keeps vectors the predictor refused, with the reason, in the capped dead-letter stream; removes them from the journal. */
  deadLetterVectors(vectors: readonly AlignedVector[], reason: string): Promise<void>;
  /** The newest dead letters (newest first): refused vectors, and invalid entries found on the vector stream or channel. */
  deadLetters(limit: number): Promise<DeadLetter[]>;
  getLatestVector(vehicleId: string): Promise<AlignedVector | undefined>;
  /** Keeps the newest prediction per vehicle (older ones are ignored). */
  setLatestPredictions(predictions: readonly VehiclePrediction[]): Promise<void>;
  getLatestPrediction(vehicleId: string): Promise<VehiclePrediction | undefined>;

  listVehicles(): Promise<string[]>;
  listSignals(vehicleId: string): Promise<string[]>;
  /** The newest raw measurement of each signal of a vehicle. */
  latestMeasurements(vehicleId: string): Promise<Record<string, SeriesPoint>>;
  /** Raw measurements of one signal with from ≤ ts ≤ to: the newest `limit` of them, oldest first. */
  series(vehicleId: string, signal: string, fromMs: number, toMs: number, limit: number): Promise<SeriesPoint[]>;
}

/** A vector's field in the forward journal: unique per vehicle and tick. */
export const journalField = (v: AlignedVector): string => `${v.vehicleId}|${v.ts}`;

/** Oldest first, then by vehicle: the order in which recovered vectors are forwarded again. */
export const byTickThenVehicle = (a: AlignedVector, b: AlignedVector): number => a.ts - b.ts || (a.vehicleId < b.vehicleId ? -1 : a.vehicleId > b.vehicleId ? 1 : 0);

/** Measurement ids must be safe in keys and URLs. */
export const VEHICLE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

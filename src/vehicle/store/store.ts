/**
 * The vehicle store interface: everything the Vehicle API and the predictor keep in the
 * node-local Redis — raw measurements per vehicle and signal (idempotent: a measurement
 * already stored is a duplicate, a different value at the same time stamp a conflict),
 * the latest aligned vector and prediction per vehicle, the announcement of each new vector
 * (pub/sub) and a capped vector stream for predictors that poll. Two adapters: Redis
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

export interface VectorEntry {
  /** Stream entry id (ack with it). */
  id: string;
  vector: AlignedVector;
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
  /** Persists new vectors (in order): latest per vehicle, the vector stream, one announcement each. */
  publishVectors(vectors: readonly AlignedVector[]): Promise<void>;
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

  /** Subscribes to vector announcements; resolves once subscribed; returns the unsubscribe. */
  subscribe(handler: (v: AlignedVector) => void): Promise<() => Promise<void>>;
  /** Reads vectors from the stream for a consumer group: first this consumer's unacknowledged ones, then new ones. */
  readVectors(group: string, consumer: string, count: number): Promise<VectorEntry[]>;
  ackVectors(group: string, ids: readonly string[]): Promise<void>;
}

/** Measurement ids must be safe in keys and URLs. */
export const VEHICLE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/**
 * Where the predictor's results go. InfluxDB (through the shared InfluxWriter, line protocol):
 * per vector a `prediction` point (tag vehicle_id; fields score, label, model_version, …) and a
 * `vehicle_measurement` point (tag vehicle_id; one field per present signal), time stamped with
 * the vector's tick. The embedded TimeSeriesStore (single-process mode): one row per vector in
 * series `vehicle/<id>` with the signal values and the score as fields, and the prediction as
 * the row's document (one row, since the store keeps one row per series and time stamp).
 */
import type { Point } from '../../sinks/influx/line-protocol.js';
import type { SeriesRow, TimeSeriesStore } from '../../storage/types.js';
import type { AlignedVector } from '../align/vector.js';
import { presentValues } from '../align/vector.js';
import type { VehiclePrediction } from './prediction.js';

export interface Scored {
  vector: AlignedVector;
  prediction: VehiclePrediction;
}

export interface PredictionSink {
  readonly name: string;
  /** Resolves once the results are durably written. */
  write(items: readonly Scored[]): Promise<void>;
  close(): Promise<void>;
}

/** The two points of one scored vector. */
export function predictionPoints({ vector, prediction: p }: Scored): Point[] {
  const tags = { vehicle_id: vector.vehicleId };
  const fields: Point['fields'] = {
    label: p.label,
    model_name: p.modelName,
    model_version: p.modelVersion,
    threshold: p.threshold,
    anomaly: p.label === 'anomaly',
    implausible: p.label === 'implausible',
    flags: p.flags.join(','),
    missing: p.missing,
    top_signal: p.top[0]?.signal ?? '',
    seq: p.seq,
  };
  if (p.score !== null) fields.score = p.score;
  const points: Point[] = [{ measurement: 'prediction', tags, fields, timestampMs: vector.ts }];
  const values = presentValues(vector);
  if (Object.keys(values).length > 0) points.push({ measurement: 'vehicle_measurement', tags, fields: values, timestampMs: vector.ts });
  return points;
}

export interface PointWriter {
  write(points: readonly Point[], opts?: { immediate?: boolean }): Promise<unknown>;
  close(): Promise<void>;
}

export class InfluxPredictionSink implements PredictionSink {
  readonly name = 'influxdb';

  /** `ownsWriter`: close the writer on close() (false when it is shared with other pipelines). */
  constructor(
    private readonly writer: PointWriter,
    private readonly ownsWriter: boolean,
  ) {}

  async write(items: readonly Scored[]): Promise<void> {
    if (items.length === 0) return;
    await this.writer.write(items.flatMap(predictionPoints), { immediate: true });
  }

  async close(): Promise<void> {
    if (this.ownsWriter) await this.writer.close();
  }
}

/** Series name of a vehicle in the embedded store. */
export const vehicleSeries = (vehicleId: string): string => `vehicle/${vehicleId}`;

export function predictionRow({ vector, prediction: p }: Scored): SeriesRow {
  const fields: Record<string, number> = { ...presentValues(vector), missing: p.missing };
  if (p.score !== null) fields.score = p.score;
  return {
    series: vehicleSeries(vector.vehicleId),
    tsMs: vector.ts,
    fields,
    tags: { vehicle_id: vector.vehicleId, label: p.label, model_version: p.modelVersion },
    doc: JSON.stringify(p),
  };
}

export class StoragePredictionSink implements PredictionSink {
  readonly name = 'embedded storage';

  constructor(private readonly store: TimeSeriesStore) {}

  async write(items: readonly Scored[]): Promise<void> {
    if (items.length === 0) return;
    await this.store.append(items.map(predictionRow));
  }

  async close(): Promise<void> {}
}

/** No persistence (the latest prediction per vehicle is still kept in the vehicle store). */
export class NullPredictionSink implements PredictionSink {
  readonly name = 'none';
  async write(): Promise<void> {}
  async close(): Promise<void> {}
}

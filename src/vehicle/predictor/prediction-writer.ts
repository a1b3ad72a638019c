/**
 * The prediction sink component: receives scored vectors (from the push endpoints and the pull
 * stage alike) and writes them — the configured sink (InfluxDB, embedded storage, none), each
 * vehicle's latest prediction in the vehicle store (pull mode; in push mode the API keeps it
 * from the answer), and the listener told of what was written (the web UI's live hub).
 * Resolves once the sink has them durably.
 */
import type { Logger } from '../../core/logger.js';
import { predictionsTotal, sinkFailures } from '../metrics.js';
import type { VehicleStore } from '../store/store.js';
import type { VehiclePrediction } from './prediction.js';
import type { PredictionSink, Scored } from './sinks.js';

export interface PredictionWriterOptions {
  sink: PredictionSink;
  logger: Logger;
  /** Keep each vehicle's latest prediction here (pull mode). */
  latestStore?: Pick<VehicleStore, 'setLatestPredictions'>;
}

export class PredictionWriter {
  written = 0;

  constructor(private readonly o: PredictionWriterOptions) {}

  get sinkName(): string {
    return this.o.sink.name;
  }

  async write(items: readonly Scored[]): Promise<VehiclePrediction[]> {
    if (items.length === 0) return [];
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
    this.written += predictions.length;
    return predictions;
  }

  close(): Promise<void> {
    return this.o.sink.close();
  }
}

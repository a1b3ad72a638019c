/** The prediction sink for a configuration (InfluxDB, embedded storage, or none), and a sink tap for listeners. */
import type { Logger } from '../../core/logger.js';
import type { InfluxConfig } from '../../sinks/config.js';
import { InfluxWriter } from '../../sinks/influx/writer.js';
import type { TimeSeriesStore } from '../../storage/types.js';
import { InfluxPredictionSink, NullPredictionSink, StoragePredictionSink, type PointWriter, type PredictionSink, type Scored } from '../predictor/sinks.js';

/** The prediction sink for a config: InfluxDB when influx.url is set, else the embedded store, else none. */
export function createPredictionSink(cfg: { influx: InfluxConfig }, logger: Logger, opts: { store?: TimeSeriesStore; influxWriter?: PointWriter } = {}): PredictionSink {
  if (opts.influxWriter) return new InfluxPredictionSink(opts.influxWriter, false);
  if (cfg.influx.url) return new InfluxPredictionSink(new InfluxWriter({ ...cfg.influx, url: cfg.influx.url }, logger.child({ module: 'influx' }), { name: 'vehicle' }), true);
  if (opts.store) return new StoragePredictionSink(opts.store);
  return new NullPredictionSink();
}

/** A sink that also tells `listener` of what it wrote (after the write succeeded). */
export function tappedSink(sink: PredictionSink, listener: (items: readonly Scored[]) => void): PredictionSink {
  return {
    get name() {
      return sink.name;
    },
    async write(items) {
      await sink.write(items);
      try {
        listener(items);
      } catch {
        // a listener's failure is not the sink's
      }
    },
    close: () => sink.close(),
  };
}

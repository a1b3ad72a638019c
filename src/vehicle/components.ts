/**
 * Assembly of the vehicle pipeline's components from the configuration: the vehicle store
 * (Redis, or in-process), the Vehicle API (ingest service, routes, forwarder), the predictor
 * (model, sink, push endpoint or pull runner). Used by the roles (vehicle-api,
 * vehicle-predictor) and by `wattflow up` through createVehicleComponents().
 */
import type { AppConfig } from '../app-config.js';
import type { Component } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import { InfluxWriter } from '../sinks/influx/writer.js';
import type { TimeSeriesStore } from '../storage/types.js';
import { createVehicleApi } from './api/routes.js';
import { defaultCatalog, type SignalCatalog } from './catalog/signals.js';
import { modelPathOf, vehicleConfigOf, type VehicleConfig } from './config.js';
import { loadOrTrainDemoModel } from './demo.js';
import { VectorForwarder, type Transport } from './ingest/forwarder.js';
import { httpTransport, inProcessTransport } from './ingest/predictor-transport.js';
import { IngestService } from './ingest/ingest-service.js';
import { loadVehicleModel, type VehicleModel } from './model/anomaly-model.js';
import { registerPredictJson } from './predictor/json-endpoint.js';
import { registerPredictV2 } from './predictor/v2-endpoint.js';
import { VehiclePredictor } from './predictor/predictor.js';
import { VehiclePullStage } from './predictor/pull-stage.js';
import { createVectorFabric, vectorTopic } from './predictor/vector-stream.js';
import type { Fabric } from '../fabric/fabric.js';
import { InfluxPredictionSink, NullPredictionSink, StoragePredictionSink, type PointWriter, type PredictionSink, type Scored } from './predictor/sinks.js';
import { MemoryVehicleStore } from './store/memory-store.js';
import { RedisVehicleStore } from './store/redis-store.js';
import type { StoreLimits, VehicleStore } from './store/store.js';

/** The node-local Redis the vehicle roles use when none is configured. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

function limitsOf(v: VehicleConfig): StoreLimits {
  return { retentionMs: Math.round(v.redis.retentionHours * 3_600_000), maxPerSeries: v.redis.maxPerSeries, vectorStreamMaxLen: v.redis.vectorStreamMaxLen };
}

export function createRedisStore(v: VehicleConfig, logger: Logger, url = v.redis.url ?? DEFAULT_REDIS_URL): RedisVehicleStore {
  return new RedisVehicleStore({
    ...limitsOf(v),
    url,
    ...(v.redis.password !== undefined ? { password: v.redis.password } : {}),
    keyPrefix: v.redis.keyPrefix,
    channel: v.redis.channel,
    connectTimeoutMs: v.redis.connectTimeoutMs,
    commandTimeoutMs: v.redis.commandTimeoutMs,
    logger: logger.child({ module: 'vehicle-store' }),
  });
}

export function createMemoryStore(v: VehicleConfig): MemoryVehicleStore {
  return new MemoryVehicleStore(limitsOf(v));
}

/** A store used only while the primary is unavailable (vehicle.redis.fallbackUrl). */
export class FallbackVehicleStore implements VehicleStore {
  readonly kind = 'redis' as const;

  constructor(
    private readonly primary: VehicleStore,
    private readonly fallback: VehicleStore,
    private readonly logger: Logger,
  ) {}

  get location(): string {
    return `${this.primary.location} (fallback ${this.fallback.location})`;
  }

  private pick(): VehicleStore {
    if (this.primary.available() === true) return this.primary;
    if (this.fallback.available() === true) {
      this.logger.debug('node-local Redis unavailable: using the configured fallback');
      return this.fallback;
    }
    return this.primary;
  }

  available(): true | string {
    const p = this.primary.available();
    if (p === true) return true;
    const f = this.fallback.available();
    return f === true ? true : `${p}; fallback: ${f}`;
  }

  async start(): Promise<void> {
    await Promise.all([this.primary.start(), this.fallback.start()]);
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.close(), this.fallback.close()]);
  }

  appendMeasurements: VehicleStore['appendMeasurements'] = (...a) => this.pick().appendMeasurements(...a);
  publishVectors: VehicleStore['publishVectors'] = (...a) => this.pick().publishVectors(...a);
  getLatestVector: VehicleStore['getLatestVector'] = (...a) => this.pick().getLatestVector(...a);
  setLatestPredictions: VehicleStore['setLatestPredictions'] = (...a) => this.pick().setLatestPredictions(...a);
  getLatestPrediction: VehicleStore['getLatestPrediction'] = (...a) => this.pick().getLatestPrediction(...a);
  listVehicles: VehicleStore['listVehicles'] = (...a) => this.pick().listVehicles(...a);
  listSignals: VehicleStore['listSignals'] = (...a) => this.pick().listSignals(...a);
  latestMeasurements: VehicleStore['latestMeasurements'] = (...a) => this.pick().latestMeasurements(...a);
  series: VehicleStore['series'] = (...a) => this.pick().series(...a);
  journaledVectors: VehicleStore['journaledVectors'] = (...a) => this.pick().journaledVectors(...a);
  ackJournaled: VehicleStore['ackJournaled'] = (...a) => this.pick().ackJournaled(...a);
  deadLetterVectors: VehicleStore['deadLetterVectors'] = (...a) => this.pick().deadLetterVectors(...a);
  deadLetters: VehicleStore['deadLetters'] = (...a) => this.pick().deadLetters(...a);
}

/** The node-local Redis store (plus the fallback when configured). */
export function createNodeStore(v: VehicleConfig, logger: Logger): VehicleStore {
  const primary = createRedisStore(v, logger);
  if (!v.redis.fallbackUrl) return primary;
  return new FallbackVehicleStore(primary, createRedisStore(v, logger, v.redis.fallbackUrl), logger);
}

/** Starts the store first and closes it last (put it first in the component list). */
export function storeComponent(store: VehicleStore): Component {
  return {
    name: `vehicle-store-${store.kind}`,
    start: () => store.start(),
    stop: () => store.close(),
    ready: () => store.available(),
  };
}

export interface ApiParts {
  store: VehicleStore;
  ingest: IngestService;
  forwarder?: VectorForwarder;
  component: Component;
}

/** The Vehicle API on a store, forwarding to `forwardTo` (push mode) when given. */
export function buildVehicleApi(o: {
  v: VehicleConfig;
  store: VehicleStore;
  logger: Logger;
  catalog?: SignalCatalog;
  forwardTo?: Transport[];
}): ApiParts {
  const logger = o.logger.child({ component: 'vehicle-api' });
  const forwarder = o.forwardTo && o.forwardTo.length > 0
    ? new VectorForwarder(o.forwardTo, {
        batchSize: o.v.inference.batchSize,
        concurrency: o.v.inference.concurrency,
        maxQueue: o.v.inference.maxQueue,
        retryMs: o.v.inference.retryMs,
        logger,
        onPredictions: (p) => o.store.setLatestPredictions(p),
        journal: {
          pending: () => o.store.journaledVectors(Number.MAX_SAFE_INTEGER),
          ack: (vectors) => o.store.ackJournaled(vectors),
          deadLetter: (vectors, reason) => o.store.deadLetterVectors(vectors, reason),
        },
      })
    : undefined;
  const catalog = o.catalog ?? defaultCatalog;
  const ingest = new IngestService({ cfg: o.v, store: o.store, catalog, logger, ...(forwarder ? { forwarder } : {}) });
  const api = createVehicleApi({ cfg: o.v, store: o.store, ingest, catalog, logger });
  const component: Component = {
    ...api,
    async start() {
      await api.start?.();
      // what a previous process accepted and had not forwarded goes first (retried in the background while Redis is down)
      if (forwarder) void forwarder.recover();
    },
    async stop() {
      await api.stop?.();
      await forwarder?.stop(o.v.inference.timeoutMs);
    },
  };
  return { store: o.store, ingest, ...(forwarder ? { forwarder } : {}), component };
}

/** HTTP transports to the node-local predictor, then the configured fallbacks. */
export function predictorTransports(v: VehicleConfig): Transport[] {
  const opts = { protocol: v.inference.protocol, ...(v.inference.model ? { model: v.inference.model } : {}) };
  return [v.inference.url, ...v.inference.fallbackUrls].map((u) => httpTransport(u, v.inference.timeoutMs, opts));
}

export interface PredictorParts {
  predictor: VehiclePredictor;
  stage?: VehiclePullStage;
  component: Component;
}

/** push, or pull (the vector stream); the former pull modes `subscribe` and `poll` are pull. */
export type PredictorMode = 'push' | 'pull';

export function predictorModeOf(mode: string): PredictorMode {
  return mode === 'push' ? 'push' : 'pull';
}

/** The predictor component: push endpoints, or the pull stage on the node-local fabric (the vector stream). */
export function buildVehiclePredictor(o: {
  v: VehicleConfig;
  /** push | pull (subscribe and poll: pull). */
  mode: PredictorMode | 'subscribe' | 'poll';
  model: VehicleModel;
  sink: PredictionSink;
  logger: Logger;
  /** Pull mode: keeps each vehicle's latest prediction (in push mode the API does it). */
  store?: VehicleStore;
  /** Pull mode: the node-local fabric (default: Redis Streams on vehicle.redis.url). */
  fabric?: Fabric;
  /** Reloads the model on SIGHUP (the role: from the artifact file, or the registry). */
  reloadModel?: () => VehicleModel | Promise<VehicleModel>;
  /** Serve POST /v1/vehicle/predict and POST /v2/models/{name}/infer (default: in push mode). */
  serveEndpoint?: boolean;
}): PredictorParts {
  const mode = predictorModeOf(o.mode);
  const logger = o.logger.child({ component: 'vehicle-predictor', mode });
  const predictor = new VehiclePredictor({ model: o.model, sink: o.sink, logger, ...(mode === 'pull' && o.store ? { latestStore: o.store } : {}) });
  let stage: VehiclePullStage | undefined;
  let ownFabric: Fabric | undefined;
  if (mode === 'pull') {
    const fabric = o.fabric ?? (ownFabric = createVectorFabric({
      // the node-local Redis the store uses (a store made for another URL, e.g. a test's, says which)
      url: (o.store instanceof RedisVehicleStore ? o.store.connectionUrl : undefined) ?? o.v.redis.url ?? DEFAULT_REDIS_URL,
      ...(o.v.redis.password !== undefined ? { password: o.v.redis.password } : {}),
      keyPrefix: o.v.redis.keyPrefix,
      vectorStreamMaxLen: o.v.redis.vectorStreamMaxLen,
      connectTimeoutMs: o.v.redis.connectTimeoutMs,
      ...(o.v.predictor.consumer ? { consumer: o.v.predictor.consumer } : {}),
      batchSize: o.v.predictor.batchSize,
      blockMs: o.v.predictor.pollIntervalMs,
      logger,
    }));
    stage = new VehiclePullStage({ fabric, topic: vectorTopic(o.v.redis.keyPrefix), group: o.v.predictor.group, predictor, logger });
  }
  const ready = () => stage?.ready() ?? true;
  const component: Component = {
    name: `vehicle-predictor-${mode}`,
    routes: (app) => {
      const predict = o.serveEndpoint ?? mode === 'push';
      registerPredictJson(app, predictor, logger, { predict });
      registerPredictV2(app, predictor, logger, { predict, ready });
    },
    async start() {
      logger.info({ model: o.model.name, version: o.model.version, sink: o.sink.name }, 'vehicle predictor starting');
      await stage?.start();
    },
    async stop() {
      await stage?.stop();
      await ownFabric?.close();
      await predictor.close();
    },
    ready,
    async reload() {
      if (o.reloadModel) predictor.setModel(await o.reloadModel());
    },
  };
  return { predictor, ...(stage ? { stage } : {}), component };
}

/** The prediction sink for a config: InfluxDB when influx.url is set, else the embedded store, else none. */
export function createPredictionSink(cfg: AppConfig, logger: Logger, opts: { store?: TimeSeriesStore; influxWriter?: PointWriter } = {}): PredictionSink {
  if (opts.influxWriter) return new InfluxPredictionSink(opts.influxWriter, false);
  if (cfg.influx.url) return new InfluxPredictionSink(new InfluxWriter({ ...cfg.influx, url: cfg.influx.url }, logger.child({ module: 'influx' }), { name: 'vehicle' }), true);
  if (opts.store) return new StoragePredictionSink(opts.store);
  return new NullPredictionSink();
}

export interface VehicleComponentsOptions {
  cfg: AppConfig;
  logger: Logger;
  /** Embedded storage for predictions when InfluxDB is not configured. */
  store?: TimeSeriesStore;
  /** Share an InfluxDB writer with the telemetry pipeline (else one is made when influx.url is set). */
  influxWriter?: PointWriter;
  /** Override the vehicle store (default: Redis when vehicle.redis.url / REDIS_URL is set, else in-process). */
  vehicleStore?: VehicleStore;
  /** Told of every scored vector once its sink has it (the web UI's live hub, src/ui/). */
  onScored?: (items: readonly Scored[]) => void;
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

/**
 * The vehicle pipeline for `wattflow up`: vehicle store, predictor (push, called in-process)
 * and Vehicle API, in start order. The model is `vehicle.model.path` (default
 * <storage.dir>/vehicle-model.json), trained from the bundled demo logs when that file does not
 * exist.
 */
export function createVehicleComponents(o: VehicleComponentsOptions): Component[] {
  const v = vehicleConfigOf(o.cfg);
  const logger = o.logger.child({ pipeline: 'vehicle' });
  const store = o.vehicleStore ?? (v.redis.url ? createNodeStore(v, logger) : createMemoryStore(v));
  const modelPath = modelPathOf(o.cfg, v);
  const model = loadOrTrainDemoModel(modelPath, v.alignment, logger, v.model.demoData);
  const written = createPredictionSink(o.cfg, logger, { ...(o.store ? { store: o.store } : {}), ...(o.influxWriter ? { influxWriter: o.influxWriter } : {}) });
  const sink = o.onScored ? tappedSink(written, o.onScored) : written;
  const pred = buildVehiclePredictor({
    v,
    mode: 'push',
    model,
    sink,
    logger,
    store,
    serveEndpoint: true,
    ...(modelPath ? { reloadModel: () => loadVehicleModel(modelPath) } : {}),
  });
  const api = buildVehicleApi({ v, store, logger, forwardTo: [inProcessTransport((vectors) => pred.predictor.predict(vectors))] });
  logger.info({ store: store.location, sink: sink.name, model: model.version }, 'vehicle pipeline: API + predictor (push, in-process)');
  return [storeComponent(store), pred.component, api.component];
}

/** The Vehicle API component: ingest service and routes on a store, forwarding to the predictor in push mode. */
import type { Component } from '../../core/component.js';
import type { Logger } from '../../core/logger.js';
import { createVehicleApi } from '../api/routes.js';
import { defaultCatalog, type SignalCatalog } from '../catalog/signals.js';
import type { VehicleConfig } from '../config.js';
import { VectorForwarder, type Transport } from '../ingest/forwarder.js';
import { httpTransport } from '../ingest/predictor-transport.js';
import { IngestService } from '../ingest/ingest-service.js';
import type { VehicleStore } from '../store/store.js';
import { createMemoryStore, createNodeStore, storeComponent } from './stores.js';

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

/** The vehicle-api role's components: its store (node-local Redis, or in-process with `memory`) and the API, forwarding in push mode. */
export function vehicleApiComponents(v: VehicleConfig, logger: Logger, o: { memory?: boolean } = {}): Component[] {
  const store = o.memory ? createMemoryStore(v) : createNodeStore(v, logger);
  const api = buildVehicleApi({ v, store, logger, ...(v.inference.mode === 'push' ? { forwardTo: predictorTransports(v) } : {}) });
  logger.info({ store: store.location, mode: v.inference.mode, predictor: v.inference.mode === 'push' ? v.inference.url : undefined }, 'vehicle-api');
  return [storeComponent(store), api.component];
}

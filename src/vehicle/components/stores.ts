/**
 * The vehicle store for a configuration: the node-local Redis (plus the configured fallback),
 * or the in-process store; and the component that starts it first and closes it last.
 */
import type { Component } from '../../core/component.js';
import type { Logger } from '../../core/logger.js';
import type { VehicleConfig } from '../config.js';
import { MemoryVehicleStore } from '../store/memory-store.js';
import { RedisVehicleStore } from '../store/redis-store.js';
import type { StoreLimits, VehicleStore } from '../store/store.js';

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

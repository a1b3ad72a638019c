/**
 * Shared helpers of the vehicle tests: fixture paths, unique ids per run (tests share one Redis
 * and one InfluxDB), configuration with overrides, a vector builder, and polling until a
 * condition holds.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
export { waitFor } from '../helpers/wait-for.js';
import type { AlignedVector } from '../../src/vehicle/align/vector.js';
import type { RedisVehicleStore } from '../../src/vehicle/store/redis-store.js';
import { defaultVehicleConfig, type VehicleConfig } from '../../src/vehicle/config.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/vehicle/', import.meta.url));
export const DS1 = `${FIXTURES}DS1_stopped_with_ignition_on_25Jan24_124019.csv`;
export const DS2 = `${FIXTURES}DS2_national_road_90km_h_max_25Jan24_153019.csv`;
/** Samples in the reference logs (pairs with both cells filled). */
export const DS1_MEASUREMENTS = 5376;
export const DS2_MEASUREMENTS = 5772;

/** A short random id unique to this test run. */
export function uid(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

/** The vehicle defaults with overrides merged per section. */
export function vehicleCfg(over: DeepPartial<VehicleConfig> = {}): VehicleConfig {
  const base = defaultVehicleConfig() as unknown as Record<string, Record<string, unknown>>;
  for (const [section, values] of Object.entries(over as Record<string, Record<string, unknown>>)) {
    base[section] = { ...base[section], ...values };
    if (section === 'api' && values.rateLimit) base.api!.rateLimit = { ...(defaultVehicleConfig().api.rateLimit), ...(values.rateLimit as object) };
  }
  return base as unknown as VehicleConfig;
}

export function vector(values: Record<string, number | null>, opts: Partial<AlignedVector> = {}): AlignedVector {
  const ts = opts.ts ?? 1_700_000_000_000;
  const sourceTs: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) if (v !== null) sourceTs[k] = ts;
  return {
    vehicleId: 'v1',
    ts,
    seq: 1,
    values,
    sourceTs: opts.sourceTs ?? sourceTs,
    missing: Object.entries(values).filter(([, v]) => v === null).map(([k]) => k),
    filled: [],
    outOfRange: [],
    flags: [],
    ...opts,
  };
}


/** Deletes this run's keys (SCAN on the prefix). */
export async function deleteKeys(store: RedisVehicleStore, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await store.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await store.redis.del(...keys);
  } while (cursor !== '0');
}

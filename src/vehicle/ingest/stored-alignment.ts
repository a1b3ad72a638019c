/**
 * What a vehicle's alignment is rebuilt from (after a failed announce, a restart or an
 * eviction): its restore point — the last tick known announced, its sequence number and the
 * signals its vectors list — and the stored measurements from `maxAgeMs` before it on.
 */
import type { SignalCatalog } from '../catalog/signals.js';
import type { VehicleConfig } from '../config.js';
import type { VehicleStore } from '../store/store.js';

export interface RestorePoint {
  tick: number;
  seq: number;
  signals: string[];
}

/** A rebuilt vehicle: the stored measurements that went into its state (`signal|ms`), and the tick it resumed after. */
export interface Resumed {
  replayed: Set<string>;
  tick: number | undefined;
}

export interface StoredAlignment {
  point: RestorePoint | undefined;
  /** Signals the rebuilt state lists (the point's and those with stored measurements). */
  listed: Set<string>;
  samples: Array<{ signal: string; tsMs: number; value: number; flagged: boolean }>;
  replayed: Set<string>;
}

export const sampleKey = (signal: string, tsMs: number): string => `${signal}|${tsMs}`;

/** Reads a vehicle's restore point (`wanted`, else its latest stored vector) and the measurements to replay from it. */
export async function readStoredAlignment(
  store: VehicleStore,
  catalog: SignalCatalog,
  cfg: Pick<VehicleConfig, 'alignment' | 'redis'>,
  vehicleId: string,
  wanted: RestorePoint | undefined,
): Promise<StoredAlignment> {
  const [latest, signals] = await Promise.all([wanted ? undefined : store.getLatestVector(vehicleId), store.listSignals(vehicleId)]);
  const point: RestorePoint | undefined = wanted ?? (latest ? { tick: latest.ts, seq: latest.seq, signals: Object.keys(latest.values) } : undefined);
  // aligned signals only (kept unknown ones are stored raw, never aligned); from maxAge before the point: what can still be carried
  const aligned = signals.filter((s) => catalog.byIdOf(s) !== undefined);
  const from = point ? point.tick - cfg.alignment.maxAgeMs : -Infinity;
  const series = await Promise.all(aligned.map((s) => store.series(vehicleId, s, from, Infinity, cfg.redis.maxPerSeries)));
  const replayed = new Set<string>();
  const samples: StoredAlignment['samples'] = [];
  const listed = new Set(point?.signals ?? []);
  series.forEach((points, i) => {
    const signal = aligned[i]!;
    if (points.length > 0) listed.add(signal);
    for (const p of points) {
      samples.push({ signal, tsMs: p.ts, value: p.value, flagged: p.flagged === true });
      replayed.add(sampleKey(signal, p.ts));
    }
  });
  return { point, listed, samples, replayed };
}

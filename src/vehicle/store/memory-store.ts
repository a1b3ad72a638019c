/**
 * In-process adapter of the vehicle store (what `wattflow up` uses when REDIS_URL is not set,
 * and the unit tests): the same semantics as the Redis adapter — idempotent appends with
 * duplicate/conflict/expired statuses, retention by age and count, latest vector and
 * prediction, the forward journal and dead letters — held in memory (lost on restart). The
 * vector stream and announcements are Redis's alone (a pull-mode predictor needs Redis).
 */
import type { AlignedVector } from '../align/vector.js';
import type { VehiclePrediction } from '../predictor/prediction.js';
import { byTickThenVehicle, journalField, type AppendStatus, type DeadLetter, type RawMeasurement, type SeriesPoint, type StoreLimits, type VehicleStore } from './store.js';

class Series {
  ts: number[] = [];
  values: number[] = [];
  flagged: boolean[] = [];

  /** Index of the first element with ts ≥ t. */
  lowerBound(t: number): number {
    let lo = 0;
    let hi = this.ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get newest(): number | undefined {
    return this.ts[this.ts.length - 1];
  }

  trim(cutoff: number, cap: number): void {
    let drop = this.lowerBound(cutoff);
    drop = Math.max(drop, this.ts.length - cap);
    if (drop > 0) {
      this.ts.splice(0, drop);
      this.values.splice(0, drop);
      this.flagged.splice(0, drop);
    }
  }
}

interface VehicleEntry {
  signals: Map<string, Series>;
  latest?: AlignedVector;
  prediction?: VehiclePrediction;
}

export class MemoryVehicleStore implements VehicleStore {
  readonly kind = 'memory' as const;
  readonly location = 'in-process';
  private readonly vehicles = new Map<string, VehicleEntry>();
  private readonly journal = new Map<string, AlignedVector>();
  private dead: DeadLetter[] = [];

  constructor(private readonly limits: StoreLimits) {}

  available(): true {
    return true;
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {}

  private vehicle(id: string): VehicleEntry {
    let v = this.vehicles.get(id);
    if (!v) this.vehicles.set(id, (v = { signals: new Map() }));
    return v;
  }

  async appendMeasurements(vehicleId: string, items: readonly RawMeasurement[]): Promise<AppendStatus[]> {
    const veh = this.vehicle(vehicleId);
    const newest = new Map<string, number>();
    for (const m of items) newest.set(m.signal, Math.max(newest.get(m.signal) ?? -Infinity, m.tsMs));
    const cutoff = new Map<string, number>();
    for (const [sig, ts] of newest) {
      const s = veh.signals.get(sig);
      cutoff.set(sig, Math.max(ts, s?.newest ?? -Infinity) - this.limits.retentionMs);
    }
    const out: AppendStatus[] = [];
    for (const m of items) {
      if (m.tsMs < cutoff.get(m.signal)!) {
        out.push('expired');
        continue;
      }
      let s = veh.signals.get(m.signal);
      if (!s) veh.signals.set(m.signal, (s = new Series()));
      const i = s.lowerBound(m.tsMs);
      if (s.ts[i] === m.tsMs) {
        out.push(s.values[i] === m.value && s.flagged[i] === m.flagged ? 'duplicate' : 'conflict');
        continue;
      }
      s.ts.splice(i, 0, m.tsMs);
      s.values.splice(i, 0, m.value);
      s.flagged.splice(i, 0, m.flagged);
      out.push('stored');
    }
    for (const [sig, c] of cutoff) veh.signals.get(sig)?.trim(c, this.limits.maxPerSeries);
    return out;
  }

  async publishVectors(vectors: readonly AlignedVector[], opts: { journal?: boolean } = {}): Promise<void> {
    if (opts.journal) for (const v of vectors) this.journal.set(journalField(v), v);
    for (const v of vectors) {
      const veh = this.vehicle(v.vehicleId);
      if (!veh.latest || v.ts >= veh.latest.ts) veh.latest = v;
    }
  }

  async journaledVectors(limit: number): Promise<AlignedVector[]> {
    return [...this.journal.values()].sort(byTickThenVehicle).slice(0, limit);
  }

  async ackJournaled(vectors: readonly AlignedVector[]): Promise<void> {
    for (const v of vectors) this.journal.delete(journalField(v));
  }

  async deadLetterVectors(vectors: readonly AlignedVector[], reason: string): Promise<void> {
    const atMs = Date.now();
    for (const vector of vectors) this.dead.push({ vector, reason, atMs });
    if (this.dead.length > this.limits.vectorStreamMaxLen) this.dead = this.dead.slice(this.dead.length - this.limits.vectorStreamMaxLen);
    await this.ackJournaled(vectors);
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    return this.dead.slice(-limit).reverse();
  }

  async getLatestVector(vehicleId: string): Promise<AlignedVector | undefined> {
    return this.vehicles.get(vehicleId)?.latest;
  }

  async setLatestPredictions(predictions: readonly VehiclePrediction[]): Promise<void> {
    for (const p of predictions) {
      const veh = this.vehicle(p.vehicleId);
      if (!veh.prediction || p.ts >= veh.prediction.ts) veh.prediction = p;
    }
  }

  async getLatestPrediction(vehicleId: string): Promise<VehiclePrediction | undefined> {
    return this.vehicles.get(vehicleId)?.prediction;
  }

  async listVehicles(): Promise<string[]> {
    return [...this.vehicles.keys()].sort();
  }

  async listSignals(vehicleId: string): Promise<string[]> {
    return [...(this.vehicles.get(vehicleId)?.signals.keys() ?? [])].sort();
  }

  async latestMeasurements(vehicleId: string): Promise<Record<string, SeriesPoint>> {
    const out: Record<string, SeriesPoint> = {};
    for (const [sig, s] of this.vehicles.get(vehicleId)?.signals ?? []) {
      const i = s.ts.length - 1;
      if (i >= 0) out[sig] = point(s, i);
    }
    return out;
  }

  async series(vehicleId: string, signal: string, fromMs: number, toMs: number, limit: number): Promise<SeriesPoint[]> {
    const s = this.vehicles.get(vehicleId)?.signals.get(signal);
    if (!s) return [];
    const lo = s.lowerBound(fromMs);
    let hi = s.lowerBound(toMs);
    if (s.ts[hi] === toMs) hi++;
    const start = Math.max(lo, hi - limit);
    const out: SeriesPoint[] = [];
    for (let i = start; i < hi; i++) out.push(point(s, i));
    return out;
  }
}

function point(s: Series, i: number): SeriesPoint {
  return s.flagged[i] ? { ts: s.ts[i]!, value: s.values[i]!, flagged: true } : { ts: s.ts[i]!, value: s.values[i]! };
}

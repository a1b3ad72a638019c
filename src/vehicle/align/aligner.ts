/**
 * Per-vehicle alignment of measurements into feature vectors on a fixed cadence.
 *
 * Ticks fall on multiples of the cadence on the data's clock (measurement time stamps, not the
 * wall clock), so a replay gives the same vectors at any speed. For tick t each signal takes
 * the newest measurement with time stamp ≤ t (last value carried forward) when it is at most
 * `maxAgeMs` old, else it is explicitly missing (null). A tick is emitted once the vehicle's
 * newest time stamp (its watermark) is `latenessMs` past it, so measurements of different
 * signals arriving slightly out of order still land in the right vector; a vehicle that goes
 * quiet has its pending ticks emitted by `flushIdle`. Ticks at which every signal is missing
 * are skipped (a long gap produces at most maxAge/cadence vectors, not one per tick).
 * Measurements at or before the last emitted tick are "late": they do not change emitted
 * vectors but are carried forward from the next tick on.
 */
import type { AlignmentConfig } from '../config.js';
import type { AlignedVector } from './vector.js';

export interface AlignInput {
  signal: string;
  value: number;
  tsMs: number;
  flagged?: boolean;
}

interface Sample {
  ts: number;
  value: number;
  flagged: boolean;
}

interface SignalState {
  carried: Sample | undefined;
  /** Samples newer than the last emitted tick, sorted by time stamp. */
  pending: Sample[];
}

interface VehicleState {
  id: string;
  signals: Map<string, SignalState>;
  lastTick: number | undefined;
  watermark: number;
  seq: number;
  /** Wall clock of the last push (idle flush, eviction). */
  lastArrival: number;
}

export interface PushResult {
  vectors: AlignedVector[];
  /** Measurements at or before the last emitted tick. */
  late: number;
}

export class FleetAligner {
  private readonly vehicles = new Map<string, VehicleState>();
  readonly cadence: number;

  constructor(
    private readonly cfg: Pick<AlignmentConfig, 'cadenceMs' | 'maxAgeMs' | 'latenessMs'>,
    /** Called on each vector before it is returned (plausibility flags). */
    private readonly decorate?: (v: AlignedVector) => void,
  ) {
    this.cadence = cfg.cadenceMs;
  }

  has(vehicleId: string): boolean {
    return this.vehicles.has(vehicleId);
  }

  get size(): number {
    return this.vehicles.size;
  }

  /** Resumes a vehicle from its last stored vector (after a restart). No-op when already known. */
  restore(v: AlignedVector): void {
    if (this.vehicles.has(v.vehicleId)) return;
    const st = this.state(v.vehicleId, Date.now());
    for (const [signal, value] of Object.entries(v.values)) {
      const ts = v.sourceTs[signal];
      st.signals.set(signal, { carried: value !== null && ts !== undefined ? { ts, value, flagged: v.outOfRange.includes(signal) } : undefined, pending: [] });
    }
    st.lastTick = v.ts;
    st.watermark = v.ts;
    st.seq = v.seq;
  }

  /**
   * Rebuilds a vehicle's state from what the store holds (after an announce failed, after a
   * restart, after eviction), replacing any state it had: `point` is the last tick known to be
   * announced and its sequence number (undefined: none — every sample is pending), `signals` the
   * signals its vectors list, `samples` the stored measurements from `point.tick - maxAgeMs` on
   * (oldest first per signal). Samples at or before the tick become the carried values (newest
   * wins, as late measurements do), later ones are pending: the next push or flush emits the
   * ticks after `point` exactly as an aligner that had never lost its state would. Emits nothing.
   */
  rebuild(vehicleId: string, point: { tick: number; seq: number } | undefined, signals: Iterable<string>, samples: Iterable<AlignInput>, nowWall = Date.now()): void {
    this.vehicles.delete(vehicleId);
    const st = this.state(vehicleId, nowWall);
    for (const s of signals) st.signals.set(s, { carried: undefined, pending: [] });
    if (point) {
      st.lastTick = point.tick;
      st.watermark = point.tick;
      st.seq = point.seq;
    }
    for (const m of samples) {
      let sig = st.signals.get(m.signal);
      if (!sig) st.signals.set(m.signal, (sig = { carried: undefined, pending: [] }));
      const sample: Sample = { ts: m.tsMs, value: m.value, flagged: m.flagged ?? false };
      if (point && m.tsMs <= point.tick) {
        if (!sig.carried || m.tsMs > sig.carried.ts) sig.carried = sample;
        continue;
      }
      insertSorted(sig.pending, sample);
      if (m.tsMs > st.watermark) st.watermark = m.tsMs;
    }
  }

  /** Drops a vehicle's state (it is rebuilt from the store before its next push). */
  forget(vehicleId: string): void {
    this.vehicles.delete(vehicleId);
  }

  push(vehicleId: string, items: readonly AlignInput[], nowWall = Date.now()): PushResult {
    const st = this.state(vehicleId, nowWall);
    st.lastArrival = nowWall;
    let late = 0;
    for (const m of items) {
      let sig = st.signals.get(m.signal);
      if (!sig) st.signals.set(m.signal, (sig = { carried: undefined, pending: [] }));
      const sample: Sample = { ts: m.tsMs, value: m.value, flagged: m.flagged ?? false };
      if (st.lastTick !== undefined && m.tsMs <= st.lastTick) {
        late++;
        if (!sig.carried || m.tsMs > sig.carried.ts) sig.carried = sample;
        continue;
      }
      insertSorted(sig.pending, sample);
      if (m.tsMs > st.watermark) st.watermark = m.tsMs;
    }
    const vectors = this.emitUpTo(st, st.watermark - this.cfg.latenessMs);
    return { vectors, late };
  }

  /** Emits the pending ticks (up to the watermark) of vehicles quiet for at least `idleMs`. */
  flushIdle(idleMs: number, nowWall = Date.now()): AlignedVector[] {
    const out: AlignedVector[] = [];
    for (const st of this.vehicles.values()) {
      if (nowWall - st.lastArrival >= idleMs) out.push(...this.emitUpTo(st, st.watermark));
    }
    return out;
  }

  /** Emits every pending tick up to the watermark (one vehicle, or all). */
  flush(vehicleId?: string): AlignedVector[] {
    const out: AlignedVector[] = [];
    for (const st of this.vehicles.values()) if (vehicleId === undefined || st.id === vehicleId) out.push(...this.emitUpTo(st, st.watermark));
    return out;
  }

  /**
   * Forgets vehicles quiet for `idleMs` (wall clock; they resume from their last vector via
   * restore()); returns their ids. Samples after the last tick are dropped with them: with
   * idleMs well above maxAgeMs they could not be carried into a later tick anyway.
   */
  evictIdle(idleMs: number, nowWall = Date.now()): string[] {
    const out: string[] = [];
    for (const [id, st] of this.vehicles) {
      if (nowWall - st.lastArrival < idleMs) continue;
      this.vehicles.delete(id);
      out.push(id);
    }
    return out;
  }

  private state(id: string, nowWall: number): VehicleState {
    let st = this.vehicles.get(id);
    if (!st) {
      st = { id, signals: new Map(), lastTick: undefined, watermark: -Infinity, seq: 0, lastArrival: nowWall };
      this.vehicles.set(id, st);
    }
    return st;
  }

  private earliestPending(st: VehicleState): number | undefined {
    let min: number | undefined;
    for (const s of st.signals.values()) {
      const first = s.pending[0];
      if (first && (min === undefined || first.ts < min)) min = first.ts;
    }
    return min;
  }

  private emitUpTo(st: VehicleState, limit: number): AlignedVector[] {
    const out: AlignedVector[] = [];
    const C = this.cadence;
    for (;;) {
      let t: number;
      if (st.lastTick === undefined) {
        const first = this.earliestPending(st);
        if (first === undefined) break;
        t = Math.ceil(first / C) * C;
      } else t = st.lastTick + C;
      if (t > limit) break;
      const v = this.buildAt(st, t);
      st.lastTick = t;
      if (v) {
        out.push(v);
        continue;
      }
      // nothing present at t: skip ahead to the tick covering the next pending sample
      const next = this.earliestPending(st);
      if (next === undefined) {
        st.lastTick = Math.max(t, Math.floor(limit / C) * C);
        break;
      }
      // (never past the limit: later samples inside the lateness window must not count as late)
      const jump = Math.min(Math.ceil(next / C) * C - C, Math.floor(limit / C) * C);
      if (jump > t) st.lastTick = jump;
    }
    return out;
  }

  private buildAt(st: VehicleState, t: number): AlignedVector | undefined {
    const values: Record<string, number | null> = {};
    const sourceTs: Record<string, number> = {};
    const missing: string[] = [];
    const filled: string[] = [];
    const outOfRange: string[] = [];
    let present = 0;
    for (const [signal, s] of st.signals) {
      let k = 0;
      while (k < s.pending.length && s.pending[k]!.ts <= t) k++;
      if (k > 0) {
        const newest = s.pending[k - 1]!;
        if (!s.carried || newest.ts >= s.carried.ts) s.carried = newest;
        s.pending.splice(0, k);
      }
      const c = s.carried;
      if (c && t - c.ts <= this.cfg.maxAgeMs) {
        values[signal] = c.value;
        sourceTs[signal] = c.ts;
        if (c.ts <= t - this.cadence) filled.push(signal);
        if (c.flagged) outOfRange.push(signal);
        present++;
      } else {
        values[signal] = null;
        missing.push(signal);
      }
    }
    if (present === 0) return undefined;
    st.seq++;
    const v: AlignedVector = { vehicleId: st.id, ts: t, seq: st.seq, values, sourceTs, missing, filled, outOfRange, flags: [] };
    this.decorate?.(v);
    return v;
  }
}

function insertSorted(arr: Sample[], s: Sample): void {
  let i = arr.length;
  while (i > 0 && arr[i - 1]!.ts > s.ts) i--;
  arr.splice(i, 0, s);
}

/**
 * The Vehicle API's processing of one ingest request, independent of HTTP: validate the
 * measurements, append the valid ones to the vehicle store (stored before the result is
 * returned; duplicates idempotent), align the newly stored ones into vectors (plausibility flags
 * on each), persist and announce the vectors, and hand them to the predictor (push mode). A
 * timer emits the pending vectors of vehicles that went quiet. A vehicle whose announce failed,
 * or that the aligner does not hold, is rebuilt from the stored measurements
 * (stored-alignment.ts; why: docs/vehicle.md, "Announce failures").
 */
import type { Logger } from '../../core/logger.js';
import { FleetAligner } from '../align/aligner.js';
import { PlausibilityEngine } from '../align/plausibility.js';
import type { AlignedVector } from '../align/vector.js';
import type { SignalCatalog } from '../catalog/signals.js';
import type { VehicleConfig } from '../config.js';
import {
  flagsTotal,
  flaggedTotal,
  lateTotal,
  measurementsTotal,
  rejectionsTotal,
  vectorsTotal,
  vectorsUnannounced,
  vehiclesRecomputing,
} from '../metrics.js';
import type { VehicleStore } from '../store/store.js';
import type { VectorForwarder } from './forwarder.js';
import { formatTs, validateMeasurements, type FlagNote, type Measurement, type Rejection } from './measurements.js';
import { readStoredAlignment, sampleKey, type RestorePoint, type Resumed } from './stored-alignment.js';

export interface IngestResult {
  vehicleId: string;
  /** Measurements stored now or already stored (idempotent retries). */
  accepted: number;
  rejected: number;
  /** Accepted measurements that were already stored (same signal, time stamp and value). */
  duplicates: number;
  /** Accepted measurements outside their valid range, stored flagged. */
  flagged: number;
  /** Accepted measurements older than the vehicle's last emitted vector. */
  late: number;
  /** Vectors emitted by this request. */
  vectors: number;
  rejections: Rejection[];
  flags: FlagNote[];
}

export interface IngestOptions {
  cfg: VehicleConfig;
  store: VehicleStore;
  catalog: SignalCatalog;
  logger: Logger;
  /** Push mode: where new vectors go. */
  forwarder?: VectorForwarder;
}

/** Vehicles quiet this long (wall clock) are dropped from the aligner (resumed from the store). */
const EVICT_AFTER_MS = 15 * 60_000;
/** Vehicles rebuilt from the store at once by the recovery timer. */
const RECOVER_CONCURRENCY = 32;


/** The store refused or failed a write: the request may be retried (503), unlike a bug in this code (500). */
export class StoreError extends Error {
  constructor(override readonly cause: unknown) {
    super((cause as Error)?.message ?? String(cause));
    this.name = 'StoreError';
  }
}

export class IngestService {
  readonly aligner: FleetAligner;
  readonly plausibility: PlausibilityEngine;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /**
   * Vehicles whose vectors must be recomputed from the store: the restore point before their
   * first unannounced vector, or null (from their latest vector in the store).
   */
  private readonly recompute = new Map<string, RestorePoint | null>();
  /** Rebuilds in progress, one per vehicle (concurrent requests share it). */
  private readonly resuming = new Map<string, Promise<Resumed | undefined>>();
  /** The start-up sweep (every vehicle of the store) has still to be listed. */
  private sweepPending = false;

  constructor(private readonly o: IngestOptions) {
    this.plausibility = new PlausibilityEngine(o.cfg.plausibility);
    this.aligner = new FleetAligner(o.cfg.alignment, (v) => this.plausibility.apply(v));
  }

  /** true, or why ingest must answer 503 (node-local Redis or predictor unavailable). */
  available(): { ok: true } | { ok: false; dependency: 'redis' | 'inference'; reason: string } {
    const s = this.o.store.available();
    if (s !== true) return { ok: false, dependency: 'redis', reason: s };
    const f = this.o.forwarder?.available() ?? true;
    if (f !== true) return { ok: false, dependency: 'inference', reason: f };
    return { ok: true };
  }

  async ingest(vehicleId: string, items: readonly unknown[]): Promise<IngestResult> {
    const api = this.o.cfg.api;
    const { valid, rejections, flags } = validateMeasurements(items, {
      catalog: this.o.catalog,
      unknownSignals: api.unknownSignals,
      outOfRange: api.outOfRange,
      maxFutureSkewMs: api.maxFutureSkewMs,
    });
    // a vehicle the aligner does not hold is rebuilt from the store, concurrently with the append
    const resume = this.aligner.has(vehicleId) ? undefined : this.resume(vehicleId);
    const statuses = await this.o.store.appendMeasurements(vehicleId, valid).catch((err: unknown) => {
      throw new StoreError(err);
    });
    let duplicates = 0;
    const stored: Measurement[] = [];
    const dropped = new Set<number>();
    statuses.forEach((st, i) => {
      const m = valid[i]!;
      if (st === 'stored') stored.push(m);
      else if (st === 'duplicate') duplicates++;
      else {
        dropped.add(m.index);
        rejections.push(
          st === 'conflict'
            ? { index: m.index, signal: m.signal, code: 'conflict', reason: `a different value of ${m.signal} is already stored at ${formatTs(m.tsMs)}` }
            : { index: m.index, signal: m.signal, code: 'expired', reason: `${formatTs(m.tsMs)} is older than the retention window of ${m.signal}` },
        );
      }
    });
    if (dropped.size > 0) rejections.sort((a, b) => a.index - b.index);
    const keptFlags = dropped.size > 0 ? flags.filter((f) => !dropped.has(f.index)) : flags;
    const accepted = valid.length - dropped.size;

    const known = stored.filter((m) => m.known);
    let vectors: AlignedVector[] = [];
    let late = 0;
    let resumed = resume ? await resume : undefined;
    for (let attempt = 0; ; attempt++) {
      // (checked right before the synchronous push: a failed announce may have dropped the state meanwhile)
      if (this.aligner.has(vehicleId)) {
        // measurements the rebuild read from the store are in the state already
        const fresh = resumed ? known.filter((m) => !resumed!.replayed.has(sampleKey(m.signal, m.tsMs))) : known;
        const tick = resumed?.tick;
        if (tick !== undefined && fresh.length < known.length) late += known.filter((m) => m.tsMs <= tick && resumed!.replayed.has(sampleKey(m.signal, m.tsMs))).length;
        const r = this.aligner.push(vehicleId, fresh);
        vectors = r.vectors;
        late += r.late;
        break;
      }
      if (attempt >= 2) {
        this.markRecompute(vehicleId, null);
        break;
      }
      const again = await this.resume(vehicleId);
      // the store could not be read: the measurements are stored, their vectors are recomputed later
      if (!again) break;
      resumed = resumed ? { replayed: new Set([...resumed.replayed, ...again.replayed]), tick: again.tick } : again;
    }
    await this.emit(vectors);

    measurementsTotal.inc({ outcome: 'stored' }, stored.length);
    if (duplicates) measurementsTotal.inc({ outcome: 'duplicate' }, duplicates);
    if (rejections.length) {
      measurementsTotal.inc({ outcome: 'rejected' }, rejections.length);
      for (const r of rejections) rejectionsTotal.inc({ code: r.code });
    }
    if (keptFlags.length) flaggedTotal.inc(keptFlags.length);
    if (late) lateTotal.inc(late);
    return {
      vehicleId,
      accepted,
      rejected: rejections.length,
      duplicates,
      flagged: keptFlags.length,
      late,
      vectors: vectors.length,
      rejections,
      flags: keptFlags,
    };
  }

  /** Rebuilds a vehicle's alignment from the store (one rebuild at a time per vehicle); undefined when the store could not be read (then it is marked for recomputation). */
  private resume(vehicleId: string): Promise<Resumed | undefined> {
    const cur = this.resuming.get(vehicleId);
    if (cur) return cur;
    const p = this.rebuild(vehicleId)
      .catch((err: unknown) => {
        this.markRecompute(vehicleId, null, err);
        return undefined;
      })
      .finally(() => this.resuming.delete(vehicleId));
    this.resuming.set(vehicleId, p);
    return p;
  }

  private async rebuild(vehicleId: string): Promise<Resumed> {
    const wanted = this.recompute.get(vehicleId) ?? undefined;
    const stored = await readStoredAlignment(this.o.store, this.o.catalog, this.o.cfg, vehicleId, wanted);
    // an announce failed meanwhile with an earlier restore point: start over from it
    const now = this.recompute.get(vehicleId) ?? undefined;
    if (now && now !== wanted) return this.rebuild(vehicleId);
    if (this.aligner.has(vehicleId)) return { replayed: new Set(), tick: undefined };
    const { point, listed, samples, replayed } = stored;
    this.aligner.rebuild(vehicleId, point, listed, samples);
    this.plausibility.forget(vehicleId);
    if (this.recompute.delete(vehicleId)) {
      vehiclesRecomputing.set(this.recompute.size);
      // (after a failed announce; vehicles of the start-up sweep are summed up by recoverVehicles)
      if (wanted) this.o.logger.info({ vehicleId, from: new Date(wanted.tick).toISOString(), measurements: samples.length }, 'vehicle vectors recomputed from the stored measurements');
    }
    return { replayed, tick: point?.tick };
  }

  /** Marks a vehicle for recomputation from `point` (or from its latest stored vector); an earlier point wins. */
  private markRecompute(vehicleId: string, point: RestorePoint | null, err?: unknown): void {
    const cur = this.recompute.get(vehicleId);
    if (point && (!cur || point.tick < cur.tick)) this.recompute.set(vehicleId, point);
    else if (cur === undefined) this.recompute.set(vehicleId, null);
    else return;
    vehiclesRecomputing.set(this.recompute.size);
    if (cur === undefined && err !== undefined) this.o.logger.warn({ vehicleId, err: (err as Error)?.message ?? String(err) }, 'could not read the vehicle store to align; the stored measurements are aligned once it is back');
  }

  /** Rebuilds the vehicles marked for recomputation and announces the vectors their stored measurements complete (while the store is available). */
  private async recoverVehicles(): Promise<void> {
    if (this.sweepPending && this.o.store.available() === true) {
      try {
        const ids = await this.o.store.listVehicles();
        this.sweepPending = false;
        for (const id of ids) if (!this.aligner.has(id) && !this.recompute.has(id)) this.recompute.set(id, null);
        vehiclesRecomputing.set(this.recompute.size);
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'could not list the vehicles of the store; retrying');
      }
    }
    const ids = [...this.recompute.keys()];
    let vectors = 0;
    let vehicles = 0;
    for (let i = 0; i < ids.length && this.o.store.available() === true; i += RECOVER_CONCURRENCY) {
      await Promise.all(
        ids.slice(i, i + RECOVER_CONCURRENCY).map(async (id) => {
          if (this.aligner.has(id)) {
            this.recompute.delete(id);
            return;
          }
          if (!(await this.resume(id)) || !this.aligner.has(id)) return;
          // push (nothing new) and announce in one synchronous step, so the order stays the aligner's
          const ready = this.aligner.push(id, []).vectors;
          vehicles++;
          vectors += ready.length;
          await this.emit(ready);
        }),
      );
    }
    vehiclesRecomputing.set(this.recompute.size);
    if (vectors > 0) this.o.logger.info({ vehicles, vectors }, 'announced vectors recomputed from the stored measurements (their announce had failed, or an earlier process never made it)');
  }

  /** Persists, announces and forwards vectors (in order). */
  private async emit(vectors: AlignedVector[]): Promise<void> {
    if (vectors.length === 0) return;
    // store (with the forward journal entry, push mode) and queue for the predictor in the same
    // synchronous step, so the order across concurrent requests is the aligner's
    const persisted = this.o.store.publishVectors(vectors, this.o.forwarder ? { journal: true } : undefined);
    this.o.forwarder?.enqueue(vectors, persisted);
    try {
      await persisted;
      vectorsTotal.inc(vectors.length);
      for (const v of vectors) for (const f of v.flags) flagsTotal.inc({ rule: f.rule });
    } catch (err) {
      // not lost: each vehicle's state is dropped and its vectors, from the first unannounced
      // one on, are recomputed from the stored measurements (next request, or the timer)
      vectorsUnannounced.inc(vectors.length);
      const first = new Map<string, AlignedVector>();
      for (const v of vectors) if (!first.has(v.vehicleId)) first.set(v.vehicleId, v);
      for (const [id, v] of first) {
        this.aligner.forget(id);
        this.plausibility.forget(id);
        this.markRecompute(id, { tick: v.ts - this.aligner.cadence, seq: v.seq - 1, signals: Object.keys(v.values) });
      }
      this.o.logger.warn(
        { err: (err as Error).message, vectors: vectors.length, vehicles: first.size },
        'could not store/announce vectors; the measurements are stored: the vectors are recomputed from them and announced once the store is back',
      );
    }
  }

  /** Emits the pending vectors of vehicles quiet for idleFlushMs; forgets long-quiet vehicles. */
  async flushIdle(now = Date.now()): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = (async () => {
      try {
        await this.recoverVehicles();
        await this.emit(this.aligner.flushIdle(this.o.cfg.alignment.idleFlushMs, now));
        const after = Math.max(EVICT_AFTER_MS, 2 * (this.o.cfg.alignment.maxAgeMs + this.o.cfg.alignment.latenessMs + this.o.cfg.alignment.idleFlushMs));
        for (const id of this.aligner.evictIdle(after, now)) this.plausibility.forget(id);
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  start(): void {
    // ticks an earlier process stored the measurements of but never announced (killed, or the store failed) are announced too
    this.sweepPending = true;
    const every = Math.max(10, Math.min(1000, Math.floor(this.o.cfg.alignment.idleFlushMs / 2)));
    this.timer = setInterval(() => void this.flushIdle().catch((err) => this.o.logger.error({ err }, 'idle flush failed')), every);
    this.timer.unref();
  }

  /** Stops the timer and emits every pending vector. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flushing;
    this.sweepPending = false;
    await this.recoverVehicles().catch(() => undefined);
    await this.emit(this.aligner.flush());
    if (this.recompute.size > 0) this.o.logger.warn({ vehicles: this.recompute.size }, 'stopping with vehicles whose vectors are not announced yet (the store is unavailable): the next process recomputes them from the stored measurements');
  }
}

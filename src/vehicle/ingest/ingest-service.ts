/**
 * The Vehicle API's processing of one ingest request, independent of HTTP: validate the
 * measurements, append the valid ones to the vehicle store (an accepted measurement is stored
 * before the result is returned; duplicates are idempotent, conflicts and expired ones are
 * rejected with the reason), align the newly stored ones into vectors (plausibility flags
 * on each), persist and announce the vectors, and hand them to the predictor (push mode).
 * A timer emits the pending vectors of vehicles that went quiet.
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
  vectorsLost,
  vectorsTotal,
} from '../metrics.js';
import type { VehicleStore } from '../store/store.js';
import type { VectorForwarder } from './forwarder.js';
import { formatTs, validateMeasurements, type FlagNote, type Measurement, type Rejection } from './measurements.js';

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
    const resume = this.aligner.has(vehicleId) ? undefined : this.o.store.getLatestVector(vehicleId).catch(() => undefined);
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

    if (resume) {
      const latest = await resume;
      if (latest) this.aligner.restore(latest);
    }
    const known = stored.filter((m) => m.known);
    const { vectors, late } = this.aligner.push(vehicleId, known);
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
      vectorsLost.inc(vectors.length);
      this.o.logger.error({ err: (err as Error).message, vectors: vectors.length }, 'could not store/announce vectors (the measurements are stored)');
    }
  }

  /** Emits the pending vectors of vehicles quiet for idleFlushMs; forgets long-quiet vehicles. */
  async flushIdle(now = Date.now()): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = (async () => {
      try {
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
    const every = Math.max(10, Math.min(1000, Math.floor(this.o.cfg.alignment.idleFlushMs / 2)));
    this.timer = setInterval(() => void this.flushIdle().catch((err) => this.o.logger.error({ err }, 'idle flush failed')), every);
    this.timer.unref();
  }

  /** Stops the timer and emits every pending vector. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.emit(this.aligner.flush());
  }
}

/**
 * Pull modes of the predictor, reading the node-local vehicle store:
 *  - subscribe: the pub/sub channel (default idneo_v2x); each announced vector is queued and
 *    scored in batches. Pub/sub delivers only while connected (vectors announced during a
 *    disconnection are not scored; use poll for at-least-once);
 *  - poll: every `pollIntervalMs`, the vector stream through a consumer group; a batch is
 *    acknowledged only after its predictions are durably written, so after a crash or a sink
 *    failure the same vectors are read again (at-least-once; re-writing a point is idempotent
 *    in InfluxDB). Full batches are followed immediately by the next read.
 */
import { hostname } from 'node:os';
import type { Logger } from '../../core/logger.js';
import type { AlignedVector } from '../align/vector.js';
import type { VehicleStore } from '../store/store.js';
import type { VehiclePredictor } from './predictor.js';

export interface PullOptions {
  mode: 'subscribe' | 'poll';
  store: VehicleStore;
  predictor: VehiclePredictor;
  logger: Logger;
  pollIntervalMs: number;
  batchSize: number;
  group: string;
  consumer?: string;
  /** Subscribe mode: vectors waiting beyond this are dropped (oldest first). */
  maxQueue?: number;
}

const RETRY_MS = 1000;

export class PullRunner {
  private unsubscribe: (() => Promise<void>) | undefined;
  private queue: AlignedVector[] = [];
  private working: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running = false;
  private lastError: string | undefined;
  readonly consumer: string;
  dropped = 0;

  constructor(private readonly o: PullOptions) {
    this.consumer = o.consumer ?? `${hostname()}`;
  }

  ready(): true | string {
    if (!this.running) return `vehicle predictor (${this.o.mode}) not started`;
    const s = this.o.store.available();
    if (s !== true) return s;
    return true;
  }

  get lastFailure(): string | undefined {
    return this.lastError;
  }

  async start(): Promise<void> {
    this.stopped = false;
    if (this.o.mode === 'subscribe') {
      this.unsubscribe = await this.o.store.subscribe((v) => this.onVector(v));
    } else {
      this.schedule(0);
    }
    this.running = true;
  }

  private onVector(v: AlignedVector): void {
    this.queue.push(v);
    const max = this.o.maxQueue ?? 100_000;
    if (this.queue.length > max) {
      const n = this.queue.length - max;
      this.queue.splice(0, n);
      this.dropped += n;
      this.o.logger.error({ dropped: n }, 'vehicle predictor cannot keep up: dropped the oldest queued vectors');
    }
    this.work();
  }

  /** Subscribe mode: scores queued vectors, one batch at a time. */
  private work(): void {
    if (this.working || this.stopped) return;
    this.working = (async () => {
      while (this.queue.length > 0 && !this.stopped) {
        const batch = this.queue.slice(0, this.o.batchSize);
        try {
          await this.o.predictor.predict(batch);
          this.queue.splice(0, batch.length);
          this.lastError = undefined;
        } catch (err) {
          this.fail(err);
          await sleep(RETRY_MS);
        }
      }
    })().finally(() => {
      this.working = undefined;
      if (this.queue.length > 0 && !this.stopped) this.work();
    });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.working = this.pollOnce()
        .then((full) => this.schedule(full ? 0 : this.o.pollIntervalMs))
        .catch((err) => {
          this.fail(err);
          this.schedule(Math.max(RETRY_MS, this.o.pollIntervalMs));
        })
        .finally(() => {
          this.working = undefined;
        });
    }, ms);
  }

  /** Poll mode: one read-score-ack round; true when the batch was full (more may be waiting). */
  async pollOnce(): Promise<boolean> {
    const entries = await this.o.store.readVectors(this.o.group, this.consumer, this.o.batchSize);
    if (entries.length === 0) return false;
    await this.o.predictor.predict(entries.map((e) => e.vector));
    await this.o.store.ackVectors(this.o.group, entries.map((e) => e.id));
    this.lastError = undefined;
    return entries.length >= this.o.batchSize;
  }

  private fail(err: unknown): void {
    const msg = (err as Error).message;
    if (msg !== this.lastError) this.o.logger.warn({ err: msg, mode: this.o.mode }, 'vehicle predictor: batch failed; retrying');
    this.lastError = msg;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.working;
    if (this.o.mode === 'subscribe' && this.queue.length > 0) {
      // score what was already received before stopping
      try {
        await this.o.predictor.predict(this.queue.splice(0));
      } catch (err) {
        this.o.logger.error({ err: (err as Error).message }, 'vehicle predictor: queued vectors not scored at stop');
      }
    }
    this.running = false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

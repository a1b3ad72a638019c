/**
 * Push mode: the Vehicle API hands each new vector to the predictor. Vectors are queued and
 * sent in batches (a few in flight) so the ingest request never waits for scoring or InfluxDB;
 * a failed batch goes back to the front of the queue and is retried every `retryMs`.
 *
 * Locality: the target is the node-local predictor from config. While it is unreachable the
 * forwarder reports itself unavailable and the API answers 503 to new data, instead of sending
 * it elsewhere; configured fallback URLs are tried in order only when set. The transports (HTTP
 * V2 infer or JSON, in-process) are in predictor-transport.ts; batching and the retry timer come
 * from core/batcher.ts and core/retry.ts.
 *
 * Nothing is lost when the API dies: each vector is written to the store's forward journal in
 * the same atomic step that stores and announces it, and leaves the journal only once the
 * predictor has scored it (its points durably written) or refused it (then it goes to the
 * dead-letter stream with the reason). `recover()` at start re-sends what a previous process
 * left in the journal; a vector may so be scored twice, which the sinks absorb (a prediction
 * point is keyed by vehicle and tick).
 */
import { IdleWaiters } from '../../core/batcher.js';
import type { Logger } from '../../core/logger.js';
import { RetryTimer } from '../../core/retry.js';
import type { AlignedVector } from '../align/vector.js';
import type { VehiclePrediction } from '../predictor/prediction.js';
import { deadLetteredTotal, fallbackTotal, forwardFailures, forwardQueue, recoveredTotal } from '../metrics.js';
import { journalField } from '../store/store.js';

export type SendBatch = (vectors: AlignedVector[]) => Promise<VehiclePrediction[]>;

export interface ForwarderOptions {
  batchSize: number;
  concurrency: number;
  maxQueue: number;
  retryMs: number;
  logger: Logger;
  /** Predictions returned by the predictor (the API keeps each vehicle's latest). */
  onPredictions?: (p: VehiclePrediction[]) => Promise<void> | void;
  /** The store's forward journal (see the header); without it nothing survives a crash. */
  journal?: ForwardJournal;
}

export interface ForwardJournal {
  /** What an earlier process journaled and never acknowledged, oldest first. */
  pending(): Promise<AlignedVector[]>;
  ack(vectors: readonly AlignedVector[]): Promise<void>;
  deadLetter(vectors: readonly AlignedVector[], reason: string): Promise<void>;
}

/** A batch the target refused as invalid (4xx): retrying cannot help. */
export class PermanentForwardError extends Error {}

export interface Transport {
  /** Where vectors go (for messages). */
  readonly target: string;
  send: SendBatch;
}

export class VectorForwarder {
  private queue: AlignedVector[] = [];
  private inFlight = 0;
  /** Why the node-local (first) transport failed last, while it is considered down. */
  private primaryDown: string | undefined;
  private primaryRetryAt = 0;
  /** Every transport failed: nothing is sent until the retry timer fires. */
  private blocked: string | undefined;
  /** Every `retryMs` while blocked: lets one batch through as a probe. */
  private readonly retry: RetryTimer;
  private stopped = false;
  private readonly idleWaiters = new IdleWaiters();
  /** Batches being sent (recovery skips their vectors). */
  private readonly inFlightBatches = new Set<AlignedVector[]>();
  /** Per vector queued before its journal write completed: that write (acks wait for it). */
  private readonly persisting = new WeakMap<AlignedVector, Promise<unknown>>();
  delivered = 0;
  /** Vectors the predictor refused (dead-lettered). */
  dropped = 0;
  recovered = 0;

  constructor(
    private readonly transports: Transport[],
    private readonly o: ForwarderOptions,
  ) {
    if (transports.length === 0) throw new Error('forwarder: no transport');
    this.retry = new RetryTimer({ initialMs: o.retryMs, maxMs: o.retryMs }, () => this.probe(), { unref: true });
  }

  get target(): string {
    return this.transports[0]!.target;
  }

  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** true, or why new data must be refused (503). */
  available(): true | string {
    if (this.blocked || (this.primaryDown && this.transports.length === 1)) {
      return `node-local predictor at ${this.target} is not available (${this.primaryDown ?? this.blocked})`;
    }
    if (this.queue.length >= this.o.maxQueue) return `${this.queue.length} vectors are waiting for the predictor at ${this.target} (limit ${this.o.maxQueue})`;
    return true;
  }

  /**
   * Queues vectors for the predictor. `persisted`: their store write (with the journal entry),
   * still in progress; a batch is acknowledged in the journal only after it completed.
   */
  enqueue(vectors: readonly AlignedVector[], persisted?: Promise<unknown>): void {
    if (vectors.length === 0) return;
    for (const v of vectors) {
      this.queue.push(v);
      if (persisted) this.persisting.set(v, persisted);
    }
    forwardQueue.set(this.queue.length);
    this.pump();
  }

  private pump(): void {
    if (this.blocked) return;
    while (this.queue.length > 0 && this.inFlight < this.o.concurrency) {
      const batch = this.queue.splice(0, this.o.batchSize);
      forwardQueue.set(this.queue.length);
      this.send(batch);
    }
  }

  private send(batch: AlignedVector[]): void {
    this.inFlight++;
    this.inFlightBatches.add(batch);
    void this.deliver(batch).finally(() => {
      this.inFlight--;
      this.inFlightBatches.delete(batch);
      this.pump();
      if (this.pending === 0) this.idleWaiters.release();
    });
  }

  /**
   * Re-queues (ahead of new data) what the journal holds and this process is not already
   * sending: the vectors a crashed or killed API had accepted but not forwarded. Retries every
   * `retryMs` while the store cannot be read; returns how many vectors were recovered.
   */
  async recover(): Promise<number> {
    const journal = this.o.journal;
    if (!journal) return 0;
    for (;;) {
      try {
        const journaled = await journal.pending();
        // what this process queued or is sending meanwhile (after the read) is not re-sent
        const busy = new Set<string>();
        for (const v of this.queue) busy.add(journalField(v));
        for (const b of this.inFlightBatches) for (const v of b) busy.add(journalField(v));
        const found = journaled.filter((v) => !busy.has(journalField(v)));
        if (found.length > 0) {
          this.queue.unshift(...found);
          forwardQueue.set(this.queue.length);
          this.recovered += found.length;
          recoveredTotal.inc(found.length);
          this.o.logger.warn({ vectors: found.length, target: this.target }, 'forward journal: re-sending vectors an earlier process had not forwarded');
          this.pump();
        }
        return found.length;
      } catch (err) {
        if (this.stopped) return 0;
        this.o.logger.warn({ err: (err as Error).message }, 'forward journal: cannot read it yet; retrying');
        await new Promise((r) => setTimeout(r, this.o.retryMs).unref?.());
        if (this.stopped) return 0;
      }
    }
  }

  /** After the batch's own journal writes completed: ack (delivered) or dead-letter (refused). Failures are logged: the vectors stay journaled and are re-sent by the next recover(). */
  private async settle(batch: AlignedVector[], refused?: string): Promise<void> {
    const journal = this.o.journal;
    if (!journal) return;
    const writes = new Set<Promise<unknown>>();
    for (const v of batch) {
      const w = this.persisting.get(v);
      if (w) writes.add(w);
    }
    if (writes.size > 0) await Promise.allSettled(writes);
    try {
      if (refused === undefined) await journal.ack(batch);
      else await journal.deadLetter(batch, refused);
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message, vectors: batch.length }, refused === undefined ? 'forward journal: could not acknowledge delivered vectors (they may be sent again)' : 'could not dead-letter refused vectors (they stay in the forward journal)');
    }
  }

  private async deliver(batch: AlignedVector[]): Promise<void> {
    let lastErr: unknown;
    // while the node-local predictor is down, only the retry probe (or a lapse of retryMs) tries it again
    const skipPrimary = this.primaryDown !== undefined && Date.now() < this.primaryRetryAt && this.transports.length > 1;
    for (let i = skipPrimary ? 1 : 0; i < this.transports.length; i++) {
      const t = this.transports[i]!;
      try {
        const predictions = await t.send(batch);
        if (i > 0) fallbackTotal.inc({ dependency: 'inference' }, 1);
        if (i === 0 && this.primaryDown) {
          this.o.logger.info({ target: t.target }, 'node-local predictor reachable again');
          this.primaryDown = undefined;
        }
        this.blocked = undefined;
        this.delivered += batch.length;
        try {
          await this.o.onPredictions?.(predictions);
        } catch (err) {
          this.o.logger.warn({ err }, 'could not keep the latest predictions');
        }
        await this.settle(batch);
        return;
      } catch (err) {
        lastErr = err;
        forwardFailures.inc({ target: t.target });
        if (err instanceof PermanentForwardError) {
          this.dropped += batch.length;
          deadLetteredTotal.inc({ source: 'forward' }, batch.length);
          this.o.logger.error({ err: err.message, target: t.target, vectors: batch.length }, 'predictor refused a batch of vectors; kept in the dead-letter stream');
          await this.settle(batch, `${t.target}: ${err.message}`);
          return;
        }
        if (i === 0) {
          if (!this.primaryDown) {
            this.o.logger.warn(
              { err: (err as Error).message, target: t.target },
              this.transports.length > 1 ? 'node-local predictor not reachable; using the configured fallback' : 'node-local predictor not reachable; refusing new data until it is back',
            );
          }
          this.primaryDown = (err as Error).message;
          this.primaryRetryAt = Date.now() + this.o.retryMs;
        }
      }
    }
    // every transport failed: back to the front of the queue, retry later
    this.blocked = (lastErr as Error)?.message ?? 'failed';
    this.queue.unshift(...batch);
    forwardQueue.set(this.queue.length);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (!this.stopped) this.retry.failed();
  }

  /** After retryMs blocked: let one batch through; failure blocks again. */
  private probe(): void {
    this.primaryRetryAt = 0;
    const reason = this.blocked;
    this.blocked = undefined;
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.o.batchSize);
    this.blocked = reason; // nothing else goes out while the probe is in flight
    this.send(batch);
  }

  /** Resolves when everything queued has been delivered (or the timeout passed). */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return true;
    return this.idleWaiters.wait(timeoutMs);
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    const ok = await this.drain(timeoutMs);
    this.stopped = true;
    this.retry.cancel();
    if (!ok) this.o.logger.warn({ vectors: this.pending, target: this.target }, this.o.journal ? 'stopping with vectors not forwarded (they stay in the forward journal: the next start re-sends them)' : 'stopping with vectors not forwarded (they remain in the vector stream)');
  }
}

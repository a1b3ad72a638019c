/**
 * Push mode: the Vehicle API hands each new vector to the predictor. Vectors are queued and
 * sent in batches (a few in flight) so the ingest request never waits for scoring or InfluxDB;
 * a failed batch goes back to the front of the queue and is retried every `retryMs`.
 *
 * Locality: the target is the node-local predictor from config. While it is unreachable the
 * forwarder reports itself unavailable and the API answers 503 to new data, instead of sending
 * it elsewhere; configured fallback URLs are tried in order only when set. Two transports: HTTP
 * (`POST <url>/v1/vehicle/predict`) and an in-process call (`wattflow up`).
 */
import type { Logger } from '../../core/logger.js';
import type { AlignedVector } from '../align/vector.js';
import type { VehiclePrediction } from '../predictor/prediction.js';
import { fallbackTotal, forwardFailures, forwardQueue } from '../metrics.js';

export type SendBatch = (vectors: AlignedVector[]) => Promise<VehiclePrediction[]>;

export interface ForwarderOptions {
  batchSize: number;
  concurrency: number;
  maxQueue: number;
  retryMs: number;
  logger: Logger;
  /** Predictions returned by the predictor (the API keeps each vehicle's latest). */
  onPredictions?: (p: VehiclePrediction[]) => Promise<void> | void;
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
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  delivered = 0;
  dropped = 0;

  constructor(
    private readonly transports: Transport[],
    private readonly o: ForwarderOptions,
  ) {
    if (transports.length === 0) throw new Error('forwarder: no transport');
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

  enqueue(vectors: readonly AlignedVector[]): void {
    if (vectors.length === 0) return;
    for (const v of vectors) this.queue.push(v);
    forwardQueue.set(this.queue.length);
    this.pump();
  }

  private pump(): void {
    if (this.blocked) return;
    while (this.queue.length > 0 && this.inFlight < this.o.concurrency) {
      const batch = this.queue.splice(0, this.o.batchSize);
      forwardQueue.set(this.queue.length);
      this.inFlight++;
      void this.deliver(batch).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
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
        return;
      } catch (err) {
        lastErr = err;
        forwardFailures.inc({ target: t.target });
        if (err instanceof PermanentForwardError) {
          this.dropped += batch.length;
          this.o.logger.error({ err: err.message, target: t.target, vectors: batch.length }, 'predictor refused a batch of vectors; dropped');
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
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.primaryRetryAt = 0;
      // probe: let one batch through; failure blocks again
      const reason = this.blocked;
      this.blocked = undefined;
      if (this.queue.length === 0) return;
      const batch = this.queue.splice(0, this.o.batchSize);
      this.inFlight++;
      this.blocked = reason; // nothing else goes out while the probe is in flight
      void this.deliver(batch).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }, this.o.retryMs);
    this.retryTimer.unref?.();
  }

  /** Resolves when everything queued has been delivered (or the timeout passed). */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    const ok = await this.drain(timeoutMs);
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (!ok) this.o.logger.warn({ vectors: this.pending, target: this.target }, 'stopping with vectors not forwarded (they remain in the vector stream)');
  }
}

/** HTTP transport: `POST <base>/v1/vehicle/predict` with `{vectors}` → `{predictions}`. */
export function httpTransport(baseUrl: string, timeoutMs: number): Transport {
  const url = new URL('/v1/vehicle/predict', baseUrl).toString();
  return {
    target: baseUrl,
    async send(vectors) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ vectors }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new PermanentForwardError(`HTTP ${res.status}: ${text.slice(0, 300)}`);
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
      const body = JSON.parse(text) as { predictions?: VehiclePrediction[] };
      return body.predictions ?? [];
    },
  };
}

/** In-process transport (`wattflow up`): calls the predictor directly. */
export function inProcessTransport(send: SendBatch): Transport {
  return { target: 'in-process predictor', send };
}

/**
 * The producer's outbox: TD messages that could not be published (broker down or restarting,
 * leader moving) wait here, in order, and are published again with backoff until they are
 * accepted — so a broker restart of a few seconds costs latency, not data. Before it, a failed
 * publish lost that router's sample for the tick.
 *
 * Written here rather than left to the Kafka client: a Java or librdkafka producer buffers and
 * retries for `delivery.timeout.ms`, but the fabric's publisher must keep the client's retries
 * finite (see kafka-publisher.ts: after a failed send the idempotent producer is replaced), so
 * a publish fails fast and the stage keeps what it could not deliver. The outbox is bounded:
 * messages older than `maxAgeMs` or beyond `maxMessages` are dropped oldest first, counted in
 * `wattflow_producer_outbox_dropped_total{reason}` and logged.
 *
 * Order: while anything waits (or is being re-sent), new messages queue behind it, so per
 * router (and overall) messages reach the broker in poll order. A retried batch that had been
 * partly written is written again (at-least-once, as every fabric publish).
 */
import type { Logger } from '../../core/logger.js';
import { counter, gauge } from '../../core/metrics.js';
import type { Fabric, OutgoingMessage } from '../../fabric/fabric.js';

const outboxSize = gauge({ name: 'wattflow_producer_outbox_messages', help: 'TD messages waiting in the producer outbox for the broker' });
const outboxQueued = counter({ name: 'wattflow_producer_outbox_queued_total', help: 'TD messages that went through the outbox (a publish failed, or earlier ones were waiting)' });
const outboxDropped = counter({
  name: 'wattflow_producer_outbox_dropped_total',
  help: 'TD messages given up by the outbox: older than its maximum age (expired), beyond its size (full), or still waiting at shutdown',
  labelNames: ['reason'] as const,
});

export interface OutboxOptions {
  fabric: Fabric;
  logger: Logger;
  /** Longest a message may wait (ms; default 300,000). */
  maxAgeMs?: number;
  /** Most messages waiting (default 100,000); beyond, the oldest is dropped. */
  maxMessages?: number;
  /** Backoff between attempts: initial, doubling up to max (ms; defaults 200 → 5,000). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Messages per re-send request (default 1,000). */
  batchSize?: number;
  /** Called with the number of messages a re-send delivered (the stage counts them as output). */
  onResent?: (n: number) => void;
}

interface Waiting {
  message: OutgoingMessage;
  atMs: number;
}

export class Outbox {
  private queue: Waiting[] = [];
  private draining: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private attempt = 0;
  private closed = false;
  private lastError: string | undefined;
  private readonly maxAgeMs: number;
  private readonly maxMessages: number;

  constructor(private readonly o: OutboxOptions) {
    this.maxAgeMs = o.maxAgeMs ?? 300_000;
    this.maxMessages = o.maxMessages ?? 100_000;
  }

  /** Messages waiting (including a batch being re-sent). */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Publishes a message now or, when the broker refuses it or earlier messages are still
   * waiting, keeps it for the next attempt. Resolves `sent` or `queued`; never rejects.
   */
  async send(message: OutgoingMessage): Promise<'sent' | 'queued'> {
    if (this.queue.length === 0 && !this.closed) {
      try {
        await this.o.fabric.publish(message);
        return 'sent';
      } catch (err) {
        this.noteFailure(err);
      }
    }
    this.enqueue(message);
    return 'queued';
  }

  private enqueue(message: OutgoingMessage): void {
    this.queue.push({ message, atMs: Date.now() });
    outboxQueued.inc();
    if (this.queue.length > this.maxMessages) this.drop(this.queue.length - this.maxMessages, 'full');
    outboxSize.set(this.queue.length);
    this.schedule();
  }

  private noteFailure(err: unknown): void {
    const msg = (err as Error).message;
    if (msg !== this.lastError) this.o.logger.warn({ err: msg, waiting: this.queue.length }, 'publish failed: TD messages wait in the outbox and are re-sent in order');
    this.lastError = msg;
  }

  private drop(n: number, reason: 'expired' | 'full' | 'shutdown'): void {
    if (n <= 0) return;
    const gone = this.queue.splice(0, n);
    outboxDropped.inc({ reason }, gone.length);
    outboxSize.set(this.queue.length);
    this.o.logger.error({ dropped: gone.length, reason, oldest: new Date(gone[0]!.atMs).toISOString(), topic: gone[0]!.message.topic }, 'outbox gave up TD messages');
  }

  private schedule(): void {
    if (this.draining || this.timer || this.closed || this.queue.length === 0) return;
    const delay = this.attempt === 0 ? 0 : Math.min((this.o.retryInitialMs ?? 200) * 2 ** (this.attempt - 1), this.o.retryMaxMs ?? 5000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.wake = undefined;
      this.draining = this.drain().finally(() => {
        this.draining = undefined;
        this.schedule();
      });
    }, delay);
    this.wake = () => {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.attempt = 0;
      this.schedule();
    };
  }

  /** Re-sends from the head, in order, until empty or a publish fails. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const cutoff = Date.now() - this.maxAgeMs;
      let expired = 0;
      while (expired < this.queue.length && this.queue[expired]!.atMs < cutoff) expired++;
      this.drop(expired, 'expired');
      if (this.queue.length === 0) break;
      // the batch stays at the head until accepted: new messages keep queueing behind it
      const batch = this.queue.slice(0, this.o.batchSize ?? 1000);
      try {
        await this.o.fabric.publishBatch(batch.map((w) => w.message));
      } catch (err) {
        this.noteFailure(err);
        this.attempt++;
        return;
      }
      this.queue.splice(0, batch.length);
      outboxSize.set(this.queue.length);
      this.o.onResent?.(batch.length);
      if (this.attempt > 0 || this.lastError) this.o.logger.info({ resent: batch.length, waiting: this.queue.length }, 'outbox: the broker accepts TD messages again');
      this.attempt = 0;
      this.lastError = undefined;
    }
  }

  /** Tries to deliver what waits (at once, then with backoff) for up to `timeoutMs`; what is left is dropped and counted. */
  async close(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 && Date.now() < deadline) {
      this.wake?.();
      if (this.draining) await Promise.race([this.draining, sleep(Math.max(0, deadline - Date.now()))]);
      else await sleep(Math.min(50, Math.max(0, deadline - Date.now())));
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.draining;
    this.drop(this.queue.length, 'shutdown');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

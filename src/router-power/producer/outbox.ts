/**
 * The producer's outbox: TD messages the broker refused wait here per lane (topic + router key),
 * in order, and are re-sent with backoff until accepted; bounded by age and size (drops counted
 * by reason). `send` never waits for the broker. Design: docs/delivery.md.
 */
import { FlushCoalescer } from '../../core/batcher.js';
import { sleep } from '../../core/backoff.js';
import type { Logger } from '../../core/logger.js';
import { counter, gauge } from '../../core/metrics.js';
import { RetryTimer } from '../../core/retry.js';
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
  /** Called with the messages each accepted request carried (the stage counts them as output). */
  onSent?: (messages: readonly OutgoingMessage[]) => void;
}

interface Waiting {
  message: OutgoingMessage;
  atMs: number;
  seq: number;
}

/** One topic + key: its messages in send order; `busy` while a request carrying its head is in flight. */
interface Lane {
  queue: Waiting[];
  busy: boolean;
}

export class Outbox {
  private readonly lanes = new Map<string, Lane>();
  /** Lanes with messages and no request in flight: what the next flush sends (flushes touch only these). */
  private readonly waiting = new Set<Lane>();
  private total = 0;
  private seq = 0;
  // a microtask, not a later turn: the fabric's publisher already merges the publishes of one
  // event-loop turn into one request, so waiting for the next turn would only add latency
  private readonly flushSoon = new FlushCoalescer(() => this.flush(), 'microtask');
  /** While it waits, nothing is sent: the backoff after a failed request (doubling, no jitter). */
  private readonly retry: RetryTimer;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;
  private lastError: string | undefined;
  private readonly maxAgeMs: number;
  private readonly maxMessages: number;

  constructor(private readonly o: OutboxOptions) {
    this.maxAgeMs = o.maxAgeMs ?? 300_000;
    this.maxMessages = o.maxMessages ?? 100_000;
    this.retry = new RetryTimer({ initialMs: o.retryInitialMs ?? 200, maxMs: o.retryMaxMs ?? 5000 }, () => this.flush());
  }

  /** Messages not yet accepted by the broker (waiting or in flight). */
  get pending(): number {
    return this.total;
  }

  /** Hands a message over; it is published as soon as its lane is free and the broker accepts it. */
  send(message: OutgoingMessage): void {
    if (this.closed) {
      outboxDropped.inc({ reason: 'shutdown' });
      this.o.logger.error({ topic: message.topic, key: message.key }, 'outbox closed: TD message dropped');
      return;
    }
    const id = `${message.topic}\u0000${message.key}`;
    let lane = this.lanes.get(id);
    if (!lane) this.lanes.set(id, (lane = { queue: [], busy: false }));
    lane.queue.push({ message, atMs: Date.now(), seq: this.seq++ });
    this.total++;
    if (this.retry.waiting || lane.busy) outboxQueued.inc();
    if (!lane.busy) this.waiting.add(lane);
    if (this.total > this.maxMessages) this.dropOldest(this.total - this.maxMessages);
    outboxSize.set(this.total);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.retry.waiting) this.flushSoon.request();
  }

  /** Requests (of at most batchSize messages each) with the waiting messages of every lane that has none in flight, oldest first. */
  private flush(): void {
    if (this.closed || this.retry.waiting) return; // closed: what waits is dropped and counted by close(), never sent
    this.expire();
    const max = this.o.batchSize ?? 1000;
    let lanes: Lane[] = [];
    let batch: Waiting[] = [];
    for (const lane of this.waiting) {
      this.waiting.delete(lane);
      if (lane.queue.length === 0) continue;
      lane.busy = true;
      lanes.push(lane);
      for (const w of lane.queue) batch.push(w);
      if (batch.length >= max) {
        this.request(lanes, batch);
        lanes = [];
        batch = [];
      }
    }
    if (batch.length > 0) this.request(lanes, batch);
  }

  private request(lanes: Lane[], batch: Waiting[]): void {
    batch.sort((a, b) => a.seq - b.seq);
    const counts = lanes.map((l) => l.queue.length);
    // a source: on the in-process bus over its memory budget, wait for consumers (backpressure)
    const request = this.o.fabric.publishBatch(batch.map((w) => w.message), { waitForCapacity: true }).then(
      () => {
        lanes.forEach((lane, i) => lane.queue.splice(0, counts[i]));
        this.total -= batch.length;
        outboxSize.set(this.total);
        if (this.lastError) this.o.logger.info({ sent: batch.length, waiting: this.total }, 'outbox: the broker accepts TD messages again');
        this.lastError = undefined;
        this.retry.succeeded();
        this.o.onSent?.(batch.map((w) => w.message));
      },
      (err: unknown) => {
        const msg = (err as Error).message;
        if (msg !== this.lastError) this.o.logger.warn({ err: msg, waiting: this.total }, 'publish failed: TD messages wait in the outbox and are re-sent in order');
        this.lastError = msg;
        if (this.closed) return;
        this.retry.failed();
      },
    ).finally(() => {
      for (const lane of lanes) {
        lane.busy = false;
        if (lane.queue.length > 0) this.waiting.add(lane);
      }
      this.inFlight.delete(request);
      this.pruneLanes();
      if (this.waiting.size > 0) this.scheduleFlush();
    });
    this.inFlight.add(request);
  }

  private pruneLanes(): void {
    if (this.lanes.size < 10_000) return;
    for (const [id, lane] of this.lanes) if (!lane.busy && lane.queue.length === 0) this.lanes.delete(id);
  }

  private expire(): void {
    const cutoff = Date.now() - this.maxAgeMs;
    let n = 0;
    let oldest: Waiting | undefined;
    for (const lane of this.waiting) {
      let k = 0;
      while (k < lane.queue.length && lane.queue[k]!.atMs < cutoff) k++;
      if (k === 0) continue;
      if (!oldest || lane.queue[0]!.atMs < oldest.atMs) oldest = lane.queue[0];
      lane.queue.splice(0, k);
      n += k;
    }
    if (n > 0) this.dropped(n, 'expired', oldest!);
  }

  /** Drops the `n` oldest waiting messages (not those in flight). */
  private dropOldest(n: number): void {
    for (let i = 0; i < n; i++) {
      let from: Lane | undefined;
      for (const lane of this.waiting) {
        if (lane.queue.length > 0 && (!from || lane.queue[0]!.seq < from.queue[0]!.seq)) from = lane;
      }
      if (!from) break;
      this.dropped(1, 'full', from.queue.shift()!);
    }
  }

  private dropped(n: number, reason: 'expired' | 'full' | 'shutdown', oldest: Waiting): void {
    this.total -= n;
    outboxSize.set(this.total);
    outboxDropped.inc({ reason }, n);
    this.o.logger.error({ dropped: n, reason, oldest: new Date(oldest.atMs).toISOString(), topic: oldest.message.topic }, 'outbox gave up TD messages');
  }

  /** Tries to deliver what waits for up to `timeoutMs` (retrying at once, not after the backoff); what is left is dropped and counted. */
  async close(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.total > 0 && Date.now() < deadline) {
      this.retry.now(); // end the backoff: close() wants another attempt now
      if (this.inFlight.size > 0) await Promise.race([Promise.allSettled([...this.inFlight]), sleep(deadline - Date.now())]);
      // a pause between attempts (also lets timers and I/O run: a failing in-process publish rejects at once)
      await sleep(Math.min(20, deadline - Date.now()));
    }
    this.closed = true;
    this.retry.cancel();
    await Promise.allSettled([...this.inFlight]);
    let oldest: Waiting | undefined;
    let n = 0;
    for (const lane of this.lanes.values()) {
      if (lane.queue.length > 0 && (!oldest || lane.queue[0]!.atMs < oldest.atMs)) oldest = lane.queue[0];
      n += lane.queue.length;
      lane.queue = [];
    }
    this.waiting.clear();
    if (n > 0) this.dropped(n, 'shutdown', oldest!);
  }
}

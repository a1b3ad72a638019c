/**
 * The InfluxDB writer shared by the router-power and the vehicle pipelines: its batching front.
 * `write(points)` resolves once InfluxDB accepted every one of them (so a consumer may commit
 * after it), or rejects with an InfluxWriteError (`rejected`: refused, not retried;
 * `unavailable`: retries exhausted). Points wait until `batchSize` are queued, `flushIntervalMs`
 * passed, or at once with `{ immediate: true }`; one request is in flight; the buffer holds at
 * most `maxBufferPoints` (write() waits for room). Encoding: line-protocol.ts; HTTP delivery,
 * retries and 413 splits: http-delivery.ts; design and why no client library: docs/influx-writer.md.
 */
import type { Logger } from '../../core/logger.js';
import { FlushCoalescer, OnceTimer } from '../../core/batcher.js';
import type { InfluxConfig } from '../config.js';
import { influxEndpoint } from './endpoint.js';
import { InfluxDelivery } from './http-delivery.js';
import { encodePoints, type EncodedBatch, type Point } from './line-protocol.js';
import { batchSeconds, bufferGauge, fieldsSkipped, pointsFailed, pointsWritten } from './metrics.js';
import { InfluxWriteError, type InfluxWriterOptions, type Outcome, type WriteOptions, type WriterStats, type WriteSummary } from './types.js';

export type { InfluxConfig } from '../config.js';
export { quoteIdentifier } from './database.js';
export { parseRetryAfter } from './http-delivery.js';
export { InfluxWriteError, type InfluxWriteErrorKind, type InfluxWriterOptions, type WriteOptions, type WriterStats, type WriteSummary } from './types.js';

/** One write() call: how many of its points are still unsettled, and its first failure. */
interface Ticket {
  pending: number;
  failed: number;
  error?: InfluxWriteError;
  resolve: () => void;
  reject: (err: InfluxWriteError) => void;
}

/** A write()'s lines in the queue; `seq` is monotonic. */
interface Segment {
  lines: string[];
  ticket: Ticket;
  seq: number;
}

/** A slice of a segment inside a batch; `last` when it completes its segment. */
interface Part extends Segment {
  last: boolean;
}

export class InfluxWriter {
  readonly name: string;
  private readonly cfg: InfluxConfig & { url: string };
  private readonly log: Logger;
  private readonly writeUrl: string;
  private readonly delivery: InfluxDelivery;
  private readonly pumpSoon = new FlushCoalescer(() => void this.pump());
  private readonly ageTimer: OnceTimer;

  private queue: Segment[] = [];
  private queuedPoints = 0;
  private inflightPoints = 0;
  private seq = 0;
  private flushTarget = 0;
  private completedSeq = 0;
  private completionWaiters: Array<{ seq: number; resolve: () => void }> = [];
  private spaceWaiter: (() => void) | undefined;
  private admission: Promise<void> = Promise.resolve();
  private sending = false;
  private closing: Promise<void> | undefined;
  private lastSkipLog = 0;
  private readonly counts: WriterStats = { buffered: 0, peakBuffered: 0, written: 0, failed: 0, retried: 0, requests: 0, skippedPoints: 0, skippedFields: 0 };

  /** `config`: the `influx` configuration section, with `url` set. */
  constructor(config: InfluxConfig & { url: string }, logger: Logger, opts: InfluxWriterOptions = {}) {
    this.cfg = config;
    this.name = opts.name ?? 'influx';
    this.log = logger.child({ module: 'influx-writer', writer: this.name });
    const endpoint = influxEndpoint(config);
    this.writeUrl = endpoint.writeUrl;
    this.delivery = new InfluxDelivery(config, endpoint, this.name, this.log, this.counts, opts);
    this.ageTimer = new OnceTimer(() => {
      this.flushTarget = this.seq;
      this.schedulePump();
    });
    bufferGauge.set({ writer: this.name }, 0);
  }

  /** The write endpoint (with query string) requests go to. */
  get endpoint(): string {
    return this.writeUrl;
  }

  stats(): WriterStats {
    return { ...this.counts, buffered: this.buffered };
  }

  private get buffered(): number {
    return this.queuedPoints + this.inflightPoints;
  }

  /** Queues points; resolves once all of them are accepted by InfluxDB. Waits while the buffer is full. */
  async write(points: readonly Point[], opts: WriteOptions = {}): Promise<WriteSummary> {
    if (this.closing) throw new InfluxWriteError(`influx writer ${this.name} is closed`, 'closed', 0, '', points.length);
    const { lines, skippedPoints, skippedFields, examples } = encodePoints(points);
    const summary: WriteSummary = { written: 0, skippedPoints, skippedFields };
    if (skippedPoints || skippedFields) this.reportSkipped(summary, examples);
    if (lines.length === 0) return summary;

    const done = new Promise<void>((resolve, reject) => {
      const ticket: Ticket = { pending: lines.length, failed: 0, resolve, reject };
      this.admission = this.admission
        .then(() => this.admit(lines, ticket, opts.immediate === true))
        .catch((err: unknown) => reject(new InfluxWriteError(`influx writer failed: ${(err as Error).message}`, 'unavailable', 0, '', lines.length)));
    });
    await done;
    summary.written = lines.length;
    return summary;
  }

  /** Sends everything buffered now; resolves when it is settled (never rejects). */
  async flush(): Promise<void> {
    const target = this.seq;
    if (this.completedSeq >= target) return;
    this.flushTarget = Math.max(this.flushTarget, target);
    this.schedulePump();
    await new Promise<void>((resolve) => this.completionWaiters.push({ seq: target, resolve }));
  }

  /** Stops accepting writes, waits for pending ones (admitted or waiting), flushes. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.admission;
      await this.flush();
      this.ageTimer.clear();
    })();
    return this.closing;
  }

  private reportSkipped(summary: WriteSummary, detail: EncodedBatch['examples']): void {
    this.counts.skippedPoints += summary.skippedPoints;
    this.counts.skippedFields += summary.skippedFields;
    if (summary.skippedPoints) pointsFailed.inc({ writer: this.name, reason: 'invalid' }, summary.skippedPoints);
    if (summary.skippedFields) fieldsSkipped.inc({ writer: this.name }, summary.skippedFields);
    const now = Date.now();
    if (now - this.lastSkipLog < 10_000) return; // at most one line per 10 s; the counters have the rest
    this.lastSkipLog = now;
    this.log.warn({ skippedPoints: summary.skippedPoints, skippedFields: summary.skippedFields, examples: detail }, 'points or fields left out (InfluxDB cannot store them)');
  }

  // ---- buffer -------------------------------------------------------------------------------

  private async admit(lines: string[], ticket: Ticket, immediate: boolean): Promise<void> {
    let off = 0;
    while (off < lines.length) {
      const space = this.cfg.maxBufferPoints - this.buffered;
      if (space <= 0) {
        // Full: make sure what is queued goes out, then wait for room.
        this.flushTarget = this.seq;
        this.schedulePump();
        await new Promise<void>((r) => (this.spaceWaiter = r));
        continue;
      }
      const n = Math.min(space, lines.length - off);
      this.enqueue(n === lines.length ? lines : lines.slice(off, off + n), ticket, immediate || off + n < lines.length);
      off += n;
    }
  }

  private enqueue(lines: string[], ticket: Ticket, sendNow: boolean): void {
    const seg: Segment = { lines, ticket, seq: ++this.seq };
    this.queue.push(seg);
    this.queuedPoints += lines.length;
    this.updateBufferGauge();
    if (sendNow) this.flushTarget = seg.seq;
    if (sendNow || this.queuedPoints >= this.cfg.batchSize) this.schedulePump();
    else this.armTimer();
  }

  private updateBufferGauge(): void {
    const b = this.buffered;
    if (b > this.counts.peakBuffered) this.counts.peakBuffered = b;
    bufferGauge.set({ writer: this.name }, b);
  }

  private armTimer(): void {
    if (this.queue.length > 0) this.ageTimer.arm(this.cfg.flushIntervalMs);
  }

  /** At the end of the turn (writes made in the same turn join the same batch), unless sending. */
  private schedulePump(): void {
    if (!this.sending) this.pumpSoon.request();
  }

  private shouldSend(): boolean {
    const head = this.queue[0];
    return head !== undefined && (this.queuedPoints >= this.cfg.batchSize || head.seq <= this.flushTarget);
  }

  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.shouldSend()) {
        const parts = this.takeBatch();
        try {
          await this.sendBatch(parts);
        } catch (err) {
          // Not expected (delivery catches its errors), but never leave a caller hanging.
          this.log.error({ err }, 'influx writer: unexpected error while sending a batch');
          const message = `influx writer failed: ${(err as Error).message}`;
          const n = parts.reduce((a, p) => a + p.lines.length, 0);
          this.settle(parts, new Array<Outcome>(n).fill({ ok: false, kind: 'unavailable', status: 0, body: '', message }));
        }
      }
    } finally {
      this.sending = false;
      if (this.queue.length > 0) {
        if (this.shouldSend()) this.schedulePump();
        else this.armTimer();
      }
    }
  }

  /** Up to batchSize lines from the head of the queue (a segment may be cut). */
  private takeBatch(): Part[] {
    const parts: Part[] = [];
    let room = this.cfg.batchSize;
    while (room > 0 && this.queue.length > 0) {
      const seg = this.queue[0]!;
      if (seg.lines.length <= room) {
        this.queue.shift();
        parts.push({ ...seg, last: true });
        room -= seg.lines.length;
      } else {
        parts.push({ lines: seg.lines.slice(0, room), ticket: seg.ticket, seq: seg.seq, last: false });
        seg.lines = seg.lines.slice(room);
        room = 0;
      }
    }
    const n = this.cfg.batchSize - room;
    this.queuedPoints -= n;
    this.inflightPoints += n;
    return parts;
  }

  // ---- delivery and settlement --------------------------------------------------------------

  private async sendBatch(parts: Part[]): Promise<void> {
    const started = performance.now();
    const lines = parts.length === 1 ? parts[0]!.lines : parts.flatMap((p) => p.lines);
    const results = await this.delivery.deliverBatch(lines, parts.map((p) => ({ lines: p.lines, caller: p.ticket })));
    const failed = results.some((r) => !r.ok);
    batchSeconds.observe({ writer: this.name, outcome: failed ? 'failed' : 'ok' }, (performance.now() - started) / 1000);
    this.settle(parts, results);
  }

  /** Resolves or rejects the write() calls the batch completes, counts, and frees buffer room. */
  private settle(parts: Part[], results: Outcome[]): void {
    let i = 0;
    let released = 0;
    for (const p of parts) {
      let ok = 0;
      let firstErr: Outcome | undefined;
      for (let k = 0; k < p.lines.length; k++) {
        const r = results[i++]!;
        if (r.ok) ok++;
        else firstErr ??= r;
      }
      const bad = p.lines.length - ok;
      released += p.lines.length;
      const t = p.ticket;
      t.pending -= p.lines.length;
      this.counts.written += ok;
      if (ok) pointsWritten.inc({ writer: this.name }, ok);
      if (bad && firstErr && !firstErr.ok) {
        this.counts.failed += bad;
        pointsFailed.inc({ writer: this.name, reason: firstErr.kind }, bad);
        t.failed += bad;
        t.error ??= new InfluxWriteError(firstErr.message, firstErr.kind, firstErr.status, firstErr.body, 0);
      }
      if (t.pending === 0) {
        if (t.error) {
          t.error.points = t.failed;
          t.reject(t.error);
        } else t.resolve();
      }
      if (p.last) this.completedSeq = Math.max(this.completedSeq, p.seq);
    }
    this.inflightPoints -= released;
    this.updateBufferGauge();
    if (this.completionWaiters.length) {
      const still: typeof this.completionWaiters = [];
      for (const w of this.completionWaiters) (w.seq <= this.completedSeq ? w.resolve() : still.push(w));
      this.completionWaiters = still;
    }
    const w = this.spaceWaiter;
    this.spaceWaiter = undefined;
    w?.();
  }
}

/**
 * The InfluxDB writer shared by the router-power and the vehicle pipelines: line protocol over
 * HTTP with batching, retries and backpressure, for InfluxDB 1.x (`POST /write?db=&rp=`) and
 * 2.x/3.x (`POST /api/v2/write?org=&bucket=`), chosen by `apiVersion`.
 *
 * Contract of `write(points)`: the promise resolves only once every one of those points has
 * been accepted by InfluxDB (2xx), so a fabric consumer can commit after it and lose nothing.
 * It rejects with an InfluxWriteError when InfluxDB refused them (`kind: 'rejected'`, a 4xx
 * other than 429: never retried; the server's error body is logged and carried) or stayed
 * unreachable through every retry (`kind: 'unavailable'`: the caller should not commit and
 * let the messages be delivered again). Points that cannot be encoded at all (no finite field,
 * bad timestamp) are skipped, counted and reported in the returned summary, never sent.
 *
 * Batching: points wait in a buffer until `batchSize` are queued or `flushIntervalMs` after
 * the first one — or at once for `write(points, { immediate: true })` (what the sinks use:
 * they wait for the result anyway; while a request is in flight, further writes accumulate and
 * go out together as the next batch — "natural batching"). One request is in flight at a time.
 * The buffer (queued + in flight) holds at most `maxBufferPoints`: `write()` waits (FIFO)
 * until there is room — backpressure instead of unbounded memory or dropped points.
 *
 * Failures: network errors, timeouts (`timeoutMs`), 5xx and 429 are retried up to `maxRetries`
 * times with exponential backoff and equal jitter (a `Retry-After` from the server is honoured
 * as the minimum wait). 4xx other than 429 is not retried: the batch is rejected — except
 * that (a) a data error (400/422) on a batch that mixes several `write()` calls re-sends each
 * call's points once on their own, so that one caller's bad point does not fail another's
 * (InfluxDB writes are idempotent: points already stored are simply overwritten with the same
 * values), (b) 413 splits the batch in halves, and (c) v1 "database not found" (404) creates
 * the database once when `createDatabase` is set. With `createDatabase` and v1, the database
 * is created (`CREATE DATABASE`, idempotent) before the first write.
 *
 * Bodies of at least `gzipThresholdBytes` (default 64 KiB) are sent gzip-compressed.
 *
 * Why no client library: `@influxdata/influxdb-client` (the official JS client, last release
 * 1.35.0) speaks only the 2.x API — 1.x only through the 1.8+ compatibility endpoint, not
 * the 1.6/1.7 servers Debian ships — and its write API buffers with a fixed line limit that
 * drops the oldest lines when full, retries 404s, and resolves `flush()` for the whole buffer
 * rather than per write; InfluxData now points 3.x users to `@influxdata/influxdb3-client`
 * (3.x only). `influx` (node-influx) covers 1.x but is unmaintained and has no batching,
 * retry or backpressure. Line protocol plus one POST is small, so the writer uses Node's
 * global fetch (undici) and owns the exact durability semantics the sinks need.
 */
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { AppConfig } from '../../app-config.js';
import type { Logger } from '../../core/logger.js';
import { counter, gauge, histogram } from '../../core/metrics.js';
import { encodePoint, type Point, type SkippedField } from './line-protocol.js';

const gzip = promisify(gzipCb);

export type InfluxConfig = AppConfig['influx'];

/** Tuning beyond the configuration section (all optional). */
export interface InfluxWriterOptions {
  /** Label of this writer's metrics (default 'influx'). */
  name?: string;
  /** Bodies of at least this many bytes are gzip-compressed (default 64 KiB; Infinity: never). */
  gzipThresholdBytes?: number;
  /** First retry delay (ms, default 200); doubles per attempt up to retryMaxMs (default 30 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Upper bound for a server's Retry-After (ms, default 5 min). */
  retryAfterMaxMs?: number;
  /** Jitter source (tests). */
  random?: () => number;
}

export type InfluxWriteErrorKind = 'rejected' | 'unavailable' | 'closed';

export class InfluxWriteError extends Error {
  constructor(
    message: string,
    readonly kind: InfluxWriteErrorKind,
    /** HTTP status of the refusal (rejected), or of the last attempt (unavailable; 0 = network). */
    readonly status: number,
    /** The server's error body (truncated). */
    readonly body: string,
    /** How many of the caller's points failed. */
    public points: number,
  ) {
    super(message);
    this.name = 'InfluxWriteError';
  }

  /** True when the same points may succeed later (server unavailable), false when refused. */
  get retriable(): boolean {
    return this.kind === 'unavailable';
  }
}

export interface WriteSummary {
  /** Points accepted by InfluxDB. */
  written: number;
  /** Points that could not be encoded at all (skipped, reported). */
  skippedPoints: number;
  /** Fields or tags left out of otherwise written points (non-finite numbers, …). */
  skippedFields: number;
}

export interface WriteOptions {
  /** Send without waiting for the batch to fill or the flush interval (the caller awaits). */
  immediate?: boolean;
}

export interface WriterStats {
  buffered: number;
  peakBuffered: number;
  written: number;
  failed: number;
  retried: number;
  requests: number;
  skippedPoints: number;
  skippedFields: number;
}

const pointsWritten = counter({
  name: 'wattflow_influx_points_written_total',
  help: 'Points accepted by InfluxDB',
  labelNames: ['writer'] as const,
});
const pointsFailed = counter({
  name: 'wattflow_influx_points_failed_total',
  help: 'Points not written: rejected (4xx), unavailable (retries exhausted) or invalid (not encodable)',
  labelNames: ['writer', 'reason'] as const,
});
const pointsRetried = counter({
  name: 'wattflow_influx_points_retried_total',
  help: 'Points sent again after a retriable failure (network, 5xx, 429)',
  labelNames: ['writer'] as const,
});
const fieldsSkipped = counter({
  name: 'wattflow_influx_fields_skipped_total',
  help: 'Fields or tags left out of written points (non-finite numbers, reserved or unrepresentable keys)',
  labelNames: ['writer'] as const,
});
const requestsTotal = counter({
  name: 'wattflow_influx_requests_total',
  help: 'HTTP write requests by status (network = no response)',
  labelNames: ['writer', 'status'] as const,
});
const batchSeconds = histogram({
  name: 'wattflow_influx_batch_seconds',
  help: 'Time to deliver one batch, retries included, by outcome',
  labelNames: ['writer', 'outcome'] as const,
});
const bufferGauge = gauge({
  name: 'wattflow_influx_buffer_points',
  help: 'Points held by the writer (queued and in flight)',
  labelNames: ['writer'] as const,
});

interface Ticket {
  pending: number;
  failed: number;
  error?: InfluxWriteError;
  resolve: () => void;
  reject: (err: InfluxWriteError) => void;
}

interface Segment {
  lines: string[];
  ticket: Ticket;
  /** Sequence number (monotonic) of the segment. */
  seq: number;
}

/** A slice of a segment inside a batch; `last` when it completes its segment. */
interface Part {
  lines: string[];
  ticket: Ticket;
  seq: number;
  last: boolean;
}

type Outcome = { ok: true } | { ok: false; kind: 'rejected' | 'unavailable'; status: number; body: string; message: string };

const OK: Outcome = { ok: true };
const MAX_BODY_LOG = 2000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Retry-After: delay-seconds or an HTTP date → ms (undefined when absent/invalid). */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined;
}

/** InfluxQL identifier quoting: "name" with `\` and `"` escaped. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export class InfluxWriter {
  readonly name: string;
  private readonly cfg: InfluxConfig & { url: string };
  private readonly log: Logger;
  private readonly baseUrl: URL;
  private readonly writeUrl: string;
  private readonly authHeader: string | undefined;
  private readonly gzipThreshold: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly retryAfterMaxMs: number;
  private readonly random: () => number;

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
  private pumpScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private dbState: 'needed' | 'done' = 'done';
  private lastSkipLog = 0;
  private readonly counts: WriterStats = {
    buffered: 0,
    peakBuffered: 0,
    written: 0,
    failed: 0,
    retried: 0,
    requests: 0,
    skippedPoints: 0,
    skippedFields: 0,
  };

  /** `config`: the `influx` section of the app configuration, with `url` set. */
  constructor(config: InfluxConfig & { url: string }, logger: Logger, opts: InfluxWriterOptions = {}) {
    this.cfg = config;
    this.name = opts.name ?? 'influx';
    this.log = logger.child({ module: 'influx-writer', writer: this.name });
    this.gzipThreshold = opts.gzipThresholdBytes ?? 64 * 1024;
    this.retryInitialMs = opts.retryInitialMs ?? 200;
    this.retryMaxMs = opts.retryMaxMs ?? 30_000;
    this.retryAfterMaxMs = opts.retryAfterMaxMs ?? 300_000;
    this.random = opts.random ?? Math.random;

    const url = new URL(config.url);
    // fetch refuses URLs with credentials: user:pass@host becomes basic auth.
    const urlUser = decodeURIComponent(url.username);
    const urlPass = decodeURIComponent(url.password);
    url.username = '';
    url.password = '';
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    this.baseUrl = url;

    const c = this.cfg;
    const user = c.username ?? (urlUser || undefined);
    const pass = c.password ?? (urlPass || undefined);
    const params = new URLSearchParams();
    if (c.apiVersion === 2) {
      if (c.org) params.set('org', c.org);
      params.set('bucket', c.bucket ?? (c.retentionPolicy ? `${c.database}/${c.retentionPolicy}` : c.database));
      params.set('precision', 'ms');
      this.writeUrl = `${new URL('api/v2/write', url).href}?${params}`;
      // 2.x/3.x: a token; InfluxDB 1.8's v2 compatibility endpoint takes "user:password" as token.
      const token = c.token ?? (user !== undefined ? `${user}:${pass ?? ''}` : undefined);
      this.authHeader = token !== undefined ? `Token ${token}` : undefined;
    } else {
      params.set('db', c.database);
      if (c.retentionPolicy) params.set('rp', c.retentionPolicy);
      params.set('precision', 'ms');
      this.writeUrl = `${new URL('write', url).href}?${params}`;
      if (c.token !== undefined) this.authHeader = `Token ${c.token}`;
      else if (user !== undefined) this.authHeader = `Basic ${Buffer.from(`${user}:${pass ?? ''}`).toString('base64')}`;
      if (c.createDatabase) this.dbState = 'needed';
    }
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

  /**
   * Queues points; resolves once all of them are accepted by InfluxDB (see the module header
   * for rejections). Waits while the buffer is full.
   */
  async write(points: readonly Point[], opts: WriteOptions = {}): Promise<WriteSummary> {
    if (this.closing) throw new InfluxWriteError(`influx writer ${this.name} is closed`, 'closed', 0, '', points.length);
    const lines: string[] = [];
    const summary: WriteSummary = { written: 0, skippedPoints: 0, skippedFields: 0 };
    const skippedDetail: Array<{ measurement: string; skipped: SkippedField[] }> = [];
    for (const p of points) {
      const enc = encodePoint(p);
      if (enc.line !== undefined) lines.push(enc.line);
      else summary.skippedPoints++;
      if (enc.skipped.length > 0) {
        if (enc.line !== undefined) summary.skippedFields += enc.skipped.length;
        if (skippedDetail.length < 3) skippedDetail.push({ measurement: p.measurement, skipped: enc.skipped });
      }
    }
    if (summary.skippedPoints || summary.skippedFields) this.reportSkipped(summary, skippedDetail);
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
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
    })();
    return this.closing;
  }

  // ---- buffer -------------------------------------------------------------------------------

  private reportSkipped(summary: WriteSummary, detail: Array<{ measurement: string; skipped: SkippedField[] }>): void {
    this.counts.skippedPoints += summary.skippedPoints;
    this.counts.skippedFields += summary.skippedFields;
    if (summary.skippedPoints) pointsFailed.inc({ writer: this.name, reason: 'invalid' }, summary.skippedPoints);
    if (summary.skippedFields) fieldsSkipped.inc({ writer: this.name }, summary.skippedFields);
    const now = Date.now();
    if (now - this.lastSkipLog < 10_000) return; // at most one line per 10 s; the counters have the rest
    this.lastSkipLog = now;
    this.log.warn(
      { skippedPoints: summary.skippedPoints, skippedFields: summary.skippedFields, examples: detail },
      'points or fields left out (InfluxDB cannot store them)',
    );
  }

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
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushTarget = this.seq;
      this.schedulePump();
    }, this.cfg.flushIntervalMs);
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.sending) return;
    this.pumpScheduled = true;
    // setImmediate: writes made in the same turn (several admissions) join the same batch.
    setImmediate(() => {
      this.pumpScheduled = false;
      void this.pump();
    });
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

  private takeBatch(): Part[] {
    const parts: Part[] = [];
    let room = this.cfg.batchSize;
    while (room > 0 && this.queue.length > 0) {
      const seg = this.queue[0]!;
      if (seg.lines.length <= room) {
        this.queue.shift();
        parts.push({ lines: seg.lines, ticket: seg.ticket, seq: seg.seq, last: true });
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

  // ---- delivery -----------------------------------------------------------------------------

  private async sendBatch(parts: Part[]): Promise<void> {
    const started = performance.now();
    const lines = parts.length === 1 ? parts[0]!.lines : parts.flatMap((p) => p.lines);
    if (this.dbState === 'needed') await this.ensureDatabase();
    let results = await this.deliver(lines);
    const first = results.find((r) => !r.ok);
    if (first && !first.ok && first.kind === 'rejected' && (first.status === 400 || first.status === 422)) {
      const tickets = new Set(parts.map((p) => p.ticket));
      if (tickets.size > 1) {
        // Isolate the offending write() calls: re-send each call's points on its own.
        this.log.warn({ status: first.status, calls: tickets.size }, 'data error in a mixed batch: re-sending each write on its own');
        const byTicket = new Map<Ticket, Outcome[]>();
        for (const t of tickets) byTicket.set(t, await this.deliver(parts.filter((p) => p.ticket === t).flatMap((p) => p.lines)));
        // Back in part order (a ticket's parts appear in the batch in its own order).
        results = parts.flatMap((p) => byTicket.get(p.ticket)!.splice(0, p.lines.length));
      }
    }
    const failed = results.some((r) => !r.ok);
    batchSeconds.observe({ writer: this.name, outcome: failed ? 'failed' : 'ok' }, (performance.now() - started) / 1000);
    this.settle(parts, results);
  }

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

  /** Sends lines (retries included); one outcome per line. 413 splits the batch in halves. */
  private async deliver(lines: string[]): Promise<Outcome[]> {
    const outcome = await this.post(lines.join('\n'), lines.length);
    if (!outcome.ok && outcome.kind === 'rejected' && outcome.status === 413 && lines.length > 1) {
      const mid = Math.ceil(lines.length / 2);
      this.log.warn({ points: lines.length }, 'InfluxDB: request entity too large, splitting the batch');
      return [...(await this.deliver(lines.slice(0, mid))), ...(await this.deliver(lines.slice(mid)))];
    }
    return new Array<Outcome>(lines.length).fill(outcome);
  }

  private backoff(attempt: number, retryAfterMs: number | undefined): number {
    const exp = Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** attempt);
    const jittered = exp / 2 + (this.random() * exp) / 2;
    return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, this.retryAfterMaxMs));
  }

  private async post(text: string, points: number): Promise<Outcome> {
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (this.authHeader) headers.authorization = this.authHeader;
    let body: string | Buffer = text;
    if (Buffer.byteLength(text) >= this.gzipThreshold) {
      body = await gzip(text, { level: 1 });
      headers['content-encoding'] = 'gzip';
    }
    let createdDb = false;
    for (let attempt = 0; ; attempt++) {
      let status = 0;
      let respBody = '';
      let retryAfter: number | undefined;
      let cause = '';
      try {
        const res = await fetch(this.writeUrl, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(this.cfg.timeoutMs),
        });
        status = res.status;
        respBody = await res.text();
        retryAfter = parseRetryAfter(res.headers.get('retry-after'));
      } catch (err) {
        cause = describeFetchError(err);
      }
      this.counts.requests++;
      requestsTotal.inc({ writer: this.name, status: status ? String(status) : 'network' });
      if (status >= 200 && status < 300) return OK;
      const body500 = respBody.slice(0, MAX_BODY_LOG);
      if (status >= 400 && status < 500 && status !== 429) {
        if (status === 404 && this.cfg.apiVersion === 1 && this.cfg.createDatabase && !createdDb && /database not found/i.test(respBody)) {
          createdDb = true;
          this.log.warn({ database: this.cfg.database }, 'InfluxDB: database not found, creating it');
          if (await this.createDatabase()) continue;
        }
        if (status !== 413)
          this.log.error({ status, body: body500, points }, 'InfluxDB rejected a batch (not retried)');
        return {
          ok: false,
          kind: 'rejected',
          status,
          body: body500,
          message: `InfluxDB rejected ${points} point(s): HTTP ${status}: ${body500.trim() || '(no body)'}`,
        };
      }
      const reason = status ? `HTTP ${status}${body500 ? `: ${body500.trim().slice(0, 200)}` : ''}` : cause;
      if (attempt >= this.cfg.maxRetries) {
        this.log.error({ reason, attempts: attempt + 1, points }, 'InfluxDB unavailable: giving up on a batch after all retries');
        return {
          ok: false,
          kind: 'unavailable',
          status,
          body: body500,
          message: `InfluxDB unavailable after ${attempt + 1} attempt(s): ${reason}`,
        };
      }
      const delay = this.backoff(attempt, retryAfter);
      this.counts.retried += points;
      pointsRetried.inc({ writer: this.name }, points);
      this.log.warn({ reason, attempt: attempt + 1, delayMs: Math.round(delay), points }, 'InfluxDB write failed, retrying');
      await sleep(delay);
    }
  }

  // ---- database creation (v1) ---------------------------------------------------------------

  /** One attempt per batch until it succeeds or is refused; a 404 on write also creates it. */
  private async ensureDatabase(): Promise<void> {
    const ok = await this.createDatabase();
    if (ok !== undefined) this.dbState = 'done';
  }

  /** true: created (or existed); false: refused; undefined: unreachable (retry later). */
  private async createDatabase(): Promise<boolean | undefined> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (this.authHeader) headers.authorization = this.authHeader;
    const q = `CREATE DATABASE ${quoteIdentifier(this.cfg.database)}`;
    try {
      const res = await fetch(new URL('query', this.baseUrl), {
        method: 'POST',
        headers,
        body: new URLSearchParams({ q }).toString(),
        signal: AbortSignal.timeout(this.cfg.timeoutMs),
      });
      const text = await res.text();
      if (res.status >= 500 || res.status === 429) {
        this.log.warn({ status: res.status, body: text.slice(0, MAX_BODY_LOG) }, 'InfluxDB: CREATE DATABASE failed, will retry');
        return undefined;
      }
      let error: string | undefined;
      try {
        const json = JSON.parse(text) as { error?: string; results?: Array<{ error?: string }> };
        error = json.error ?? json.results?.find((r) => r.error)?.error;
      } catch {
        if (res.status >= 400) error = text.slice(0, MAX_BODY_LOG);
      }
      if (res.status >= 400 || error) {
        this.log.warn({ status: res.status, error, database: this.cfg.database }, 'InfluxDB refused CREATE DATABASE; writing anyway');
        return false;
      }
      this.log.info({ database: this.cfg.database }, 'InfluxDB database ensured');
      return true;
    } catch (err) {
      this.log.warn({ reason: describeFetchError(err) }, 'InfluxDB: CREATE DATABASE failed (unreachable), will retry');
      return undefined;
    }
  }
}

function describeFetchError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  const cause = e?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ''}`;
  return e?.message ?? String(err);
}

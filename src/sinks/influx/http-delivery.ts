/**
 * Delivery of line-protocol batches to InfluxDB over HTTP: one POST per batch (gzip from a size
 * threshold), retried through core/retry.ts on network errors, timeouts, 5xx and 429 (a server's
 * Retry-After honoured as the minimum wait), never on another 4xx; 413 splits the batch in
 * halves; v1 "database not found" creates the database once (`createDatabase`). One outcome
 * per line.
 */
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Logger } from '../../core/logger.js';
import { retry, type RetryPolicy } from '../../core/retry.js';
import type { InfluxConfig } from '../config.js';
import { createDatabase } from './database.js';
import { describeFetchError, type InfluxEndpoint } from './endpoint.js';
import { pointsRetried, requestsTotal } from './metrics.js';
import { MAX_BODY_LOG, OK, type InfluxWriterOptions, type Outcome, type WriterStats } from './types.js';

const gzip = promisify(gzipCb);

/** Retry-After: delay-seconds or an HTTP date → ms (undefined when absent/invalid). */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined;
}

export class InfluxDelivery {
  private readonly policy: RetryPolicy;
  private readonly gzipThreshold: number;
  private dbNeeded: boolean;

  constructor(
    private readonly cfg: InfluxConfig,
    private readonly endpoint: InfluxEndpoint,
    private readonly name: string,
    private readonly log: Logger,
    /** The writer's stats (requests and retried are counted here). */
    private readonly counts: WriterStats,
    opts: InfluxWriterOptions,
  ) {
    this.gzipThreshold = opts.gzipThresholdBytes ?? 64 * 1024;
    this.policy = {
      initialMs: opts.retryInitialMs ?? 200,
      maxMs: opts.retryMaxMs ?? 30_000,
      jitter: true,
      maxRetries: cfg.maxRetries,
      retryAfterMaxMs: opts.retryAfterMaxMs ?? 300_000,
      random: opts.random,
    };
    this.dbNeeded = cfg.apiVersion !== 2 && cfg.createDatabase;
  }

  /** With v1 and createDatabase: one CREATE DATABASE per batch until it succeeds or is refused. */
  private async ensureDatabase(): Promise<void> {
    if (!this.dbNeeded) return;
    const ok = await createDatabase(this.endpoint, this.cfg.database, this.cfg.timeoutMs, this.log);
    if (ok !== undefined) this.dbNeeded = false;
  }

  /**
   * Delivers a batch made of the lines of several write() calls (`parts`, each with its
   * `caller`); one outcome per line. A data error (400/422) on a batch that mixes several
   * callers re-sends each caller's lines once on their own, so one caller's bad point does not
   * fail another's (writes are idempotent: points already stored are overwritten alike).
   */
  async deliverBatch(lines: string[], parts: ReadonlyArray<{ lines: string[]; caller: object }>): Promise<Outcome[]> {
    await this.ensureDatabase();
    const results = await this.deliver(lines);
    const first = results.find((r) => !r.ok);
    if (!first || first.ok || first.kind !== 'rejected' || (first.status !== 400 && first.status !== 422)) return results;
    const callers = new Set(parts.map((p) => p.caller));
    if (callers.size <= 1) return results;
    this.log.warn({ status: first.status, calls: callers.size }, 'data error in a mixed batch: re-sending each write on its own');
    const byCaller = new Map<object, Outcome[]>();
    for (const c of callers) byCaller.set(c, await this.deliver(parts.filter((p) => p.caller === c).flatMap((p) => p.lines)));
    // back in part order (a caller's parts appear in the batch in its own order)
    return parts.flatMap((p) => byCaller.get(p.caller)!.splice(0, p.lines.length));
  }

  /** Sends lines (retries included); one outcome per line. 413 splits the batch in halves. */
  async deliver(lines: string[]): Promise<Outcome[]> {
    const outcome = await this.post(lines.join('\n'), lines.length);
    if (!outcome.ok && outcome.kind === 'rejected' && outcome.status === 413 && lines.length > 1) {
      const mid = Math.ceil(lines.length / 2);
      this.log.warn({ points: lines.length }, 'InfluxDB: request entity too large, splitting the batch');
      return [...(await this.deliver(lines.slice(0, mid))), ...(await this.deliver(lines.slice(mid)))];
    }
    return new Array<Outcome>(lines.length).fill(outcome);
  }

  private async post(text: string, points: number): Promise<Outcome> {
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (this.endpoint.authHeader) headers.authorization = this.endpoint.authHeader;
    let body: string | Buffer = text;
    if (Buffer.byteLength(text) >= this.gzipThreshold) {
      body = await gzip(text, { level: 1 });
      headers['content-encoding'] = 'gzip';
    }
    let createdDb = false;
    let last = { status: 0, body: '' };
    return retry<Outcome>(
      this.policy,
      async () => {
        let status = 0;
        let respBody = '';
        let retryAfterMs: number | undefined;
        let cause = '';
        try {
          const res = await fetch(this.endpoint.writeUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.cfg.timeoutMs) });
          status = res.status;
          respBody = await res.text();
          retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
        } catch (err) {
          cause = describeFetchError(err);
        }
        this.counts.requests++;
        requestsTotal.inc({ writer: this.name, status: status ? String(status) : 'network' });
        if (status >= 200 && status < 300) return { done: true, value: OK };
        const shortBody = respBody.slice(0, MAX_BODY_LOG);
        if (status >= 400 && status < 500 && status !== 429) {
          if (status === 404 && this.cfg.apiVersion === 1 && this.cfg.createDatabase && !createdDb && /database not found/i.test(respBody)) {
            createdDb = true;
            this.log.warn({ database: this.cfg.database }, 'InfluxDB: database not found, creating it');
            if (await createDatabase(this.endpoint, this.cfg.database, this.cfg.timeoutMs, this.log)) return { done: false, again: true };
          }
          if (status !== 413) this.log.error({ status, body: shortBody, points }, 'InfluxDB rejected a batch (not retried)');
          const message = `InfluxDB rejected ${points} point(s): HTTP ${status}: ${shortBody.trim() || '(no body)'}`;
          return { done: true, value: { ok: false, kind: 'rejected', status, body: shortBody, message } };
        }
        last = { status, body: shortBody };
        const reason = status ? `HTTP ${status}${shortBody ? `: ${shortBody.trim().slice(0, 200)}` : ''}` : cause;
        return { done: false, reason, retryAfterMs };
      },
      {
        onRetry: (reason, attempt, delay) => {
          this.counts.retried += points;
          pointsRetried.inc({ writer: this.name }, points);
          this.log.warn({ reason, attempt, delayMs: Math.round(delay), points }, 'InfluxDB write failed, retrying');
        },
        onExhausted: (reason, attempts) => {
          this.log.error({ reason, attempts, points }, 'InfluxDB unavailable: giving up on a batch after all retries');
          const message = `InfluxDB unavailable after ${attempts} attempt(s): ${reason}`;
          return { ok: false, kind: 'unavailable', status: last.status, body: last.body, message };
        },
      },
    );
  }
}

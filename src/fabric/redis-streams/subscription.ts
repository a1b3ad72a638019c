/**
 * One member of a consumer group on Redis streams: reads the streams it holds the lease of
 * (group-membership.ts) with XREADGROUP (blocking), first its own pending entries (a failed
 * batch, or entries claimed from a member that left or died), hands each batch to the
 * handler and acknowledges it (XACK) only after the handler resolved — at-least-once, as the
 * Kafka adapter. A read of new entries during which the reader's connection dropped is not
 * trusted: Redis may have delivered entries to this member whose reply never arrived (ioredis
 * sends the read again after reconnecting, and that only returns later entries), so its own
 * pending entries are read again first. Entries that are not messages (the codec says why) go to
 * `<topic>.dlq` and are acknowledged.
 */
import type { Redis } from 'ioredis';
import { Backoff, sleep } from '../../core/backoff.js';
import type { Logger } from '../../core/logger.js';
import { dlqTopic, handleFully, type IncomingMessage, type OutgoingMessage, type SubscribeOptions, type Subscription } from '../fabric.js';
import { idOfOffset, offsetOfId, timestampOfId, type StreamCodec } from './codec.js';
import { GroupMembership } from './group-membership.js';
import type { RedisStreamsMetrics } from './metrics.js';

type ReadReply = Array<[string, Array<[string, string[] | null]>]> | null;

/** What a subscription needs of its fabric. */
export interface SubscriptionHost {
  readonly redis: Redis;
  /** A new connection for blocking reads. */
  blockingConnection(): Redis;
  streamOf(topic: string): string;
  codecOf(topic: string): StreamCodec;
  ensureGroup(stream: string, group: string, fromBeginning: boolean): Promise<void>;
  publishBatch(messages: OutgoingMessage[]): Promise<void>;
  readonly metrics: RedisStreamsMetrics;
  readonly logger: Logger;
  readonly tuning: RedisStreamsTuning;
  readonly metaPrefix: string;
  readonly consumerPrefix: string;
}

export interface RedisStreamsTuning {
  /** Entries per read (default 500). */
  batchSize: number;
  /** XREADGROUP BLOCK time (ms, default 1000): also how long a rebalance may wait for a read to return. */
  blockMs: number;
  /** A member silent this long is dead: its leases lapse and its pending entries are claimed (ms, default 10000). */
  claimIdleMs: number;
  /** Retry delays after a failed read or handler (ms). */
  retryInitialMs: number;
  retryMaxMs: number;
}

export class RedisStreamsSubscription implements Subscription {
  private topics: string[];
  /** stream key → topic, of the subscribed topics */
  private streams = new Map<string, string>();
  private readonly owned = new Set<string>();
  private readonly pendingFirst = new Set<string>();
  private readonly membership: GroupMembership;
  private readonly reader: Redis;
  private readerId: number | undefined;
  /** Times the reader's connection closed (a read that saw it change may have lost its reply). */
  private readerDrops = 0;
  private readonly stopping = new AbortController();
  private readonly backoff: Backoff;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private members: string[] = [];
  private rebalanceDue = true;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly host: SubscriptionHost,
    private readonly o: SubscribeOptions,
  ) {
    this.topics = [...o.topics];
    const member = `${host.consumerPrefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.membership = new GroupMembership(host.redis, host.metaPrefix, o.group, member, host.tuning.claimIdleMs);
    this.reader = host.blockingConnection();
    this.reader.on('ready', () => {
      void this.reader.client('ID').then((id) => (this.readerId = Number(id)), () => undefined);
    });
    this.reader.on('close', () => this.readerDrops++);
    this.backoff = new Backoff({ initialMs: host.tuning.retryInitialMs, maxMs: host.tuning.retryMaxMs });
  }

  get consumer(): string {
    return this.membership.member;
  }

  async start(): Promise<void> {
    await this.ensureGroups(this.topics);
    this.members = await this.membership.heartbeat();
    const tick = Math.max(50, Math.floor(this.host.tuning.claimIdleMs / 3));
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), tick);
    this.heartbeatTimer.unref();
    this.loop = this.run();
  }

  private async ensureGroups(topics: readonly string[]): Promise<void> {
    const fromBeginning = this.o.fromBeginning ?? true;
    for (const topic of topics) {
      const stream = this.host.streamOf(topic);
      await this.host.ensureGroup(stream, this.o.group, fromBeginning);
      this.streams.set(stream, topic);
    }
  }

  private async heartbeat(): Promise<void> {
    try {
      const members = await this.membership.heartbeat();
      const lost = await this.membership.renew(this.owned);
      const changed = members.join('\n') !== this.members.join('\n');
      this.members = members;
      const want = this.membership.assigned([...this.streams.keys()], members);
      const missing = want.some((s) => !this.owned.has(s));
      if (lost.length > 0 || changed || missing) this.requestRebalance(lost.length > 0 || changed);
      for (const s of lost) await this.revoke([s], false);
    } catch (err) {
      this.host.logger.debug({ err: (err as Error).message, group: this.o.group }, 'redis streams heartbeat failed');
    }
  }

  /** Rebalance before the next read; `interrupt` ends a blocking read now. */
  private requestRebalance(interrupt: boolean): void {
    this.rebalanceDue = true;
    this.wake?.();
    if (interrupt) this.unblock();
  }

  private unblock(): void {
    if (this.readerId !== undefined) void this.host.redis.client('UNBLOCK', this.readerId).catch(() => undefined);
  }

  private async rebalance(): Promise<void> {
    this.rebalanceDue = false;
    const want = new Set(this.membership.assigned([...this.streams.keys()], this.members));
    const lose = [...this.owned].filter((s) => !want.has(s));
    if (lose.length > 0) await this.revoke(lose, true);
    const gained: string[] = [];
    for (const stream of want) {
      if (this.owned.has(stream)) continue;
      if (!(await this.membership.acquire(stream))) {
        this.rebalanceDue = true; // the previous owner still holds it: try again at the next heartbeat
        continue;
      }
      // the lease makes this member the stream's only reader: whatever others left pending is ours now
      await this.claimAll(stream);
      this.owned.add(stream);
      this.pendingFirst.add(stream);
      gained.push(stream);
    }
    if (gained.length > 0) {
      this.host.metrics.rebalances.inc({ group: this.o.group });
      await this.o.onAssigned?.(gained.map((s) => ({ topic: this.streams.get(s)!, partition: 0 })));
    }
  }

  private async revoke(streams: string[], release: boolean): Promise<void> {
    const gone = streams.filter((s) => this.owned.delete(s));
    for (const s of gone) {
      this.pendingFirst.delete(s);
      if (release) await this.membership.release(s).catch(() => undefined);
    }
    if (gone.length > 0) {
      this.host.metrics.rebalances.inc({ group: this.o.group });
      await this.o.onRevoked?.(gone.map((s) => ({ topic: this.streams.get(s) ?? s, partition: 0 })));
    }
  }

  private async claimAll(stream: string): Promise<void> {
    let cursor = '0-0';
    do {
      const [next, entries] = (await this.host.redis.xautoclaim(stream, this.o.group, this.consumer, 0, cursor, 'COUNT', 1000, 'JUSTID')) as [string, string[]];
      if (entries.length > 0) this.host.metrics.claimed.inc({ topic: this.streams.get(stream) ?? stream, group: this.o.group }, entries.length);
      cursor = next;
    } while (cursor !== '0-0');
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        if (this.rebalanceDue) await this.rebalance();
        if (this.owned.size === 0) {
          await new Promise<void>((r) => {
            this.wake = r;
            setTimeout(r, this.host.tuning.blockMs).unref();
          });
          this.wake = undefined;
          continue;
        }
        const batch = await this.read();
        if (batch.length > 0) await this.deliver(batch);
        this.backoff.reset();
      } catch (err) {
        const msg = (err as Error).message;
        if (msg.includes('NOGROUP')) await this.ensureGroups(this.topics).catch(() => undefined);
        this.host.logger.warn({ err: msg, group: this.o.group }, 'redis streams consumer: retrying');
        await sleep(this.backoff.next(), signal);
      }
    }
  }

  /** This member's pending entries first (oldest first), else new ones (blocking). */
  private async read(): Promise<IncomingMessage[]> {
    const { batchSize, blockMs } = this.host.tuning;
    const group = ['GROUP', this.o.group, this.consumer, 'COUNT', batchSize] as const;
    if (this.pendingFirst.size > 0) {
      const streams = [...this.pendingFirst];
      const reply = (await this.reader.xreadgroup(...group, 'STREAMS', ...streams, ...streams.map(() => '0'))) as ReadReply;
      const got = await this.decode(reply);
      for (const s of streams) if (!reply?.some(([key, entries]) => key === s && entries.length > 0)) this.pendingFirst.delete(s);
      if (got.length > 0 || this.pendingFirst.size > 0) return got;
    }
    const streams = [...this.owned];
    const drops = this.readerDrops;
    let reply: ReadReply;
    try {
      reply = (await this.reader.xreadgroup(...group, 'BLOCK', blockMs, 'STREAMS', ...streams, ...streams.map(() => '>'))) as ReadReply;
    } catch (err) {
      this.rereadPending(streams);
      throw err;
    }
    if (this.readerDrops !== drops) {
      // the connection dropped meanwhile: an earlier run of this read may have delivered entries
      // (now pending on this member) whose reply was lost; this reply's entries are pending too —
      // all of them are read again from this member's pending list, oldest first
      this.rereadPending(streams);
      return [];
    }
    return this.decode(reply);
  }

  /** The next read starts with this member's pending entries of these streams (those it still holds). */
  private rereadPending(streams: readonly string[]): void {
    for (const s of streams) if (this.owned.has(s)) this.pendingFirst.add(s);
  }

  /** Messages of a read; entries trimmed away meanwhile are acknowledged, undecodable ones dead-lettered. */
  private async decode(reply: ReadReply): Promise<IncomingMessage[]> {
    const out: IncomingMessage[] = [];
    const skip = new Map<string, string[]>();
    const letters: OutgoingMessage[] = [];
    for (const [stream, entries] of reply ?? []) {
      const topic = this.streams.get(stream) ?? stream;
      const codec = this.host.codecOf(topic);
      for (const [id, fields] of entries) {
        const decoded = fields ? codec.decode(id, fields) : { error: 'trimmed' };
        if ('error' in decoded) {
          skip.set(stream, [...(skip.get(stream) ?? []), id]);
          if (fields) {
            this.host.metrics.undecodable.inc({ topic });
            letters.push(this.undecodable(topic, id, fields, decoded.error));
          }
          continue;
        }
        out.push({ topic, key: decoded.key, value: decoded.value, headers: decoded.headers, partition: 0, offset: offsetOfId(id), timestamp: timestampOfId(id) });
      }
    }
    if (letters.length > 0) await this.host.publishBatch(letters);
    for (const [stream, ids] of skip) await this.host.redis.xack(stream, this.o.group, ...ids);
    return out;
  }

  private undecodable(topic: string, id: string, fields: readonly string[], reason: string): OutgoingMessage {
    this.host.logger.warn({ topic, id, reason }, 'stream entry is not a message: sent to the dead-letter topic');
    const letter = { stage: `redis-streams:${this.o.group}`, reason, topic, partition: 0, offset: offsetOfId(id), key: '', received_at: new Date().toISOString(), value: JSON.stringify(fields) };
    return { topic: dlqTopic(topic), key: '', value: JSON.stringify(letter) };
  }

  private async deliver(batch: IncomingMessage[]): Promise<void> {
    try {
      await handleFully(this.o.handler, batch);
    } catch (err) {
      for (const topic of new Set(batch.map((m) => m.topic))) {
        this.host.metrics.handlerFailures.inc({ topic, group: this.o.group });
        this.pendingFirst.add(this.host.streamOf(topic));
      }
      throw err;
    }
    const ids = new Map<string, string[]>();
    for (const m of batch) {
      const stream = this.host.streamOf(m.topic);
      ids.set(stream, [...(ids.get(stream) ?? []), idOf(m)]);
    }
    const t0 = performance.now();
    try {
      const p = this.host.redis.pipeline();
      for (const [stream, list] of ids) p.xack(stream, this.o.group, ...list);
      const res = await p.exec();
      const failed = res?.find(([e]) => e);
      if (failed) throw failed[0]!;
      this.host.metrics.ackSeconds.observe({ group: this.o.group, result: 'ok' }, (performance.now() - t0) / 1000);
    } catch (err) {
      this.host.metrics.ackSeconds.observe({ group: this.o.group, result: 'error' }, (performance.now() - t0) / 1000);
      for (const stream of ids.keys()) this.pendingFirst.add(stream);
      throw err;
    }
    for (const [stream, list] of ids) this.host.metrics.consumed.inc({ topic: this.streams.get(stream) ?? stream, group: this.o.group }, list.length);
  }

  async updateTopics(topics: string[]): Promise<void> {
    await this.ensureGroups(topics);
    const keep = new Set(topics.map((t) => this.host.streamOf(t)));
    for (const s of [...this.streams.keys()]) if (!keep.has(s)) this.streams.delete(s);
    this.topics = [...topics];
    this.requestRebalance(true);
  }

  async lag(): Promise<number> {
    let total = 0;
    for (const stream of this.streams.keys()) total += await this.streamLag(stream);
    return total;
  }

  private async streamLag(stream: string): Promise<number> {
    let groups: unknown[];
    try {
      groups = (await this.host.redis.xinfo('GROUPS', stream)) as unknown[];
    } catch {
      return 0; // no stream yet
    }
    for (const g of groups as string[][]) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1]);
      if (info.get('name') !== this.o.group) continue;
      const pending = Number(info.get('pending') ?? 0);
      const lag = info.get('lag');
      if (lag !== null && lag !== undefined) return pending + Number(lag);
      // lag unknown (entries deleted or trimmed): count what lies after the last delivered entry
      const after = await this.host.redis.xrange(stream, `(${String(info.get('last-delivered-id'))}`, '+', 'COUNT', 100_000);
      return pending + after.length;
    }
    return 0;
  }

  async close(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.wake?.();
    this.unblock();
    await this.loop;
    await this.revoke([...this.owned], true).catch(() => undefined);
    await this.membership.leave().catch(() => undefined);
    this.reader.disconnect();
  }
}

const idOf = (m: IncomingMessage): string => idOfOffset(m.offset);

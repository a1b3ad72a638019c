/**
 * The data fabric on Redis Streams (the node-local fabric of the vehicle half): a topic is a
 * stream (MAXLEN ~ bounded), a consumer group an XGROUP, members share a group's streams
 * (one reader per stream at a time, so per-key order holds; subscription.ts), batches are
 * acknowledged after their handler resolved (at-least-once), entries a dead member left
 * pending are claimed by the next one, dead letters go to the `<topic>.dlq` stream. Streams
 * whose entry shape is someone else's contract are read and written through a per-topic codec.
 */
import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../core/logger.js';
import type { Fabric, IncomingMessage, OutgoingMessage, ReadAllOptions, SubscribeOptions, Subscription, TopicSpec } from '../fabric.js';
import { defaultCodec, offsetOfId, timestampOfId, type StreamCodec } from './codec.js';
import { redisStreamsMetrics, type RedisStreamsMetrics } from './metrics.js';
import { RedisStreamsSubscription, type RedisStreamsTuning, type SubscriptionHost } from './subscription.js';

export interface RedisStreamTopic {
  /** The stream key (default: the topic name). */
  stream?: string;
  codec?: StreamCodec;
  /** MAXLEN ~ of this stream (default: the fabric's maxLen). */
  maxLen?: number;
}

export interface RedisStreamsFabricOptions {
  url: string;
  password?: string;
  logger: Logger;
  /** Approximate cap of every stream (XADD MAXLEN ~; default 100,000). */
  maxLen?: number;
  /** Prefix of the fabric's own keys: group members, stream leases, topic specs (default `wattflow:fabric:`). */
  metaPrefix?: string;
  /** Consumer names start with it (default: the host name). */
  consumerPrefix?: string;
  /** Topics with their own stream key, codec or cap. */
  topics?: Record<string, RedisStreamTopic>;
  consumer?: Partial<RedisStreamsTuning>;
  connectTimeoutMs?: number;
}

const DEFAULT_TUNING: RedisStreamsTuning = { batchSize: 500, blockMs: 1000, claimIdleMs: 10_000, retryInitialMs: 100, retryMaxMs: 5_000 };

export class RedisStreamsFabric implements Fabric, SubscriptionHost {
  readonly kind = 'redis-streams' as const;
  readonly pipelinesBatches = false;
  readonly redis: Redis;
  readonly metrics: RedisStreamsMetrics = redisStreamsMetrics();
  readonly logger: Logger;
  readonly tuning: RedisStreamsTuning;
  readonly metaPrefix: string;
  readonly consumerPrefix: string;
  private readonly subscriptions = new Set<RedisStreamsSubscription>();
  private readonly groupsReady = new Set<string>();
  private readonly compacted = new Map<string, boolean>();

  constructor(private readonly o: RedisStreamsFabricOptions) {
    this.logger = o.logger.child({ module: 'redis-streams-fabric' });
    this.tuning = { ...DEFAULT_TUNING, ...o.consumer };
    this.metaPrefix = o.metaPrefix ?? 'wattflow:fabric:';
    this.consumerPrefix = o.consumerPrefix ?? hostname();
    this.redis = new Redis(o.url, this.clientOptions());
    this.redis.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'redis streams fabric: connection error'));
  }

  private clientOptions(): RedisOptions {
    return {
      ...(this.o.password !== undefined ? { password: this.o.password } : {}),
      connectTimeout: this.o.connectTimeoutMs ?? 3000,
      maxRetriesPerRequest: null,
      connectionName: `wattflow-fabric-${this.consumerPrefix}`,
    };
  }

  blockingConnection(): Redis {
    const r = new Redis(this.o.url, this.clientOptions());
    r.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'redis streams reader: connection error'));
    return r;
  }

  /** true when connected; else why not. */
  available(): true | string {
    return this.redis.status === 'ready' ? true : `Redis streams fabric not connected (${this.redis.status})`;
  }

  streamOf(topic: string): string {
    return this.o.topics?.[topic]?.stream ?? topic;
  }

  codecOf(topic: string): StreamCodec {
    return this.o.topics?.[topic]?.codec ?? defaultCodec;
  }

  private maxLenOf(topic: string): number {
    return this.o.topics?.[topic]?.maxLen ?? this.o.maxLen ?? 100_000;
  }

  async ensureGroup(stream: string, group: string, fromBeginning: boolean): Promise<void> {
    const id = `${group}\n${stream}`;
    if (this.groupsReady.has(id)) return;
    try {
      await this.redis.xgroup('CREATE', stream, group, fromBeginning ? '0' : '$', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
    this.groupsReady.add(id);
  }

  /** Streams are created by their first entry; what is kept is whether a topic is compacted (readAll's latest per key). */
  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    const compacted = topics.filter((t) => t.compacted);
    for (const t of topics) this.compacted.set(t.name, t.compacted === true);
    if (compacted.length > 0) await this.redis.sadd(`${this.metaPrefix}compacted`, ...compacted.map((t) => t.name));
  }

  async publish(message: OutgoingMessage): Promise<void> {
    await this.publishBatch([message]);
  }

  async publishBatch(messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const p = this.redis.pipeline();
    for (const m of messages) p.xadd(this.streamOf(m.topic), 'MAXLEN', '~', this.maxLenOf(m.topic), '*', ...this.codecOf(m.topic).encode(m));
    const res = await p.exec().catch((err: Error) => messages.map(() => [err, null] as [Error, null]));
    const failed = res?.find(([err]) => err);
    const counts = new Map<string, number>();
    for (const m of messages) counts.set(m.topic, (counts.get(m.topic) ?? 0) + 1);
    for (const [topic, n] of counts) (failed ? this.metrics.publishFailures.inc({ topic }) : this.metrics.published.inc({ topic }, n));
    if (failed) throw failed[0]!;
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const sub = new RedisStreamsSubscription(this, options);
    this.subscriptions.add(sub);
    await sub.start();
    return {
      updateTopics: (topics) => sub.updateTopics(topics),
      lag: () => sub.lag(),
      close: async () => {
        this.subscriptions.delete(sub);
        await sub.close();
      },
    };
  }

  private async isCompacted(topic: string): Promise<boolean> {
    const known = this.compacted.get(topic);
    if (known !== undefined) return known;
    const c = (await this.redis.sismember(`${this.metaPrefix}compacted`, topic)) === 1;
    this.compacted.set(topic, c);
    return c;
  }

  /** A stream is one partition (0): asked for other partitions only, nothing. */
  async readAll(topic: string, options?: ReadAllOptions): Promise<IncomingMessage[]> {
    if (options?.partitions && !options.partitions.includes(0)) return [];
    const stream = this.streamOf(topic);
    const last = await this.redis.xrevrange(stream, '+', '-', 'COUNT', 1);
    if (last.length === 0) return [];
    const end = last[0]![0];
    const codec = this.codecOf(topic);
    const out: IncomingMessage[] = [];
    let from = '-';
    for (;;) {
      const page = await this.redis.xrange(stream, from, end, 'COUNT', 1000);
      for (const [id, fields] of page) {
        const d = codec.decode(id, fields);
        if (!('error' in d)) out.push({ topic, key: d.key, value: d.value, headers: d.headers, partition: 0, offset: offsetOfId(id), timestamp: timestampOfId(id) });
      }
      if (page.length < 1000 || page[page.length - 1]![0] === end) break;
      from = `(${page[page.length - 1]![0]}`;
    }
    if (!(await this.isCompacted(topic))) return out;
    const latest = new Map<string, IncomingMessage>();
    for (const m of out) {
      latest.delete(m.key);
      latest.set(m.key, m);
    }
    return [...latest.values()];
  }

  async partitionsOf(topics: readonly string[]): Promise<Map<string, number>> {
    return new Map(topics.map((t) => [t, 1]));
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
    this.subscriptions.clear();
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

/**
 * The Kafka adapter of the data fabric (`Fabric` in fabric.ts), on @platformatic/kafka 1.x
 * (pure JavaScript, no native addon; see docs/kafka-client-choice.md for why this client).
 *
 * What it does
 *  - publish/publishBatch (kafka-publisher.ts): one idempotent producer (acks = all, i.e. -1)
 *    behind a FIFO queue, one request at a time per topic (the library's idempotent producer
 *    loses data with concurrent sends to a partition; requests of disjoint topics may run
 *    together; publishes that queue up go out together). The
 *    message key (router/vehicle id) picks the partition with the Java-compatible murmur2
 *    partitioner, so one key always lands on one partition, in order. A publish resolves once
 *    every in-sync replica has the message. `json` payloads are serialised here (consumers get
 *    the text as `value`); large batches go out in consecutive requests below the broker's
 *    message size limit.
 *  - ensureTopics: creates missing topics through the Admin API (compacted ones with
 *    cleanup.policy=compact), tolerates "already exists" (another process won the race), and
 *    waits until every partition has a leader.
 *  - subscribe: one consumer-group member per subscription (kafka-subscription.ts).
 *  - readAll: reads a topic from its log start to its end at call time with plain fetches, no
 *    group; for compacted topics only the latest value per key is returned (compaction is lazy,
 *    so the log may still hold older values).
 *  - Security: `client` (SASL, TLS; built from the config by kafka-security.ts) goes to every
 *    client: the producer, each subscription's consumer and fetch pool, the admin, the readAll
 *    reader and checkConnection's connection. An authentication or TLS failure surfaces as a
 *    KafkaSecurityError naming the broker, the mechanism and the user (never the password).
 *
 * At-least-once design (consumer side)
 *  - A batch holds the fetched messages of one or more partitions (each partition's in order).
 *    Offsets are committed manually, all of a batch's partitions in one request, only after its
 *    handler resolved (the handler publishes its results first), so a crash can only cause
 *    redelivery, never loss.
 *  - A failing handler gets the same batch again with exponential backoff (200 ms → 10 s); its
 *    partitions do not advance past it, other partitions carry on in other batches.
 *  - A partition is in at most one batch at a time (per-key order); batches of disjoint
 *    partitions run concurrently.
 *  - Every newly assigned partition starts at the group's committed offset (else earliest, or
 *    latest with fromBeginning=false). A revoked partition stops at once: queued messages are
 *    dropped, the batch in hand finishes but is not committed (the new owner redelivers it).
 *  - close(): stop fetching, finish the batch in hand, commit, onRevoked, leave the group (the
 *    others rebalance immediately instead of waiting for the session timeout).
 */
import { Admin, ConfigResourceTypes, Connection, Consumer, IS_CONTROL, ListOffsetTimestamps, apiVersionsV3 } from '@platformatic/kafka';
import type { Logger } from '../core/logger.js';
import { counter, histogram } from '../core/metrics.js';
import type { Fabric, IncomingMessage, OutgoingMessage, SubscribeOptions, Subscription, TopicSpec } from './fabric.js';
import { KafkaPublisher } from './kafka-publisher.js';
import { KafkaSecurityError, closedAtOnceError, describeKafkaSecurity, explainKafkaError } from './kafka-security.js';
import {
  type KafkaClientOptions,
  type KafkaConsumerTuning,
  KafkaSubscription,
  type SubscriptionMetrics,
  defaultConsumerTuning,
} from './kafka-subscription.js';

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;

export type { KafkaClientOptions, KafkaConsumerTuning } from './kafka-subscription.js';

export interface KafkaFabricOptions {
  /** Bootstrap brokers, "host:port". */
  brokers: string[];
  /** Client id prefix (producer, admin, and `<clientId>-<group>` for consumers). */
  clientId: string;
  logger: Logger;
  /**
   * Partitions of topics created by ensureTopics without an explicit count (default 1; compacted:
   * 1). The pipeline's topics are per router/vehicle, i.e. one key each: more partitions would
   * stay empty and only make every fetch and assignment bigger.
   */
  defaultPartitions?: number;
  /** Replication factor of created topics (default: the broker's default.replication.factor). */
  replicationFactor?: number;
  /** Consumer group and fetch tuning (see KafkaConsumerTuning for the defaults). */
  consumer?: Partial<KafkaConsumerTuning>;
  /** TLS, SASL, timeouts, retries: passed to every client (see kafka-security.ts for sasl/tls from the config). */
  client?: KafkaClientOptions;
  /** Largest produce request publishBatch sends at once (bytes, default 900,000: under the broker's 1 MiB message.max.bytes). */
  maxSendBytes?: number;
}

const metrics = () => ({
  published: counter<'topic'>({
    name: 'wattflow_kafka_messages_published_total',
    help: 'Messages published to Kafka (acknowledged by all in-sync replicas), per topic',
    labelNames: ['topic'],
  }),
  publishFailures: counter<'topic'>({
    name: 'wattflow_kafka_publish_failures_total',
    help: 'Kafka publish calls that failed, per topic',
    labelNames: ['topic'],
  }),
  consumed: counter<'topic' | 'group'>({
    name: 'wattflow_kafka_messages_consumed_total',
    help: 'Messages whose handler resolved, per topic and consumer group',
    labelNames: ['topic', 'group'],
  }),
  handlerFailures: counter<'topic' | 'group'>({
    name: 'wattflow_kafka_handler_failures_total',
    help: 'Failed handler calls (the batch is delivered again), per topic and consumer group',
    labelNames: ['topic', 'group'],
  }),
  commitSeconds: histogram<'group' | 'result'>({
    name: 'wattflow_kafka_commit_duration_seconds',
    help: 'Latency of offset commits, per consumer group and result (ok|error)',
    labelNames: ['group', 'result'],
  }),
  rebalances: counter<'group'>({
    name: 'wattflow_kafka_rebalances_total',
    help: 'Consumer group (re)joins with a new generation, per group',
    labelNames: ['group'],
  }),
});

export class KafkaFabric implements Fabric {
  readonly kind = 'kafka' as const;
  private readonly log: Logger;
  private readonly publisher: KafkaPublisher;
  private adminClient: Admin | undefined;
  private readerClient: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  private readonly subscriptions = new Set<KafkaSubscription>();
  /** cleanup.policy=compact per topic, as created/ensured or as described by the broker. */
  private readonly compacted = new Map<string, boolean>();
  private readonly known = new Set<string>();
  private readonly tuning: KafkaConsumerTuning;
  private readonly m = metrics();
  private closing: Promise<void> | undefined;

  /** Client options with the fabric's retry policy unless the caller set one. */
  private readonly client: KafkaClientOptions;

  constructor(private readonly options: KafkaFabricOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaFabric needs at least one broker');
    this.log = options.logger.child({ component: 'kafka-fabric' });
    this.tuning = { ...defaultConsumerTuning, ...options.consumer };
    // The library's default is 3 retries 1 s apart; transient errors (a new partition's leader
    // not serving yet, a coordinator moving) usually clear within milliseconds, so back off
    // exponentially from 100 ms instead (≈ 6 s over 7 retries).
    this.client = { retries: 7, retryDelay: retryBackoff, ...options.client };
    const m = this.m;
    this.publisher = new KafkaPublisher({
      brokers: options.brokers,
      clientId: options.clientId,
      logger: this.log,
      client: this.client,
      maxSendBytes: options.maxSendBytes ?? 900_000,
      // ≈ 13 s of retries (100 ms doubling to 2 s) before a publish fails: rides out a broker
      // restart, but does not stall every publisher behind an unwritable topic
      retries: typeof options.client?.retries === 'number' ? Math.max(options.client.retries, 2) : 10,
      onPublished: (topic, n) => m.published.inc({ topic }, n),
      onFailed: (topic) => m.publishFailures.inc({ topic }),
      explainError: (err) => this.explain(err),
    });
  }

  /** An authentication/TLS failure as a KafkaSecurityError naming the settings; other errors as they are. */
  private explain(err: unknown): unknown {
    const c = this.client;
    return explainKafkaError(err, { sasl: c.sasl, tls: c.tls, brokers: this.options.brokers });
  }

  private explained<T>(p: Promise<T>): Promise<T> {
    return p.catch((err: unknown) => {
      throw this.explain(err);
    });
  }

  /**
   * One connection to a bootstrap broker with the clients' settings (TLS handshake, SASL login),
   * then an ApiVersions request. Rejects at once with a KafkaSecurityError (and logs it) when the
   * broker refuses the login, its certificate is not trusted, or it closes the connection on the
   * first request twice (a TLS or SASL listener reached without them); the clients themselves
   * would retry such failures for seconds and then report a generic connection error. A broker
   * that cannot be reached at all is not an error here (logged; the clients keep retrying, as
   * they did before this check).
   */
  async checkConnection(): Promise<void> {
    this.assertOpen();
    const c = this.client;
    let unreachable: unknown;
    for (const address of this.options.brokers) {
      const i = address.lastIndexOf(':');
      const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
      const port = Number(address.slice(i + 1));
      for (let attempt = 1; ; attempt++) {
        const conn = new Connection(`${this.options.clientId}-check`, {
          connectTimeout: c.connectTimeout ?? 5_000,
          requestTimeout: 10_000,
          ...(c.tls !== undefined && { tls: c.tls }),
          ...(c.tlsServerName !== undefined && { tlsServerName: c.tlsServerName }),
          ...(c.sasl !== undefined && { sasl: c.sasl }),
        });
        conn.on('error', () => undefined); // reported through the promises below
        let connected = false;
        try {
          await conn.connect(host, port);
          connected = true;
          await apiVersionsV3.api.async(conn, 'wattflow', '1.0.0');
          this.log.debug({ broker: address, security: describeKafkaSecurity(c) }, 'Kafka connection check passed');
          return;
        } catch (err) {
          let failure = explainKafkaError(err, { sasl: c.sasl, tls: c.tls, brokers: [address] });
          const closed = !(failure instanceof KafkaSecurityError) && (connected || /Connection closed/.test(messages(err)));
          if (closed && attempt < 2) {
            await sleep(300);
            continue;
          }
          if (closed) failure = closedAtOnceError(address, { sasl: c.sasl, tls: c.tls }, err);
          if (failure instanceof KafkaSecurityError) {
            this.log.error({ ...failure.details }, failure.message);
            throw failure;
          }
          unreachable = err;
          break;
        } finally {
          await conn.close().catch(() => undefined);
        }
      }
    }
    this.log.warn({ err: unreachable, brokers: this.options.brokers }, 'no Kafka broker reachable to check the connection settings; the clients keep retrying');
  }

  private get admin(): Admin {
    this.adminClient ??= new Admin({
      ...this.client,
      clientId: `${this.options.clientId}-admin`,
      bootstrapBrokers: this.options.brokers,
    });
    return this.adminClient;
  }

  /** A consumer that never joins a group: metadata, offsets and fetches for readAll. */
  private get reader(): Consumer<Buffer, Buffer, Buffer, Buffer> {
    this.readerClient ??= new Consumer<Buffer, Buffer, Buffer, Buffer>({
      ...this.client,
      clientId: `${this.options.clientId}-reader`,
      bootstrapBrokers: this.options.brokers,
      groupId: `${this.options.clientId}-reader-unused`,
      autocommit: false,
    });
    return this.readerClient;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('fabric is closed');
  }

  // ------------------------------------------------------------------ topics

  ensureTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    return this.explained(this.ensureTopicsNow(topics));
  }

  private async ensureTopicsNow(topics: TopicSpec[]): Promise<void> {
    if (topics.length === 0) return;
    const existing = new Set(await this.admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name) && !this.known.has(t.name));
    for (const spec of topics) if (spec.compacted !== undefined) this.compacted.set(spec.name, spec.compacted);
    // One CreateTopics call per (partitions, compacted) shape.
    const shapes = new Map<string, TopicSpec[]>();
    for (const spec of missing) {
      const partitions = spec.partitions ?? (spec.compacted ? 1 : (this.options.defaultPartitions ?? 1));
      const shape = `${partitions}:${spec.compacted ? 1 : 0}`;
      let list = shapes.get(shape);
      if (!list) shapes.set(shape, (list = []));
      list.push({ ...spec, partitions });
    }
    const created: string[] = [];
    // KRaft refuses one CreateTopics that makes too many metadata records ("excessively large
    // batch operation", max.records.per.user.op = 10,000): create at most 200 topics at a time
    const chunks: TopicSpec[][] = [];
    for (const list of shapes.values()) for (let i = 0; i < list.length; i += 200) chunks.push(list.slice(i, i + 200));
    for (const specs of chunks) {
      const first = specs[0]!;
      try {
        await this.admin.createTopics({
          topics: specs.map((s) => s.name),
          partitions: first.partitions!,
          replicas: this.options.replicationFactor ?? -1,
          configs: first.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
        });
        this.log.info({ topics: specs.map((s) => s.name), partitions: first.partitions, compacted: !!first.compacted }, 'created topics');
      } catch (err) {
        if (!isOnly(err, 'TOPIC_ALREADY_EXISTS')) throw err;
      }
      created.push(...specs.map((s) => s.name));
    }
    await this.waitUntilServed(topics.map((t) => t.name), created);
    for (const t of topics) this.known.add(t.name);
  }

  /**
   * Waits until every partition of the topics has a leader that serves requests. Right after
   * creation the metadata names a leader a little before that broker answers for the partition
   * (NOT_LEADER_OR_FOLLOWER for some milliseconds), hence the ListOffsets probe for new topics.
   */
  private async waitUntilServed(topics: string[], created: string[]): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      let lastError: unknown;
      try {
        const md = await this.admin.metadata({ topics, forceUpdate: true });
        const led = topics.every((t) => {
          const tm = md.topics.get(t);
          return tm && tm.partitionsCount > 0 && tm.partitions.every((p) => p && p.leader >= 0);
        });
        if (led) {
          if (created.length === 0) return;
          this.reader.clearMetadata();
          await this.reader.listOffsets({ topics: created });
          return;
        }
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline) {
        throw new Error(`topics not served by a leader after 15 s: ${topics.join(', ')}`, { cause: lastError });
      }
      await sleep(50);
    }
  }

  private async isCompacted(topic: string): Promise<boolean> {
    const cached = this.compacted.get(topic);
    if (cached !== undefined) return cached;
    const [desc] = await this.admin.describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: ['cleanup.policy'] }],
    });
    const policy = desc?.configs.find((c) => c.name === 'cleanup.policy')?.value ?? 'delete';
    const compacted = policy.split(',').includes('compact');
    this.compacted.set(topic, compacted);
    return compacted;
  }

  // ------------------------------------------------------------------ publish

  async publish(message: OutgoingMessage): Promise<void> {
    this.assertOpen();
    await this.publisher.publish([message]); // failures explained by the publisher
  }

  /**
   * Publishes in order; large batches go out in consecutive requests below `maxSendBytes` (one
   * record batch per partition must stay under the broker's message.max.bytes, 1 MiB by
   * default). If a later request fails, the call rejects after earlier ones were written: the
   * caller's retry then repeats them (at-least-once, like any retried publish).
   */
  async publishBatch(messages: OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    await this.publisher.publish(messages);
  }

  // ------------------------------------------------------------------ consume

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    const m = this.m;
    const subMetrics: SubscriptionMetrics = {
      consumed: (topic, group, n) => m.consumed.inc({ topic, group }, n),
      handlerFailure: (topic, group) => m.handlerFailures.inc({ topic, group }),
      commitDuration: (group, seconds, ok) => m.commitSeconds.observe({ group, result: ok ? 'ok' : 'error' }, seconds),
      rebalance: (group) => m.rebalances.inc({ group }),
    };
    const sub = new KafkaSubscription(
      { ...options, topics: [...options.topics] },
      {
        brokers: this.options.brokers,
        clientId: this.options.clientId,
        logger: this.log,
        tuning: this.tuning,
        metrics: subMetrics,
        clientOptions: this.client,
        ensureTopics: (topics) => this.ensureTopics(topics.map((name) => ({ name }))),
        onClosed: (s) => this.subscriptions.delete(s),
        explainError: (err) => this.explain(err),
      },
    );
    this.subscriptions.add(sub);
    try {
      await sub.start();
    } catch (err) {
      this.subscriptions.delete(sub);
      throw err;
    }
    return sub;
  }

  readAll(topic: string): Promise<IncomingMessage[]> {
    this.assertOpen();
    return this.explained(this.readAllNow(topic));
  }

  private async readAllNow(topic: string): Promise<IncomingMessage[]> {
    if (!this.known.has(topic)) {
      const topics = await this.admin.listTopics();
      if (!topics.includes(topic)) return [];
    }
    const reader = this.reader;
    const md = await reader.metadata({ topics: [topic], forceUpdate: true });
    const tm = md.topics.get(topic);
    if (!tm) return [];
    const [starts, ends, compacted] = await Promise.all([
      reader.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST }),
      reader.listOffsets({ topics: [topic] }),
      this.isCompacted(topic),
    ]);
    const perPartition = await Promise.all(
      Array.from({ length: tm.partitionsCount }, async (_, partition) => {
        const out: Array<IncomingMessage & { tombstone?: boolean }> = [];
        let position = starts.get(topic)?.[partition] ?? 0n;
        const end = ends.get(topic)?.[partition] ?? 0n;
        let emptyFetches = 0;
        while (position < end) {
          const leader = tm.partitions[partition]!.leader;
          let response: FetchResponse;
          try {
            response = await reader.fetch({
              node: leader,
              topics: [
                {
                  topicId: tm.id,
                  partitions: [{ partition, fetchOffset: position, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }],
                },
              ],
              maxWaitTime: 100,
              minBytes: 1,
              maxBytes: 8 << 20,
            });
          } catch (err) {
            const partial = (err as { response?: FetchResponse }).response;
            const code = partial?.responses[0]?.partitions[0]?.errorCode;
            if (code === 1) {
              // OFFSET_OUT_OF_RANGE: retention moved the log start while we read.
              const s = await reader.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST });
              position = s.get(topic)?.[partition] ?? end;
              continue;
            }
            throw err;
          }
          const records = response.responses[0]?.partitions[0]?.records ?? [];
          let next = position;
          for (const batch of records) {
            const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
            if (last + 1n > next) next = last + 1n;
            if (batch.attributes & IS_CONTROL) continue;
            for (const record of batch.records) {
              const offset = batch.firstOffset + BigInt(record.offsetDelta);
              if (offset < position || offset >= end) continue;
              const headers: Record<string, string> = {};
              for (const [hk, hv] of record.headers) if (hk) headers[hk.toString()] = hv?.toString() ?? '';
              out.push({
                topic,
                key: record.key?.toString() ?? '',
                value: record.value?.toString() ?? '',
                tombstone: record.value === null,
                headers,
                partition,
                offset: offset.toString(),
                timestamp: Number(batch.firstTimestamp + record.timestampDelta),
              });
            }
          }
          if (next === position) {
            if (++emptyFetches > 50) throw new Error(`readAll(${topic}): no progress at ${partition}:${position}`);
          } else emptyFetches = 0;
          position = next;
        }
        return out;
      }),
    );
    const strip = ({ tombstone: _t, ...m }: IncomingMessage & { tombstone?: boolean }): IncomingMessage => m;
    if (!compacted) return perPartition.flat().map(strip);
    // Latest value per key (a key always maps to one partition); a null value deletes the key.
    const out: IncomingMessage[] = [];
    for (const messages of perPartition) {
      const latest = new Map<string, IncomingMessage & { tombstone?: boolean }>();
      for (const m of messages) {
        latest.delete(m.key); // re-insert keeps offset order
        latest.set(m.key, m);
      }
      for (const m of latest.values()) if (!m.tombstone) out.push(strip(m));
    }
    return out;
  }

  // ------------------------------------------------------------------ lifecycle

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
      await Promise.allSettled([this.publisher.close(), this.adminClient?.close(), this.readerClient?.close()]);
    })();
    return this.closing;
  }
}

export function createKafkaFabric(options: KafkaFabricOptions): KafkaFabric {
  return new KafkaFabric(options);
}

/** True when every protocol error in `err` is the given Kafka error id. */
function isOnly(err: unknown, apiId: string): boolean {
  const e = err as { findBy?: (k: string, v: unknown) => unknown; errors?: unknown[]; apiId?: string };
  if (!e || typeof e !== 'object') return false;
  if (!e.findBy?.('apiId', apiId)) return false;
  const leaves: Array<{ apiId?: string; errors?: unknown[] }> = [];
  const walk = (x: { apiId?: string; errors?: unknown[] }) => {
    if (Array.isArray(x.errors) && x.errors.length) for (const c of x.errors) walk(c as typeof x);
    else leaves.push(x);
  };
  walk(e);
  return leaves.every((l) => l.apiId === apiId);
}

/** Retry delay of every client: 100 ms doubling per attempt, at most 2 s. */
function retryBackoff(_client: unknown, _operation: string, attempt: number): number {
  return Math.min(100 * 2 ** Math.max(0, attempt - 1), 2_000);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The messages of an error chain (`errors`, `cause`), joined. */
function messages(err: unknown, depth = 0): string {
  if (!err || typeof err !== 'object' || depth > 8) return '';
  const e = err as { message?: string; errors?: unknown[]; cause?: unknown };
  return [e.message ?? '', ...(e.errors ?? []).map((x) => messages(x, depth + 1)), messages(e.cause, depth + 1)].join(' | ');
}

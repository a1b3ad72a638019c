/**
 * The Kafka adapter of the data fabric (`Fabric` in fabric.ts), on @platformatic/kafka 1.x: one
 * idempotent producer (../kafka-publisher.ts), topic administration (topic-admin.ts), one
 * consumer-group member per subscription (subscription.ts), readAll outside any group
 * (read-all.ts), partition counts (partitionsOf), the start-up check of the security settings (connection-check.ts). Its design
 * and at-least-once guarantees: docs/kafka-client-choice.md § "The adapter's design".
 */
import { Admin, Consumer } from '@platformatic/kafka';
import type { Logger } from '../../core/logger.js';
import type { Fabric, IncomingMessage, OutgoingMessage, ReadAllOptions, SubscribeOptions, Subscription, TopicSpec } from '../fabric.js';
import { KafkaPublisher } from '../kafka-publisher.js';
import { type KafkaClientOptions, retryBackoff } from './client-options.js';
import { checkKafkaConnection } from './connection-check.js';
import { type KafkaConsumerTuning, defaultConsumerTuning } from './consumer-tuning.js';
import { kafkaMetrics, subscriptionMetrics } from './metrics.js';
import { readTopic } from './read-all.js';
import { explainKafkaError } from './security.js';
import { KafkaSubscription } from './subscription.js';
import { TopicAdmin } from './topic-admin.js';

export type { KafkaClientOptions } from './client-options.js';
export type { KafkaConsumerTuning } from './consumer-tuning.js';

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
  /** TLS, SASL, timeouts, retries: passed to every client (see security.ts for sasl/tls from the config). */
  client?: KafkaClientOptions;
  /** Largest produce request publishBatch sends at once (bytes, default 900,000: under the broker's 1 MiB message.max.bytes). */
  maxSendBytes?: number;
}

export class KafkaFabric implements Fabric {
  readonly kind = 'kafka' as const;
  readonly pipelinesBatches = true;
  private readonly log: Logger;
  private readonly publisher: KafkaPublisher;
  private readonly topics: TopicAdmin;
  private adminClient: Admin | undefined;
  private readerClient: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  private readonly subscriptions = new Set<KafkaSubscription>();
  private readonly tuning: KafkaConsumerTuning;
  private readonly m = kafkaMetrics();
  private closing: Promise<void> | undefined;
  /** Client options with the fabric's retry policy unless the caller set one. */
  private readonly client: KafkaClientOptions;

  constructor(private readonly options: KafkaFabricOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaFabric needs at least one broker');
    this.log = options.logger.child({ component: 'kafka-fabric' });
    this.tuning = { ...defaultConsumerTuning, ...options.consumer };
    // ≈ 6 s over 7 retries, from 100 ms (retryBackoff), instead of the library's 3 retries 1 s apart.
    // Metadata kept 5 min (Java's metadata.max.age.ms) instead of the library's 5 s: an expired
    // entry makes the next send or fetch wait a Metadata round trip first (one poll in five at
    // 1 s); errors (leader moved, unknown partition) still refresh it at once.
    this.client = { retries: 7, retryDelay: retryBackoff, metadataMaxAge: 300_000, ...options.client };
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
    this.topics = new TopicAdmin({
      admin: () => this.admin,
      reader: () => this.reader,
      log: this.log,
      defaultPartitions: options.defaultPartitions,
      replicationFactor: options.replicationFactor,
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

  /** Rejects with a KafkaSecurityError when the broker refuses the TLS/SASL settings (connection-check.ts). */
  async checkConnection(): Promise<void> {
    this.assertOpen();
    await checkKafkaConnection({ brokers: this.options.brokers, clientId: this.options.clientId, client: this.client, log: this.log });
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

  ensureTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    return this.explained(this.topics.ensureTopics(topics));
  }

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

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    const sub = new KafkaSubscription(
      { ...options, topics: [...options.topics] },
      {
        brokers: this.options.brokers,
        clientId: this.options.clientId,
        logger: this.log,
        tuning: this.tuning,
        metrics: subscriptionMetrics(this.m),
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

  readAll(topic: string, options?: ReadAllOptions): Promise<IncomingMessage[]> {
    this.assertOpen();
    return this.explained(this.readAllNow(topic, options?.partitions));
  }

  private async readAllNow(topic: string, partitions: readonly number[] | undefined): Promise<IncomingMessage[]> {
    if (!this.topics.isKnown(topic)) {
      const topics = await this.admin.listTopics();
      if (!topics.includes(topic)) return [];
    }
    return readTopic(this.reader, topic, () => this.topics.isCompacted(topic), partitions);
  }

  /** From the broker's metadata (one request; topics that do not exist are left out). */
  partitionsOf(topics: readonly string[]): Promise<Map<string, number>> {
    this.assertOpen();
    return this.explained(this.partitionsNow(topics));
  }

  private async partitionsNow(topics: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (topics.length === 0) return out;
    const existing = new Set(await this.admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length === 0) return out;
    const md = await this.reader.metadata({ topics: present, forceUpdate: true });
    for (const t of present) {
      const n = md.topics.get(t)?.partitionsCount;
      if (n) out.set(t, n);
    }
    return out;
  }

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

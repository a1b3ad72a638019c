/**
 * One consumer-group member of the Kafka fabric (the design: docs/kafka-client-choice.md
 * "Stream vs low-level API" and kafka-fabric.ts). Built on the client's low-level group API
 * (joinGroup / fetch / commit) for per-partition control. Per assigned partition there is one
 * PartitionWorker (fetch position, queue, offsets):
 *
 *   fetcher ──▶ worker.queue ──▶ batch-dispatcher ──▶ handler(batch of many partitions)
 *        ──ok──▶ partitions free again; their offsets go to the background commit (commit-tracker)
 *        └─fail─▶ backoff, the same batch again (never skipped; revoked partitions dropped)
 *
 * Rebalances: group-membership.ts. Heartbeats run on the consumer's own timer and connection
 * (fetches use a separate connection pool), so neither a long-poll nor a slow handler costs
 * membership.
 */
import type { Logger } from '../../core/logger.js';
import type { SubscribeOptions, Subscription } from '../fabric.js';
import { subscriptionAwareAssigner } from './assigner.js';
import { BatchDispatcher } from './batch-dispatcher.js';
import {
  type ByteConsumer,
  ConnectionPool,
  forceClose,
  joinGroup,
  onClientRetry,
  trackTopics,
} from './client-internals.js';
import { type KafkaClientOptions, connectionOptions } from './client-options.js';
import { CommitTracker } from './commit-tracker.js';
import type { KafkaConsumerTuning } from './consumer-tuning.js';
import { Fetcher } from './fetcher.js';
import { GroupMembership } from './group-membership.js';
import type { SubscriptionMetrics } from './metrics.js';
import { type PartitionWorker, type SubscriptionContext, groupByTopic } from './partition-worker.js';
import { Consumer } from '@platformatic/kafka';

export interface KafkaSubscriptionDeps {
  brokers: string[];
  clientId: string;
  logger: Logger;
  tuning: KafkaConsumerTuning;
  metrics: SubscriptionMetrics;
  /** Extra client options (TLS, SASL, timeouts) passed to the consumer and the fetch pool. */
  clientOptions?: KafkaClientOptions;
  /** Makes sure topics exist before the group is joined (the fabric's ensureTopics). */
  ensureTopics: (topics: string[]) => Promise<void>;
  onClosed: (sub: KafkaSubscription) => void;
  /** Turns an authentication/TLS failure into an error naming the settings (security.ts). */
  explainError?: (err: unknown) => unknown;
}

export class KafkaSubscription implements Subscription, SubscriptionContext {
  readonly consumer: ByteConsumer;
  readonly log: Logger;
  readonly tuning: KafkaConsumerTuning;
  readonly metrics: SubscriptionMetrics;
  readonly group: string;
  readonly workers = new Map<string, PartitionWorker>();
  stopping = false;
  private readonly pool: ConnectionPool;
  private topics: string[];
  private closing: Promise<void> | undefined;
  private readonly commits: CommitTracker;
  private readonly dispatcher: BatchDispatcher;
  private readonly fetcher: Fetcher;
  private readonly membership: GroupMembership;

  constructor(
    options: SubscribeOptions,
    private readonly deps: KafkaSubscriptionDeps,
  ) {
    this.tuning = deps.tuning;
    this.metrics = deps.metrics;
    this.group = options.group;
    this.topics = [...new Set(options.topics)];
    this.log = deps.logger.child({ group: options.group });
    const clientId = `${deps.clientId}-${options.group}`;
    this.consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
      ...deps.clientOptions,
      clientId,
      bootstrapBrokers: deps.brokers,
      groupId: options.group,
      autocommit: false,
      sessionTimeout: this.tuning.sessionTimeoutMs,
      heartbeatInterval: this.tuning.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(this.tuning.rebalanceTimeoutMs, this.tuning.sessionTimeoutMs),
      maxWaitTime: this.tuning.maxWaitTimeMs,
      protocols: [{ name: 'wattflow-roundrobin', version: 1 }],
      partitionAssigner: subscriptionAwareAssigner,
    });
    // Fetches long-poll; a pool of their own keeps them off the group (heartbeat) connection.
    this.pool = new ConnectionPool(clientId, connectionOptions(deps.clientOptions ?? {}, Math.max(30_000, this.tuning.maxWaitTimeMs + 10_000)));
    this.commits = new CommitTracker(this);
    this.dispatcher = new BatchDispatcher(this, options.handler, this.commits, () => this.fetcher.schedulePump());
    this.fetcher = new Fetcher(this, this.pool, {
      fromBeginning: options.fromBeginning !== false,
      onQueued: (worker) => this.dispatcher.kick(worker),
      onFetched: () => this.dispatcher.dispatch(),
    });
    this.membership = new GroupMembership(this, options, { dispatcher: this.dispatcher, commits: this.commits, fetcher: this.fetcher });
    this.consumer.on('consumer:group:join', () => this.membership.onJoin());
    this.consumer.on('consumer:group:rebalance', () => this.log.debug('rebalance in progress'));
    this.consumer.on('error', (err: Error) => this.membership.onConsumerError(err));
    onClientRetry(this.consumer, (op, attempt, _retries, delay) => this.log.debug({ op, attempt, delay }, 'kafka client retrying an operation'));
    this.pool.on('error', (err: Error) => this.log.warn({ err: this.explain(err) }, 'fetch connection error'));
  }

  explain(err: unknown): unknown {
    return this.deps.explainError ? this.deps.explainError(err) : err;
  }

  /** Joins the group; resolves once the first assignment has been positioned and announced. */
  async start(): Promise<void> {
    try {
      await this.deps.ensureTopics(this.topics);
      trackTopics(this.consumer, this.topics);
      await joinGroup(this.consumer);
      await this.membership.settled();
    } catch (err) {
      this.stopping = true;
      await forceClose(this.consumer);
      await this.pool.close().catch(() => undefined);
      throw this.explain(err);
    }
  }

  async updateTopics(topics: string[]): Promise<void> {
    if (this.closing) throw new Error('subscription is closed');
    const next = [...new Set(topics)];
    const removed = this.topics.filter((t) => !next.includes(t));
    const added = next.filter((t) => !this.topics.includes(t));
    if (removed.length === 0 && added.length === 0) return;
    await this.deps.ensureTopics(added);
    this.topics = next;
    trackTopics(this.consumer, added, removed);
    // A JoinGroup with changed subscription metadata makes the coordinator rebalance the group.
    await joinGroup(this.consumer);
    await this.membership.settled();
  }

  async lag(): Promise<number> {
    const workers = [...this.workers.values()].filter((w) => !w.revoked);
    if (workers.length === 0) return 0;
    const byTopic = groupByTopic(workers);
    const topics = [...byTopic.keys()];
    const [ends, committed] = await Promise.all([
      this.consumer.listOffsets({ topics, partitions: Object.fromEntries(byTopic) }),
      this.consumer.listCommittedOffsets({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) }),
    ]);
    let lag = 0n;
    for (const w of workers) {
      const end = ends.get(w.topic)?.[w.partition];
      if (end === undefined) continue;
      const c = committed.get(w.topic)?.[w.partition] ?? -1n;
      const from = c >= 0n ? c : (w.startOffset ?? end);
      if (end > from) lag += end - from;
    }
    return Number(lag);
  }

  /** Stop fetching, finish the batch in hand, commit, onRevoked, leave the group. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.stopping = true;
    this.fetcher.cancelTimer();
    this.membership.stop();
    const workers = [...this.workers.values()];
    // Finish the batch in hand (a handler in its retry backoff is not retried again).
    for (const w of workers) {
      w.queue = [];
      w.abortSleep?.();
    }
    await this.dispatcher.drain();
    await this.membership.settled();
    await this.commits.settled();
    await this.commits.commit(workers.filter((w) => !w.revoked));
    const owned = workers.filter((w) => !w.revoked && this.workers.get(w.key) === w);
    for (const w of workers) w.stop();
    this.workers.clear();
    if (owned.length) await this.membership.callback('onRevoked', owned);
    await this.fetcher.stop();
    try {
      await this.consumer.close(); // leaves the group: the others rebalance at once
    } catch (err) {
      this.log.warn({ err }, 'leaving the group failed');
      await forceClose(this.consumer);
    }
    await this.pool.close().catch(() => undefined);
    this.deps.onClosed(this);
  }
}

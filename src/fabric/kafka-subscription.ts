/**
 * One consumer-group member of the Kafka fabric (see `kafka-fabric.ts` for the overall design).
 *
 * Built on @platformatic/kafka's low-level group API (joinGroup / fetch / commit) rather than its
 * MessagesStream, because the fabric needs per-partition control that the stream does not give:
 * a fetch position per partition that is (re)set from the committed offset on every assignment,
 * stale fetch responses (issued before a rebalance or a re-seek) that can be recognised and
 * dropped, per-partition backpressure, and commits of exactly the offsets whose handler resolved.
 *
 * Per assigned partition there is one `PartitionWorker` (fetch position, queue, offsets):
 *   fetch loop ──▶ worker.queue ──▶ dispatcher ──▶ handler(batch of many partitions)
 *        ──ok──▶ partitions free again; their last offset + 1 joins the next commit request
 *                (background commit loop: one request in flight, at most one per commitIntervalMs)
 *        └─fail─▶ backoff, the same batch again (never skipped; revoked partitions dropped)
 * The dispatcher puts the queued messages of every partition that has no batch in flight into
 * one handler call (each partition's messages contiguous and in order, at most maxBatchSize in
 * all): with one message per router topic per second, a fetch response of hundreds of
 * partitions becomes one handler call and one commit request instead of hundreds. A partition
 * belongs to at most one batch at a time (per-key order); up to maxConcurrentBatches batches
 * (of disjoint partitions) run at once, so new data need not wait for a slow batch.
 * Heartbeats run on the consumer's own timer and connection (fetches use a separate connection
 * pool so a long-poll never delays a heartbeat), so a slow handler does not cost membership.
 */
import {
  type BaseOptions,
  type ClusterMetadata,
  ConnectionPool,
  Consumer,
  FetchIsolationLevels,
  type GroupPartitionsAssigner,
  type GroupPartitionsAssignments,
  IS_CONTROL,
  ListOffsetTimestamps,
  fetchV17,
} from '@platformatic/kafka';
import type { Logger } from '../core/logger.js';
import type { IncomingMessage, SubscribeOptions, Subscription } from './fabric.js';

/** Group and fetch tuning of a subscription (defaults suit production; tests shorten them). */
export interface KafkaConsumerTuning {
  /** Session timeout (ms): a member silent for this long is removed from the group. Default 30,000 (broker minimum 6,000). */
  sessionTimeoutMs: number;
  /** Heartbeat interval (ms); also how quickly a member notices a rebalance. Default 3,000. */
  heartbeatIntervalMs: number;
  /** How long the broker waits for members to rejoin during a rebalance (ms, ≥ session timeout). Default 60,000. */
  rebalanceTimeoutMs: number;
  /** Longest a fetch waits for data (ms); bounds how quickly a new assignment starts fetching. Default 500. */
  maxWaitTimeMs: number;
  /** Most messages handed to one handler call (from one or more partitions). Default 1,000. */
  maxBatchSize: number;
  /** Handler calls (of disjoint partitions) in flight at once. Default 4. */
  maxConcurrentBatches: number;
  /** A partition is not fetched while this many of its messages wait for the handler. Default 2,000. */
  maxQueuedPerPartition: number;
  /** Backoff between attempts of a failing batch: initial, doubling up to max (ms). Default 200 → 10,000. */
  retryInitialMs: number;
  retryMaxMs: number;
  /**
   * Commits go out in the background (the partition's next batch does not wait for them), at
   * most one request at a time and at most one per this many ms, each with the newest handled
   * offset of every partition. Default 50. Only offsets whose handler resolved are committed.
   */
  commitIntervalMs: number;
}

export const defaultConsumerTuning: KafkaConsumerTuning = {
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  rebalanceTimeoutMs: 60_000,
  maxWaitTimeMs: 500,
  maxBatchSize: 1_000,
  maxConcurrentBatches: 4,
  maxQueuedPerPartition: 2_000,
  retryInitialMs: 200,
  retryMaxMs: 10_000,
  commitIntervalMs: 50,
};

/** The metrics a subscription records (created by the fabric through src/core/metrics.ts). */
export interface SubscriptionMetrics {
  consumed(topic: string, group: string, n: number): void;
  handlerFailure(topic: string, group: string): void;
  commitDuration(group: string, seconds: number, ok: boolean): void;
  rebalance(group: string): void;
}

type FetchResponse = fetchV17.FetchResponse;
type FetchRequestTopic = fetchV17.FetchRequestTopic;

/** Connection-level client options shared by every client of the fabric (TLS, SASL, timeouts, retries). */
export type KafkaClientOptions = Partial<Omit<BaseOptions, 'clientId' | 'bootstrapBrokers'>>;

type TopicPartition = { topic: string; partition: number };

interface QueuedMessage {
  message: IncomingMessage;
  offset: bigint;
  leaderEpoch: number;
}

/** One partition's part of a batch: the first `items` of its queue (as it was at dispatch). */
interface BatchEntry {
  worker: PartitionWorker;
  queue: QueuedMessage[];
  items: QueuedMessage[];
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
const PARTITION_MAX_BYTES = 1 << 20;
const FETCH_MAX_BYTES = 8 << 20;
const OFFSET_OUT_OF_RANGE = 1;
/** FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH. */
const isSessionError = (code: number): boolean => code === 70 || code === 71;

/** A partition as an incremental fetch session on the broker knows it. */
interface SessionPartition {
  topicId: string;
  partition: number;
  offset: bigint;
}

interface FetchSession {
  id: number;
  /** Epoch of the next request (1, 2, …; 0 opens a session). */
  epoch: number;
  parts: Map<string, SessionPartition>;
}

class PartitionWorker {
  readonly key: string;
  queue: QueuedMessage[] = [];
  /** Next offset to fetch; undefined while the start position is being resolved. */
  fetchPosition: bigint | undefined;
  /** Offset after the last message whose handler resolved (what a commit stores). */
  handledOffset: bigint | undefined;
  handledLeaderEpoch = -1;
  committedOffset: bigint | undefined;
  /** Start position resolved at assignment (used by lag() when the group has no commit yet). */
  startOffset: bigint | undefined;
  /** onAssigned has run: batches may be handed out. */
  ready = false;
  revoked = false;
  /** The batch in flight that holds messages of this partition (at most one). */
  running: Promise<void> | undefined;
  /** Wakes the backoff sleep of that batch (revocation, close). */
  abortSleep: (() => void) | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {
    this.key = tpKey(topic, partition);
  }

  /** Taken away (rebalance) or shutting down: drop what is queued, stop retrying. */
  stop(): void {
    this.revoked = true;
    this.queue = [];
    this.abortSleep?.();
  }
}

/**
 * Spreads every subscribed topic's partitions over the members that subscribe to it, round
 * robin over members sorted by id (deterministic for a given membership). Unlike the library's
 * default assigner it honours each member's own subscription, so members with different topic
 * lists (e.g. during `updateTopics`) get only partitions of topics they asked for.
 */
export const subscriptionAwareAssigner: GroupPartitionsAssigner = (_current, members, _topics, metadata) => {
  const memberIds = [...members.keys()].sort();
  const result = new Map<string, GroupPartitionsAssignments>(
    memberIds.map((id) => [id, { memberId: id, assignments: new Map() }]),
  );
  const allTopics = new Set<string>();
  for (const m of members.values()) for (const t of m.topics ?? []) allTopics.add(t);
  let next = 0;
  for (const topic of [...allTopics].sort()) {
    const candidates = memberIds.filter((id) => members.get(id)?.topics?.includes(topic));
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    if (candidates.length === 0) continue;
    for (let p = 0; p < count; p++) {
      const memberId = candidates[next++ % candidates.length]!;
      const assignments = result.get(memberId)!.assignments;
      let entry = assignments.get(topic);
      if (!entry) {
        entry = { topic, partitions: [] };
        assignments.set(topic, entry);
      }
      entry.partitions.push(p);
    }
  }
  return [...result.values()];
};

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
  /** Turns an authentication/TLS failure into an error naming the settings (kafka-security.ts). */
  explainError?: (err: unknown) => unknown;
}

export class KafkaSubscription implements Subscription {
  private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>;
  private readonly pool: ConnectionPool;
  private readonly log: Logger;
  private readonly tuning: KafkaConsumerTuning;
  private readonly group: string;
  private readonly fromBeginning: boolean;
  private topics: string[];
  private readonly workers = new Map<string, PartitionWorker>();
  /** Rebalance reactions run one after the other (revocations, positioning, callbacks). */
  private chain: Promise<void> = Promise.resolve();
  private stopping = false;
  private closing: Promise<void> | undefined;
  private readonly inflightLeaders = new Set<number>();
  private readonly inflightFetches = new Set<Promise<void>>();
  private readonly leaderBackoffUntil = new Map<number, number>();
  /** Incremental fetch session per leader (absent: the next fetch is a full one). */
  private readonly fetchSessions = new Map<number, FetchSession>();
  private pumpQueued = false;
  private pumping = false;
  private pumpAgain = false;
  private pumpTimer: NodeJS.Timeout | undefined;
  private rejoinTimer: NodeJS.Timeout | undefined;
  /** Ready partitions with queued messages and no batch in flight, in arrival order. */
  private readonly pending = new Set<PartitionWorker>();
  private readonly inflightBatches = new Set<Promise<void>>();
  private dispatchQueued = false;
  /** Partitions whose handled offset awaits a commit (sent by the commit loop, one request at a time). */
  private readonly commitDirty = new Set<PartitionWorker>();
  /** The commit loop while it runs (commits go out one at a time, in order). */
  private committing: Promise<void> | undefined;

  constructor(
    private readonly options: SubscribeOptions,
    private readonly deps: KafkaSubscriptionDeps,
  ) {
    this.tuning = deps.tuning;
    this.group = options.group;
    this.fromBeginning = options.fromBeginning !== false;
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
    // (only defined keys: an explicit `connectTimeout: undefined` would time out every connect)
    const c = deps.clientOptions ?? {};
    this.pool = new ConnectionPool(clientId, {
      connectTimeout: c.connectTimeout ?? 5_000,
      requestTimeout: Math.max(30_000, this.tuning.maxWaitTimeMs + 10_000),
      ...(c.tls !== undefined && { tls: c.tls }),
      ...(c.ssl !== undefined && { ssl: c.ssl }),
      ...(c.tlsServerName !== undefined && { tlsServerName: c.tlsServerName }),
      ...(c.sasl !== undefined && { sasl: c.sasl }),
    });
    this.consumer.on('consumer:group:join', () => this.onJoin());
    this.consumer.on('consumer:group:rebalance', () => this.log.debug('rebalance in progress'));
    this.consumer.on('error', (err: Error) => this.onConsumerError(err));
    (this.consumer as unknown as NodeJS.EventEmitter).on('client:performWithRetry:retry', (op: string, attempt: number, _r: number, delay: number) =>
      this.log.debug({ op, attempt, delay }, 'kafka client retrying an operation'),
    );
    this.pool.on('error', (err: Error) => this.log.warn({ err: this.explain(err) }, 'fetch connection error'));
  }

  private explain(err: unknown): unknown {
    return this.deps.explainError ? this.deps.explainError(err) : err;
  }

  /** Joins the group; resolves once the first assignment has been positioned and announced. */
  async start(): Promise<void> {
    try {
      await this.deps.ensureTopics(this.topics);
      this.consumer.topics.trackAll(...this.topics);
      await this.consumer.joinGroup({});
      await this.chain;
    } catch (err) {
      this.stopping = true;
      await forceClose(this.consumer);
      await this.pool.close().catch(() => undefined);
      throw this.explain(err);
    }
  }

  // ---------------------------------------------------------------- rebalance

  /** Current assignment from the consumer (set by the last successful join/sync). */
  private assignedNow(): Map<string, TopicPartition> {
    const out = new Map<string, TopicPartition>();
    for (const a of this.consumer.assignments ?? []) {
      for (const partition of a.partitions) out.set(tpKey(a.topic, partition), { topic: a.topic, partition });
    }
    return out;
  }

  private onJoin(): void {
    const next = this.assignedNow();
    const revoked: PartitionWorker[] = [];
    const added: PartitionWorker[] = [];
    for (const [key, worker] of this.workers) {
      if (!next.has(key)) {
        worker.stop();
        this.pending.delete(worker);
        this.workers.delete(key);
        revoked.push(worker);
      }
    }
    for (const [key, tp] of next) {
      if (!this.workers.has(key) && !this.stopping) {
        const worker = new PartitionWorker(tp.topic, tp.partition);
        this.workers.set(key, worker);
        added.push(worker);
      }
    }
    this.deps.metrics.rebalance(this.group);
    this.log.debug(
      { generation: this.consumer.generationId, assigned: next.size, added: added.length, revoked: revoked.length },
      'group joined',
    );
    this.chain = this.chain
      .then(() => this.applyRebalance(revoked, added))
      .catch((err: unknown) => this.log.error({ err }, 'rebalance handling failed'));
  }

  private async applyRebalance(revoked: PartitionWorker[], added: PartitionWorker[]): Promise<void> {
    if (revoked.length) {
      // The batch in hand of a revoked partition finishes first (its commit is skipped: the
      // partition now belongs to another member, which resumes from the committed offset).
      await Promise.allSettled(revoked.map((w) => w.running));
      for (const w of revoked) this.commitDirty.delete(w);
      await this.commitsSettled();
      await this.callback('onRevoked', revoked);
    }
    const live = added.filter((w) => !w.revoked);
    if (live.length && !this.stopping) {
      await this.position(live);
      this.schedulePump();
      await this.callback('onAssigned', live);
      for (const w of live) {
        w.ready = true;
        this.kick(w);
      }
      this.dispatch();
    }
  }

  private async callback(name: 'onAssigned' | 'onRevoked', workers: PartitionWorker[]): Promise<void> {
    const fn = this.options[name];
    if (!fn) return;
    try {
      await fn(workers.map((w) => ({ topic: w.topic, partition: w.partition })));
    } catch (err) {
      this.log.error({ err }, `${name} callback failed`);
    }
  }

  /** Sets each worker's fetch position: the group's committed offset, else earliest/latest. */
  private async position(workers: PartitionWorker[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const pending = workers.filter((w) => !w.revoked && w.fetchPosition === undefined);
      if (pending.length === 0 || this.stopping) return;
      try {
        const byTopic = groupByTopic(pending);
        const committed = await this.consumer.listCommittedOffsets({
          topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        });
        const missing = pending.filter((w) => (committed.get(w.topic)?.[w.partition] ?? -1n) < 0n);
        let fallback = new Map<string, bigint[]>();
        if (missing.length) {
          const missingByTopic = groupByTopic(missing);
          fallback = await this.consumer.listOffsets({
            topics: [...missingByTopic.keys()],
            partitions: Object.fromEntries(missingByTopic),
            timestamp: this.fromBeginning ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
          });
        }
        for (const w of pending) {
          const c = committed.get(w.topic)?.[w.partition] ?? -1n;
          const start = c >= 0n ? c : fallback.get(w.topic)?.[w.partition];
          if (start === undefined) throw new Error(`no start offset for ${w.topic}[${w.partition}]`);
          w.fetchPosition = start;
          w.startOffset = start;
          w.handledOffset = start;
          if (c >= 0n) w.committedOffset = c;
        }
      } catch (err) {
        this.log.warn({ err, attempt }, 'could not resolve start offsets; retrying');
        await sleep(Math.min(200 * 2 ** attempt, 5_000));
      }
    }
  }

  private onConsumerError(err: Error): void {
    if (this.stopping) return;
    // The library retried the rejoin and gave up (broker unreachable, …): keep trying.
    this.log.error({ err: this.explain(err) }, 'consumer group error; rejoining');
    clearTimeout(this.rejoinTimer);
    this.rejoinTimer = setTimeout(() => {
      if (this.stopping) return;
      this.consumer.joinGroup({}).catch((e: unknown) => this.onConsumerError(e as Error));
    }, 2_000);
  }

  // ---------------------------------------------------------------- fetching

  private schedulePump(delayMs = 0): void {
    if (this.stopping) return;
    if (delayMs > 0) {
      if (!this.pumpTimer) {
        this.pumpTimer = setTimeout(() => {
          this.pumpTimer = undefined;
          this.schedulePump();
        }, delayMs);
      }
      return;
    }
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pumping = true;
      void this.pump()
        .catch((err: unknown) => {
          this.log.error({ err }, 'fetch scheduling failed');
          this.pumpAgain = true;
        })
        .finally(() => {
          this.pumping = false;
          if (this.pumpAgain) {
            this.pumpAgain = false;
            this.schedulePump();
          }
        });
    });
  }

  /** Starts one fetch per partition leader that has none in flight. */
  private async pump(): Promise<void> {
    if (this.stopping) return;
    const fetchable = [...this.workers.values()].filter(
      (w) => !w.revoked && w.fetchPosition !== undefined && w.queue.length < this.tuning.maxQueuedPerPartition,
    );
    if (fetchable.length === 0) return;
    let metadata: ClusterMetadata;
    try {
      metadata = await this.consumer.metadata({ topics: [...new Set(fetchable.map((w) => w.topic))] });
    } catch (err) {
      this.log.warn({ err }, 'metadata request failed; retrying');
      this.schedulePump(1_000);
      return;
    }
    const byLeader = new Map<number, PartitionWorker[]>();
    const now = Date.now();
    let soonest = Infinity;
    for (const w of fetchable) {
      const leader = metadata.topics.get(w.topic)?.partitions[w.partition]?.leader;
      if (leader === undefined || leader < 0) {
        soonest = Math.min(soonest, 500);
        continue;
      }
      if (this.inflightLeaders.has(leader)) continue;
      const until = this.leaderBackoffUntil.get(leader) ?? 0;
      if (until > now) {
        soonest = Math.min(soonest, until - now);
        continue;
      }
      let list = byLeader.get(leader);
      if (!list) byLeader.set(leader, (list = []));
      list.push(w);
    }
    if (soonest !== Infinity) this.schedulePump(soonest);
    for (const [leader, list] of byLeader) {
      this.inflightLeaders.add(leader);
      const p = this.fetchFrom(leader, list, metadata).finally(() => {
        this.inflightLeaders.delete(leader);
        this.inflightFetches.delete(p);
        this.schedulePump();
      });
      this.inflightFetches.add(p);
    }
  }

  /**
   * One fetch from a leader, in an incremental fetch session (KIP-227) when the broker gives
   * one: after the first (full) request, a request names only the partitions that are new or
   * whose fetch offset moved, and forgets the ones no longer wanted; the broker answers only
   * for partitions with news. With a thousand one-key topics per member, a full request and
   * response of every partition on each fetch cost both sides far more than the messages.
   */
  private async fetchFrom(leader: number, workers: PartitionWorker[], metadata: ClusterMetadata): Promise<void> {
    const requested = new Map<PartitionWorker, bigint>();
    const topics = new Map<string, FetchRequestTopic>();
    const topicNames = new Map<string, string>();
    let session = this.fetchSessions.get(leader);
    const wanted = new Map<string, SessionPartition>();
    for (const w of workers) {
      const tm = metadata.topics.get(w.topic)!;
      topicNames.set(tm.id, w.topic);
      requested.set(w, w.fetchPosition!);
      const sk = `${tm.id}:${w.partition}`;
      wanted.set(sk, { topicId: tm.id, partition: w.partition, offset: w.fetchPosition! });
      if (session && session.parts.get(sk)?.offset === w.fetchPosition) continue; // the broker knows it
      let t = topics.get(tm.id);
      if (!t) topics.set(tm.id, (t = { topicId: tm.id, partitions: [] }));
      t.partitions.push({
        partition: w.partition,
        fetchOffset: w.fetchPosition!,
        partitionMaxBytes: PARTITION_MAX_BYTES,
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
      });
    }
    const forgotten = new Map<string, { topic: string; partitions: number[] }>();
    if (session) {
      for (const [sk, sp] of session.parts) {
        if (wanted.has(sk)) continue;
        let f = forgotten.get(sp.topicId);
        if (!f) forgotten.set(sp.topicId, (f = { topic: sp.topicId, partitions: [] }));
        f.partitions.push(sp.partition);
      }
    }
    let response: FetchResponse;
    try {
      const broker = metadata.brokers.get(leader);
      if (!broker) throw new Error(`no address for broker ${leader}`);
      const connection = await this.pool.get(broker);
      response = await fetchV17.api.async(
        connection,
        this.tuning.maxWaitTimeMs,
        1,
        FETCH_MAX_BYTES,
        FetchIsolationLevels.READ_COMMITTED,
        session?.id ?? 0,
        session?.epoch ?? 0,
        [...topics.values()],
        [...forgotten.values()],
        '',
      );
    } catch (err) {
      // Partition-level errors arrive as an error carrying the whole response.
      const partial = (err as { response?: FetchResponse }).response;
      if (this.stopping) return;
      if (!partial?.responses || partial.errorCode !== 0) {
        // Includes FETCH_SESSION_ID_NOT_FOUND / INVALID_FETCH_SESSION_EPOCH: start a new session.
        this.fetchSessions.delete(leader);
        if (partial && isSessionError(partial.errorCode)) {
          this.log.debug({ leader, errorCode: partial.errorCode }, 'fetch session lost; starting a new one');
          return;
        }
        this.log.warn({ err: this.explain(err), leader }, 'fetch failed; backing off');
        this.consumer.clearMetadata();
        this.leaderBackoffUntil.set(leader, Date.now() + 1_000);
        return;
      }
      response = partial;
    }
    // The broker now holds what this request said: advance (or open, or drop) the session.
    if (response.sessionId === 0) this.fetchSessions.delete(leader);
    else if (session && session.id === response.sessionId) {
      session.parts = wanted;
      session.epoch = session.epoch >= 0x7fffffff ? 1 : session.epoch + 1;
    } else {
      session = { id: response.sessionId, epoch: 1, parts: wanted };
      this.fetchSessions.set(leader, session);
    }
    if (this.stopping) return;
    for (const topicResponse of response.responses) {
      const topic = topicNames.get(topicResponse.topicId);
      if (topic === undefined) continue;
      for (const p of topicResponse.partitions) {
        const worker = this.workers.get(tpKey(topic, p.partitionIndex));
        // Stale: revoked/reassigned since, or re-positioned while this fetch was in flight.
        if (!worker || worker.revoked || requested.get(worker) === undefined) continue;
        const from = requested.get(worker)!;
        if (worker.fetchPosition !== from) continue;
        if (p.errorCode !== 0) {
          this.onPartitionError(worker, p.errorCode, leader);
          continue;
        }
        if (!p.records?.length) continue;
        let next = from;
        for (const batch of p.records) {
          const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
          if (last + 1n > next) next = last + 1n;
          if (batch.attributes & IS_CONTROL) continue;
          for (const record of batch.records) {
            const offset = batch.firstOffset + BigInt(record.offsetDelta);
            if (offset < from) continue; // a batch may start before the requested offset
            const headers: Record<string, string> = {};
            for (const [hk, hv] of record.headers) if (hk) headers[hk.toString()] = hv?.toString() ?? '';
            worker.queue.push({
              offset,
              leaderEpoch: batch.partitionLeaderEpoch,
              message: {
                topic,
                key: record.key?.toString() ?? '',
                value: record.value?.toString() ?? '',
                headers,
                partition: worker.partition,
                offset: offset.toString(),
                timestamp: Number(batch.firstTimestamp + record.timestampDelta),
              },
            });
          }
        }
        worker.fetchPosition = next;
        this.kick(worker);
      }
    }
    this.dispatch();
  }

  private onPartitionError(worker: PartitionWorker, errorCode: number, leader: number): void {
    if (errorCode === OFFSET_OUT_OF_RANGE) {
      // Retention removed what we were about to read (or the log was truncated): restart from
      // the earliest/latest offset like auto.offset.reset would.
      this.log.warn({ topic: worker.topic, partition: worker.partition, offset: String(worker.fetchPosition) }, 'offset out of range; resetting');
      const stale = worker.fetchPosition;
      worker.fetchPosition = undefined;
      void this.consumer
        .listOffsets({
          topics: [worker.topic],
          partitions: { [worker.topic]: [worker.partition] },
          timestamp: this.fromBeginning ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
        })
        .then((offsets) => {
          if (worker.revoked || worker.fetchPosition !== undefined) return;
          worker.fetchPosition = offsets.get(worker.topic)?.[worker.partition] ?? stale;
          this.schedulePump();
        })
        .catch((err: unknown) => {
          this.log.warn({ err }, 'offset reset failed; retrying');
          if (worker.fetchPosition === undefined) worker.fetchPosition = stale;
          this.schedulePump(1_000);
        });
      return;
    }
    // NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, FENCED_LEADER_EPOCH, …: refresh metadata.
    this.log.debug({ topic: worker.topic, partition: worker.partition, errorCode }, 'fetch partition error; refreshing metadata');
    this.consumer.clearMetadata();
    this.leaderBackoffUntil.set(leader, Date.now() + 500);
  }

  // ---------------------------------------------------------------- handling

  /** Marks a partition as having messages to hand out (dispatch() hands them out). */
  private kick(worker: PartitionWorker): void {
    if (worker.running || !worker.ready || worker.revoked || this.stopping || worker.queue.length === 0) return;
    this.pending.add(worker);
  }

  private scheduleDispatch(): void {
    if (this.dispatchQueued) return;
    this.dispatchQueued = true;
    queueMicrotask(() => {
      this.dispatchQueued = false;
      this.dispatch();
    });
  }

  /**
   * Starts batches while there are free batch slots and partitions with queued messages and
   * no batch in flight: each batch takes the queued messages of as many such partitions as fit
   * in maxBatchSize (a partition's messages contiguous and in offset order).
   */
  private dispatch(): void {
    while (!this.stopping && this.pending.size > 0 && this.inflightBatches.size < this.tuning.maxConcurrentBatches) {
      const entries: BatchEntry[] = [];
      let size = 0;
      for (const worker of this.pending) {
        if (size >= this.tuning.maxBatchSize) break;
        this.pending.delete(worker);
        if (worker.running || !worker.ready || worker.revoked || worker.queue.length === 0) continue;
        const items = worker.queue.slice(0, this.tuning.maxBatchSize - size);
        entries.push({ worker, queue: worker.queue, items });
        size += items.length;
      }
      if (entries.length === 0) return;
      // (started on the next microtask: `running` is set on its partitions before the handler runs)
      const run: Promise<void> = Promise.resolve()
        .then(() => this.runBatch(entries))
        .catch((err: unknown) => this.log.error({ err }, 'batch failed'))
        .finally(() => {
          this.inflightBatches.delete(run);
          for (const { worker } of entries) {
            if (worker.running === run) worker.running = undefined;
            worker.abortSleep = undefined;
            this.kick(worker);
          }
          this.scheduleDispatch();
          this.schedulePump();
        });
      for (const { worker } of entries) worker.running = run;
      this.inflightBatches.add(run);
    }
  }

  private async runBatch(entries: BatchEntry[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const messages: IncomingMessage[] = [];
      for (const e of entries) for (const q of e.items) messages.push(q.message);
      try {
        await this.options.handler(messages);
        break;
      } catch (err) {
        for (const topic of new Set(entries.map((e) => e.worker.topic))) this.deps.metrics.handlerFailure(topic, this.group);
        const first = entries[0]!;
        this.log.warn(
          { err, topic: first.worker.topic, partition: first.worker.partition, offset: first.items[0]!.message.offset, partitions: entries.length, size: messages.length, attempt },
          'handler failed; the batch will be delivered again',
        );
        // Revoked partitions are dropped from the retry (uncommitted: the next owner redelivers).
        entries = entries.filter((e) => !e.worker.revoked);
        if (entries.length === 0 || this.stopping) return;
        await this.sleep(entries, Math.min(this.tuning.retryInitialMs * 2 ** attempt, this.tuning.retryMaxMs));
        entries = entries.filter((e) => !e.worker.revoked);
        if (entries.length === 0 || this.stopping) return;
      }
    }
    // Handler resolved: this batch is done (even if revoked meanwhile; then no commit). The
    // partition is free for its next batch at once: the commit goes out in the background
    // (commitSoon), so its round trip does not delay the partition's next messages. Only
    // offsets of batches whose handler resolved are ever committed, and commits of a partition
    // go out in order (one request at a time, each with the newest handled offset).
    for (const { worker, queue, items } of entries) {
      if (worker.queue === queue) queue.splice(0, items.length);
      const last = items[items.length - 1]!;
      worker.handledOffset = last.offset + 1n;
      worker.handledLeaderEpoch = last.leaderEpoch;
      this.deps.metrics.consumed(worker.topic, this.group, items.length);
      if (!worker.revoked) this.commitDirty.add(worker);
    }
    this.commitSoon();
  }

  /**
   * Starts the commit loop unless it runs: it commits the handled offsets of the partitions
   * marked since its last request, one request at a time, until none is left. Handlers that
   * resolve while a commit is in flight are covered together by the next request.
   */
  private commitSoon(): void {
    if (this.committing || this.commitDirty.size === 0) return;
    this.committing = (async () => {
      try {
        while (this.commitDirty.size > 0) {
          // Gather what resolves meanwhile into one request: a commit per handler call costs the
          // broker an offsets-topic write each (thousands a second at 1000 routers/s, which
          // slowed its produce and fetch answers); at-least-once: a crash redelivers more.
          if (!this.stopping && this.tuning.commitIntervalMs > 0) await sleep(this.tuning.commitIntervalMs);
          const workers = [...this.commitDirty].filter((w) => !w.revoked);
          this.commitDirty.clear();
          await this.commit(workers);
        }
      } finally {
        this.committing = undefined;
      }
    })();
  }

  /** Resolves once no commit is in flight or waiting. */
  private async commitsSettled(): Promise<void> {
    while (this.committing) await this.committing.catch(() => undefined);
  }

  /** Commits, in one request, each worker's handled offset that is newer than its committed one. */
  private async commit(workers: PartitionWorker[]): Promise<void> {
    const offsets: Array<{ topic: string; partition: number; offset: bigint; leaderEpoch: number }> = [];
    const targets: Array<[PartitionWorker, bigint]> = [];
    for (const worker of workers) {
      const offset = worker.handledOffset;
      if (offset === undefined || (worker.committedOffset !== undefined && offset <= worker.committedOffset)) continue;
      offsets.push({ topic: worker.topic, partition: worker.partition, offset, leaderEpoch: worker.handledLeaderEpoch });
      targets.push([worker, offset]);
    }
    if (offsets.length === 0) return;
    const t0 = process.hrtime.bigint();
    try {
      await this.consumer.commit({ offsets });
      for (const [worker, offset] of targets) {
        if (worker.committedOffset === undefined || offset > worker.committedOffset) worker.committedOffset = offset;
      }
      this.deps.metrics.commitDuration(this.group, Number(process.hrtime.bigint() - t0) / 1e9, true);
    } catch (err) {
      // Not fatal: the next batch's commit (or close) covers these offsets; a crash before that
      // means at-least-once redelivery of the batch.
      this.deps.metrics.commitDuration(this.group, Number(process.hrtime.bigint() - t0) / 1e9, false);
      const first = offsets[0]!;
      this.log.warn({ err, topic: first.topic, partition: first.partition, offset: String(first.offset), partitions: offsets.length }, 'commit failed');
    }
  }

  /** Backoff before a failed batch's next attempt; revoking any of its partitions or closing wakes it. */
  private sleep(entries: BatchEntry[], ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        for (const e of entries) if (e.worker.abortSleep === done) e.worker.abortSleep = undefined;
        resolve();
      }
      for (const e of entries) e.worker.abortSleep = done;
    });
  }

  // ---------------------------------------------------------------- Subscription API

  async updateTopics(topics: string[]): Promise<void> {
    if (this.closing) throw new Error('subscription is closed');
    const next = [...new Set(topics)];
    const removed = this.topics.filter((t) => !next.includes(t));
    const added = next.filter((t) => !this.topics.includes(t));
    if (removed.length === 0 && added.length === 0) return;
    await this.deps.ensureTopics(added);
    this.topics = next;
    this.consumer.topics.untrackAll(...removed);
    this.consumer.topics.trackAll(...added);
    // A JoinGroup with changed subscription metadata makes the coordinator rebalance the group.
    await this.consumer.joinGroup({});
    await this.chain;
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

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.pumpTimer);
    clearTimeout(this.rejoinTimer);
    const workers = [...this.workers.values()];
    // Finish the batch in hand (a handler in its retry backoff is not retried again).
    this.pending.clear();
    for (const w of workers) {
      w.queue = [];
      w.abortSleep?.();
    }
    await Promise.allSettled([...this.inflightBatches]);
    await this.chain.catch(() => undefined);
    await this.commitsSettled();
    await this.commit(workers.filter((w) => !w.revoked));
    const owned = workers.filter((w) => !w.revoked && this.workers.get(w.key) === w);
    for (const w of workers) w.stop();
    this.workers.clear();
    if (owned.length) await this.callback('onRevoked', owned);
    await Promise.allSettled([...this.inflightFetches]);
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

/** Closes a consumer even while it is in a group or mid-join (errors ignored). */
function forceClose(consumer: Consumer<Buffer, Buffer, Buffer, Buffer>): Promise<void> {
  return new Promise((resolve) => consumer.close(true, () => resolve()));
}

function groupByTopic(workers: Array<{ topic: string; partition: number }>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const w of workers) {
    let list = out.get(w.topic);
    if (!list) out.set(w.topic, (list = []));
    list.push(w.partition);
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Fetching for a subscription: one fetch in flight per partition leader, each in an incremental
 * fetch session (KIP-227) when the broker gives one; fetched messages go to their partition
 * worker's queue (a partition with maxQueuedPerPartition queued is not fetched). Stale answers
 * (for a partition revoked or re-positioned meanwhile) are dropped; partition errors reset the
 * position (out of range) or refresh metadata and back off from the leader.
 */
import { type ClusterMetadata, ListOffsetTimestamps } from '@platformatic/kafka';
import {
  type ConnectionPool,
  type FetchForgottenTopic,
  type FetchRequestTopic,
  type FetchResponse,
  fetchIncremental,
  responseOf,
} from './client-internals.js';
import type { PartitionWorker, SubscriptionContext } from './partition-worker.js';
import { tpKey } from './partition-worker.js';
import { decodeBatches } from './records.js';

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

export interface FetcherHooks {
  /** Messages were queued for the partition. */
  onQueued(worker: PartitionWorker): void;
  /** A fetch answer was processed (hand out what was queued). */
  onFetched(): void;
  /** Where a partition without a committed offset starts (fromBeginning). */
  fromBeginning: boolean;
}

export class Fetcher {
  private readonly inflightLeaders = new Set<number>();
  private readonly inflightFetches = new Set<Promise<void>>();
  private readonly leaderBackoffUntil = new Map<number, number>();
  /** Incremental fetch session per leader (absent: the next fetch is a full one). */
  private readonly sessions = new Map<number, FetchSession>();
  private pumpQueued = false;
  private pumping = false;
  private pumpAgain = false;
  private pumpTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: SubscriptionContext,
    private readonly pool: ConnectionPool,
    private readonly hooks: FetcherHooks,
  ) {}

  /** Closing: no more fetches; resolves once the fetches in flight are done. */
  async stop(): Promise<void> {
    clearTimeout(this.pumpTimer);
    await Promise.allSettled([...this.inflightFetches]);
  }

  /** Cancels a delayed pump (closing). */
  cancelTimer(): void {
    clearTimeout(this.pumpTimer);
  }

  /** Starts fetches soon (or after `delayMs`) for partitions that have room in their queue. */
  schedulePump(delayMs = 0): void {
    if (this.ctx.stopping) return;
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
          this.ctx.log.error({ err }, 'fetch scheduling failed');
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
    const { ctx } = this;
    if (ctx.stopping) return;
    const fetchable = [...ctx.workers.values()].filter(
      (w) => !w.revoked && w.fetchPosition !== undefined && w.queue.length < ctx.tuning.maxQueuedPerPartition,
    );
    if (fetchable.length === 0) return;
    let metadata: ClusterMetadata;
    try {
      metadata = await ctx.consumer.metadata({ topics: [...new Set(fetchable.map((w) => w.topic))] });
    } catch (err) {
      ctx.log.warn({ err }, 'metadata request failed; retrying');
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
    const { ctx } = this;
    const requested = new Map<PartitionWorker, bigint>();
    const topics = new Map<string, FetchRequestTopic>();
    const topicNames = new Map<string, string>();
    let session = this.sessions.get(leader);
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
    const forgotten = new Map<string, FetchForgottenTopic>();
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
      response = await fetchIncremental(this.pool, broker, {
        maxWaitMs: ctx.tuning.maxWaitTimeMs,
        maxBytes: FETCH_MAX_BYTES,
        sessionId: session?.id ?? 0,
        sessionEpoch: session?.epoch ?? 0,
        topics: [...topics.values()],
        forgotten: [...forgotten.values()],
      });
    } catch (err) {
      // Partition-level errors arrive as an error carrying the whole response.
      const partial = responseOf(err);
      if (ctx.stopping) return;
      if (!partial?.responses || partial.errorCode !== 0) {
        // Includes FETCH_SESSION_ID_NOT_FOUND / INVALID_FETCH_SESSION_EPOCH: start a new session.
        this.sessions.delete(leader);
        if (partial && isSessionError(partial.errorCode)) {
          ctx.log.debug({ leader, errorCode: partial.errorCode }, 'fetch session lost; starting a new one');
          return;
        }
        ctx.log.warn({ err: ctx.explain(err), leader }, 'fetch failed; backing off');
        ctx.consumer.clearMetadata();
        this.leaderBackoffUntil.set(leader, Date.now() + 1_000);
        return;
      }
      response = partial;
    }
    // The broker now holds what this request said: advance (or open, or drop) the session.
    if (response.sessionId === 0) this.sessions.delete(leader);
    else if (session && session.id === response.sessionId) {
      session.parts = wanted;
      session.epoch = session.epoch >= 0x7fffffff ? 1 : session.epoch + 1;
    } else {
      session = { id: response.sessionId, epoch: 1, parts: wanted };
      this.sessions.set(leader, session);
    }
    if (ctx.stopping) return;
    for (const topicResponse of response.responses) {
      const topic = topicNames.get(topicResponse.topicId);
      if (topic === undefined) continue;
      for (const p of topicResponse.partitions) {
        const worker = ctx.workers.get(tpKey(topic, p.partitionIndex));
        // Stale: revoked/reassigned since, or re-positioned while this fetch was in flight.
        if (!worker || worker.revoked || requested.get(worker) === undefined) continue;
        const from = requested.get(worker)!;
        if (worker.fetchPosition !== from) continue;
        if (p.errorCode !== 0) {
          this.onPartitionError(worker, p.errorCode, leader);
          continue;
        }
        if (!p.records?.length) continue;
        worker.fetchPosition = decodeBatches(topic, worker.partition, p.records, from, ({ message, offset, leaderEpoch }) =>
          worker.queue.push({ message, offset, leaderEpoch }),
        );
        this.hooks.onQueued(worker);
      }
    }
    this.hooks.onFetched();
  }

  private onPartitionError(worker: PartitionWorker, errorCode: number, leader: number): void {
    const { ctx } = this;
    if (errorCode === OFFSET_OUT_OF_RANGE) {
      // Retention removed what we were about to read (or the log was truncated): restart from
      // the earliest/latest offset like auto.offset.reset would.
      ctx.log.warn({ topic: worker.topic, partition: worker.partition, offset: String(worker.fetchPosition) }, 'offset out of range; resetting');
      const stale = worker.fetchPosition;
      worker.fetchPosition = undefined;
      void ctx.consumer
        .listOffsets({
          topics: [worker.topic],
          partitions: { [worker.topic]: [worker.partition] },
          timestamp: this.hooks.fromBeginning ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
        })
        .then((offsets) => {
          if (worker.revoked || worker.fetchPosition !== undefined) return;
          worker.fetchPosition = offsets.get(worker.topic)?.[worker.partition] ?? stale;
          this.schedulePump();
        })
        .catch((err: unknown) => {
          ctx.log.warn({ err }, 'offset reset failed; retrying');
          if (worker.fetchPosition === undefined) worker.fetchPosition = stale;
          this.schedulePump(1_000);
        });
      return;
    }
    // NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, FENCED_LEADER_EPOCH, …: refresh metadata.
    ctx.log.debug({ topic: worker.topic, partition: worker.partition, errorCode }, 'fetch partition error; refreshing metadata');
    ctx.consumer.clearMetadata();
    this.leaderBackoffUntil.set(leader, Date.now() + 500);
  }
}

/**
 * A subscription's reaction to group (re)joins: partitions taken away stop at once (queued
 * messages dropped; the batch in hand finishes uncommitted, then onRevoked), newly assigned ones
 * start at the group's committed offset (else earliest, or latest with fromBeginning=false),
 * then onAssigned, then their first batch. Reactions run one after the other. A group error the
 * client gave up on is followed by a new join attempt.
 */
import { ListOffsetTimestamps } from '@platformatic/kafka';
import { Backoff, sleep } from '../../core/backoff.js';
import type { SubscribeOptions } from '../fabric.js';
import type { BatchDispatcher } from './batch-dispatcher.js';
import { assignedPartitions, generationOf, joinGroup } from './client-internals.js';
import type { CommitTracker } from './commit-tracker.js';
import type { Fetcher } from './fetcher.js';
import { PartitionWorker, type SubscriptionContext, groupByTopic, tpKey } from './partition-worker.js';

const REJOIN_DELAY_MS = 2_000;

export class GroupMembership {
  /** Rebalance reactions run one after the other (revocations, positioning, callbacks). */
  private chain: Promise<void> = Promise.resolve();
  private rejoinTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: SubscriptionContext,
    private readonly options: SubscribeOptions,
    private readonly parts: { dispatcher: BatchDispatcher; commits: CommitTracker; fetcher: Fetcher },
  ) {}

  private get fromBeginning(): boolean {
    return this.options.fromBeginning !== false;
  }

  /** Resolves once every rebalance reaction so far has run. */
  settled(): Promise<void> {
    return this.chain.catch(() => undefined);
  }

  /** Closing: no rejoin attempts. */
  stop(): void {
    clearTimeout(this.rejoinTimer);
  }

  /** 'consumer:group:join': compares the new assignment with the workers and reacts. */
  onJoin(): void {
    const { ctx } = this;
    const next = new Map(assignedPartitions(ctx.consumer).map((tp) => [tpKey(tp.topic, tp.partition), tp]));
    const revoked: PartitionWorker[] = [];
    const added: PartitionWorker[] = [];
    for (const [key, worker] of ctx.workers) {
      if (!next.has(key)) {
        worker.stop();
        this.parts.dispatcher.forget(worker);
        ctx.workers.delete(key);
        revoked.push(worker);
      }
    }
    for (const [key, tp] of next) {
      if (!ctx.workers.has(key) && !ctx.stopping) {
        const worker = new PartitionWorker(tp.topic, tp.partition);
        ctx.workers.set(key, worker);
        added.push(worker);
      }
    }
    ctx.metrics.rebalance(ctx.group);
    ctx.log.debug(
      { generation: generationOf(ctx.consumer), assigned: next.size, added: added.length, revoked: revoked.length },
      'group joined',
    );
    this.chain = this.chain
      .then(() => this.applyRebalance(revoked, added))
      .catch((err: unknown) => ctx.log.error({ err }, 'rebalance handling failed'));
  }

  private async applyRebalance(revoked: PartitionWorker[], added: PartitionWorker[]): Promise<void> {
    const { dispatcher, commits, fetcher } = this.parts;
    if (revoked.length) {
      // The batches in hand of a revoked partition finish first (handled and settled) (its commit is skipped: the
      // partition now belongs to another member, which resumes from the committed offset).
      await Promise.allSettled(revoked.flatMap((w) => w.inFlight()));
      for (const w of revoked) commits.forget(w);
      await commits.settled();
      await this.callback('onRevoked', revoked);
    }
    const live = added.filter((w) => !w.revoked);
    if (live.length && !this.ctx.stopping) {
      await this.position(live);
      fetcher.schedulePump();
      await this.callback('onAssigned', live);
      for (const w of live) {
        w.ready = true;
        dispatcher.kick(w);
      }
      dispatcher.dispatch();
    }
  }

  async callback(name: 'onAssigned' | 'onRevoked', workers: PartitionWorker[]): Promise<void> {
    const fn = this.options[name];
    if (!fn) return;
    try {
      await fn(workers.map((w) => ({ topic: w.topic, partition: w.partition })));
    } catch (err) {
      this.ctx.log.error({ err }, `${name} callback failed`);
    }
  }

  /** Sets each worker's fetch position: the group's committed offset, else earliest/latest. */
  private async position(workers: PartitionWorker[]): Promise<void> {
    const { consumer, log } = this.ctx;
    const backoff = new Backoff({ initialMs: 200, maxMs: 5_000 });
    for (;;) {
      const pending = workers.filter((w) => !w.revoked && w.fetchPosition === undefined);
      if (pending.length === 0 || this.ctx.stopping) return;
      try {
        const byTopic = groupByTopic(pending);
        const committed = await consumer.listCommittedOffsets({
          topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        });
        const missing = pending.filter((w) => (committed.get(w.topic)?.[w.partition] ?? -1n) < 0n);
        let fallback = new Map<string, bigint[]>();
        if (missing.length) {
          const missingByTopic = groupByTopic(missing);
          fallback = await consumer.listOffsets({
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
        log.warn({ err, attempt: backoff.attempts }, 'could not resolve start offsets; retrying');
        await sleep(backoff.next());
      }
    }
  }

  /** The library retried the rejoin and gave up (broker unreachable, …): keep trying. */
  onConsumerError(err: Error): void {
    const { ctx } = this;
    if (ctx.stopping) return;
    ctx.log.error({ err: ctx.explain(err) }, 'consumer group error; rejoining');
    clearTimeout(this.rejoinTimer);
    this.rejoinTimer = setTimeout(() => {
      if (ctx.stopping) return;
      joinGroup(ctx.consumer).catch((e: unknown) => this.onConsumerError(e as Error));
    }, REJOIN_DELAY_MS);
  }
}

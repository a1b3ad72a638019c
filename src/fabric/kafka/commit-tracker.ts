/**
 * Offset commits of a subscription: only offsets whose handler resolved, in the background (a
 * partition's next batch does not wait), one request at a time and at most one per
 * commitIntervalMs, each with the newest handled offset of every partition marked since.
 */
import { sleep } from '../../core/backoff.js';
import type { PartitionWorker, SubscriptionContext } from './partition-worker.js';

export class CommitTracker {
  /** Partitions whose handled offset awaits a commit. */
  private readonly dirty = new Set<PartitionWorker>();
  /** The commit loop while it runs (commits go out one at a time, in order). */
  private committing: Promise<void> | undefined;

  constructor(private readonly ctx: SubscriptionContext) {}

  /** The partition's handled offset is to be committed (by the next request). */
  mark(worker: PartitionWorker): void {
    this.dirty.add(worker);
  }

  /** A revoked partition: its handled offset is not committed (the new owner resumes from the committed one). */
  forget(worker: PartitionWorker): void {
    this.dirty.delete(worker);
  }

  /**
   * Starts the commit loop unless it runs: it commits the handled offsets of the partitions
   * marked since its last request, one request at a time, until none is left. Handlers that
   * resolve while a commit is in flight are covered together by the next request.
   */
  commitSoon(): void {
    if (this.committing || this.dirty.size === 0) return;
    this.committing = (async () => {
      try {
        while (this.dirty.size > 0) {
          // Gather what resolves meanwhile into one request: a commit per handler call costs the
          // broker an offsets-topic write each (thousands a second at 1000 routers/s, which
          // slowed its produce and fetch answers); at-least-once: a crash redelivers more.
          if (!this.ctx.stopping && this.ctx.tuning.commitIntervalMs > 0) await sleep(this.ctx.tuning.commitIntervalMs);
          const workers = [...this.dirty].filter((w) => !w.revoked);
          this.dirty.clear();
          await this.commit(workers);
        }
      } finally {
        this.committing = undefined;
      }
    })();
  }

  /** Resolves once no commit is in flight or waiting. */
  async settled(): Promise<void> {
    while (this.committing) await this.committing.catch(() => undefined);
  }

  /** Commits, in one request, each worker's handled offset that is newer than its committed one. */
  async commit(workers: PartitionWorker[]): Promise<void> {
    const { consumer, metrics, group, log } = this.ctx;
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
      await consumer.commit({ offsets });
      for (const [worker, offset] of targets) {
        if (worker.committedOffset === undefined || offset > worker.committedOffset) worker.committedOffset = offset;
      }
      metrics.commitDuration(group, Number(process.hrtime.bigint() - t0) / 1e9, true);
    } catch (err) {
      // Not fatal: the next batch's commit (or close) covers these offsets; a crash before that
      // means at-least-once redelivery of the batch.
      metrics.commitDuration(group, Number(process.hrtime.bigint() - t0) / 1e9, false);
      const first = offsets[0]!;
      log.warn({ err, topic: first.topic, partition: first.partition, offset: String(first.offset), partitions: offsets.length }, 'commit failed');
    }
  }
}

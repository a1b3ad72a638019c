/**
 * Hands fetched messages to the handler: each batch takes the queued messages of every ready
 * partition without a batch in flight (each partition's messages contiguous and in offset
 * order, at most maxBatchSize in all), up to maxConcurrentBatches batches of disjoint
 * partitions at once. A failed batch is delivered again with exponential backoff, never
 * skipped (partitions revoked meanwhile are dropped from it, uncommitted); a resolved one
 * frees its partitions at once and marks their offsets for the background commit.
 */
import { Backoff, sleep } from '../../core/backoff.js';
import type { IncomingMessage } from '../fabric.js';
import type { CommitTracker } from './commit-tracker.js';
import type { BatchEntry, PartitionWorker, SubscriptionContext } from './partition-worker.js';

export class BatchDispatcher {
  /** Ready partitions with queued messages and no batch in flight, in arrival order. */
  private readonly pending = new Set<PartitionWorker>();
  private readonly inflight = new Set<Promise<void>>();
  private dispatchQueued = false;

  constructor(
    private readonly ctx: SubscriptionContext,
    private readonly handler: (batch: IncomingMessage[]) => Promise<void>,
    private readonly commits: CommitTracker,
    /** A batch finished: its partitions may be fetched again. */
    private readonly onBatchDone: () => void,
  ) {}

  /** Marks a partition as having messages to hand out (dispatch() hands them out). */
  kick(worker: PartitionWorker): void {
    if (worker.running || !worker.ready || worker.revoked || this.ctx.stopping || worker.queue.length === 0) return;
    this.pending.add(worker);
  }

  /** The partition is revoked: it is handed out no more. */
  forget(worker: PartitionWorker): void {
    this.pending.delete(worker);
  }

  /** Closing: nothing more is handed out; resolves once the batches in flight are done. */
  async drain(): Promise<void> {
    this.pending.clear();
    await Promise.allSettled([...this.inflight]);
  }

  private scheduleDispatch(): void {
    if (this.dispatchQueued) return;
    this.dispatchQueued = true;
    queueMicrotask(() => {
      this.dispatchQueued = false;
      this.dispatch();
    });
  }

  /** Starts batches while there are free batch slots and partitions with queued messages and no batch in flight. */
  dispatch(): void {
    const { tuning } = this.ctx;
    while (!this.ctx.stopping && this.pending.size > 0 && this.inflight.size < tuning.maxConcurrentBatches) {
      const entries: BatchEntry[] = [];
      let size = 0;
      for (const worker of this.pending) {
        if (size >= tuning.maxBatchSize) break;
        this.pending.delete(worker);
        if (worker.running || !worker.ready || worker.revoked || worker.queue.length === 0) continue;
        const items = worker.queue.slice(0, tuning.maxBatchSize - size);
        entries.push({ worker, queue: worker.queue, items });
        size += items.length;
      }
      if (entries.length === 0) return;
      // (started on the next microtask: `running` is set on its partitions before the handler runs)
      const run: Promise<void> = Promise.resolve()
        .then(() => this.runBatch(entries))
        .catch((err: unknown) => this.ctx.log.error({ err }, 'batch failed'))
        .finally(() => {
          this.inflight.delete(run);
          for (const { worker } of entries) {
            if (worker.running === run) worker.running = undefined;
            worker.abortSleep = undefined;
            this.kick(worker);
          }
          this.scheduleDispatch();
          this.onBatchDone();
        });
      for (const { worker } of entries) worker.running = run;
      this.inflight.add(run);
    }
  }

  private async runBatch(entries: BatchEntry[]): Promise<void> {
    const { log, metrics, group, tuning } = this.ctx;
    const backoff = new Backoff({ initialMs: tuning.retryInitialMs, maxMs: tuning.retryMaxMs });
    for (;;) {
      const messages: IncomingMessage[] = [];
      for (const e of entries) for (const q of e.items) messages.push(q.message);
      try {
        await this.handler(messages);
        break;
      } catch (err) {
        for (const topic of new Set(entries.map((e) => e.worker.topic))) metrics.handlerFailure(topic, group);
        const first = entries[0]!;
        log.warn(
          { err, topic: first.worker.topic, partition: first.worker.partition, offset: first.items[0]!.message.offset, partitions: entries.length, size: messages.length, attempt: backoff.attempts },
          'handler failed; the batch will be delivered again',
        );
        // Revoked partitions are dropped from the retry (uncommitted: the next owner redelivers).
        entries = entries.filter((e) => !e.worker.revoked);
        if (entries.length === 0 || this.ctx.stopping) return;
        await this.sleep(entries, backoff.next());
        entries = entries.filter((e) => !e.worker.revoked);
        if (entries.length === 0 || this.ctx.stopping) return;
      }
    }
    // Handler resolved: this batch is done (even if revoked meanwhile; then no commit). The
    // partition is free for its next batch at once: the commit goes out in the background, so
    // its round trip does not delay the partition's next messages.
    for (const { worker, queue, items } of entries) {
      if (worker.queue === queue) queue.splice(0, items.length);
      const last = items[items.length - 1]!;
      worker.handledOffset = last.offset + 1n;
      worker.handledLeaderEpoch = last.leaderEpoch;
      metrics.consumed(worker.topic, group, items.length);
      if (!worker.revoked) this.commits.mark(worker);
    }
    this.commits.commitSoon();
  }

  /** Backoff before a failed batch's next attempt; revoking any of its partitions or closing wakes it. */
  private sleep(entries: BatchEntry[], ms: number): Promise<void> {
    const wake = new AbortController();
    const done = (): void => wake.abort();
    for (const e of entries) e.worker.abortSleep = done;
    return sleep(ms, wake.signal).then(() => {
      for (const e of entries) if (e.worker.abortSleep === done) e.worker.abortSleep = undefined;
    });
  }
}

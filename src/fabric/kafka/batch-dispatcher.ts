/**
 * Hands fetched messages to the handler: each batch takes the queued messages of every ready
 * partition without a batch being handled (each partition's messages contiguous and in offset
 * order, at most maxBatchSize in all), up to maxConcurrentBatches batches of disjoint
 * partitions at once. A handler that fails is called again with exponential backoff, never
 * skipped (partitions revoked meanwhile are dropped from it, uncommitted).
 *
 * Pipelining (fabric HandledBatch): once a batch is handled, its partitions' next batch may be
 * handled while its outputs are still being published, up to maxPipelinedBatches unsettled
 * batches per partition. Offsets are marked for the background commit only through the oldest
 * settled batches, in order. When a batch's outputs fail, the partition waits until everything
 * in flight has settled, then is delivered again from that batch (at-least-once, in order).
 */
import { Backoff, sleep } from '../../core/backoff.js';
import type { HandledBatch, IncomingMessage } from '../fabric.js';
import type { CommitTracker } from './commit-tracker.js';
import type { BatchEntry, PartitionWorker, SettlingBatch, SubscriptionContext } from './partition-worker.js';

export class BatchDispatcher {
  /** Ready partitions with queued messages and no batch being handled, in arrival order. */
  private readonly pending = new Set<PartitionWorker>();
  /** Batches being handled. */
  private readonly inflight = new Set<Promise<void>>();
  /** Handled batches whose outputs are in flight. */
  private readonly settling = new Set<Promise<void>>();
  /** Backoff of each partition's repeated failures (reset when one of its batches settles). */
  private readonly backoffs = new WeakMap<PartitionWorker, Backoff>();
  private dispatchQueued = false;

  constructor(
    private readonly ctx: SubscriptionContext,
    private readonly handler: (batch: IncomingMessage[]) => Promise<void | HandledBatch>,
    private readonly commits: CommitTracker,
    /** A batch finished: its partitions may be fetched again. */
    private readonly onBatchDone: () => void,
  ) {}

  /** Marks a partition as having messages to hand out (dispatch() hands them out). */
  kick(worker: PartitionWorker): void {
    if (!this.canHandOut(worker)) return;
    this.pending.add(worker);
  }

  private canHandOut(w: PartitionWorker): boolean {
    return (
      !w.running &&
      w.ready &&
      !w.revoked &&
      !w.rewinding &&
      !this.ctx.stopping &&
      w.queue.length > 0 &&
      w.settling.length < this.ctx.tuning.maxPipelinedBatches
    );
  }

  /** The partition is revoked: it is handed out no more. */
  forget(worker: PartitionWorker): void {
    this.pending.delete(worker);
  }

  /** Closing: nothing more is handed out; resolves once the batches in flight are handled and settled. */
  async drain(): Promise<void> {
    this.pending.clear();
    while (this.inflight.size > 0 || this.settling.size > 0) await Promise.allSettled([...this.inflight, ...this.settling]);
  }

  private scheduleDispatch(): void {
    if (this.dispatchQueued) return;
    this.dispatchQueued = true;
    queueMicrotask(() => {
      this.dispatchQueued = false;
      this.dispatch();
    });
  }

  /** Starts batches while there are free batch slots and partitions that can hand out messages. */
  dispatch(): void {
    const { tuning } = this.ctx;
    while (!this.ctx.stopping && this.pending.size > 0 && this.inflight.size < tuning.maxConcurrentBatches) {
      const entries: BatchEntry[] = [];
      let size = 0;
      for (const worker of this.pending) {
        if (size >= tuning.maxBatchSize) break;
        this.pending.delete(worker);
        if (!this.canHandOut(worker)) continue;
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
            this.afterChange(worker);
          }
          this.scheduleDispatch();
          this.onBatchDone();
        });
      for (const { worker } of entries) worker.running = run;
      this.inflight.add(run);
    }
  }

  private async runBatch(entries: BatchEntry[]): Promise<void> {
    const { tuning } = this.ctx;
    const backoff = new Backoff({ initialMs: tuning.retryInitialMs, maxMs: tuning.retryMaxMs });
    let handled: void | HandledBatch;
    for (;;) {
      const messages: IncomingMessage[] = [];
      for (const e of entries) for (const q of e.items) messages.push(q.message);
      try {
        handled = await this.handler(messages);
        break;
      } catch (err) {
        this.failed(entries, err, backoff.attempts);
        // Revoked partitions are dropped from the retry (uncommitted: the next owner redelivers).
        entries = entries.filter((e) => !e.worker.revoked);
        if (entries.length === 0 || this.ctx.stopping) return;
        await this.sleep(entries, backoff.next());
        entries = entries.filter((e) => !e.worker.revoked);
        if (entries.length === 0 || this.ctx.stopping) return;
      }
    }
    // Handled: the partitions are free for their next batch at once; the offsets are committed
    // (in the background) once this batch and those before it have settled.
    const outcome = handled ? handled.settled.then(() => undefined, (err: unknown) => err ?? new Error('publish failed')) : undefined;
    const batches: Array<[PartitionWorker, SettlingBatch]> = [];
    const finish = (err: unknown): void => {
      for (const [, batch] of batches) batch.state = err === undefined ? 'ok' : 'failed';
      if (err !== undefined) this.failed(entries, err, undefined);
      for (const [worker] of batches) this.afterChange(worker);
      this.commits.commitSoon();
      this.scheduleDispatch();
    };
    const done = outcome ? outcome.then(finish) : Promise.resolve();
    for (const { worker, queue, items } of entries) {
      if (worker.queue === queue) queue.splice(0, items.length);
      if (worker.revoked) continue;
      const batch: SettlingBatch = { items, state: 'pending', done };
      worker.settling.push(batch);
      batches.push([worker, batch]);
    }
    if (!outcome) finish(undefined);
    else {
      const { metrics, group } = this.ctx;
      metrics.unsettledBatches(group, 1);
      const tracked: Promise<void> = done.finally(() => {
        this.settling.delete(tracked);
        metrics.unsettledBatches(group, -1);
      });
      this.settling.add(tracked);
    }
  }

  /**
   * After a partition's batch was handled or settled: marks the offsets of its oldest settled
   * batches for commit, rewinds it after a failed one once nothing of it is in flight, and
   * makes it eligible for its next batch.
   */
  private afterChange(worker: PartitionWorker): void {
    const { metrics, group } = this.ctx;
    while (worker.settling[0]?.state === 'ok') {
      const { items } = worker.settling.shift()!;
      const last = items[items.length - 1]!;
      worker.handledOffset = last.offset + 1n;
      worker.handledLeaderEpoch = last.leaderEpoch;
      metrics.consumed(worker.topic, group, items.length);
      if (!worker.revoked) this.commits.mark(worker);
      this.backoffs.delete(worker);
    }
    if (worker.settling.some((b) => b.state === 'failed')) this.rewind(worker);
    this.kick(worker);
  }

  /**
   * A batch's outputs failed: once nothing of the partition is in flight, its unsettled
   * messages go back to the front of its queue (the failed batch and every later one, in
   * order) and it is handed out again after a backoff.
   */
  private rewind(worker: PartitionWorker): void {
    worker.rewinding = true;
    if (worker.running || worker.settling.some((b) => b.state === 'pending')) return;
    const again = worker.settling.flatMap((b) => b.items);
    worker.settling = [];
    if (worker.revoked || this.ctx.stopping) return;
    worker.queue = [...again, ...worker.queue];
    let backoff = this.backoffs.get(worker);
    if (!backoff) this.backoffs.set(worker, (backoff = new Backoff({ initialMs: this.ctx.tuning.retryInitialMs, maxMs: this.ctx.tuning.retryMaxMs })));
    const wait = this.sleep([{ worker, queue: worker.queue, items: [] }], backoff.next());
    const resume: Promise<void> = wait.finally(() => {
      this.settling.delete(resume);
      worker.rewinding = false;
      this.kick(worker);
      this.scheduleDispatch();
    });
    this.settling.add(resume);
  }

  private failed(entries: BatchEntry[], err: unknown, attempt: number | undefined): void {
    const { log, metrics, group } = this.ctx;
    for (const topic of new Set(entries.map((e) => e.worker.topic))) metrics.handlerFailure(topic, group);
    const first = entries[0]!;
    log.warn(
      {
        err,
        topic: first.worker.topic,
        partition: first.worker.partition,
        offset: first.items[0]?.message.offset,
        partitions: entries.length,
        size: entries.reduce((n, e) => n + e.items.length, 0),
        attempt,
      },
      attempt === undefined ? "a batch's outputs failed; its partitions will be delivered again from it" : 'handler failed; the batch will be delivered again',
    );
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

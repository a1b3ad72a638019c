/**
 * The state of one assigned partition of a subscription: fetch position, queue of fetched
 * messages, handled and committed offsets, the batch being handled and the handled batches
 * whose outputs are still in flight. Plus what the subscription's parts (membership, fetcher,
 * dispatcher, commits) share.
 */
import type { Logger } from '../../core/logger.js';
import type { IncomingMessage } from '../fabric.js';
import type { ByteConsumer } from './client-internals.js';
import type { KafkaConsumerTuning } from './consumer-tuning.js';
import type { SubscriptionMetrics } from './metrics.js';

export interface QueuedMessage {
  message: IncomingMessage;
  offset: bigint;
  leaderEpoch: number;
}

/** One partition's part of a batch: the first `items` of its queue (as it was at dispatch). */
export interface BatchEntry {
  worker: PartitionWorker;
  queue: QueuedMessage[];
  items: QueuedMessage[];
}

/** A handled batch of one partition whose outputs are in flight (pipelining): committed once settled, in order. */
export interface SettlingBatch {
  items: QueuedMessage[];
  state: 'pending' | 'ok' | 'failed';
  /** Resolves when the batch has settled (whatever the outcome). */
  done: Promise<void>;
}

export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class PartitionWorker {
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
  /** The batch being handled that holds messages of this partition (at most one). */
  running: Promise<void> | undefined;
  /** Handled batches, oldest first, not yet committable: their outputs are in flight (see fabric HandledBatch). */
  settling: SettlingBatch[] = [];
  /** One of them failed: nothing new is handed out until all have settled and the partition is rewound. */
  rewinding = false;
  /** Wakes the backoff sleep of that batch (revocation, close). */
  abortSleep: (() => void) | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {
    this.key = tpKey(topic, partition);
  }

  /** What of this partition is still in flight: the batch being handled and the unsettled ones. */
  inFlight(): Array<Promise<void>> {
    const out = this.settling.map((b) => b.done);
    if (this.running) out.push(this.running);
    return out;
  }

  /** Taken away (rebalance) or shutting down: drop what is queued, stop retrying. */
  stop(): void {
    this.revoked = true;
    this.queue = [];
    this.abortSleep?.();
  }
}

/** What the parts of one subscription share. */
export interface SubscriptionContext {
  readonly consumer: ByteConsumer;
  readonly log: Logger;
  readonly tuning: KafkaConsumerTuning;
  readonly metrics: SubscriptionMetrics;
  readonly group: string;
  /** Assigned partitions by tpKey. */
  readonly workers: Map<string, PartitionWorker>;
  /** Closing: no new fetches, batches or retries. */
  readonly stopping: boolean;
  explain(err: unknown): unknown;
}

export function groupByTopic(workers: Array<{ topic: string; partition: number }>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const w of workers) {
    let list = out.get(w.topic);
    if (!list) out.set(w.topic, (list = []));
    list.push(w.partition);
  }
  return out;
}

/**
 * The data fabric: the one small messaging interface every stage uses. Two adapters
 * implement it: Kafka (a real broker; `kafka/kafka-fabric.ts`) and an in-process bus for the
 * single-process mode (`memory/memory-fabric.ts`). Stage code never knows which one it runs on.
 *
 * Guarantees every adapter gives:
 *  - publish(topic, key, value): resolves once the message is durably accepted (Kafka: acks
 *    from all in-sync replicas, idempotent producer);
 *  - consumption as a member of a group: each message of a subscribed topic goes to one member
 *    of the group; messages with the same key arrive in publish order;
 *  - at-least-once: a batch is committed only after its handler resolved (i.e. after the
 *    handler published its results); a failed handler's batch is delivered again.
 */

export interface OutgoingMessage {
  topic: string;
  key: string;
  /** The message text (JSON). Give either `value` or `json`. */
  value?: string;
  /**
   * The message as an object, serialised to JSON by the adapter when it needs bytes (Kafka).
   * The in-process bus hands the object itself to consumers (no serialise/parse round trip);
   * it must therefore not be mutated after publishing.
   */
  json?: unknown;
  headers?: Record<string, string>;
}

/** The bytes of a message as text: its `value`, else its `json` serialised. */
export function encodeValue(m: OutgoingMessage): string {
  if (m.value !== undefined) return m.value;
  if (m.json === undefined) throw new Error(`message for ${m.topic} has neither value nor json`);
  return JSON.stringify(m.json);
}

export interface PublishOptions {
  /**
   * The publisher is a source (it does not hold an input batch): when the fabric is over its
   * memory budget because a consumer lags, wait for capacity instead of growing (in-process
   * bus). Stage outputs must not set it (their input is released only after they publish).
   * Kafka's client bounds its own buffers; the Kafka adapter ignores it.
   */
  waitForCapacity?: boolean;
}

export interface IncomingMessage {
  topic: string;
  key: string;
  value: string;
  /** The published object, when the message came through the in-process bus as `json`. */
  json?: unknown;
  headers: Record<string, string>;
  partition: number;
  /** Offset in its partition (as a decimal string; bigint-safe). */
  offset: string;
  /** Broker/bus timestamp of the message (ms since epoch). */
  timestamp: number;
}

export interface TopicSpec {
  name: string;
  /** Log-compacted topic (keeps the latest value per key): control and state topics. */
  compacted?: boolean;
  partitions?: number;
}

/**
 * What a pipelined handler resolves with: the batch is handled (state updated, outputs handed
 * to the publisher) but its outputs are not yet acknowledged. Its offsets are committed only
 * once `settled` resolves, after those of the batches before it; if `settled` rejects, the
 * partition is delivered again from this batch (batches handled after it are delivered again
 * too: at-least-once, in order, as after a restart from the committed offset).
 */
export interface HandledBatch {
  settled: Promise<void>;
}

/** Runs a handler to the end, pipelined or not (adapters that do not pipeline). */
export async function handleFully(handler: SubscribeOptions['handler'], batch: IncomingMessage[]): Promise<void> {
  const handled = await handler(batch);
  if (handled) await handled.settled;
}

export interface SubscribeOptions {
  /** Consumer group id; members of one group share the topics' partitions. */
  group: string;
  topics: string[];
  /**
   * Handles a batch: messages of one or more partitions, each partition's messages in order
   * (adapters may batch across partitions so stages can micro-batch); the batch's offsets are
   * committed after it resolves, and a rejected batch is delivered again. A handler that
   * resolves with a `HandledBatch` is pipelined: its partitions' next batch may be handled at
   * once, while this one's `settled` (its publishes) is still pending; see HandledBatch.
   */
  handler: (batch: IncomingMessage[]) => Promise<void | HandledBatch>;
  /** Read from the beginning when the group has no committed offset (default: true). */
  fromBeginning?: boolean;
  /** Called after partitions are assigned to this member (before their first batch). */
  onAssigned?: (assigned: Array<{ topic: string; partition: number }>) => Promise<void> | void;
  /** Called when partitions are taken away from this member. */
  onRevoked?: (revoked: Array<{ topic: string; partition: number }>) => Promise<void> | void;
}

/** What readAll reads. */
export interface ReadAllOptions {
  /**
   * Only these partitions (default: all). Partitions the topic does not have are skipped; the
   * in-process bus and Redis Streams have partition 0 only.
   */
  partitions?: readonly number[];
}

export interface Subscription {
  /** Replace the subscribed topics (e.g. after a configuration reload). */
  updateTopics(topics: string[]): Promise<void>;
  /** Messages published but not yet consumed by this group, summed over its partitions. */
  lag(): Promise<number>;
  /** Stop consuming: finish the batch in hand, commit, leave the group. */
  close(): Promise<void>;
}

export interface Fabric {
  readonly kind: 'memory' | 'kafka' | 'redis-streams';
  /**
   * Hands out a partition's next batch while a handled batch's outputs are still in flight (a
   * handler's HandledBatch); the others wait for `settled` first (handleFully).
   */
  readonly pipelinesBatches: boolean;
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  publish(message: OutgoingMessage, options?: PublishOptions): Promise<void>;
  publishBatch(messages: OutgoingMessage[], options?: PublishOptions): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /**
   * Reads every current message of a (compacted) topic from the beginning up to its end at
   * the time of the call, outside any group: used to rebuild state (control channel, the
   * processors' last-message-per-router state). With `partitions`, only those partitions are
   * read (a processor restores just the state partitions of the routers it owns).
   */
  readAll(topic: string, options?: ReadAllOptions): Promise<IncomingMessage[]>;
  /**
   * The partition count of each topic (Kafka: from the broker's metadata, topics that do not
   * exist left out; the in-process bus and Redis Streams: 1, a topic is one partition). A key's
   * partition is then `partitionOf(key, count)` (partitioner.ts), as the Kafka publisher picks it.
   */
  partitionsOf(topics: readonly string[]): Promise<Map<string, number>>;
  close(): Promise<void>;
}

/** The dead-letter topic for a topic: `<topic>.dlq`. */
export const dlqTopic = (topic: string): string => `${topic}.dlq`;

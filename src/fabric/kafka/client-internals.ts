/**
 * Every use the Kafka fabric makes of @platformatic/kafka (1.35) beyond its documented client
 * API, in one place. test/fabric/kafka-client-internals.test.ts checks each against a real
 * broker and names the one that broke after a client upgrade. Why each is needed:
 *
 *  - Fetch v17 protocol call on a pool of our own (`fetchV17.api.async`, `ConnectionPool`):
 *    `Consumer.fetch()` always opens a new fetch session and names every partition; incremental
 *    sessions (KIP-227) need the raw request, and a separate pool keeps long-polls off the
 *    group (heartbeat) connection. See docs/kafka-client-choice.md "Stream vs low-level API".
 *  - The partial response a ResponseError carries (`err.response`, untyped): partition-level
 *    fetch errors (OFFSET_OUT_OF_RANGE, NOT_LEADER…) arrive as an error holding the whole answer.
 *  - Group membership without `consume()`: `consumer.topics.trackAll/untrackAll` (the
 *    subscription `consume()` keeps), `joinGroup()`, and after the 'consumer:group:join' event
 *    the fields `assignments` and `generationId`; `consume()`'s stream resets positions on
 *    every rejoin, which the per-partition workers cannot allow.
 *  - `close(true, callback)`: leaves even mid-join (a failed start, a failed leave).
 *  - The 'client:performWithRetry:retry' event (not in the typed events): debug log of retries.
 *  - ApiVersions v3 on a bare `Connection`: the start-up check of TLS/SASL settings fails at once
 *    instead of after the clients' retries.
 *  - Protocol errors as a tree (`findBy('apiId', …)`, nested `errors`, `apiId` on the leaves):
 *    ensureTopics tolerates a CreateTopics that failed only with TOPIC_ALREADY_EXISTS.
 *  - Record batch layout of fetched data (`IS_CONTROL`, firstOffset, offsetDelta, …): decoded
 *    by records.ts into IncomingMessage.
 */
import {
  type Broker,
  Connection,
  ConnectionPool,
  type Consumer,
  FetchIsolationLevels,
  IS_CONTROL,
  apiVersionsV3,
  fetchV17,
} from '@platformatic/kafka';
import type { ConnectionOptions } from '@platformatic/kafka';

/** The consumer type the fabric uses (bytes in, decoded by records.ts). */
export type ByteConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;
export type FetchResponse = fetchV17.FetchResponse;
export type FetchRequestTopic = fetchV17.FetchRequestTopic;
export type FetchForgottenTopic = fetchV17.FetchRequestForgottenTopicsData;
export type RecordsBatch = NonNullable<fetchV17.FetchResponsePartition['records']>[number];
export { Connection, ConnectionPool };

/** True for a transaction marker batch (no data records). */
export function isControlBatch(batch: { attributes: number }): boolean {
  return (batch.attributes & IS_CONTROL) !== 0;
}

export interface IncrementalFetch {
  maxWaitMs: number;
  maxBytes: number;
  /** 0 and epoch 0: open a new session. */
  sessionId: number;
  sessionEpoch: number;
  topics: FetchRequestTopic[];
  forgotten: FetchForgottenTopic[];
}

/** One Fetch v17 request (read_committed, minBytes 1) to `broker` on a connection of `pool`. */
export async function fetchIncremental(pool: ConnectionPool, broker: Broker, f: IncrementalFetch): Promise<FetchResponse> {
  const connection = await pool.get(broker);
  return fetchV17.api.async(
    connection,
    f.maxWaitMs,
    1,
    f.maxBytes,
    FetchIsolationLevels.READ_COMMITTED,
    f.sessionId,
    f.sessionEpoch,
    f.topics,
    f.forgotten,
    '',
  );
}

/** The response a failed request's error carries (partition-level errors), if any. */
export function responseOf<T = FetchResponse>(err: unknown): T | undefined {
  return (err as { response?: T } | undefined)?.response;
}

/** Replaces the consumer's subscribed topics (what its next JoinGroup announces). */
export function trackTopics(consumer: ByteConsumer, added: string[], removed: string[] = []): void {
  if (removed.length) consumer.topics.untrackAll(...removed);
  if (added.length) consumer.topics.trackAll(...added);
}

/** JoinGroup + SyncGroup with the tracked topics; 'consumer:group:join' fires once assigned. */
export async function joinGroup(consumer: ByteConsumer): Promise<void> {
  await consumer.joinGroup({});
}

/** The partitions assigned by the last successful join. */
export function assignedPartitions(consumer: ByteConsumer): Array<{ topic: string; partition: number }> {
  const out: Array<{ topic: string; partition: number }> = [];
  for (const a of consumer.assignments ?? []) for (const partition of a.partitions) out.push({ topic: a.topic, partition });
  return out;
}

/** The group generation of the last successful join. */
export function generationOf(consumer: ByteConsumer): number {
  return consumer.generationId;
}

/** Calls `listener` on each retry of a client operation (the library's untyped debug event). */
export function onClientRetry(
  consumer: ByteConsumer,
  listener: (operation: string, attempt: number, retries: number, delayMs: number) => void,
): void {
  (consumer as unknown as NodeJS.EventEmitter).on('client:performWithRetry:retry', listener);
}

/** Closes a consumer even while it is in a group or mid-join (errors ignored). */
export function forceClose(consumer: ByteConsumer): Promise<void> {
  return new Promise((resolve) => consumer.close(true, () => resolve()));
}

/** A bare connection to one broker (TLS handshake and SASL login on connect). */
export function openConnection(clientId: string, options: ConnectionOptions): Connection {
  return new Connection(clientId, options);
}

/** An ApiVersions v3 request: the first request a client makes on a new connection. */
export async function probeApiVersions(connection: Connection): Promise<void> {
  await apiVersionsV3.api.async(connection, 'wattflow', '1.0.0');
}

/** True when every protocol error in `err` (the leaves of its `errors` tree) is the given Kafka error id (`apiId`). */
export function isOnly(err: unknown, apiId: string): boolean {
  const e = err as { findBy?: (k: string, v: unknown) => unknown; errors?: unknown[]; apiId?: string };
  if (!e || typeof e !== 'object') return false;
  if (!e.findBy?.('apiId', apiId)) return false;
  const leaves: Array<{ apiId?: string; errors?: unknown[] }> = [];
  const walk = (x: { apiId?: string; errors?: unknown[] }) => {
    if (Array.isArray(x.errors) && x.errors.length) for (const c of x.errors) walk(c as typeof x);
    else leaves.push(x);
  };
  walk(e);
  return leaves.every((l) => l.apiId === apiId);
}

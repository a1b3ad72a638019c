/**
 * Contract of the @platformatic/kafka internals the Kafka fabric relies on
 * (src/fabric/kafka/client-internals.ts), checked at runtime against real clients on the real
 * broker: after a client upgrade that removes or changes one, this fails and names it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Admin, type ClusterMetadata, Consumer, IS_CONTROL, Producer, stringSerializers } from '@platformatic/kafka';
import { subscriptionAwareAssigner } from '../../src/fabric/kafka/assigner.js';
import {
  type ByteConsumer,
  ConnectionPool,
  type FetchResponse,
  assignedPartitions,
  fetchIncremental,
  isOnly,
  forceClose,
  generationOf,
  joinGroup,
  onClientRetry,
  openConnection,
  probeApiVersions,
  responseOf,
  trackTopics,
} from '../../src/fabric/kafka/client-internals.js';
import { decodeBatches, type DecodedRecord } from '../../src/fabric/kafka/records.js';

import { service } from '../helpers/services.js';

const kafka = service('KAFKA_BROKERS', 'Kafka broker');

/** Fails naming the internal that changed. */
function internal(ok: unknown, name: string, detail = ''): asserts ok {
  assert.ok(ok, `@platformatic/kafka internal changed or missing: ${name}${detail ? ` (${detail})` : ''}; see src/fabric/kafka/client-internals.ts`);
}

const isFn = (x: unknown): boolean => typeof x === 'function';

async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('@platformatic/kafka internals used by the Kafka fabric', { skip: kafka.skip }, () => {
  const brokers = kafka.value.split(',').map((b) => b.trim()).filter(Boolean);
  const run = `wfint-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const topic = `${run}-t`;
  let admin: Admin;
  let reader: ByteConsumer;
  let metadata: ClusterMetadata;

  before(async () => {
    admin = new Admin({ clientId: `${run}-admin`, bootstrapBrokers: brokers });
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: -1 });
    const producer = new Producer({ clientId: `${run}-producer`, bootstrapBrokers: brokers, serializers: stringSerializers });
    await producer.send({ messages: [0, 1].map((i) => ({ topic, key: `k${i}`, value: `v${i}`, headers: { h: `x${i}` } })) });
    await producer.close();
    reader = new Consumer({ clientId: `${run}-reader`, bootstrapBrokers: brokers, groupId: `${run}-unused`, autocommit: false });
    metadata = await reader.metadata({ topics: [topic], forceUpdate: true });
  });

  after(async () => {
    await reader?.close().catch(() => undefined);
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.deleteGroups({ groups: [`${run}-g`] }).catch(() => undefined);
    await admin?.close().catch(() => undefined);
  });

  it('ClusterMetadata: topic id, partition leaders, broker addresses (fetcher, readAll)', () => {
    const tm = metadata.topics.get(topic);
    internal(tm, 'ClusterMetadata.topics (a Map by name)');
    internal(typeof tm.id === 'string' && tm.id.length > 0, 'ClusterMetadata topic .id (topic id for Fetch v13+)');
    internal(tm.partitionsCount === 1, 'ClusterMetadata topic .partitionsCount');
    internal(typeof tm.partitions[0]?.leader === 'number', 'ClusterMetadata partition .leader');
    internal(metadata.brokers instanceof Map && metadata.brokers.get(tm.partitions[0]!.leader)?.host, 'ClusterMetadata.brokers (a Map of node id to { host, port })');
    internal(isFn(reader.clearMetadata), 'Consumer.clearMetadata()');
  });

  it('Fetch v17 on a ConnectionPool (fetchV17.api.async): an incremental session and the record batch layout', async () => {
    internal(isFn(ConnectionPool.prototype.get), 'ConnectionPool.get(broker)');
    const tm = metadata.topics.get(topic)!;
    const broker = metadata.brokers.get(tm.partitions[0]!.leader)!;
    const pool = new ConnectionPool(`${run}-pool`, { connectTimeout: 5_000, requestTimeout: 30_000 });
    try {
      const partitions = [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }];
      const first = await fetchIncremental(pool, broker, { maxWaitMs: 100, maxBytes: 1 << 20, sessionId: 0, sessionEpoch: 0, topics: [{ topicId: tm.id, partitions }], forgotten: [] });
      internal(first.errorCode === 0 && typeof first.sessionId === 'number', 'FetchResponse { errorCode, sessionId }');
      const p = first.responses.find((r) => r.topicId === tm.id)?.partitions[0];
      internal(p && p.partitionIndex === 0 && p.errorCode === 0, 'FetchResponse.responses[].{ topicId, partitions[].{ partitionIndex, errorCode } }');
      internal(Array.isArray(p.records) && p.records.length > 0, 'FetchResponse partition .records (record batches)');
      const batch = p.records[0]!;
      internal(typeof batch.firstOffset === 'bigint' && typeof batch.lastOffsetDelta === 'number', 'RecordsBatch { firstOffset: bigint, lastOffsetDelta }');
      internal(typeof batch.attributes === 'number' && typeof IS_CONTROL === 'number' && IS_CONTROL > 0, 'RecordsBatch.attributes and the IS_CONTROL bit');
      internal(typeof batch.partitionLeaderEpoch === 'number' && typeof batch.firstTimestamp === 'bigint', 'RecordsBatch { partitionLeaderEpoch, firstTimestamp: bigint }');
      const record = batch.records[0]!;
      internal(typeof record.offsetDelta === 'number' && typeof record.timestampDelta === 'bigint', 'Record { offsetDelta, timestampDelta: bigint }');
      internal(Buffer.isBuffer(record.key) && Buffer.isBuffer(record.value) && Array.isArray(record.headers), 'Record { key: Buffer, value: Buffer, headers: [key, value][] }');
      const decoded: DecodedRecord[] = [];
      const next = decodeBatches(topic, 0, p.records, 0n, (r) => decoded.push(r));
      assert.equal(next, 2n);
      assert.deepEqual(
        decoded.map((r) => [r.message.key, r.message.value, r.message.headers, r.message.offset, r.tombstone]),
        [['k0', 'v0', { h: 'x0' }, '0', false], ['k1', 'v1', { h: 'x1' }, '1', false]],
      );
      internal(decoded.every((r) => r.message.timestamp > 1e12), 'record timestamps (firstTimestamp + timestampDelta, ms since epoch)');
      if (first.sessionId !== 0) {
        // the session goes on: a request naming nothing new is answered within the session
        const second = await fetchIncremental(pool, broker, { maxWaitMs: 10, maxBytes: 1 << 20, sessionId: first.sessionId, sessionEpoch: 1, topics: [], forgotten: [] });
        internal(second.errorCode === 0 && second.sessionId === first.sessionId, 'incremental fetch session (sessionId, sessionEpoch arguments of fetchV17.api)');
      }
    } finally {
      await pool.close();
    }
  });

  it('a partition-level fetch error rejects with the whole response on the error (err.response)', async () => {
    const tm = metadata.topics.get(topic)!;
    let error: unknown;
    try {
      await reader.fetch({
        node: tm.partitions[0]!.leader,
        topics: [{ topicId: tm.id, partitions: [{ partition: 0, fetchOffset: 1_000_000n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
        maxWaitTime: 10,
        minBytes: 1,
        maxBytes: 1 << 20,
      });
    } catch (err) {
      error = err;
    }
    internal(error, 'fetch out of range rejects (ResponseError)');
    const response = responseOf<FetchResponse>(error);
    internal(response?.responses?.[0]?.partitions?.[0]?.errorCode === 1, 'ResponseError.response (the partial FetchResponse, OFFSET_OUT_OF_RANGE = 1)');
  });

  it('group membership without consume(): topics.trackAll/untrackAll, joinGroup, consumer:group:join, assignments, generationId, close(true, cb)', async () => {
    const calls: Array<{ topics: string[] | undefined; partitions: number | undefined }> = [];
    const member = (n: number): ByteConsumer =>
      new Consumer({
        clientId: `${run}-member${n}`,
        bootstrapBrokers: brokers,
        groupId: `${run}-g`,
        autocommit: false,
        sessionTimeout: 6_000,
        heartbeatInterval: 200,
        rebalanceTimeout: 6_000,
        protocols: [{ name: 'wattflow-roundrobin', version: 1 }],
        // the library calls the assigner only when the group has more than one member
        partitionAssigner: (current, members, topics, md) => {
          for (const m of members.values()) calls.push({ topics: m.topics, partitions: md.topics.get(topic)?.partitionsCount });
          return subscriptionAwareAssigner(current, members, topics, md);
        },
      });
    const a = member(1);
    const b = member(2);
    try {
      internal(a.topics && isFn(a.topics.trackAll) && isFn(a.topics.untrackAll), 'Consumer.topics.trackAll/untrackAll (TopicsMap)');
      internal(isFn(a.joinGroup), 'Consumer.joinGroup()');
      let joined = 0;
      a.on('consumer:group:join', () => joined++);
      trackTopics(a, [topic]);
      internal(a.topics.current.includes(topic), 'TopicsMap.current after trackAll');
      await within(20_000, 'joinGroup', joinGroup(a));
      internal(joined >= 1, "the 'consumer:group:join' event after joinGroup()");
      internal(Array.isArray(a.assignments), 'Consumer.assignments after a join (GroupAssignment[])');
      assert.deepEqual(assignedPartitions(a), [{ topic, partition: 0 }]);
      internal(Number.isInteger(generationOf(a)) && generationOf(a) >= 0, 'Consumer.generationId');
      const firstGeneration = generationOf(a);
      // a second member: the first rejoins on its next heartbeat, the leader runs the assigner
      const joinedBefore = joined;
      trackTopics(b, [topic]);
      await within(20_000, 'second member joinGroup', joinGroup(b));
      // (generationId is set from the JoinGroup answer, the event fires after SyncGroup)
      const deadline = Date.now() + 15_000;
      while (joined === joinedBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      internal(joined > joinedBefore && generationOf(a) > firstGeneration, "a rebalance re-emits 'consumer:group:join' with a new generationId");
      internal(calls.length > 0 && calls.every((c) => c.topics?.includes(topic) && c.partitions === 1), 'partition assigner input: members Map with .topics, metadata.topics with .partitionsCount');
      assert.deepEqual([...assignedPartitions(a), ...assignedPartitions(b)], [{ topic, partition: 0 }]);
      trackTopics(a, [], [topic]);
      internal(!a.topics.current.includes(topic), 'TopicsMap.untrackAll');
    } finally {
      await within(10_000, 'close(true, callback)', Promise.all([forceClose(a), forceClose(b)]));
    }
  });

  it("the 'client:performWithRetry:retry' event (debug log of retries)", async () => {
    const seen: Array<[string, number, number, number]> = [];
    const dead: ByteConsumer = new Consumer({ clientId: `${run}-dead`, bootstrapBrokers: ['127.0.0.1:1'], groupId: `${run}-dead`, retries: 1, retryDelay: 10, connectTimeout: 500 });
    dead.on('error', () => undefined);
    onClientRetry(dead, (op, attempt, retries, delay) => seen.push([op, attempt, retries, delay]));
    await dead.metadata({ topics: [topic] }).catch(() => undefined);
    await forceClose(dead);
    internal(seen.length > 0, "event 'client:performWithRetry:retry'", 'not emitted on a retried operation');
    const [op, attempt, retries, delay] = seen[0]!;
    internal(typeof op === 'string' && typeof attempt === 'number' && typeof retries === 'number' && typeof delay === 'number', "'client:performWithRetry:retry' arguments (operation, attempt, retries, delay)");
  });

  it('a bare Connection and ApiVersions v3 (the start-up connection check)', async () => {
    const [host, port] = [brokers[0]!.slice(0, brokers[0]!.lastIndexOf(':')), Number(brokers[0]!.slice(brokers[0]!.lastIndexOf(':') + 1))];
    const conn = openConnection(`${run}-check`, { connectTimeout: 5_000, requestTimeout: 10_000 });
    conn.on('error', () => undefined);
    try {
      internal(isFn(conn.connect), 'Connection.connect(host, port)');
      await conn.connect(host, port);
      await probeApiVersions(conn);
    } finally {
      await conn.close().catch(() => undefined);
    }
  });

  it('protocol errors: findBy("apiId", …) and nested .errors (topic-admin tolerates TOPIC_ALREADY_EXISTS)', async () => {
    let error: unknown;
    try {
      await admin.createTopics({ topics: [topic], partitions: 1, replicas: -1 });
    } catch (err) {
      error = err;
    }
    internal(error, 'createTopics of an existing topic rejects');
    internal(isFn((error as { findBy?: unknown }).findBy), 'GenericError.findBy(property, value)');
    internal(isOnly(error, 'TOPIC_ALREADY_EXISTS'), "errors carry apiId 'TOPIC_ALREADY_EXISTS' (leaves of .errors)");
  });
});

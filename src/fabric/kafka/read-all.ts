/**
 * readAll of the Kafka fabric: reads a topic from its log start to its end at call time with
 * plain fetches, outside any group; for compacted topics only the latest value per key
 * (compaction is lazy, so the log may still hold older values; a null value deletes its key).
 * Optionally only some partitions (the others are not fetched at all).
 */
import { type Consumer, ListOffsetTimestamps } from '@platformatic/kafka';
import type { IncomingMessage } from '../fabric.js';
import { type FetchResponse, responseOf } from './client-internals.js';
import { decodeBatches } from './records.js';

type Reader = Consumer<Buffer, Buffer, Buffer, Buffer>;
type Read = IncomingMessage & { tombstone?: boolean };

const OFFSET_OUT_OF_RANGE = 1;
/** Fetches in a row that move no further before readAll gives up. */
const MAX_EMPTY_FETCHES = 50;

export async function readTopic(reader: Reader, topic: string, compacted: () => Promise<boolean>, only?: readonly number[]): Promise<IncomingMessage[]> {
  const md = await reader.metadata({ topics: [topic], forceUpdate: true });
  const tm = md.topics.get(topic);
  if (!tm) return [];
  const all = Array.from({ length: tm.partitionsCount }, (_, p) => p);
  const partitions = only ? all.filter((p) => only.includes(p)) : all;
  if (partitions.length === 0) return [];
  const [starts, ends, isCompacted] = await Promise.all([
    reader.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST }),
    reader.listOffsets({ topics: [topic] }),
    compacted(),
  ]);
  const perPartition = await Promise.all(
    partitions.map((partition) =>
      readPartition(reader, topic, tm.id, partition, tm.partitions[partition]!.leader, starts.get(topic)?.[partition] ?? 0n, ends.get(topic)?.[partition] ?? 0n),
    ),
  );
  const strip = ({ tombstone: _t, ...m }: Read): IncomingMessage => m;
  if (!isCompacted) return perPartition.flat().map(strip);
  // Latest value per key (a key always maps to one partition); a null value deletes the key.
  const out: IncomingMessage[] = [];
  for (const messages of perPartition) {
    const latest = new Map<string, Read>();
    for (const m of messages) {
      latest.delete(m.key); // re-insert keeps offset order
      latest.set(m.key, m);
    }
    for (const m of latest.values()) if (!m.tombstone) out.push(strip(m));
  }
  return out;
}

async function readPartition(reader: Reader, topic: string, topicId: string, partition: number, leader: number, start: bigint, end: bigint): Promise<Read[]> {
  const out: Read[] = [];
  let position = start;
  let emptyFetches = 0;
  while (position < end) {
    let response: FetchResponse;
    try {
      response = await reader.fetch({
        node: leader,
        topics: [
          {
            topicId,
            partitions: [{ partition, fetchOffset: position, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }],
          },
        ],
        maxWaitTime: 100,
        minBytes: 1,
        maxBytes: 8 << 20,
      });
    } catch (err) {
      const code = responseOf(err)?.responses[0]?.partitions[0]?.errorCode;
      if (code === OFFSET_OUT_OF_RANGE) {
        // Retention moved the log start while we read.
        const s = await reader.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST });
        position = s.get(topic)?.[partition] ?? end;
        continue;
      }
      throw err;
    }
    const records = response.responses[0]?.partitions[0]?.records ?? [];
    const next = decodeBatches(topic, partition, records, position, ({ message, offset, tombstone }) => {
      if (offset < end) out.push({ ...message, tombstone });
    });
    if (next === position) {
      if (++emptyFetches > MAX_EMPTY_FETCHES) throw new Error(`readAll(${topic}): no progress at ${partition}:${position}`);
    } else emptyFetches = 0;
    position = next;
  }
  return out;
}

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
  // compacted: only the latest value per key is kept while reading (a key always maps to one
  // partition), so memory follows the number of keys, not the length of a not-yet-compacted log
  const perPartition = await Promise.all(
    partitions.map(async (partition) => {
      const kept = isCompacted ? new LatestPerKey() : new KeepAll();
      const leader = tm.partitions[partition]!.leader;
      await readPartition(reader, topic, tm.id, partition, leader, starts.get(topic)?.[partition] ?? 0n, ends.get(topic)?.[partition] ?? 0n, kept);
      return kept.messages();
    }),
  );
  return perPartition.flat();
}

interface Kept {
  add(message: IncomingMessage, tombstone: boolean): void;
  messages(): IncomingMessage[];
}

class KeepAll implements Kept {
  private readonly all: IncomingMessage[] = [];
  add(message: IncomingMessage): void {
    this.all.push(message);
  }
  messages(): IncomingMessage[] {
    return this.all;
  }
}

/** The latest value of each key in offset order; a null value (tombstone) deletes its key. */
class LatestPerKey implements Kept {
  private readonly latest = new Map<string, IncomingMessage>();
  add(message: IncomingMessage, tombstone: boolean): void {
    this.latest.delete(message.key); // re-insert keeps offset order
    if (!tombstone) this.latest.set(message.key, message);
  }
  messages(): IncomingMessage[] {
    return [...this.latest.values()];
  }
}

async function readPartition(
  reader: Reader,
  topic: string,
  topicId: string,
  partition: number,
  leader: number,
  start: bigint,
  end: bigint,
  kept: Kept,
): Promise<void> {
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
      if (offset < end) kept.add(message, tombstone);
    });
    if (next === position) {
      if (++emptyFetches > MAX_EMPTY_FETCHES) throw new Error(`readAll(${topic}): no progress at ${partition}:${position}`);
    } else emptyFetches = 0;
    position = next;
  }
}

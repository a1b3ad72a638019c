/** Fetched record batches as the fabric's IncomingMessage (text key/value/headers), shared by the subscription and readAll. */
import type { IncomingMessage } from '../fabric.js';
import { type RecordsBatch, isControlBatch } from './client-internals.js';

export interface DecodedRecord {
  message: IncomingMessage;
  offset: bigint;
  leaderEpoch: number;
  /** The record's value was null (deletes its key in a compacted topic). */
  tombstone: boolean;
}

/**
 * Decodes the data records at or after `from` (a batch may start before the requested offset;
 * transaction markers are skipped) and returns the offset to fetch next.
 */
export function decodeBatches(
  topic: string,
  partition: number,
  batches: RecordsBatch[],
  from: bigint,
  onRecord: (record: DecodedRecord) => void,
): bigint {
  let next = from;
  for (const batch of batches) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (last + 1n > next) next = last + 1n;
    if (isControlBatch(batch)) continue;
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      if (offset < from) continue;
      const headers: Record<string, string> = {};
      for (const [hk, hv] of record.headers) if (hk) headers[hk.toString()] = hv?.toString() ?? '';
      onRecord({
        offset,
        leaderEpoch: batch.partitionLeaderEpoch,
        tombstone: record.value === null,
        message: {
          topic,
          key: record.key?.toString() ?? '',
          value: record.value?.toString() ?? '',
          headers,
          partition,
          offset: offset.toString(),
          timestamp: Number(batch.firstTimestamp + record.timestampDelta),
        },
      });
    }
  }
  return next;
}

/**
 * How messages map to Redis stream entries: the default codec (fields `k` key, `v` value,
 * `h` headers as JSON), per-topic codecs for streams whose entry shape is a contract of their
 * own (the vehicle vector stream: field `v` only), and entry id ↔ decimal offset.
 */
import { encodeValue, type OutgoingMessage } from '../fabric.js';

export interface DecodedEntry {
  key: string;
  value: string;
  headers: Record<string, string>;
}

export interface StreamCodec {
  /** The entry's fields as a message, or why it is not one (the entry is then dead-lettered). */
  decode(id: string, fields: readonly string[]): DecodedEntry | { error: string };
  /** The fields to XADD for a message. */
  encode(message: OutgoingMessage): string[];
}

/** The value of a field of a flat [name, value, …] list (undefined when absent). */
export function field(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

export const defaultCodec: StreamCodec = {
  decode(_id, fields) {
    const value = field(fields, 'v');
    if (value === undefined) return { error: 'stream entry without a value field (v)' };
    const h = field(fields, 'h');
    let headers: Record<string, string> = {};
    if (h !== undefined) {
      try {
        headers = JSON.parse(h) as Record<string, string>;
      } catch {
        return { error: 'stream entry with malformed headers (h is not JSON)' };
      }
    }
    return { key: field(fields, 'k') ?? '', value, headers };
  },
  encode(m) {
    const out = ['k', m.key, 'v', encodeValue(m)];
    if (m.headers && Object.keys(m.headers).length > 0) out.push('h', JSON.stringify(m.headers));
    return out;
  },
};

// Entry ids are `<ms>-<seq>`; as offsets they are ms·2^20 + seq (decimal, growing with the id;
// entries added with `*` never reach 2^20 per millisecond).
const SEQ_BITS = 20n;

export function offsetOfId(id: string): string {
  const dash = id.indexOf('-');
  const ms = BigInt(id.slice(0, dash));
  const seq = BigInt(id.slice(dash + 1));
  return ((ms << SEQ_BITS) + seq).toString();
}

export function idOfOffset(offset: string): string {
  const n = BigInt(offset);
  return `${n >> SEQ_BITS}-${n & ((1n << SEQ_BITS) - 1n)}`;
}

/** Milliseconds part of an entry id (the time Redis added it). */
export const timestampOfId = (id: string): number => Number(id.slice(0, id.indexOf('-')));

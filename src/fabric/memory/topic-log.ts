/**
 * One topic of the in-process bus: its log of messages (one partition), the latest message per
 * key when the topic is compacted, and the members that own it now (told about new messages).
 */
import { encodeValue } from '../fabric.js';
import type { IncomingMessage, OutgoingMessage, TopicSpec } from '../fabric.js';

/** A consumer-group member that owns topics (group-delivery.ts). */
export interface TopicOwner {
  /** Next offset the owner's group consumes in `topic` (undefined: none committed yet). */
  committed(topic: string): number | undefined;
  /** A message was appended to `topic`: look at it. */
  notify(topic: string): void;
}

/** A message on the in-process bus; its text is produced only if somebody reads `value`. */
export class MemoryMessage implements IncomingMessage {
  readonly topic: string;
  readonly key: string;
  readonly json: unknown;
  readonly headers: Record<string, string>;
  readonly partition = 0;
  readonly offset: string;
  readonly timestamp = Date.now();
  /** Estimated bytes held (the JSON text's length plus a fixed overhead). */
  size = 0;
  private text: string | undefined;

  constructor(m: OutgoingMessage, offset: number) {
    this.topic = m.topic;
    this.key = m.key;
    this.json = m.json;
    this.text = m.value;
    if (this.text === undefined && m.json === undefined) encodeValue(m); // throws the adapter's error
    this.headers = m.headers ?? {};
    this.offset = String(offset);
  }

  get value(): string {
    this.text ??= JSON.stringify(this.json);
    return this.text;
  }
}

/** Fixed per-message overhead added to the text length (object, offset string, headers). */
const MESSAGE_OVERHEAD_BYTES = 200;
/** A topic's `json` message size is measured (JSON.stringify) once every this many messages. */
const SAMPLE_EVERY = 256;

export class TopicLog {
  spec: TopicSpec;
  /** Offset of messages[0]. */
  base = 0;
  messages: MemoryMessage[] = [];
  /** Compacted topics: the latest message per key (what readAll returns). */
  latestByKey: Map<string, IncomingMessage> | undefined;
  /** Members (of any group) that own this topic now: told about each new message. */
  readonly owners = new Set<TopicOwner>();
  /** Estimated size of one `json` message of this topic, re-measured every SAMPLE_EVERY messages. */
  private jsonSize = 0;
  private sampleIn = 0;

  constructor(name: string) {
    this.spec = { name };
  }

  get name(): string {
    return this.spec.name;
  }

  /** Offset after the last message. */
  get end(): number {
    return this.base + this.messages.length;
  }

  /** Applies a spec from ensureTopics; a topic that becomes compacted indexes what it holds. */
  setSpec(spec: TopicSpec): void {
    this.spec = spec;
    if (spec.compacted && !this.latestByKey) {
      this.latestByKey = new Map();
      for (const m of this.messages) this.latestByKey.set(m.key, m);
    }
  }

  /** Appends a message (sized, and kept as its key's latest value when compacted). */
  append(m: OutgoingMessage): MemoryMessage {
    const msg = new MemoryMessage(m, this.end);
    msg.size = this.estimateSize(m);
    this.messages.push(msg);
    this.latestByKey?.set(m.key, msg);
    return msg;
  }

  /** Removes the first `count` messages; returns the bytes they held. */
  dropHead(count: number): number {
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += this.messages[i]!.size;
    this.messages.splice(0, count);
    this.base += count;
    return bytes;
  }

  /** Offset below which every group owning the topic has committed (the log's end if none owns it). */
  heldFrom(): number {
    let from = this.end;
    for (const owner of this.owners) from = Math.min(from, owner.committed(this.name) ?? this.base);
    return from;
  }

  /** Every current message: the latest per key for compacted topics (in offset order), else the log. */
  readAll(): IncomingMessage[] {
    if (this.latestByKey) return [...this.latestByKey.values()].sort((a, b) => Number(a.offset) - Number(b.offset));
    return [...this.messages];
  }

  private estimateSize(m: OutgoingMessage): number {
    if (m.value !== undefined) return m.value.length + m.key.length + MESSAGE_OVERHEAD_BYTES;
    if (this.sampleIn-- <= 0) {
      this.jsonSize = JSON.stringify(m.json).length; // one message in SAMPLE_EVERY is measured
      this.sampleIn = SAMPLE_EVERY - 1;
    }
    return this.jsonSize + m.key.length + MESSAGE_OVERHEAD_BYTES;
  }
}

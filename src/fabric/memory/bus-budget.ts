/**
 * The in-process bus's topic logs under one memory budget for the whole bus (messages and
 * estimated bytes, all topics together): releasing what every owning group committed, evicting
 * (counted) what nobody consumes, and making sources wait when a lagging consumer holds the
 * budget. The rules are in docs/storage.md § "The in-process bus's memory budget".
 */
import type { OutgoingMessage } from '../fabric.js';
import { TopicLog, type TopicOwner } from './topic-log.js';

export interface BusBudgetOptions {
  /** Consumed messages kept per topic for readAll of recent history, while within the budget. */
  retainMessages: number;
  maxMessages: number;
  maxBytes: number;
  /** Told (at most every 10 s) when unconsumed messages are evicted to stay within the budget. */
  onEvicted?: (info: { topic: string; messages: number; total: number }) => void;
}

const EVICTION_LOG_EVERY_MS = 10_000;

export class BusBudget {
  readonly topics = new Map<string, TopicLog>();
  readonly maxMessages: number;
  readonly maxBytes: number;
  /** Messages and estimated bytes held by every topic's log together. */
  usedMessages = 0;
  usedBytes = 0;
  /** Unconsumed messages evicted to stay within the budget (nobody subscribed to their topic). */
  evicted = 0;
  /** Publishes that waited for capacity, and the time they waited (ms). */
  backpressureWaits = 0;
  backpressureMs = 0;
  closed = false;
  /** Topics that may hold messages the budget can release: consumed ones kept by `retain`, or ones nobody consumes. */
  private readonly evictable = new Set<TopicLog>();
  private readonly capacityWaiters: Array<() => void> = [];
  private lastEvictionLog = 0;
  private evictedSinceLog = 0;

  constructor(private readonly options: BusBudgetOptions) {
    this.maxMessages = options.maxMessages;
    this.maxBytes = options.maxBytes;
  }

  /** The topic's log, created empty on first use. */
  topic(name: string): TopicLog {
    let t = this.topics.get(name);
    if (!t) {
      t = new TopicLog(name);
      this.topics.set(name, t);
    }
    return t;
  }

  /** Bytes and messages in use exceed the budget. */
  overBudget(): boolean {
    return this.usedMessages > this.maxMessages || this.usedBytes > this.maxBytes;
  }

  /** Resolves once the bus is within its budget (at once if it is, or when the bus closes). */
  async waitForCapacity(): Promise<void> {
    if (!this.overBudget() || this.closed) return;
    this.releaseForBudget();
    if (!this.overBudget()) return;
    const started = performance.now();
    this.backpressureWaits++;
    while (this.overBudget() && !this.closed) await new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
    this.backpressureMs += performance.now() - started;
  }

  /** Wakes the publishers waiting for capacity once usage is back within the budget (or the bus closed). */
  private wakeCapacityWaiters(): void {
    if (this.capacityWaiters.length === 0 || (this.overBudget() && !this.closed)) return;
    for (const w of this.capacityWaiters.splice(0)) w();
  }

  append(m: OutgoingMessage): void {
    if (this.closed) throw new Error('fabric is closed');
    const t = this.topic(m.topic);
    const msg = t.append(m);
    this.usedMessages++;
    this.usedBytes += msg.size;
    if (t.owners.size === 0) {
      // nobody consumes it: a compacted topic's latest values stay in latestByKey (for
      // readAll), its log can go; other topics wait for a subscriber while within budget
      if (t.latestByKey) this.dropHead(t, t.messages.length);
      else this.evictable.add(t);
    } else {
      for (const owner of t.owners) owner.notify(m.topic);
    }
    if (this.overBudget()) this.releaseForBudget();
  }

  private dropHead(t: TopicLog, count: number): void {
    if (count <= 0) return;
    this.usedBytes -= t.dropHead(count);
    this.usedMessages -= count;
  }

  /** After a commit: releases what every owning group consumed, beyond `retain` messages kept for readAll. */
  release(t: TopicLog): void {
    if (t.owners.size === 0) return;
    const held = t.heldFrom();
    const consumed = held - t.base;
    if (consumed <= 0) return;
    const retain = this.options.retainMessages;
    if (retain === 0) this.dropHead(t, consumed);
    else if (consumed > retain * 2) this.dropHead(t, consumed - retain);
    if (held > t.base) this.evictable.add(t);
    if (this.overBudget()) this.releaseForBudget();
    else this.wakeCapacityWaiters();
  }

  /**
   * Over budget: drops consumed messages kept for readAll, then unconsumed messages of topics
   * nobody consumes (counted as evicted), until within budget. Messages a group still has to
   * consume are never dropped: their publishers wait instead (waitForCapacity).
   */
  private releaseForBudget(): void {
    for (const t of this.evictable) {
      if (!this.overBudget()) break;
      this.evictable.delete(t);
      const owned = t.owners.size > 0;
      const count = (owned ? t.heldFrom() : t.end) - t.base;
      if (count <= 0) continue;
      this.dropHead(t, count);
      if (!owned) this.noteEvicted(t.name, count);
    }
    this.wakeCapacityWaiters();
  }

  private noteEvicted(topic: string, count: number): void {
    this.evicted += count;
    this.evictedSinceLog += count;
    const now = Date.now();
    if (now - this.lastEvictionLog < EVICTION_LOG_EVERY_MS) return;
    this.lastEvictionLog = now;
    this.options.onEvicted?.({ topic, messages: this.evictedSinceLog, total: this.evicted });
    this.evictedSinceLog = 0;
  }

  /** A member starts owning a topic. */
  own(t: TopicLog, owner: TopicOwner): void {
    t.owners.add(owner);
  }

  /** A member stops owning a topic; if nobody owns it any more, its messages become evictable. */
  disown(t: TopicLog, owner: TopicOwner): void {
    t.owners.delete(owner);
    if (t.owners.size === 0 && t.messages.length > 0) this.evictable.add(t);
  }

  /** Messages of compacted topics kept as the latest value of their key (outside the log budget: one per key). */
  compactedKeys(): number {
    let n = 0;
    for (const t of this.topics.values()) n += t.latestByKey?.size ?? 0;
    return n;
  }

  /** Closing: every waiting publisher returns. */
  close(): void {
    this.closed = true;
    for (const w of this.capacityWaiters.splice(0)) w();
  }
}

/**
 * The in-process bus: the fabric adapter of the single-process mode (`wattflow up` without
 * KAFKA_BROKERS). Same semantics as Kafka for the stages: one partition per topic, consumer
 * groups (each group sees every message; within a group a topic belongs to one member),
 * per-topic order, commit after the handler succeeded, redelivery after a failure, compacted
 * topics that keep the latest value per key.
 *
 * Written by hand because it is a few hundred lines with exactly Kafka's semantics and no
 * network; general in-process event emitters have neither groups, offsets nor redelivery.
 *
 * Memory is bounded by one budget for the whole bus (`maxMessages`, `maxBytes`), not per
 * topic (a per-router layout has thousands of topics). See docs/storage.md § "The in-process
 * bus's memory budget":
 *  - a message is released once every group that owns its topic has committed it (plus at
 *    most `retainMessages` consumed messages per topic, kept for readAll while within budget);
 *  - compacted topics keep only the latest message per key for readAll (the log itself is
 *    released as above, or at once when no group consumes it);
 *  - messages of a topic no group consumes (nobody subscribed yet, dead letters nobody reads)
 *    are kept while within budget, then evicted oldest topic first, counted and logged;
 *  - when the budget is still exceeded by messages some group has not consumed yet (a lagging
 *    consumer), publishes made with `{ waitForCapacity: true }` (sources: the producer) wait
 *    until consumers catch up: backpressure instead of growth. Stage outputs (published while
 *    their input batch is in hand) never wait, which keeps the pipeline free of deadlock; they
 *    exceed the budget by at most the batches in flight.
 */
import { gauge, totalCounter } from '../core/metrics.js';
import { encodeValue } from './fabric.js';
import type {
  Fabric,
  PublishOptions,
  IncomingMessage,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from './fabric.js';

interface TopicLog {
  spec: TopicSpec;
  base: number; // offset of messages[0]
  messages: MemoryMessage[];
  latestByKey?: Map<string, IncomingMessage>;
  /** Members (of any group) that own this topic now: told about each new message. */
  owners: Set<Member>;
  /** Estimated size of one `json` message of this topic, re-measured every SAMPLE_EVERY messages. */
  jsonSize: number;
  sampleIn: number;
}

interface Member {
  id: number;
  group: Group;
  topics: Set<string>;
  /** Owned topics that may have unconsumed messages (the loop's work list, round robin). */
  pending: Set<string>;
  options: SubscribeOptions;
  closed: boolean;
  wake: () => void;
  loop: Promise<void>;
}

interface Group {
  committed: Map<string, number>; // topic → next offset to consume
  members: Member[];
}

export interface MemoryFabricOptions {
  /** Consumed messages kept per topic for readAll of recent history, while within the budget (default 1,000; `wattflow up`: fabric.memory.retainConsumed, 0). */
  retainMessages?: number;
  /** Most messages the bus holds, all topics together (default 100,000). */
  maxMessages?: number;
  /** Most bytes (estimated from the JSON text) the bus holds, all topics together (default 64 MiB). */
  maxBytes?: number;
  /** Export the bus's usage, budget, evictions and backpressure in the process's /metrics. */
  metrics?: boolean;
  /** Told (at most every 10 s) when unconsumed messages are evicted to stay within the budget. */
  onEvicted?: (info: { topic: string; messages: number; total: number }) => void;
  /** Delay before a failed batch is delivered again (ms, default 200). */
  retryDelayMs?: number;
  /** Most messages handed to a handler at once, from one or more topics (default 500). */
  maxBatch?: number;
  onHandlerError?: (err: unknown, batch: IncomingMessage[]) => void;
}

/** A message on the in-process bus; its text is produced only if somebody reads `value`. */
class MemoryMessage implements IncomingMessage {
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
const EVICTION_LOG_EVERY_MS = 10_000;

export class MemoryFabric implements Fabric {
  readonly kind = 'memory' as const;
  private readonly topics = new Map<string, TopicLog>();
  private readonly groups = new Map<string, Group>();
  private nextMemberId = 1;
  private closed = false;
  private readonly retain: number;
  private readonly retryDelayMs: number;
  private readonly maxBatch: number;
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
  /** Topics that may hold messages the budget can release: consumed ones kept by `retain`, or ones nobody consumes. */
  private readonly evictable = new Set<TopicLog>();
  private readonly capacityWaiters: Array<() => void> = [];
  private lastEvictionLog = 0;
  private evictedSinceLog = 0;

  constructor(private readonly options: MemoryFabricOptions = {}) {
    this.retain = options.retainMessages ?? 1000;
    this.retryDelayMs = options.retryDelayMs ?? 200;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxMessages = options.maxMessages ?? 100_000;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    if (options.metrics) registerBusMetrics(this);
  }

  private topic(name: string): TopicLog {
    let t = this.topics.get(name);
    if (!t) {
      t = { spec: { name }, base: 0, messages: [], owners: new Set(), jsonSize: 0, sampleIn: 0 };
      this.topics.set(name, t);
    }
    return t;
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    for (const spec of topics) {
      const t = this.topic(spec.name);
      t.spec = spec;
      if (spec.compacted && !t.latestByKey) {
        t.latestByKey = new Map();
        for (const m of t.messages) t.latestByKey.set(m.key, m);
      }
    }
  }

  async publish(message: OutgoingMessage, options?: PublishOptions): Promise<void> {
    if (options?.waitForCapacity) await this.waitForCapacity();
    this.append(message);
  }

  async publishBatch(messages: OutgoingMessage[], options?: PublishOptions): Promise<void> {
    if (options?.waitForCapacity) await this.waitForCapacity();
    for (const m of messages) this.append(m);
  }

  /** Bytes and messages in use exceed the budget. */
  overBudget(): boolean {
    return this.usedMessages > this.maxMessages || this.usedBytes > this.maxBytes;
  }

  private async waitForCapacity(): Promise<void> {
    if (!this.overBudget() || this.closed) return;
    this.releaseForBudget();
    if (!this.overBudget()) return;
    const started = performance.now();
    this.backpressureWaits++;
    while (this.overBudget() && !this.closed) await new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
    this.backpressureMs += performance.now() - started;
  }

  /** Wakes the publishers waiting for capacity once usage is back within the budget. */
  private wakeCapacityWaiters(): void {
    if (this.capacityWaiters.length === 0 || (this.overBudget() && !this.closed)) return;
    for (const w of this.capacityWaiters.splice(0)) w();
  }

  private estimateSize(t: TopicLog, m: OutgoingMessage): number {
    if (m.value !== undefined) return m.value.length + m.key.length + MESSAGE_OVERHEAD_BYTES;
    if (t.sampleIn-- <= 0) {
      t.jsonSize = JSON.stringify(m.json).length; // one message in SAMPLE_EVERY is measured
      t.sampleIn = SAMPLE_EVERY - 1;
    }
    return t.jsonSize + m.key.length + MESSAGE_OVERHEAD_BYTES;
  }

  private append(m: OutgoingMessage): void {
    if (this.closed) throw new Error('fabric is closed');
    const t = this.topic(m.topic);
    const msg = new MemoryMessage(m, t.base + t.messages.length);
    msg.size = this.estimateSize(t, m);
    t.messages.push(msg);
    this.usedMessages++;
    this.usedBytes += msg.size;
    t.latestByKey?.set(m.key, msg);
    if (t.owners.size === 0) {
      // nobody consumes it: a compacted topic's latest values stay in latestByKey (for
      // readAll), its log can go; other topics wait for a subscriber while within budget
      if (t.latestByKey) this.dropHead(t, t.messages.length);
      else this.evictable.add(t);
    } else {
      for (const owner of t.owners) {
        owner.pending.add(m.topic);
        owner.wake();
      }
    }
    if (this.overBudget()) this.releaseForBudget();
  }

  /** Offset below which every group owning the topic has committed (the log's end if none owns it). */
  private heldFrom(t: TopicLog): number {
    const end = t.base + t.messages.length;
    let from = end;
    for (const owner of t.owners) from = Math.min(from, owner.group.committed.get(t.spec.name) ?? t.base);
    return from;
  }

  private dropHead(t: TopicLog, count: number): void {
    if (count <= 0) return;
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += t.messages[i]!.size;
    t.messages.splice(0, count);
    t.base += count;
    this.usedMessages -= count;
    this.usedBytes -= bytes;
  }

  /** After a commit: releases what every owning group consumed, beyond `retain` messages kept for readAll. */
  private release(t: TopicLog): void {
    if (t.owners.size === 0) return;
    const held = this.heldFrom(t);
    const consumed = held - t.base;
    if (consumed <= 0) return;
    if (this.retain === 0) this.dropHead(t, consumed);
    else if (consumed > this.retain * 2) this.dropHead(t, consumed - this.retain);
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
      const count = (owned ? this.heldFrom(t) : t.base + t.messages.length) - t.base;
      if (count <= 0) continue;
      this.dropHead(t, count);
      if (!owned) this.noteEvicted(t.spec.name, count);
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

  async readAll(topic: string): Promise<IncomingMessage[]> {
    const t = this.topics.get(topic);
    if (!t) return [];
    if (t.latestByKey) return [...t.latestByKey.values()].sort((a, b) => Number(a.offset) - Number(b.offset));
    return [...t.messages];
  }

  /** Messages of compacted topics kept as the latest value of their key (outside the log budget: one per key). */
  compactedKeys(): number {
    let n = 0;
    for (const t of this.topics.values()) n += t.latestByKey?.size ?? 0;
    return n;
  }

  /** Assigns each subscribed topic of a group to exactly one member (round robin by name). */
  private rebalance(group: Group): Array<{ member: Member; before: Set<string> }> {
    const changes: Array<{ member: Member; before: Set<string> }> = [];
    const live = group.members.filter((m) => !m.closed);
    const wanted = new Set<string>();
    for (const m of live) for (const t of m.options.topics) wanted.add(t);
    const sorted = [...wanted].sort();
    const next = new Map<Member, Set<string>>(live.map((m) => [m, new Set<string>()]));
    let i = 0;
    for (const topicName of sorted) {
      const candidates = live.filter((m) => m.options.topics.includes(topicName));
      if (candidates.length === 0) continue;
      const chosen = candidates[i++ % candidates.length]!;
      next.get(chosen)!.add(topicName);
    }
    for (const m of group.members) if (m.closed) for (const name of m.topics) this.disown(this.topic(name), m);
    for (const [member, topics] of next) {
      changes.push({ member, before: member.topics });
      for (const name of member.topics) if (!topics.has(name)) this.disown(this.topic(name), member);
      for (const name of topics) {
        this.topic(name).owners.add(member);
        member.pending.add(name);
      }
      member.topics = topics;
    }
    return changes;
  }

  /** A member stops owning a topic; if nobody owns it any more, its messages become evictable. */
  private disown(t: TopicLog, member: Member): void {
    t.owners.delete(member);
    if (t.owners.size === 0 && t.messages.length > 0) this.evictable.add(t);
  }

  private async notifyAssignments(changes: Array<{ member: Member; before: Set<string> }>): Promise<void> {
    for (const { member, before } of changes) {
      const revoked = [...before].filter((t) => !member.topics.has(t));
      const assigned = [...member.topics].filter((t) => !before.has(t));
      if (revoked.length) await member.options.onRevoked?.(revoked.map((topic) => ({ topic, partition: 0 })));
      if (assigned.length) await member.options.onAssigned?.(assigned.map((topic) => ({ topic, partition: 0 })));
      member.wake();
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    let group = this.groups.get(options.group);
    if (!group) {
      group = { committed: new Map(), members: [] };
      this.groups.set(options.group, group);
    }
    const g = group;
    for (const name of options.topics) {
      const t = this.topic(name);
      if (!g.committed.has(name)) g.committed.set(name, options.fromBeginning === false ? t.base + t.messages.length : t.base);
    }
    let wakeResolve: (() => void) | undefined;
    // A wake-up that arrives while the loop is busy (mid-batch) is remembered, so the loop
    // looks again instead of sleeping past it (e.g. a rebalance during a handler call).
    let woken = false;
    const member: Member = {
      id: this.nextMemberId++,
      group: g,
      topics: new Set(),
      pending: new Set(),
      options: { ...options, topics: [...options.topics] },
      closed: false,
      wake: () => {
        const r = wakeResolve;
        wakeResolve = undefined;
        if (r) r();
        else woken = true;
      },
      loop: Promise.resolve(),
    };
    g.members.push(member);
    await this.notifyAssignments(this.rebalance(g));

    const waitForWork = () =>
      new Promise<void>((resolveWait) => {
        if (woken) {
          woken = false;
          resolveWait();
          return;
        }
        wakeResolve = resolveWait;
      });

    // Batches are taken from the pending list (round robin over topics), up to `maxBatch`
    // messages from one or more topics, each topic's messages in order: O(1) per message however
    // many topics the member owns, and one handler call for many routers (micro-batching). A
    // topic with more messages, or whose batch failed, goes back to the end of the list; a failed
    // batch is retried after the delay, never skipped.
    const runLoop = async () => {
      while (!member.closed && !this.closed) {
        // each batch in its own event-loop turn: a publish wakes consumers synchronously, and
        // without this a whole tick (producer → processor → inference → sinks) would run as one
        // chain of microtasks, holding timers and I/O for its whole length
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (member.closed || this.closed) break;
        const batch: IncomingMessage[] = [];
        const taken: Array<{ name: string; from: number; count: number }> = [];
        for (const name of member.pending) {
          if (batch.length >= this.maxBatch) break;
          member.pending.delete(name);
          if (!member.topics.has(name)) continue;
          const t = this.topic(name);
          const from = Math.max(g.committed.get(name) ?? t.base, t.base);
          const end = Math.min(t.base + t.messages.length, from + this.maxBatch - batch.length);
          if (from >= end) continue;
          for (let i = from; i < end; i++) batch.push(t.messages[i - t.base]!);
          taken.push({ name, from, count: end - from });
        }
        if (batch.length === 0) {
          await waitForWork();
          continue;
        }
        try {
          await member.options.handler(batch);
          for (const { name, from, count } of taken) {
            if (!member.topics.has(name)) continue;
            g.committed.set(name, from + count);
            const t = this.topic(name);
            if (from + count < t.base + t.messages.length) member.pending.add(name);
            this.release(t);
          }
        } catch (err) {
          this.options.onHandlerError?.(err, batch);
          await new Promise((r) => setTimeout(r, this.retryDelayMs));
          for (const { name } of taken) if (member.topics.has(name)) member.pending.add(name);
        }
      }
    };
    member.loop = runLoop();

    return {
      updateTopics: async (topics: string[]) => {
        for (const name of topics) {
          const t = this.topic(name);
          // same rule as subscribe(): without a committed offset, fromBeginning decides
          if (!g.committed.has(name)) g.committed.set(name, options.fromBeginning === false ? t.base + t.messages.length : t.base);
        }
        member.options.topics = [...topics];
        await this.notifyAssignments(this.rebalance(g));
      },
      lag: async () => {
        let lag = 0;
        for (const name of member.topics) {
          const t = this.topic(name);
          lag += t.base + t.messages.length - (g.committed.get(name) ?? t.base);
        }
        return lag;
      },
      close: async () => {
        if (member.closed) return;
        member.closed = true;
        member.wake();
        await member.loop;
        const revoked = [...member.topics];
        if (revoked.length) await member.options.onRevoked?.(revoked.map((topic) => ({ topic, partition: 0 })));
        for (const name of member.topics) this.disown(this.topic(name), member);
        g.members = g.members.filter((m) => m !== member);
        await this.notifyAssignments(this.rebalance(g));
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const g of this.groups.values()) for (const m of g.members) m.wake();
    for (const w of this.capacityWaiters.splice(0)) w();
    unregisterBusMetrics(this);
  }
}

// ---- the bus's usage in /metrics (only for buses created with `metrics: true`) ----

const metered = new Set<MemoryFabric>();
const sum = (f: (bus: MemoryFabric) => number) => [...metered].reduce((acc, bus) => acc + f(bus), 0);

function registerBusMetrics(bus: MemoryFabric): void {
  metered.add(bus);
  if (metered.size > 1) return;
  const g = (name: string, help: string, value: (bus: MemoryFabric) => number) =>
    gauge({ name, help, collect() { this.set(sum(value)); } });
  g('wattflow_bus_messages', 'Messages the in-process bus holds (all topics)', (b) => b.usedMessages);
  g('wattflow_bus_bytes', 'Estimated bytes the in-process bus holds (all topics)', (b) => b.usedBytes);
  g('wattflow_bus_budget_messages', 'The in-process bus budget: most messages held (fabric.memory.maxMessages)', (b) => b.maxMessages);
  g('wattflow_bus_budget_bytes', 'The in-process bus budget: most estimated bytes held (fabric.memory.maxBytes)', (b) => b.maxBytes);
  g('wattflow_bus_compacted_keys', 'Latest values kept per key by compacted topics (control, processor state), outside the budget', (b) => b.compactedKeys());
  const c = (name: string, help: string, value: (bus: MemoryFabric) => number) =>
    totalCounter({ name, help, value: () => sum(value) });
  c('wattflow_bus_evicted_messages_total', 'Unconsumed messages of topics nobody consumes, evicted to stay within the budget', (b) => b.evicted);
  c('wattflow_bus_backpressure_waits_total', 'Publishes that waited for a lagging consumer (backpressure)', (b) => b.backpressureWaits);
  c('wattflow_bus_backpressure_seconds_total', 'Time publishers waited for a lagging consumer', (b) => b.backpressureMs / 1000);
}

function unregisterBusMetrics(bus: MemoryFabric): void {
  metered.delete(bus);
}

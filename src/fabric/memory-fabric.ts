/**
 * The in-process bus: the fabric adapter of the single-process mode (`wattflow up` without
 * KAFKA_BROKERS). Same semantics as Kafka for the stages: one partition per topic, consumer
 * groups (each group sees every message; within a group a topic belongs to one member),
 * per-topic order, commit after the handler succeeded, redelivery after a failure, compacted
 * topics that keep the latest value per key.
 *
 * Written by hand because it is a few hundred lines with exactly Kafka's semantics and no
 * network; general in-process event emitters have neither groups, offsets nor redelivery.
 * Memory is bounded: a topic's log is trimmed below the slowest group's committed offset once
 * it holds more than `retainMessages` messages.
 */
import { encodeValue } from './fabric.js';
import type {
  Fabric,
  IncomingMessage,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from './fabric.js';

interface TopicLog {
  spec: TopicSpec;
  base: number; // offset of messages[0]
  messages: IncomingMessage[];
  latestByKey?: Map<string, IncomingMessage>;
  /** Members (of any group) that own this topic now: told about each new message. */
  owners: Set<Member>;
}

interface Member {
  id: number;
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
  /** Messages kept per topic beyond what all groups consumed (default 1,000: enough for readAll of recent history, bounded for thousands of routers). */
  retainMessages?: number;
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

export class MemoryFabric implements Fabric {
  readonly kind = 'memory' as const;
  private readonly topics = new Map<string, TopicLog>();
  private readonly groups = new Map<string, Group>();
  private nextMemberId = 1;
  private closed = false;
  private readonly retain: number;
  private readonly retryDelayMs: number;
  private readonly maxBatch: number;

  constructor(private readonly options: MemoryFabricOptions = {}) {
    this.retain = options.retainMessages ?? 1000;
    this.retryDelayMs = options.retryDelayMs ?? 200;
    this.maxBatch = options.maxBatch ?? 500;
  }

  private topic(name: string): TopicLog {
    let t = this.topics.get(name);
    if (!t) {
      t = { spec: { name }, base: 0, messages: [], owners: new Set() };
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

  async publish(message: OutgoingMessage): Promise<void> {
    this.append(message);
  }

  async publishBatch(messages: OutgoingMessage[]): Promise<void> {
    for (const m of messages) this.append(m);
  }

  private append(m: OutgoingMessage): void {
    if (this.closed) throw new Error('fabric is closed');
    const t = this.topic(m.topic);
    const msg = new MemoryMessage(m, t.base + t.messages.length);
    t.messages.push(msg);
    t.latestByKey?.set(m.key, msg);
    for (const owner of t.owners) {
      owner.pending.add(m.topic);
      owner.wake();
    }
    if (t.messages.length > this.retain * 2) this.trim(t);
  }

  private trim(t: TopicLog): void {
    let minCommitted = t.base + t.messages.length;
    for (const g of this.groups.values()) {
      if (!g.members.some((mb) => mb.topics.has(t.spec.name)) && !g.committed.has(t.spec.name)) continue;
      minCommitted = Math.min(minCommitted, g.committed.get(t.spec.name) ?? t.base);
    }
    const keepFrom = Math.min(minCommitted, t.base + t.messages.length - this.retain);
    const drop = keepFrom - t.base;
    if (drop > 0) {
      t.messages.splice(0, drop);
      t.base += drop;
    }
  }

  async readAll(topic: string): Promise<IncomingMessage[]> {
    const t = this.topics.get(topic);
    if (!t) return [];
    if (t.latestByKey) return [...t.latestByKey.values()].sort((a, b) => Number(a.offset) - Number(b.offset));
    return [...t.messages];
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
    for (const m of group.members) if (m.closed) for (const name of m.topics) this.topic(name).owners.delete(m);
    for (const [member, topics] of next) {
      changes.push({ member, before: member.topics });
      for (const name of member.topics) if (!topics.has(name)) this.topic(name).owners.delete(member);
      for (const name of topics) {
        this.topic(name).owners.add(member);
        member.pending.add(name);
      }
      member.topics = topics;
    }
    return changes;
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
        for (const name of member.topics) this.topic(name).owners.delete(member);
        g.members = g.members.filter((m) => m !== member);
        await this.notifyAssignments(this.rebalance(g));
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const g of this.groups.values()) for (const m of g.members) m.wake();
  }
}

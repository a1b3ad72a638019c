/**
 * Consumer groups of the in-process bus: each group sees every message; within a group a topic
 * belongs to one member (round robin by name, re-balanced when members come and go or change
 * topics). Each member runs a loop that hands batches to its handler, commits after the handler
 * resolved and delivers a failed batch again after a delay (never skipped).
 */
import { sleep } from '../../core/backoff.js';
import { handleFully, type IncomingMessage, type SubscribeOptions, type Subscription } from '../fabric.js';
import type { BusBudget } from './bus-budget.js';
import type { TopicOwner } from './topic-log.js';

interface Group {
  committed: Map<string, number>; // topic → next offset to consume
  members: Member[];
}

export interface GroupDeliveryOptions {
  /** Delay before a failed batch is delivered again (ms). */
  retryDelayMs: number;
  /** Most messages handed to a handler at once, from one or more topics. */
  maxBatch: number;
  onHandlerError?: (err: unknown, batch: IncomingMessage[]) => void;
}

type Assignment = Array<{ topic: string; partition: number }>;
const asPartitions = (topics: string[]): Assignment => topics.map((topic) => ({ topic, partition: 0 }));

class Member implements TopicOwner {
  topics = new Set<string>();
  /** Owned topics that may have unconsumed messages (the loop's work list, round robin). */
  readonly pending = new Set<string>();
  closed = false;
  loop: Promise<void> = Promise.resolve();
  private wakeResolve: (() => void) | undefined;
  // A wake-up that arrives while the loop is busy (mid-batch) is remembered, so the loop
  // looks again instead of sleeping past it (e.g. a rebalance during a handler call).
  private woken = false;

  constructor(
    readonly group: Group,
    readonly options: SubscribeOptions,
  ) {}

  committed(topic: string): number | undefined {
    return this.group.committed.get(topic);
  }

  notify(topic: string): void {
    this.pending.add(topic);
    this.wake();
  }

  wake(): void {
    const r = this.wakeResolve;
    this.wakeResolve = undefined;
    if (r) r();
    else this.woken = true;
  }

  waitForWork(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.woken) {
        this.woken = false;
        resolve();
        return;
      }
      this.wakeResolve = resolve;
    });
  }
}

export class GroupDelivery {
  private readonly groups = new Map<string, Group>();

  constructor(
    private readonly bus: BusBudget,
    private readonly options: GroupDeliveryOptions,
  ) {}

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    let g = this.groups.get(options.group);
    if (!g) {
      g = { committed: new Map(), members: [] };
      this.groups.set(options.group, g);
    }
    const group = g;
    this.startAtDefault(group, options);
    const member = new Member(group, { ...options, topics: [...options.topics] });
    group.members.push(member);
    await this.notifyAssignments(this.rebalance(group));
    member.loop = this.runLoop(member);

    return {
      updateTopics: async (topics: string[]) => {
        // same rule as subscribe(): without a committed offset, fromBeginning decides
        this.startAtDefault(group, { ...options, topics });
        member.options.topics = [...topics];
        await this.notifyAssignments(this.rebalance(group));
      },
      lag: async () => {
        let lag = 0;
        for (const name of member.topics) {
          const t = this.bus.topic(name);
          lag += t.end - (group.committed.get(name) ?? t.base);
        }
        return lag;
      },
      close: async () => {
        if (member.closed) return;
        member.closed = true;
        member.wake();
        await member.loop;
        const revoked = [...member.topics];
        if (revoked.length) await member.options.onRevoked?.(asPartitions(revoked));
        for (const name of member.topics) this.bus.disown(this.bus.topic(name), member);
        group.members = group.members.filter((m) => m !== member);
        await this.notifyAssignments(this.rebalance(group));
      },
    };
  }

  /** The bus closes: every member loop wakes and ends. */
  close(): void {
    for (const g of this.groups.values()) for (const m of g.members) m.wake();
  }

  /** A topic without a committed offset starts at its log start, or its end with fromBeginning=false. */
  private startAtDefault(group: Group, options: SubscribeOptions): void {
    for (const name of options.topics) {
      const t = this.bus.topic(name);
      if (!group.committed.has(name)) group.committed.set(name, options.fromBeginning === false ? t.end : t.base);
    }
  }

  /**
   * Batches are taken from the pending list (round robin over topics), up to `maxBatch` messages
   * from one or more topics, each topic's messages in order: O(1) per message however many
   * topics the member owns, and one handler call for many routers (micro-batching). A topic with
   * more messages, or whose batch failed, goes back to the end of the list; a failed batch is
   * retried after the delay, never skipped.
   */
  private async runLoop(member: Member): Promise<void> {
    const g = member.group;
    const { maxBatch } = this.options;
    while (!member.closed && !this.bus.closed) {
      // each batch in its own event-loop turn: a publish wakes consumers synchronously, and
      // without this a whole tick (producer → processor → inference → sinks) would run as one
      // chain of microtasks, holding timers and I/O for its whole length
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (member.closed || this.bus.closed) break;
      const batch: IncomingMessage[] = [];
      const taken: Array<{ name: string; from: number; count: number }> = [];
      for (const name of member.pending) {
        if (batch.length >= maxBatch) break;
        member.pending.delete(name);
        if (!member.topics.has(name)) continue;
        const t = this.bus.topic(name);
        const from = Math.max(g.committed.get(name) ?? t.base, t.base);
        const end = Math.min(t.end, from + maxBatch - batch.length);
        if (from >= end) continue;
        for (let i = from; i < end; i++) batch.push(t.messages[i - t.base]!);
        taken.push({ name, from, count: end - from });
      }
      if (batch.length === 0) {
        await member.waitForWork();
        continue;
      }
      try {
        await handleFully(member.options.handler, batch);
        for (const { name, from, count } of taken) {
          if (!member.topics.has(name)) continue;
          g.committed.set(name, from + count);
          const t = this.bus.topic(name);
          if (from + count < t.end) member.pending.add(name);
          this.bus.release(t);
        }
      } catch (err) {
        this.options.onHandlerError?.(err, batch);
        await sleep(this.options.retryDelayMs);
        for (const { name } of taken) if (member.topics.has(name)) member.pending.add(name);
      }
    }
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
    for (const m of group.members) if (m.closed) for (const name of m.topics) this.bus.disown(this.bus.topic(name), m);
    for (const [member, topics] of next) {
      changes.push({ member, before: member.topics });
      for (const name of member.topics) if (!topics.has(name)) this.bus.disown(this.bus.topic(name), member);
      for (const name of topics) {
        this.bus.own(this.bus.topic(name), member);
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
      if (revoked.length) await member.options.onRevoked?.(asPartitions(revoked));
      if (assigned.length) await member.options.onAssigned?.(asPartitions(assigned));
      member.wake();
    }
  }
}

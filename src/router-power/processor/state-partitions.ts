/**
 * Which part of the processor's state topic a member needs (docs/performance.md § "State
 * restore"). The state topic is partitioned like Kafka Streams' changelogs: a router's record is
 * keyed by its id, so it lies in partition partitionOf(id, state partitions), the partition the
 * publisher's default partitioner picks. An assignment of input (TD) partitions owns the routers
 * whose key falls into them; only the state partitions holding those routers are read.
 */
import type { Fabric } from '../../fabric/fabric.js';
import { partitionOf } from '../../fabric/partitioner.js';
import type { ExperimentSource } from '../experiment.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export class StatePartitions {
  /** Partition count per topic (TD topics and the state topic), as last asked of the fabric. */
  private readonly counts = new Map<string, number>();

  constructor(private readonly o: { fabric: Fabric; experiment: ExperimentSource; stateTopic: string }) {}

  /** The state topic's partition count (1 until learnt). */
  get stateCount(): number {
    return this.counts.get(this.o.stateTopic) ?? 1;
  }

  /** Asks the fabric for the partition counts of these topics and the state topic (one request). */
  async learn(topics: readonly string[]): Promise<void> {
    const ask = [...new Set([...topics, this.o.stateTopic])];
    const got = await this.o.fabric.partitionsOf(ask);
    for (const t of ask) this.counts.set(t, got.get(t) ?? 1);
  }

  /**
   * The routers whose TD messages these partitions carry: all of a one-partition topic's routers,
   * else those whose id the partitioner puts into an assigned partition. (An assignment of every
   * partition of a shared topic: all its routers; per-router topics: their router.)
   */
  routersOf(parts: readonly TopicPartition[]): Set<string> {
    const byTopic = new Map<string, Set<number>>();
    for (const p of parts) {
      let set = byTopic.get(p.topic);
      if (!set) byTopic.set(p.topic, (set = new Set()));
      set.add(p.partition);
    }
    const out = new Set<string>();
    for (const [topic, assigned] of byTopic) {
      const n = this.counts.get(topic) ?? 1;
      for (const r of this.o.experiment.routersByTopic(topic)) {
        if (n === 1 || assigned.has(partitionOf(r.id, n))) out.add(r.id);
      }
    }
    return out;
  }

  /** The state partitions holding these routers' records, ascending. */
  stateOf(routers: Iterable<string>): number[] {
    const n = this.stateCount;
    const out = new Set<number>();
    for (const r of routers) {
      out.add(n === 1 ? 0 : partitionOf(r, n));
      if (out.size === n) break;
    }
    return [...out].sort((a, b) => a - b);
  }
}

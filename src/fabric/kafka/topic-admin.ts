/**
 * Topic administration of the Kafka fabric: creates missing topics through the Admin API
 * (compacted ones with cleanup.policy=compact), tolerates "already exists" (another process won
 * the race), waits until every partition has a leader that serves requests, and knows which
 * topics are compacted (as created, or as the broker describes them).
 */
import { type Admin, ConfigResourceTypes, type Consumer } from '@platformatic/kafka';
import { sleep } from '../../core/backoff.js';
import type { Logger } from '../../core/logger.js';
import type { TopicSpec } from '../fabric.js';
import { isOnly } from './client-internals.js';

export interface TopicAdminOptions {
  admin: () => Admin;
  /** The fabric's reader (no group): probes that new partitions are served. */
  reader: () => Consumer<Buffer, Buffer, Buffer, Buffer>;
  log: Logger;
  /** Partitions of created topics without an explicit count (compacted: 1). */
  defaultPartitions?: number;
  /** Replication factor of created topics (default: the broker's). */
  replicationFactor?: number;
}

/** KRaft refuses one CreateTopics that makes too many metadata records (max.records.per.user.op = 10,000). */
const CREATE_TOPICS_AT_ONCE = 200;
const SERVED_TIMEOUT_MS = 15_000;

export class TopicAdmin {
  /** cleanup.policy=compact per topic, as created/ensured or as described by the broker. */
  private readonly compacted = new Map<string, boolean>();
  /** Topics ensured by this fabric (exist and are served). */
  private readonly known = new Set<string>();

  constructor(private readonly o: TopicAdminOptions) {}

  isKnown(topic: string): boolean {
    return this.known.has(topic);
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    if (topics.length === 0) return;
    const admin = this.o.admin();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name) && !this.known.has(t.name));
    for (const spec of topics) if (spec.compacted !== undefined) this.compacted.set(spec.name, spec.compacted);
    // One CreateTopics call per (partitions, compacted) shape.
    const shapes = new Map<string, TopicSpec[]>();
    for (const spec of missing) {
      const partitions = spec.partitions ?? (spec.compacted ? 1 : (this.o.defaultPartitions ?? 1));
      const shape = `${partitions}:${spec.compacted ? 1 : 0}`;
      let list = shapes.get(shape);
      if (!list) shapes.set(shape, (list = []));
      list.push({ ...spec, partitions });
    }
    const created: string[] = [];
    const chunks: TopicSpec[][] = [];
    for (const list of shapes.values()) {
      for (let i = 0; i < list.length; i += CREATE_TOPICS_AT_ONCE) chunks.push(list.slice(i, i + CREATE_TOPICS_AT_ONCE));
    }
    for (const specs of chunks) {
      const first = specs[0]!;
      try {
        await admin.createTopics({
          topics: specs.map((s) => s.name),
          partitions: first.partitions!,
          replicas: this.o.replicationFactor ?? -1,
          configs: first.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
        });
        this.o.log.info({ topics: specs.map((s) => s.name), partitions: first.partitions, compacted: !!first.compacted }, 'created topics');
      } catch (err) {
        if (!isOnly(err, 'TOPIC_ALREADY_EXISTS')) throw err;
      }
      created.push(...specs.map((s) => s.name));
    }
    await this.waitUntilServed(topics.map((t) => t.name), created);
    for (const t of topics) this.known.add(t.name);
  }

  /**
   * Waits until every partition of the topics has a leader that serves requests. Right after
   * creation the metadata names a leader a little before that broker answers for the partition
   * (NOT_LEADER_OR_FOLLOWER for some milliseconds), hence the ListOffsets probe for new topics.
   */
  private async waitUntilServed(topics: string[], created: string[]): Promise<void> {
    const deadline = Date.now() + SERVED_TIMEOUT_MS;
    for (;;) {
      let lastError: unknown;
      try {
        const md = await this.o.admin().metadata({ topics, forceUpdate: true });
        const led = topics.every((t) => {
          const tm = md.topics.get(t);
          return tm && tm.partitionsCount > 0 && tm.partitions.every((p) => p && p.leader >= 0);
        });
        if (led) {
          if (created.length === 0) return;
          const reader = this.o.reader();
          reader.clearMetadata();
          await reader.listOffsets({ topics: created });
          return;
        }
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline) {
        throw new Error(`topics not served by a leader after 15 s: ${topics.join(', ')}`, { cause: lastError });
      }
      await sleep(50);
    }
  }

  /** cleanup.policy includes compact (cached; asked of the broker once per topic). */
  async isCompacted(topic: string): Promise<boolean> {
    const cached = this.compacted.get(topic);
    if (cached !== undefined) return cached;
    const [desc] = await this.o.admin().describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: ['cleanup.policy'] }],
    });
    const policy = desc?.configs.find((c) => c.name === 'cleanup.policy')?.value ?? 'delete';
    const compacted = policy.split(',').includes('compact');
    this.compacted.set(topic, compacted);
    return compacted;
  }
}

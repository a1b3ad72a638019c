/**
 * The in-process bus: the fabric adapter of the single-process mode (`wattflow up` without
 * KAFKA_BROKERS). Same semantics as Kafka for the stages: one partition per topic, consumer
 * groups, per-topic order, commit after the handler succeeded, redelivery after a failure,
 * compacted topics that keep the latest value per key. Memory is bounded by one budget for the
 * whole bus (bus-budget.ts; docs/storage.md § "The in-process bus's memory budget").
 *
 * Hand-written: a few hundred lines with exactly Kafka's semantics and no network; general
 * in-process event emitters have neither groups, offsets nor redelivery.
 */
import type {
  Fabric,
  IncomingMessage,
  OutgoingMessage,
  PublishOptions,
  ReadAllOptions,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from '../fabric.js';
import { BusBudget } from './bus-budget.js';
import { registerBusMetrics, unregisterBusMetrics } from './bus-metrics.js';
import { GroupDelivery } from './group-delivery.js';

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

export class MemoryFabric implements Fabric {
  readonly kind = 'memory' as const;
  readonly pipelinesBatches = false;
  private readonly budget: BusBudget;
  private readonly delivery: GroupDelivery;

  constructor(options: MemoryFabricOptions = {}) {
    this.budget = new BusBudget({
      retainMessages: options.retainMessages ?? 1000,
      maxMessages: options.maxMessages ?? 100_000,
      maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
      onEvicted: options.onEvicted,
    });
    this.delivery = new GroupDelivery(this.budget, {
      retryDelayMs: options.retryDelayMs ?? 200,
      maxBatch: options.maxBatch ?? 500,
      onHandlerError: options.onHandlerError,
    });
    if (options.metrics) registerBusMetrics(this);
  }

  /** The budget: most messages / estimated bytes the bus holds, all topics together. */
  get maxMessages(): number {
    return this.budget.maxMessages;
  }
  get maxBytes(): number {
    return this.budget.maxBytes;
  }
  /** Messages and estimated bytes held by every topic's log together. */
  get usedMessages(): number {
    return this.budget.usedMessages;
  }
  get usedBytes(): number {
    return this.budget.usedBytes;
  }
  /** Unconsumed messages evicted to stay within the budget (nobody subscribed to their topic). */
  get evicted(): number {
    return this.budget.evicted;
  }
  /** Publishes that waited for capacity, and the time they waited (ms). */
  get backpressureWaits(): number {
    return this.budget.backpressureWaits;
  }
  get backpressureMs(): number {
    return this.budget.backpressureMs;
  }

  /** Bytes and messages in use exceed the budget. */
  overBudget(): boolean {
    return this.budget.overBudget();
  }

  /** Messages of compacted topics kept as the latest value of their key (outside the log budget: one per key). */
  compactedKeys(): number {
    return this.budget.compactedKeys();
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    for (const spec of topics) this.budget.topic(spec.name).setSpec(spec);
  }

  async publish(message: OutgoingMessage, options?: PublishOptions): Promise<void> {
    if (options?.waitForCapacity) await this.budget.waitForCapacity();
    this.budget.append(message);
  }

  async publishBatch(messages: OutgoingMessage[], options?: PublishOptions): Promise<void> {
    if (options?.waitForCapacity) await this.budget.waitForCapacity();
    for (const m of messages) this.budget.append(m);
  }

  /** A topic is one partition (0): asked for other partitions only, nothing. */
  async readAll(topic: string, options?: ReadAllOptions): Promise<IncomingMessage[]> {
    if (options?.partitions && !options.partitions.includes(0)) return [];
    return this.budget.topics.get(topic)?.readAll() ?? [];
  }

  async partitionsOf(topics: readonly string[]): Promise<Map<string, number>> {
    return new Map(topics.map((t) => [t, 1]));
  }

  subscribe(options: SubscribeOptions): Promise<Subscription> {
    return this.delivery.subscribe(options);
  }

  async close(): Promise<void> {
    this.budget.close();
    this.delivery.close();
    unregisterBusMetrics(this);
  }
}

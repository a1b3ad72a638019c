/** The Kafka fabric's metrics (published, consumed, handler failures, unsettled batches, commits, rebalances). */
import { counter, gauge, histogram } from '../../core/metrics.js';

/** The metrics a subscription records. */
export interface SubscriptionMetrics {
  consumed(topic: string, group: string, n: number): void;
  handlerFailure(topic: string, group: string): void;
  /** A handled batch's outputs went out (+1) or settled (-1): acknowledged or failed. */
  unsettledBatches(group: string, delta: 1 | -1): void;
  commitDuration(group: string, seconds: number, ok: boolean): void;
  rebalance(group: string): void;
}

export function kafkaMetrics() {
  return {
    published: counter<'topic'>({
      name: 'wattflow_kafka_messages_published_total',
      help: 'Messages published to Kafka (acknowledged by all in-sync replicas), per topic',
      labelNames: ['topic'],
    }),
    publishFailures: counter<'topic'>({
      name: 'wattflow_kafka_publish_failures_total',
      help: 'Kafka publish calls that failed, per topic',
      labelNames: ['topic'],
    }),
    consumed: counter<'topic' | 'group'>({
      name: 'wattflow_kafka_messages_consumed_total',
      help: 'Messages whose handler resolved, per topic and consumer group',
      labelNames: ['topic', 'group'],
    }),
    handlerFailures: counter<'topic' | 'group'>({
      name: 'wattflow_kafka_handler_failures_total',
      help: 'Failed handler calls (the batch is delivered again), per topic and consumer group',
      labelNames: ['topic', 'group'],
    }),
    unsettledBatches: gauge<'group'>({
      name: 'wattflow_kafka_unsettled_batches',
      help: 'Handled batches whose outputs are still being published (pipelining; their offsets commit once acknowledged), per consumer group',
      labelNames: ['group'],
    }),
    commitSeconds: histogram<'group' | 'result'>({
      name: 'wattflow_kafka_commit_duration_seconds',
      help: 'Latency of offset commits, per consumer group and result (ok|error)',
      labelNames: ['group', 'result'],
    }),
    rebalances: counter<'group'>({
      name: 'wattflow_kafka_rebalances_total',
      help: 'Consumer group (re)joins with a new generation, per group',
      labelNames: ['group'],
    }),
  };
}

/** A subscription's view of the fabric's metrics. */
export function subscriptionMetrics(m: ReturnType<typeof kafkaMetrics>): SubscriptionMetrics {
  return {
    consumed: (topic, group, n) => m.consumed.inc({ topic, group }, n),
    handlerFailure: (topic, group) => m.handlerFailures.inc({ topic, group }),
    unsettledBatches: (group, delta) => m.unsettledBatches.inc({ group }, delta),
    commitDuration: (group, seconds, ok) => m.commitSeconds.observe({ group, result: ok ? 'ok' : 'error' }, seconds),
    rebalance: (group) => m.rebalances.inc({ group }),
  };
}

/** Metrics of the Redis Streams fabric, named like the Kafka adapter's (wattflow_redis_streams_*). */
import { counter, histogram } from '../../core/metrics.js';

export const redisStreamsMetrics = () => ({
  published: counter<'topic'>({ name: 'wattflow_redis_streams_messages_published_total', help: 'Messages added to Redis streams, per topic', labelNames: ['topic'] }),
  publishFailures: counter<'topic'>({ name: 'wattflow_redis_streams_publish_failures_total', help: 'Redis stream publish calls that failed, per topic', labelNames: ['topic'] }),
  consumed: counter<'topic' | 'group'>({
    name: 'wattflow_redis_streams_messages_consumed_total',
    help: 'Stream entries whose handler resolved (then acknowledged), per topic and consumer group',
    labelNames: ['topic', 'group'],
  }),
  handlerFailures: counter<'topic' | 'group'>({
    name: 'wattflow_redis_streams_handler_failures_total',
    help: 'Failed handler calls (the entries stay pending and are delivered again), per topic and consumer group',
    labelNames: ['topic', 'group'],
  }),
  claimed: counter<'topic' | 'group'>({
    name: 'wattflow_redis_streams_claimed_total',
    help: 'Pending entries taken over from a consumer that left or died (XAUTOCLAIM), per topic and group',
    labelNames: ['topic', 'group'],
  }),
  undecodable: counter<'topic'>({
    name: 'wattflow_redis_streams_undecodable_total',
    help: 'Stream entries that were not messages (sent to <topic>.dlq and acknowledged), per topic',
    labelNames: ['topic'],
  }),
  ackSeconds: histogram<'group' | 'result'>({
    name: 'wattflow_redis_streams_ack_duration_seconds',
    help: 'Latency of XACK after a handled batch, per consumer group and result (ok|error)',
    labelNames: ['group', 'result'],
  }),
  rebalances: counter<'group'>({
    name: 'wattflow_redis_streams_rebalances_total',
    help: 'Changes of the streams a member owns, per group',
    labelNames: ['group'],
  }),
});

export type RedisStreamsMetrics = ReturnType<typeof redisStreamsMetrics>;

/**
 * Metrics shared by the pipeline stages: messages in/out/dropped per stage and reason,
 * dead-lettered messages, per-hop latency histograms and consumer lag.
 */
import { counter, gauge, histogram } from '../core/metrics.js';

export const messagesIn = counter({ name: 'wattflow_messages_in_total', help: 'Messages received by a stage', labelNames: ['stage'] as const });
export const messagesOut = counter({ name: 'wattflow_messages_out_total', help: 'Messages published by a stage', labelNames: ['stage'] as const });
export const messagesDropped = counter({
  name: 'wattflow_messages_dropped_total',
  help: 'Messages a stage consumed without emitting a result, by reason (not errors: e.g. counter reset, first message)',
  labelNames: ['stage', 'reason'] as const,
});
export const deadLettered = counter({
  name: 'wattflow_dead_letter_total',
  help: 'Invalid messages sent to a dead-letter topic',
  labelNames: ['stage'] as const,
});
export const hopLatency = histogram({
  name: 'wattflow_hop_latency_seconds',
  help: 'Latency of each hop: collector→producer (scrape to publish), producer→processor, processor→inference, end_to_end (scrape to prediction)',
  labelNames: ['hop'] as const,
});
export const consumerLag = gauge({ name: 'wattflow_consumer_lag_messages', help: 'Unconsumed messages per stage (its group)', labelNames: ['stage'] as const });

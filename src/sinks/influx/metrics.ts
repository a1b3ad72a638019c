/** The InfluxDB writer's metrics (label `writer`: one writer per pipeline). */
import { counter, gauge, histogram } from '../../core/metrics.js';

export const pointsWritten = counter({
  name: 'wattflow_influx_points_written_total',
  help: 'Points accepted by InfluxDB',
  labelNames: ['writer'] as const,
});
export const pointsFailed = counter({
  name: 'wattflow_influx_points_failed_total',
  help: 'Points not written: rejected (4xx), unavailable (retries exhausted) or invalid (not encodable)',
  labelNames: ['writer', 'reason'] as const,
});
export const pointsRetried = counter({
  name: 'wattflow_influx_points_retried_total',
  help: 'Points sent again after a retriable failure (network, 5xx, 429)',
  labelNames: ['writer'] as const,
});
export const fieldsSkipped = counter({
  name: 'wattflow_influx_fields_skipped_total',
  help: 'Fields or tags left out of written points (non-finite numbers, reserved or unrepresentable keys)',
  labelNames: ['writer'] as const,
});
export const requestsTotal = counter({
  name: 'wattflow_influx_requests_total',
  help: 'HTTP write requests by status (network = no response)',
  labelNames: ['writer', 'status'] as const,
});
export const batchSeconds = histogram({
  name: 'wattflow_influx_batch_seconds',
  help: 'Time to deliver one batch, retries included, by outcome',
  labelNames: ['writer', 'outcome'] as const,
});
export const bufferGauge = gauge({
  name: 'wattflow_influx_buffer_points',
  help: 'Points held by the writer (queued and in flight)',
  labelNames: ['writer'] as const,
});

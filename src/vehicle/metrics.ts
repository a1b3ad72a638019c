/**
 * Prometheus metrics of the vehicle pipeline (one registry per process, shared by the API,
 * the predictor and `wattflow up`): measurements by outcome, rejections by reason, ingest
 * latency, vectors, plausibility flags, forwarding, predictions and sink writes.
 */
import { counter, gauge, histogram } from '../core/metrics.js';

export const measurementsTotal = counter({
  name: 'wattflow_vehicle_measurements_total',
  help: 'Measurements received by the Vehicle API, by outcome (stored, duplicate, rejected)',
  labelNames: ['outcome'] as const,
});
export const rejectionsTotal = counter({ name: 'wattflow_vehicle_rejections_total', help: 'Rejected measurements by reason code', labelNames: ['code'] as const });
export const flaggedTotal = counter({ name: 'wattflow_vehicle_flagged_measurements_total', help: 'Out-of-range measurements stored flagged' });
export const lateTotal = counter({ name: 'wattflow_vehicle_late_measurements_total', help: 'Measurements older than the vehicle\'s last emitted vector (stored, carried forward from the next vector)' });
export const ingestRequests = counter({ name: 'wattflow_vehicle_ingest_requests_total', help: 'Ingest requests by HTTP status', labelNames: ['status'] as const });
export const ingestSeconds = histogram({ name: 'wattflow_vehicle_ingest_seconds', help: 'Ingest request handling time (parse, validate, store, align, announce)' });
export const unavailableTotal = counter({
  name: 'wattflow_vehicle_unavailable_total',
  help: 'Ingest requests answered 503 because a node-local dependency was unavailable',
  labelNames: ['dependency'] as const,
});
export const vectorsTotal = counter({ name: 'wattflow_vehicle_vectors_total', help: 'Aligned vectors emitted and announced' });
export const vectorsUnannounced = counter({
  name: 'wattflow_vehicle_vectors_unannounced_total',
  help: 'Aligned vectors whose store/announce failed (store error); not lost: recomputed from the stored measurements and announced once the store is back',
});
export const vehiclesRecomputing = gauge({ name: 'wattflow_vehicle_vehicles_recomputing', help: 'Vehicles whose vectors wait to be recomputed from the stored measurements (an announce or a store read failed)' });
export const flagsTotal = counter({ name: 'wattflow_vehicle_plausibility_flags_total', help: 'Plausibility flags raised on vectors, by rule', labelNames: ['rule'] as const });
export const forwardQueue = gauge({ name: 'wattflow_vehicle_forward_queue_vectors', help: 'Vectors waiting to be forwarded to the predictor (push mode)' });
export const forwardFailures = counter({ name: 'wattflow_vehicle_forward_failures_total', help: 'Failed forwards of vector batches, by target', labelNames: ['target'] as const });
export const deadLetteredTotal = counter({
  name: 'wattflow_vehicle_vectors_dead_lettered_total',
  help: 'Vectors kept in the dead-letter stream instead of being scored: refused by the predictor (source=forward), invalid entries read from the vector stream (stream), channel (channel) or forward journal (journal)',
  labelNames: ['source'] as const,
});
export const recoveredTotal = counter({ name: 'wattflow_vehicle_vectors_recovered_total', help: 'Vectors re-sent from the forward journal at start (accepted by an earlier process, not forwarded)' });
export const fallbackTotal = counter({ name: 'wattflow_vehicle_fallback_total', help: 'Batches or requests served by a configured fallback instead of the node-local service', labelNames: ['dependency'] as const });
export const predictionsTotal = counter({ name: 'wattflow_vehicle_predictions_total', help: 'Vectors scored by the predictor, by label', labelNames: ['label'] as const });
export const predictSeconds = histogram({ name: 'wattflow_vehicle_predict_seconds', help: 'Predictor batch time: scoring plus the durable write of its points' });
export const sinkFailures = counter({ name: 'wattflow_vehicle_sink_failures_total', help: 'Failed writes of prediction batches to the sink' });

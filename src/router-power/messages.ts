/**
 * The wire messages of the network telemetry pipeline, exactly as the reference exchanges
 * them (see test/fixtures/across/*.json):
 *   TD_<router>  collected  (producer → processor)      TdMessage
 *   TP_<router>  processed  (processor → inference)     TpMessage = TD + input_ml_metrics
 *   ML_<router>  predictions (inference → sinks, api)   MlMessage = TP + output_ml_metrics
 * Field order when built matters to byte-level consumers: builders here create objects in
 * the reference order. Extensions are additive and listed in docs/messages.md.
 */
import { formatEpochSeconds } from '../collector/exposition/to-collector-json.js';
import type { MetricFamilyJson } from '../collector/metric-family-json.js';

export interface DebugParams {
  flag_original_metrics: boolean;
  max_throughput_mbps: number;
  unit: string;
  polling_interval: number;
  test_metrics: boolean;
  multiplier: number;
  collector_timestamp: string;
  process_timestamp?: string;
  ml_timestamp?: string;
  [extra: string]: unknown;
}

export interface TdMessage {
  node_exporter: string;
  epoch_timestamp: string;
  experiment_id: string;
  interfaces: string[];
  flag_debug_params: boolean;
  debug_params?: DebugParams;
  metrics?: MetricFamilyJson[];
  [extra: string]: unknown;
}

export interface InputMlMetric {
  name: string;
  type: string;
  value: number;
}

export interface TpMessage extends TdMessage {
  input_ml_metrics: InputMlMetric[];
}

export interface OutputMlMetric {
  name: string;
  type: string;
  value: number | number[];
}

export interface MlMessage extends TpMessage {
  output_ml_metrics: OutputMlMetric[];
}

export const BYTES_METRIC = 'node_network_receive_bytes_total';
export const PACKETS_METRIC = 'node_network_receive_packets_total';
/** The counters a TD message carries (the producer asks its source for these only). */
export const TD_COUNTERS = [BYTES_METRIC, PACKETS_METRIC] as const;

export const PACKET_RATE = 'node_network_receive_packets_total_rate';
export const BYTE_RATE = 'node_network_receive_bytes_total_rate';
export const PACKET_LENGTH = 'node_network_average_received_packet_length';
export const OCCUPATION = 'node_network_router_capacity_occupation';

export const POWER = 'node_network_power_consumption_wats';
export const POWER_RATE_OCCUPATION = 'node_network_power_consumption_variation_rate_occupation';
export const POWER_RATE_PACKET_LENGTH = 'node_network_power_consumption_variation_rate_packet_length';

/** Python's str(time.time()) style: seconds with a fractional part (ms since epoch in). */
export function epochSeconds(ms: number = Date.now()): string {
  return formatEpochSeconds(ms / 1000);
}

/**
 * Formats a counter value the way the Prometheus Go client writes it
 * (strconv.FormatFloat(v, 'g', -1, 64)): exponent form from 1e6 up and below 1e-4,
 * two-digit exponents: 62500000 → "6.25e+07", 52083 → "52083".
 */
export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e21 || abs >= 1e6 || abs < 1e-4) {
    const [mant, exp] = v.toExponential().split('e') as [string, string];
    const sign = exp.startsWith('-') ? '-' : '+';
    const digits = exp.replace(/^[+-]/, '');
    return `${mant}e${sign}${digits.length < 2 ? '0' + digits : digits}`;
  }
  return String(v);
}

/** The router id of a message: `r1:9100` → `r1` (the key of TD/TP/ML messages). */
export function routerIdOf(msg: { node_exporter?: unknown }): string {
  const ne = typeof msg.node_exporter === 'string' ? msg.node_exporter : '';
  const i = ne.lastIndexOf(':');
  return i > 0 ? ne.slice(0, i) : ne;
}

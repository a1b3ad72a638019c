/**
 * Builders of TD messages for the network pipeline tests.
 */
import type { TdMessage } from '../../src/router-power/messages.js';
import { ExperimentSource, normalizeExperiment } from '../../src/router-power/experiment.js';

export interface IfaceCounters {
  device: string;
  bytes: number;
  packets: number;
}

export function td(t: number, ifaces: IfaceCounters[], opts: { reorder?: boolean; interfaces?: string[] } = {}): TdMessage {
  const byDevice = opts.reorder ? [...ifaces].reverse() : ifaces;
  const fam = (name: string, pick: (i: IfaceCounters) => number) => ({
    name,
    description: '',
    type: 'counter',
    values: byDevice.map((i) => ({ labels: [{ name: 'device', value: i.device }], value: String(pick(i)) })),
  });
  const metrics = [fam('node_network_receive_bytes_total', (i) => i.bytes), fam('node_network_receive_packets_total', (i) => i.packets)];
  return {
    node_exporter: 'r1:9100',
    epoch_timestamp: String(t),
    experiment_id: '1',
    interfaces: opts.interfaces ?? ifaces.map((i) => i.device),
    flag_debug_params: false,
    metrics: opts.reorder ? [...metrics].reverse() : metrics,
  };
}

/**
 * An experiment `name` of test run `run` at 1 s polling, 100 Mbit/s: its routers' TD topics from
 * `tdTopic`, TP and ML topics `<run>.<name>.TP_<router>` / `.ML_<router>`.
 */
export function runExperiment(run: string, name: string, routers: string[], tdTopic: (id: string) => string): ExperimentSource {
  const exp = normalizeExperiment(
    {
      experiment_id: run,
      flag_original_metrics: false,
      flag_debug_params: false,
      max_throughput_mbps: 100,
      polling_interval: 1,
      multiplier: 1,
      topics: { processed: `${run}.${name}.TP_{router}`, predictions: `${run}.${name}.ML_{router}` },
      routers: routers.map((id) => ({ [id]: { topic: tdTopic(id), interfaces: ['eth2'], test_metrics: true } })),
    },
    name,
  );
  return new ExperimentSource(exp);
}

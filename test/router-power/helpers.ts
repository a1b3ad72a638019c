/**
 * Builders of TD messages for the network pipeline tests.
 */
import type { TdMessage } from '../../src/router-power/messages.js';

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

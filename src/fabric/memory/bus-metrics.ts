/** The in-process bus's usage in /metrics (only for buses created with `metrics: true`), summed over such buses. */
import { gauge, totalCounter } from '../../core/metrics.js';

/** What a bus reports (MemoryFabric). */
export interface MeteredBus {
  readonly usedMessages: number;
  readonly usedBytes: number;
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly evicted: number;
  readonly backpressureWaits: number;
  readonly backpressureMs: number;
  compactedKeys(): number;
}

const metered = new Set<MeteredBus>();
const sum = (f: (bus: MeteredBus) => number) => [...metered].reduce((acc, bus) => acc + f(bus), 0);

export function registerBusMetrics(bus: MeteredBus): void {
  metered.add(bus);
  if (metered.size > 1) return;
  const g = (name: string, help: string, value: (bus: MeteredBus) => number) =>
    gauge({ name, help, collect() { this.set(sum(value)); } });
  g('wattflow_bus_messages', 'Messages the in-process bus holds (all topics)', (b) => b.usedMessages);
  g('wattflow_bus_bytes', 'Estimated bytes the in-process bus holds (all topics)', (b) => b.usedBytes);
  g('wattflow_bus_budget_messages', 'The in-process bus budget: most messages held (fabric.memory.maxMessages)', (b) => b.maxMessages);
  g('wattflow_bus_budget_bytes', 'The in-process bus budget: most estimated bytes held (fabric.memory.maxBytes)', (b) => b.maxBytes);
  g('wattflow_bus_compacted_keys', 'Latest values kept per key by compacted topics (control, processor state), outside the budget', (b) => b.compactedKeys());
  const c = (name: string, help: string, value: (bus: MeteredBus) => number) =>
    totalCounter({ name, help, value: () => sum(value) });
  c('wattflow_bus_evicted_messages_total', 'Unconsumed messages of topics nobody consumes, evicted to stay within the budget', (b) => b.evicted);
  c('wattflow_bus_backpressure_waits_total', 'Publishes that waited for a lagging consumer (backpressure)', (b) => b.backpressureWaits);
  c('wattflow_bus_backpressure_seconds_total', 'Time publishers waited for a lagging consumer', (b) => b.backpressureMs / 1000);
}

export function unregisterBusMetrics(bus: MeteredBus): void {
  metered.delete(bus);
}

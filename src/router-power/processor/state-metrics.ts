/** The processors' per-router state in /metrics, summed over the processors running in this process. */
import { gauge } from '../../core/metrics.js';
import type { RouterStates } from './router-states.js';

const running = new Set<RouterStates>();
const sum = (f: (s: RouterStates) => number) => [...running].reduce((acc, s) => acc + f(s), 0);

export function registerStateMetrics(states: RouterStates): void {
  running.add(states);
  if (running.size > 1) return;
  const g = (name: string, help: string, value: (s: RouterStates) => number) => gauge({ name, help, collect() { this.set(sum(value)); } });
  g('wattflow_processor_state_routers', 'Routers whose last TD message the processor holds (those of its assigned partitions)', (s) => s.size);
  g(
    'wattflow_processor_state_snapshots',
    'Counter snapshots the processor holds: per router its current one, up to 4 spares, one per unsettled message',
    (s) => s.snapshots,
  );
  g(
    'wattflow_processor_unsettled_messages',
    'TD messages handled whose outputs are not acknowledged yet (bounded by fabric.kafka.consumer.maxPipelinedBatches × maxBatchSize)',
    (s) => s.unsettledMessages,
  );
}

export function unregisterStateMetrics(states: RouterStates): void {
  running.delete(states);
}

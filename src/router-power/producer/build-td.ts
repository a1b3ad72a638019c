/**
 * Builds the TD message (topic TD_<router>) exactly like the reference producer
 * (test/fixtures/across/input_metrics.json): field order, strings for timestamps and values,
 * `debug_params` only when flag_debug_params, and only the two counters of the configured
 * interfaces.
 */
import type { Experiment, RouterConfig } from '../experiment.js';
import type { MetricFamilyJson } from '../../collector/metric-family-json.js';
import { TD_COUNTERS, epochSeconds, type TdMessage } from '../messages.js';

/** Keeps the TD counters of the router's interfaces, in the reference's metric order. */
export function selectCounters(families: MetricFamilyJson[], interfaces: string[]): MetricFamilyJson[] {
  const wanted = new Set(interfaces);
  const out: MetricFamilyJson[] = [];
  for (const name of TD_COUNTERS) {
    const fam = families.find((f) => f.name === name);
    if (!fam) continue;
    out.push({
      name: fam.name,
      description: fam.description,
      type: fam.type,
      values: fam.values
        .filter((v) => v.labels.some((l) => l.name === 'device' && wanted.has(l.value)))
        .map((v) => ({ labels: v.labels, value: v.value })),
    });
  }
  return out;
}

export interface TdInput {
  router: RouterConfig;
  experiment: Experiment;
  nodeExporter: string;
  /** When the counters were read (ms): becomes epoch_timestamp, the time rates are computed on. */
  readAtMs: number;
  /** When the producer had the collector's answer (ms): collector_timestamp. */
  collectedAtMs: number;
  families: MetricFamilyJson[];
}

export function buildTd(i: TdInput): TdMessage {
  const exp = i.experiment;
  const td: TdMessage = {
    node_exporter: i.nodeExporter,
    epoch_timestamp: epochSeconds(i.readAtMs),
    experiment_id: exp.experimentId,
    interfaces: [...i.router.interfaces],
    flag_debug_params: exp.flagDebugParams,
  };
  if (exp.flagDebugParams) {
    td.debug_params = {
      flag_original_metrics: exp.flagOriginalMetrics,
      max_throughput_mbps: i.router.maxThroughputMbps,
      unit: 'bytes',
      polling_interval: exp.pollingInterval,
      test_metrics: i.router.testMetrics,
      multiplier: exp.multiplier,
      collector_timestamp: epochSeconds(i.collectedAtMs),
    };
  }
  td.metrics = selectCounters(i.families, i.router.interfaces);
  return td;
}

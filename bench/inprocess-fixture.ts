/**
 * The in-process benchmarks' load (pipeline-inprocess, energy-exporter): an experiment of N
 * test-metrics routers at 1 s, and the TD messages of its polls, built ahead so that the figures
 * measure processing, not message construction (published as objects, as the producer does on
 * the in-process bus).
 */
import { normalizeExperiment, type Experiment } from '../src/router-power/experiment.js';
import { buildTd } from '../src/router-power/producer/build-td.js';
import { testPeriodFamilies } from '../src/router-power/producer/test-metrics.js';

export function benchExperiment(routers: number): Experiment {
  return normalizeExperiment(
    {
      experiment_id: 'bench',
      flag_original_metrics: false,
      flag_debug_params: true,
      max_throughput_mbps: 100,
      polling_interval: 1,
      multiplier: 1,
      routers: Array.from({ length: routers }, (_, i) => ({ [`r${i}`]: { topic: `TD_r${i}`, interfaces: ['eth2', 'eth3'], test_metrics: true } })),
    },
    'bench',
  );
}

/** Per poll, every router's TD message: counters of 100 Mbit/s at 1200 B/packet, one poll a second. */
export function tdPayloads(exp: Experiment, polls: number): object[][] {
  const payloads: object[][] = [];
  for (let p = 0; p < polls; p++) {
    payloads.push(
      exp.routers.map((router) =>
        buildTd({
          router,
          experiment: exp,
          nodeExporter: `${router.id}:9100`,
          readAtMs: 1_700_000_000_000 + p * 1000,
          collectedAtMs: 1_700_000_000_000 + p * 1000,
          families: testPeriodFamilies({ bytes: 12_500_000 * (p + 1), packets: 10_417 * (p + 1) }, router.interfaces),
        }),
      ),
    );
  }
  return payloads;
}

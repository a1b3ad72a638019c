/**
 * Where the producer gets a router's counters, one function per source kind:
 *  - `collector`: GET the router's collector_url (the reference's path); the collector's
 *    filter query is added so only the two counters of the configured interfaces travel;
 *  - `direct`: scrape the exporter's /metrics and parse it in-process (no extra hop);
 *  - `test_metrics`: the reference's counter files (test-metrics.ts);
 *  - `synthetic`: made-up, time-of-day-like traffic per router (synthetic.ts; demos, load tests).
 */
import { exporterHostOf, type RouterConfig, type Experiment } from '../experiment.js';
import type { MetricFamilyJson } from '../../collector/metric-family-json.js';
import { TD_COUNTERS } from '../messages.js';
import { scrape, ScrapeError } from '../../collector/scrape.js';
import { clientAuthHeaders } from '../../core/auth.js';
import { parseExpositionToFamilies } from '../../collector/convert.js';
import { loadTestMetrics, testPeriodFamilies, type TestPeriod } from './test-metrics.js';
import { syntheticFamilies, type SyntheticProfile } from './synthetic.js';

export interface PollResult {
  nodeExporter: string;
  /** When the counters were read (ms since epoch). */
  readAtMs: number;
  families: MetricFamilyJson[];
}

export interface SourceOptions {
  timeoutMs: number;
  maxBytes: number;
}

export type Poller = (router: RouterConfig, tickMs: number) => Promise<PollResult>;

function filterQuery(router: RouterConfig): string {
  const q = new URLSearchParams();
  for (const n of TD_COUNTERS) q.append('name', n);
  q.append('device', router.interfaces.join(','));
  return q.toString();
}

export function collectorPoller(opts: SourceOptions): Poller {
  return async (router) => {
    const url = router.collectorUrl!;
    const sep = url.includes('?') ? '&' : '?';
    // a wattflow collector's route needs scope read: this process's token (WATTFLOW_TOKEN / auth.clientToken)
    const res = await scrape(`${url}${sep}${filterQuery(router)}`, url, { ...opts, accept: 'application/json', headers: clientAuthHeaders() });
    let doc: { node_exporter?: unknown; epoch_timestamp?: unknown; metrics?: unknown };
    try {
      doc = JSON.parse(res.text);
    } catch (err) {
      throw new ScrapeError('status', url, `collector ${url} did not return JSON: ${(err as Error).message}`, 200);
    }
    const readAt = Number(doc.epoch_timestamp) * 1000;
    if (!Array.isArray(doc.metrics) || typeof doc.node_exporter !== 'string' || !Number.isFinite(readAt))
      throw new ScrapeError('status', url, `collector ${url} returned JSON without node_exporter/epoch_timestamp/metrics`, 200);
    return { nodeExporter: doc.node_exporter, readAtMs: readAt, families: doc.metrics as MetricFamilyJson[] };
  };
}

export function directPoller(opts: SourceOptions): Poller {
  return async (router) => {
    const base = router.exporterUrl!.replace(/\/+$/, '');
    const target = base.replace(/^https?:\/\//, '');
    const res = await scrape(`${base}/metrics`, target, opts);
    const families = parseExpositionToFamilies(res.text, { names: [...TD_COUNTERS] });
    return { nodeExporter: target, readAtMs: res.receivedAt, families };
  };
}

export function testMetricsPoller(experiment: () => Experiment): Poller {
  const cache = new Map<string, { dir: string; periods: TestPeriod[]; next: number }>();
  return async (router, tickMs) => {
    const dir = experiment().testMetricsDir;
    let state = cache.get(router.id);
    if (!state || state.dir !== dir) {
      state = { dir, periods: loadTestMetrics(dir, router.id), next: 0 };
      cache.set(router.id, state);
    }
    const period = state.periods[state.next]!;
    state.next = (state.next + 1) % state.periods.length;
    const host = exporterHostOf(router);
    return { nodeExporter: host, readAtMs: tickMs, families: testPeriodFamilies(period, router.interfaces) };
  };
}

/** Synthetic counters (synthetic.ts): a closed-form function of the router id and the poll time. */
export function syntheticPoller(): Poller {
  const profiles = new Map<string, SyntheticProfile>();
  return async (router, tickMs) => {
    const host = exporterHostOf(router);
    return { nodeExporter: host, readAtMs: tickMs, families: syntheticFamilies(router, tickMs, profiles) };
  };
}

/**
 * The experiment a router-power role runs: the configured file (watched), or under `wattflow up`
 * without one the bundled demo experiment plus router `local` — the local node exporter, when
 * one answers on 127.0.0.1:9100 (so the demo shows real rates).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseExpositionToFamilies } from '../collector/convert.js';
import type { Logger } from '../core/logger.js';
import type { RouterPowerConfig } from './config.js';
import { BUNDLED_CONFIG_DIR, ExperimentSource, loadExperiment, normalizeExperiment, type Experiment, type RawExperiment } from './experiment.js';
import { applyTopicLayout, type TopicLayoutConfig } from './topic-layout.js';
import type { MetricFamilyJson } from '../collector/metric-family-json.js';
import { BYTES_METRIC } from './messages.js';

export const DEFAULT_EXPERIMENT_FILE = resolve(BUNDLED_CONFIG_DIR, 'default-experiment.json');
export const LOCAL_EXPORTER = '127.0.0.1:9100';
const SPEED_METRIC = 'node_network_speed_bytes';

/** The configured experiment file (default: the bundled one) in the configured topic layout, watched when network.watch. */
export function experimentFor(network: Pick<RouterPowerConfig, 'experiment' | 'watch'> & TopicLayoutConfig, logger: Logger): ExperimentSource {
  const file = network.experiment ?? DEFAULT_EXPERIMENT_FILE;
  let lastWhy = '';
  const layout = (exp: Experiment): Experiment => {
    const decision = applyTopicLayout(exp, network);
    if (decision.shared && decision.why !== lastWhy) logger.info({ routers: exp.routers.length }, `topic layout: ${decision.why}`);
    lastWhy = decision.why;
    return decision.experiment;
  };
  const source = new ExperimentSource(
    loadExperiment(file),
    (err) => logger.error({ err: err.message }, 'experiment file change rejected; keeping the previous experiment'),
    layout,
  );
  if (network.watch) source.watch();
  return source;
}

/** The demo's router `local` (the local node exporter): its interfaces and the capacity occupation is measured against. */
export interface LocalRouterPlan {
  interfaces: string[];
  /** From the interfaces' speed (node_network_speed_bytes), when every one reports it; else the experiment's. */
  maxThroughputMbps?: number;
  /** Which limit is used and why, for the log and the banner. */
  limit: string;
}

/**
 * Router `local` from the exporter's families: the devices that saw traffic, loopback left out
 * when another device did (it is not a link: its traffic would be measured against a link's
 * capacity — the 155 % of issue 17); the limit is the sum of their speeds when the exporter
 * reports a positive node_network_speed_bytes for each (the experiment gives none for this
 * router), else the experiment's max_throughput_mbps.
 */
export function localRouterPlan(families: MetricFamilyJson[], experimentMbps: number): LocalRouterPlan | undefined {
  const bytes = families.find((f) => f.name === BYTES_METRIC);
  const speed = families.find((f) => f.name === SPEED_METRIC);
  const device = (v: { labels: Array<{ name: string; value: string }> }) => v.labels.find((l) => l.name === 'device')?.value;
  const active: string[] = [];
  for (const v of bytes?.values ?? []) {
    const d = device(v);
    if (d && Number(v.value) > 0 && !active.includes(d)) active.push(d);
  }
  if (active.length === 0) return undefined;
  const links = active.filter((d) => d !== 'lo');
  const interfaces = links.length > 0 ? links : active;
  const speeds = new Map<string, number>();
  for (const v of speed?.values ?? []) {
    const d = device(v);
    if (d) speeds.set(d, Number(v.value));
  }
  const unknown = interfaces.filter((d) => !(speeds.get(d)! > 0));
  const dropped = links.length > 0 && links.length < active.length ? '; lo left out: loopback is not a link' : '';
  if (unknown.length === 0) {
    const mbps = interfaces.reduce((sum, d) => sum + (speeds.get(d)! * 8) / 1e6, 0);
    return { interfaces, maxThroughputMbps: mbps, limit: `${mbps} Mbit/s from ${SPEED_METRIC} of ${interfaces.join(', ')}${dropped}` };
  }
  const why = unknown.map((d) => (speeds.has(d) ? `${d} reports ${speeds.get(d)} (unknown)` : `${d} reports none`)).join(', ');
  return { interfaces, limit: `${experimentMbps} Mbit/s, the experiment's max_throughput_mbps (no usable ${SPEED_METRIC}: ${why})${dropped}` };
}

/** Router `local` of the demo, when the local exporter answers. */
async function localRouter(experimentMbps: number): Promise<LocalRouterPlan | undefined> {
  try {
    const res = await fetch(`http://${LOCAL_EXPORTER}/metrics`, { signal: AbortSignal.timeout(1000) });
    if (res.status !== 200) return undefined;
    const families = parseExpositionToFamilies(await res.text(), { names: [BYTES_METRIC, SPEED_METRIC], contentType: res.headers.get('content-type') ?? undefined });
    return localRouterPlan(families, experimentMbps);
  } catch {
    return undefined;
  }
}

/** The bundled demo experiment, plus router `local` polled through this process's collector on `httpPort`. */
export async function demoExperiment(httpPort: number, logger: Logger): Promise<{ experiment: ExperimentSource; local?: LocalRouterPlan }> {
  const raw = JSON.parse(readFileSync(DEFAULT_EXPERIMENT_FILE, 'utf8')) as RawExperiment;
  const local = await localRouter(raw.max_throughput_mbps);
  if (local) {
    const { interfaces } = local;
    raw.routers.push({
      local: {
        collector_url: `http://127.0.0.1:${httpPort}/metrics/${LOCAL_EXPORTER.replace(':', '_')}.json`,
        topic: 'TD_local',
        interfaces,
        ...(local.maxThroughputMbps !== undefined ? { max_throughput_mbps: local.maxThroughputMbps } : {}),
        test_metrics: false,
        router_type: 'huawei',
        model_type: 'dummy',
        source: 'direct',
        exporter_url: `http://${LOCAL_EXPORTER}`,
      },
    });
    logger.info({ interfaces, limit: local.limit }, `local node exporter found: added router "local" (occupation against ${local.limit})`);
  }
  const exp = normalizeExperiment(raw, DEFAULT_EXPERIMENT_FILE);
  // the demo experiment is built in memory (not watched); reload re-reads the bundled file
  return { experiment: new ExperimentSource({ ...exp, source: '' }), ...(local ? { local } : {}) };
}

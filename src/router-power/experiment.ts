/**
 * The experiment configuration (config.json of the reference): loading, validation against
 * the consistent schema, normalisation into typed router entries, and watching for changes
 * (a changed file is re-read and handed to subscribers; an invalid change is logged and the
 * previous experiment kept).
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, readStructuredFile, validateWithSchema } from '../core/config.js';
import { experimentSchema } from './experiment-schema.js';
import { routerIdOf } from './messages.js';

export type RouterSource = 'collector' | 'direct' | 'test_metrics' | 'synthetic';

export interface RouterConfig {
  id: string;
  topic: string;
  interfaces: string[];
  testMetrics: boolean;
  routerType: string;
  modelType: string;
  source: RouterSource;
  collectorUrl?: string;
  /** Exporter base URL for direct scrapes (http://host:port), derived from collector_url when absent. */
  exporterUrl?: string;
  maxThroughputMbps: number;
}

export interface Experiment {
  experimentId: string;
  flagOriginalMetrics: boolean;
  flagDebugParams: boolean;
  maxThroughputMbps: number;
  pollingInterval: number;
  multiplier: number;
  testMetricsDir: string;
  routers: RouterConfig[];
  /** The TP topic of a router (`topics.processed`, `{router}` substituted). */
  tpTopic: (routerId: string) => string;
  /** The ML topic of a router (`topics.predictions`). */
  mlTopic: (routerId: string) => string;
  /** The file it came from ('' when built in memory). */
  source: string;
}

interface RawRouter {
  collector_url?: string;
  topic: string;
  interfaces: string[];
  test_metrics: boolean;
  router_type: string;
  model_type: string;
  source?: RouterSource;
  exporter_url?: string;
  max_throughput_mbps?: number;
}

export interface RawExperiment {
  experiment_id: string;
  flag_original_metrics: boolean;
  flag_debug_params: boolean;
  max_throughput_mbps: number;
  polling_interval: number;
  multiplier: number;
  test_metrics_dir?: string;
  topics: { processed: string; predictions: string };
  routers: Array<Record<string, RawRouter>>;
}

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUNDLED_TEST_METRICS_DIR = resolve(projectRoot, 'config', 'test_metrics');
export const BUNDLED_CONFIG_DIR = resolve(projectRoot, 'config');

/** `r1_9100.json` in a collector URL → `http://r1:9100` (the exporter it scrapes). */
export function exporterFromCollectorUrl(url: string): string | undefined {
  const m = /\/metrics\/([^/]+)_(\d+)\.json(?:\?.*)?$/.exec(url);
  return m ? `http://${m[1]}:${m[2]}` : undefined;
}

export function normalizeExperiment(raw: unknown, sourceName: string, baseDir?: string): Experiment {
  const cfg = validateWithSchema<RawExperiment>(experimentSchema as unknown as Record<string, unknown>, structuredClone(raw), sourceName);
  const seen = new Set<string>();
  const routers: RouterConfig[] = [];
  cfg.routers.forEach((entry, index) => {
    const [id, r] = Object.entries(entry)[0]!;
    const where = `/routers/${index}/${id}`;
    if (seen.has(id)) throw new ConfigError(sourceName, where, `router "${id}" is listed twice`);
    seen.add(id);
    const source: RouterSource = r.source ?? (r.test_metrics ? 'test_metrics' : r.exporter_url ? 'direct' : 'collector');
    const exporterUrl = r.exporter_url ?? (r.collector_url ? exporterFromCollectorUrl(r.collector_url) : undefined);
    if (source === 'collector' && !r.collector_url)
      throw new ConfigError(sourceName, `${where}/collector_url`, 'is required for a router polled through the collector');
    if (source === 'direct' && !exporterUrl)
      throw new ConfigError(sourceName, `${where}/exporter_url`, 'is required for a direct scrape (or a collector_url ending in <host>_<port>.json)');
    routers.push({
      id,
      topic: r.topic,
      interfaces: r.interfaces,
      testMetrics: source === 'test_metrics',
      routerType: r.router_type,
      modelType: r.model_type,
      source,
      collectorUrl: r.collector_url,
      exporterUrl,
      maxThroughputMbps: r.max_throughput_mbps ?? cfg.max_throughput_mbps,
    });
  });
  const pattern = (p: string) => (router: string) => p.split('{router}').join(router);
  return {
    experimentId: cfg.experiment_id,
    flagOriginalMetrics: cfg.flag_original_metrics,
    flagDebugParams: cfg.flag_debug_params,
    maxThroughputMbps: cfg.max_throughput_mbps,
    pollingInterval: cfg.polling_interval,
    multiplier: cfg.multiplier,
    testMetricsDir: cfg.test_metrics_dir ? resolve(baseDir ?? process.cwd(), cfg.test_metrics_dir) : BUNDLED_TEST_METRICS_DIR,
    routers,
    tpTopic: pattern(cfg.topics.processed),
    mlTopic: pattern(cfg.topics.predictions),
    source: sourceName,
  };
}

/** The `host:port` a router's messages carry as node_exporter (see the producer's sources). */
export function exporterHostOf(r: RouterConfig): string {
  return r.exporterUrl?.replace(/^https?:\/\//, '').replace(/\/.*$/, '') ?? `${r.id}:9100`;
}

/**
 * The distinct topics of one message type (TD, TP, ML): routers may share a topic (e.g. `"topic": "TD"` for every
 * router and `topics.processed = "TP"`: one topic per stage, keyed by router id).
 */
export function stageTopics(exp: Experiment, message: 'TD' | 'TP' | 'ML'): string[] {
  const name = message === 'TD' ? (r: RouterConfig) => r.topic : message === 'TP' ? (r: RouterConfig) => exp.tpTopic(r.id) : (r: RouterConfig) => exp.mlTopic(r.id);
  return [...new Set(exp.routers.map(name))];
}

export function loadExperiment(file: string): Experiment {
  const full = resolve(file);
  return normalizeExperiment(readStructuredFile(full), full, dirname(full));
}

/**
 * Watches an experiment file; calls `onChange` with each valid new version, `onError` with
 * each invalid one (the caller keeps the previous experiment). Debounced.
 *
 * It watches the file's directory, not the file, and decides by content: every event in the
 * directory (re)reads the file and compares the sha256 of its parsed content with the last
 * one. That covers an editor replacing the file (write elsewhere, rename over) and a
 * Kubernetes ConfigMap volume, where the file never changes itself: the kubelet
 * (AtomicWriter) writes the new version into a fresh `..<timestamp>` directory, points a
 * `..data_tmp` symlink at it and renames that over `..data`, while `config.json` stays a
 * symlink to `..data/config.json` — the only events are about `..data*` entries.
 * (A `subPath` mount of a ConfigMap is never updated by the kubelet: mount the directory.)
 */
export function watchExperiment(
  file: string,
  onChange: (exp: Experiment) => void,
  onError: (err: Error) => void,
  debounceMs = 200,
): { close(): void } {
  const full = resolve(file);
  let timer: NodeJS.Timeout | undefined;
  const hashOf = (raw: unknown) => createHash('sha256').update(JSON.stringify(raw)).digest('hex');
  let last = '';
  const fire = () => {
    timer = undefined;
    try {
      // one read: the version compared is the version applied
      const raw = readStructuredFile(full);
      const hash = hashOf(raw);
      if (hash === last) return;
      const exp = normalizeExperiment(raw, full, dirname(full));
      last = hash;
      onChange(exp);
    } catch (err) {
      onError(err as Error);
    }
  };
  try {
    last = hashOf(readStructuredFile(full));
  } catch {
    last = '';
  }
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(full), () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(fire, debounceMs);
    });
    // the directory itself going away (an unmounted volume) ends the watch, not the process
    watcher.on('error', (err) => onError(err));
  } catch (err) {
    onError(err as Error);
  }
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}

/**
 * The live experiment shared by the stages of one process: the current version, change
 * listeners, and (when it came from a file) a watcher plus SIGHUP reload through reload().
 */
export class ExperimentSource {
  private listeners = new Set<(exp: Experiment) => void | Promise<void>>();
  private watcher: { close(): void } | undefined;
  private byId = new Map<string, RouterConfig>();
  private byTopic = new Map<string, RouterConfig[]>();
  /** Every stage topic (TD, TP, ML) → the ids of the routers that use it. */
  private idsByAnyTopic = new Map<string, Set<string>>();
  /** `host:port` of a router's exporter (what its messages carry as node_exporter) → router ids. */
  private idsByExporter = new Map<string, Set<string>>();

  /**
   * `layout` rewrites each version before use (the topic layout: topic-layout.ts); it gets the
   * experiment as written, and sees every reload.
   */
  constructor(
    private exp: Experiment,
    private readonly onInvalid: (err: Error) => void = () => undefined,
    private readonly layout: (exp: Experiment) => Experiment = (e) => e,
  ) {
    this.exp = layout(exp);
    this.index();
  }

  private index(): void {
    this.byId = new Map(this.exp.routers.map((r) => [r.id, r]));
    this.byTopic = new Map();
    for (const r of this.exp.routers) {
      const list = this.byTopic.get(r.topic);
      if (list) list.push(r);
      else this.byTopic.set(r.topic, [r]);
    }
    const add = (map: Map<string, Set<string>>, k: string, id: string) => {
      const set = map.get(k);
      if (set) set.add(id);
      else map.set(k, new Set([id]));
    };
    this.idsByAnyTopic = new Map();
    this.idsByExporter = new Map();
    for (const r of this.exp.routers) {
      add(this.idsByAnyTopic, r.topic, r.id);
      add(this.idsByAnyTopic, this.exp.tpTopic(r.id), r.id);
      add(this.idsByAnyTopic, this.exp.mlTopic(r.id), r.id);
      add(this.idsByExporter, exporterHostOf(r), r.id);
    }
  }

  static fromFile(file: string, onInvalid?: (err: Error) => void): ExperimentSource {
    return new ExperimentSource(loadExperiment(file), onInvalid);
  }

  get current(): Experiment {
    return this.exp;
  }

  onChange(listener: (exp: Experiment) => void | Promise<void>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async set(exp: Experiment): Promise<void> {
    this.exp = this.layout(exp);
    this.index();
    for (const l of this.listeners) await l(this.exp);
  }

  /** Re-reads the file (SIGHUP); an invalid file keeps the current experiment. */
  async reload(): Promise<void> {
    if (!this.exp.source) return;
    try {
      await this.set(loadExperiment(this.exp.source));
    } catch (err) {
      this.onInvalid(err as Error);
    }
  }

  watch(): void {
    if (!this.exp.source || this.watcher) return;
    this.watcher = watchExperiment(this.exp.source, (exp) => void this.set(exp), this.onInvalid);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  routerById(id: string): RouterConfig | undefined {
    return this.byId.get(id);
  }

  /**
   * The router a message belongs to. wattflow keys every message by router id; the reference
   * writes its records without a key (its producer and its Flink job), so a stage that replaces
   * one of the reference's must route those by what they carry: the topic when exactly one
   * router of the experiment uses it (the reference's `TD_r1`, `TP_r1`, `ML_r1`), else the
   * message's `node_exporter` — the router whose exporter it is (host:port of `exporter_url` or
   * `collector_url`, `<id>:9100` for test metrics), else the router named by its host — else
   * the host itself (a router the experiment does not list; the stage's defaults apply).
   */
  routerOf(key: string, topic: string, nodeExporter: unknown): string {
    if (key !== '') return key;
    const onTopic = this.idsByAnyTopic.get(topic);
    if (onTopic?.size === 1) return onTopic.values().next().value!;
    const ne = typeof nodeExporter === 'string' ? nodeExporter : '';
    const byExporter = this.idsByExporter.get(ne);
    if (byExporter?.size === 1) return byExporter.values().next().value!;
    return routerIdOf({ node_exporter: ne });
  }

  /** The routers whose TD topic this is (several when routers share a topic). */
  routersByTopic(topic: string): RouterConfig[] {
    return this.byTopic.get(topic) ?? [];
  }
}

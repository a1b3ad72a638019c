/**
 * The energy exporter as a component (role `energy-exporter`, and part of `wattflow up`): picks
 * the node's energy source, samples every `intervalMs` (monitor.ts), and serves the Kepler
 * metrics on its own listener (default 127.0.0.1:28282, Kepler's port) from a registry of its
 * own — the process's other metrics stay on the role's usual /metrics.
 *
 * A busy port: the `energy-exporter` role fails at start naming the port and the setting; in
 * `wattflow up` the exporter logs a warning and keeps sampling without a listener (the demo and
 * the stage energy metrics go on; the banner says the port was busy).
 */
import { hostname } from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import type client from 'prom-client';
import type { Component } from '../core/component.js';
import { applyServerLimits, fastifyLimitOptions, httpLimits, type HttpLimits } from '../core/http-limits.js';
import { ConfigError } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { EnergyConfig } from './config.js';
import { KubeMetadata } from './kube.js';
import { createEnergyRegistry } from './metrics.js';
import { EnergyMonitor } from './monitor.js';
import { EnergySourceError, EstimatorSource, selectNodeSource, type NodeEnergySource } from './node-source.js';
import { readCpuInfo, type CpuInfo } from './procfs.js';
import { ReadErrors, reasonOf } from './read-errors.js';
import { enableStageCpu, trackStage } from './stage-cpu.js';

export interface EnergyExporterOptions {
  cfg: EnergyConfig;
  logger: Logger;
  /** The role this process runs ('up', 'energy-exporter'): its own processes are labelled with it. */
  role: string;
  /** The CLI's role names (wattflow processes are recognised by their command line). */
  wattflowRoles: readonly string[];
  /** Split this process's energy by its stages' CPU time (`wattflow up`). */
  splitStages?: boolean;
  /** Kepler 0.7 names (default: cfg.legacyMetrics ?? false). */
  legacy?: boolean;
  /** A busy port fails the start ('fail', the role) or is logged and the exporter runs without a listener ('warn', up). */
  onPortBusy?: 'fail' | 'warn';
  /** The listener's timeouts and connection cap (the app's `http` section; default: its defaults). */
  limits?: Partial<HttpLimits>;
  /** Called after each sample (the stage energy meter ticks here in `up`). */
  onSample?: () => void;
  /** This process's pid as the monitor sees it (tests on fixture trees). */
  selfPid?: number;
  now?: () => number;
}

export interface EnergyExporter extends Component {
  /** The listener's base URL, once listening (undefined before, or when the port was busy in `up`). */
  url(): string | undefined;
  /** Why there is no listener (port busy), when so. */
  unavailable(): string | undefined;
  monitor(): EnergyMonitor | undefined;
  source(): NodeEnergySource | undefined;
  registry(): client.Registry | undefined;
  errors: ReadErrors;
  /** One sample now (tests). */
  sampleNow(): void;
}

export function nodeNameOf(cfg: EnergyConfig): string {
  return cfg.nodeName ?? process.env.NODE_NAME ?? hostname();
}

export function createEnergyExporter(o: EnergyExporterOptions): EnergyExporter {
  const cfg = o.cfg;
  const log = o.logger.child({ component: 'energy-exporter' });
  const errors = new ReadErrors(log);
  let monitor: EnergyMonitor | undefined;
  let source: NodeEnergySource | undefined;
  let registry: client.Registry | undefined;
  let app: FastifyInstance | undefined;
  let timer: NodeJS.Timeout | undefined;
  let url: string | undefined;
  let unavailable: string | undefined;
  let lastSeries = 0;

  const sample = () => {
    if (!monitor) return;
    try {
      if (o.splitStages) trackStage('energy-exporter', () => monitor!.sample()); // its own cost, as a stage of the process
      else monitor.sample();
    } catch (err) {
      // a bug, not a bad file (those are counted): log and keep sampling
      log.error({ err }, 'energy sample failed');
    }
    try {
      o.onSample?.();
    } catch (err) {
      log.error({ err }, 'energy onSample hook failed');
    }
  };

  return {
    name: 'energy-exporter',
    errors,
    url: () => url,
    unavailable: () => unavailable,
    monitor: () => monitor,
    source: () => source,
    registry: () => registry,
    sampleNow: sample,
    async start() {
      if (o.splitStages) enableStageCpu();
      try {
        source = selectNodeSource(cfg, errors, log);
      } catch (err) {
        if (err instanceof EnergySourceError) throw new ConfigError('the energy settings', err.message.startsWith('energy.source') ? '/energy/source' : '/energy/estimator', err.message);
        throw err;
      }
      let cpuInfo: CpuInfo[] = [];
      try {
        cpuInfo = readCpuInfo(cfg.procfsRoot);
      } catch (err) {
        errors.record('proc_cpuinfo', `${cfg.procfsRoot}/cpuinfo`, reasonOf(err));
      }
      const kube = new KubeMetadata({ kubeLogRoot: cfg.kubeLogRoot, dockerRoot: cfg.dockerRoot, errors });
      monitor = new EnergyMonitor({
        procfsRoot: cfg.procfsRoot,
        source,
        kube,
        errors,
        topProcesses: cfg.topProcesses,
        includeWattflowProcesses: cfg.includeWattflowProcesses,
        terminatedRetentionS: cfg.terminatedRetentionS,
        wattflowRoles: new Set(o.wattflowRoles),
        selfPid: o.selfPid,
        selfRole: o.role,
        splitSelfByStage: o.splitStages,
        logger: log,
        now: o.now,
      });
      registry = createEnergyRegistry(monitor, {
        nodeName: nodeNameOf(cfg),
        legacy: o.legacy ?? cfg.legacyMetrics ?? false,
        cpuInfo,
        errors,
        estimator: source instanceof EstimatorSource ? { platform: cfg.platform, coefficients: source.coefficients } : undefined,
        onRendered: (n) => (lastSeries = n),
      });
      sample(); // the baseline: the first interval's figures come one interval later
      timer = setInterval(sample, cfg.intervalMs);
      timer.unref();

      // the same timeouts and connection cap as every wattflow server (issue 11); its routes are
      // read-only and public like every role's /metrics (docs/security.md)
      const limits = httpLimits(o.limits);
      app = Fastify({ logger: false, ...fastifyLimitOptions(limits) });
      applyServerLimits(app, limits);
      const reg = registry;
      app.get('/metrics', async (_req, reply) => {
        reply.header('content-type', reg.contentType);
        return reg.metrics();
      });
      app.get('/healthz', async () => ({ status: 'ok', source: source?.powerSource, samples: monitor?.samples ?? 0, series: lastSeries }));
      app.get('/', async (_req, reply) => {
        reply.type('text/plain; charset=utf-8');
        return `wattflow energy exporter (Kepler-compatible)\nsource: ${source?.powerSource}${source instanceof EstimatorSource ? ` (platform ${cfg.platform}: an estimate, see docs/energy.md)` : ''}\nmetrics: /metrics\n`;
      });
      try {
        await app.listen({ host: cfg.host, port: cfg.port });
      } catch (err) {
        await app.close().catch(() => undefined);
        app = undefined;
        const code = (err as NodeJS.ErrnoException).code;
        const why = `${cfg.host}:${cfg.port} ${code === 'EADDRINUSE' ? 'is in use' : `cannot be used (${reasonOf(err)})`} (set energy.port, e.g. WATTFLOW__energy__port=28283)`;
        if (o.onPortBusy === 'warn') {
          unavailable = why;
          log.warn({ host: cfg.host, port: cfg.port, reason: reasonOf(err) }, `energy exporter: ${why}; sampling goes on without a listener`);
          return;
        }
        if (timer) clearInterval(timer);
        throw new Error(`energy exporter: ${why}`);
      }
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
      const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
      url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      log.info({ url: `${url}/metrics`, source: source.powerSource, platform: source instanceof EstimatorSource ? cfg.platform : undefined }, 'energy exporter listening');
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await app?.close();
      app = undefined;
    },
    ready: () => (monitor && monitor.samples > 0 ? true : 'energy exporter: no sample yet'),
  };
}

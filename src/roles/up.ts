/**
 * Role `up` (what `npm start` runs): every stage in one process — collector, producer,
 * processor, inference, the router API with embedded storage, the InfluxDB sink when
 * INFLUX_URL is set — on the in-process bus, or on Kafka when KAFKA_BROKERS is set. Without an
 * experiment file it runs the bundled demo experiment (test-metrics routers, so it works with
 * no exporter at all) plus the local node exporter when one answers on 127.0.0.1:9100.
 */
import { readFileSync } from 'node:fs';
import type { AppConfig } from '../app-config.js';
import { createCollector } from '../collector/collector.js';
import { parseExpositionToFamilies } from '../collector/convert.js';
import { BYTES_METRIC } from '../router-power/messages.js';
import type { MetricFamilyJson } from '../collector/metric-family-json.js';
import { assertNoRunningUp, assertPortFree, shortPath, stateDirOf, wattflowVersion, writeUpState } from '../core/instance.js';
import { modelPathOf, vehicleConfigOf } from '../vehicle/config.js';
import { resolve as resolvePath } from 'node:path';
import type { Logger } from '../core/logger.js';
import { ExperimentSource, loadExperiment, normalizeExperiment, type RawExperiment } from '../router-power/experiment.js';
import { openTimeSeriesStore } from '../storage/index.js';
import { createRegistryComponents } from '../registry/index.js';
import { vehicleArtifactValidator } from '../vehicle/model/registry-upload-check.js';
import type { Role } from './role.js';
import { createVehicleComponents } from '../vehicle/components.js';
import type { Component } from '../core/component.js';
import type { Fabric } from '../fabric/fabric.js';
import { createFabric, fabricComponent, loadRoleConfig, parseRoleArgs, roleLogger, serve } from './common.js';
import { DEFAULT_EXPERIMENT_FILE, experimentFor, networkComponents } from './network.js';
import { enableStageEnergy, energyComponentsForUp } from './energy.js';
import { createUi } from '../ui/index.js';
import { v2GrpcComponent } from '../router-power/inference/v2-grpc.js';

const LOCAL_EXPORTER = '127.0.0.1:9100';

const SPEED_METRIC = 'node_network_speed_bytes';

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

/** Router `local` of the demo, when the local exporter answers (so the demo shows real rates). */
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

async function demoExperiment(cfg: AppConfig, logger: Logger): Promise<{ experiment: ExperimentSource; local?: LocalRouterPlan }> {
  if (cfg.network.experiment) return { experiment: await experimentFor(cfg, logger) };
  const raw = JSON.parse(readFileSync(DEFAULT_EXPERIMENT_FILE, 'utf8')) as RawExperiment;
  const local = await localRouter(raw.max_throughput_mbps);
  if (local) {
    const { interfaces } = local;
    raw.routers.push({
      local: {
        collector_url: `http://127.0.0.1:${cfg.http.port}/metrics/${LOCAL_EXPORTER.replace(':', '_')}.json`,
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

/** Every component `wattflow up` runs, in start order (also what the auth matrix test serves). */
export async function upComponents(
  cfg: AppConfig,
  logger: Logger,
): Promise<{ components: Component[]; fabric: Fabric; experiment: ExperimentSource; localRouter?: LocalRouterPlan }> {
  const fabric = await createFabric(cfg, logger);
  const { experiment, local } = await demoExperiment(cfg, logger);
  const store = await openTimeSeriesStore({ dir: cfg.storage.dir, retentionHours: cfg.storage.retentionHours });
  // the web UI at / (src/ui/): its live hub follows the ML topics and the vehicle predictions
  const ui = cfg.ui.enabled ? createUi({ cfg, logger, fabric, experiment, store, vehicles: true, role: 'up' }) : undefined;
  const components = [
    fabricComponent(fabric),
    { name: 'store', stop: () => store.close() },
    { name: 'experiment', stop: async () => experiment.close(), reload: () => experiment.reload() },
    createCollector(cfg.collector),
    ...(await createRegistryComponents(cfg, logger, fabric, experiment, { vehicleModels: vehicleArtifactValidator })),
    ...(ui ? [ui.component] : []),
    ...(await networkComponents(cfg, logger, fabric, experiment, { api: true, influx: true, inference: true, processor: true, producer: true }, store)),
    ...createVehicleComponents({ cfg, logger, store, ...(ui ? { onScored: ui.onScored } : {}) }),
  ];
  return { components, fabric, experiment, ...(local ? { localRouter: local } : {}) };
}

/** Where `up` keeps and sends things, for its banner (issue 17: the banner named the fabric only). */
export function upDataLines(cfg: AppConfig): string[] {
  const dir = cfg.storage.dir.trim();
  const inMemory = dir === '' || dir === ':memory:';
  const at = (file: string) => shortPath(resolvePath(dir, file));
  const regDir = cfg.registry.dir ?? cfg.storage.dir;
  const registry = regDir.trim() === '' || regDir === ':memory:' ? 'in memory' : shortPath(resolvePath(regDir, 'registry.db'));
  const artifacts =
    cfg.registry.artifacts.kind === 's3'
      ? `S3 ${cfg.registry.artifacts.s3.endpoint ?? ''} bucket ${cfg.registry.artifacts.s3.bucket}`
      : shortPath(resolvePath(cfg.registry.artifacts.dir ?? (inMemory ? '(temporary directory)' : resolvePath(dir, 'artifacts'))));
  const v = vehicleConfigOf(cfg);
  const influx = cfg.influx.url
    ? `${cfg.influx.url} ${cfg.influx.apiVersion === 2 ? `bucket "${cfg.influx.bucket ?? cfg.influx.database}"` : `database "${cfg.influx.database}"`}: router_power (router predictions), prediction + vehicle_measurement (vehicle predictions)`
    : 'off (set INFLUX_URL; database "wattflow" unless influx.database says otherwise)';
  return [
    `  storage:      ${inMemory ? 'in memory (storage.dir empty): nothing survives a restart' : `${at('wattflow.db')}: router predictions (API, web UI)${cfg.influx.url ? '' : ' and vehicle predictions'}`}`,
    `  model store:  metadata ${registry}, artifacts ${artifacts}`,
    `  vehicle data: store ${v.redis.url ? `Redis ${v.redis.url.replace(/\/\/[^@/]*@/, '//…@')}` : 'in-process (REDIS_URL unset)'}, model ${modelPathOf(cfg, v) ?? '(in memory)'}`,
    `  InfluxDB:     ${influx}`,
  ];
}

export const upRole: Role = {
  name: 'up',
  summary: 'run every stage in one process (in-process bus and embedded storage, or Kafka when KAFKA_BROKERS is set)',
  usage: [
    'usage: wattflow up [--config FILE] [--experiment FILE] [--port N]',
    '',
    'Runs both pipelines in one process, on the in-process bus (or Kafka with KAFKA_BROKERS):',
    '  network: the collector, producer, processor, inference (formula or deployed models; KServe V2),',
    '           the router API over the embedded storage, and the InfluxDB sink when INFLUX_URL is set;',
    '  models:  the model registry (REST API, page at /registry, artifacts) that `wattflow models`,',
    '           `train --register` and `train-vehicle --register` talk to, and the deployment channel;',
    '  vehicles: the Vehicle API (/v1/vehicles/{id}/measurements, /api/vehicles) and the vehicle',
    '           predictor (anomaly model, KServe V2), predictions to InfluxDB or the embedded storage;',
    '  the web UI at /, /metrics, /healthz, /readyz, and the energy exporter.',
    'Without --experiment: the bundled demo experiment (r1, r2 on the reference test metrics, r3..r7',
    'synthetic traffic) plus the local node exporter if one answers (router `local`).',
    'It records its address in <storage.dir>/up.json (default .wattflow/up.json) while it runs: the',
    'clients started from this directory find it there (else WATTFLOW_URL, else 127.0.0.1:8000).',
    'One `up` per storage directory; a second one, a port in use or a storage in use is refused (exit 2).',
  ].join('\n'),
  async run(args) {
    const { values } = parseRoleArgs(args, { experiment: { type: 'string', short: 'e' } });
    const cfg = loadRoleConfig(values);
    if (values.experiment) cfg.network.experiment = values.experiment;
    if (cfg.network.experiment) loadExperiment(cfg.network.experiment); // fail fast with the file's error
    // expected operator errors before anything opens: a second up here, the port taken (exit 2, one line)
    const stateDir = stateDirOf(cfg);
    assertNoRunningUp(stateDir);
    await assertPortFree(cfg.http.host, cfg.http.port);
    const logger = roleLogger(cfg, 'up');
    enableStageEnergy(cfg); // stages' CPU time from their first message (splits this process's energy)
    const { components, fabric, experiment, localRouter } = await upComponents(cfg, logger);
    const energy = await energyComponentsForUp(cfg, logger); // the energy exporter: its own listener (28282)
    components.push(...energy.components);
    // KServe V2 over gRPC beside the REST server (grpc.port, default http.port + 1; a busy port is logged, up carries on)
    const grpcV2 = v2GrpcComponent(cfg, logger, { optional: true });
    components.push(grpcV2);
    // up.json: how clients started from this directory find this server (removed when it stops)
    let removeState: (() => void) | undefined;
    components.push({ name: 'up-state', stop: async () => removeState?.() });
    const vehicleModel = modelPathOf(cfg, vehicleConfigOf(cfg));
    await serve(cfg, logger, components, (url, auth) => {
      try {
        removeState = writeUpState(stateDir, {
          url,
          version: wattflowVersion(),
          storage_dir: cfg.storage.dir.trim() === '' || cfg.storage.dir === ':memory:' ? '' : resolvePath(cfg.storage.dir),
          ...(vehicleModel ? { vehicle_model: resolvePath(vehicleModel) } : {}),
        });
      } catch (err) {
        logger.warn({ err: (err as Error).message, dir: stateDir }, 'could not record this server in up.json: clients need WATTFLOW_URL');
      }
      const exp = experiment.current;
      console.log(
        [
          `wattflow is up (${fabric.kind === 'kafka' ? 'Kafka' : 'in-process bus'}, ${exp.routers.length} routers, polling every ${exp.pollingInterval} s)`,
          cfg.ui.enabled ? `  web UI:       ${url}/` : '  web UI:       off (ui.enabled: false)',
          `  routers API:  ${url}/api/routers`,
          `  latest:       ${url}/api/routers/${exp.routers[0]?.id ?? 'r1'}/latest`,
          `  collector:    ${url}/metrics/127.0.0.1_9100.json`,
          `  models:       ${url}/registry   (wattflow models --help; KServe V2: ${url}/v2/health/ready)`,
          grpcV2.bannerLine(),
          `  vehicles:     ${url}/api/vehicles   (wattflow replay-vehicle --file test/fixtures/vehicle/DS2_…csv --vehicle-id car-1 --as-fast-as-possible)`,
          `  clients:      wattflow models | train | replay-vehicle | train-vehicle … started here use ${url} (${shortPath(stateDir)}/up.json); elsewhere: export WATTFLOW_URL=${url}`,
          ...(localRouter ? [`  router local: ${LOCAL_EXPORTER} ${localRouter.interfaces.join(', ')}; occupation against ${localRouter.limit}`] : []),
          ...upDataLines(cfg),
          `  metrics:      ${url}/metrics   health: ${url}/healthz   ready: ${url}/readyz`,
          energy.bannerLine(),
          `  auth:         ${auth.startsWith('OFF') ? `WARNING: ${auth}` : auth}`,
        ].join('\n'),
      );
    });
  },
};

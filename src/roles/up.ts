/**
 * Role `up` (what `npm start` runs): every module in one process — collector, producer,
 * processor, inference, the router API with embedded storage, the InfluxDB sink when
 * INFLUX_URL is set, the registry, the vehicle pipeline, the web UI, the energy exporter — on
 * the in-process bus, or on Kafka when KAFKA_BROKERS is set. Without an experiment file it
 * runs the bundled demo experiment plus the local node exporter when one answers.
 */
import { resolve as resolvePath } from 'node:path';
import type { AppConfig } from '../app-config.js';
import type { Component } from '../core/component.js';
import { assertNoRunningUp, assertPortFree, shortPath, stateDirOf } from '../core/instance.js';
import type { Logger } from '../core/logger.js';
import { initModules } from '../core/modules.js';
import type { Fabric } from '../fabric/fabric.js';
import { LOCAL_EXPORTER, type LocalRouterPlan } from '../router-power/demo-experiment.js';
import { loadExperiment, type ExperimentSource } from '../router-power/experiment.js';
import { modelPathOf, vehicleConfigOf } from '../vehicle/config.js';
import { enableStageEnergy } from './energy.js';
import { MODULES, UP_MODULES, type Services } from './modules.js';
import { serverRole } from './server-role.js';

/** What `up` runs but the energy exporter, the V2 gRPC server and up.json (also what the auth matrix test serves). */
export async function upComponents(cfg: AppConfig, logger: Logger): Promise<{ components: Component[]; fabric: Fabric; experiment: ExperimentSource; localRouter?: LocalRouterPlan }> {
  const targets = UP_MODULES.filter((m) => m !== 'energy' && m !== 'v2-grpc' && m !== 'up-state');
  const { components, services } = await initModules(MODULES, targets, { cfg, logger, role: 'up' });
  const local = services.demo?.local;
  return { components, fabric: services.fabric!, experiment: services.experiment!, ...(local ? { localRouter: local } : {}) };
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

function upBanner({ url, auth, cfg, services }: { url: string; auth: string; cfg: AppConfig; services: Partial<Services> }): string[] {
  const exp = services.experiment!.current;
  const localRouter = services.demo?.local;
  return [
    `wattflow is up (${services.fabric!.kind === 'kafka' ? 'Kafka' : 'in-process bus'}, ${exp.routers.length} routers, polling every ${exp.pollingInterval} s)`,
    cfg.ui.enabled ? `  web UI:       ${url}/` : '  web UI:       off (ui.enabled: false)',
    `  routers API:  ${url}/api/routers`,
    `  latest:       ${url}/api/routers/${exp.routers[0]?.id ?? 'r1'}/latest`,
    `  collector:    ${url}/metrics/127.0.0.1_9100.json`,
    `  models:       ${url}/registry   (wattflow models --help; KServe V2: ${url}/v2/health/ready)`,
    services['v2-grpc']!.bannerLine(),
    `  vehicles:     ${url}/api/vehicles   (wattflow replay-vehicle --file test/fixtures/vehicle/DS2_…csv --vehicle-id car-1 --as-fast-as-possible)`,
    `  clients:      wattflow models | train | replay-vehicle | train-vehicle … started here use ${url} (${shortPath(stateDirOf(cfg))}/up.json); elsewhere: export WATTFLOW_URL=${url}`,
    ...(localRouter ? [`  router local: ${LOCAL_EXPORTER} ${localRouter.interfaces.join(', ')}; occupation against ${localRouter.limit}`] : []),
    ...upDataLines(cfg),
    `  metrics:      ${url}/metrics   health: ${url}/healthz   ready: ${url}/readyz`,
    services.energy!.bannerLine(),
    `  auth:         ${auth.startsWith('OFF') ? `WARNING: ${auth}` : auth}`,
  ];
}

export const upRole = serverRole({
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
  flags: { experiment: { type: 'string', short: 'e' } },
  configure: (cfg, flags) => {
    if (typeof flags.experiment === 'string') cfg.network.experiment = flags.experiment;
  },
  async preflight(cfg) {
    if (cfg.network.experiment) loadExperiment(cfg.network.experiment); // fail fast with the file's error
    // expected operator errors before anything opens: a second up here, the port taken (exit 2, one line)
    assertNoRunningUp(stateDirOf(cfg));
    await assertPortFree(cfg.http.host, cfg.http.port);
    enableStageEnergy(cfg); // stages' CPU time from their first message (splits this process's energy)
  },
  modules: UP_MODULES,
  banner: upBanner,
});

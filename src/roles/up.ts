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
import { BYTES_METRIC } from '../network/messages.js';
import type { Logger } from '../core/logger.js';
import { ExperimentSource, loadExperiment, normalizeExperiment, type RawExperiment } from '../network/experiment.js';
import { openTimeSeriesStore } from '../storage/index.js';
import { createRegistryComponents } from '../registry/index.js';
import type { Role } from './role.js';
import { createVehicleComponents } from '../vehicle/components.js';
import type { Component } from '../core/component.js';
import type { Fabric } from '../fabric/fabric.js';
import { createFabric, fabricComponent, loadRoleConfig, parseRoleArgs, roleLogger, serve } from './common.js';
import { DEFAULT_EXPERIMENT_FILE, experimentFor, networkComponents } from './network.js';
import { enableStageEnergy, energyComponentsForUp } from './energy.js';
import { createUi } from '../ui/index.js';
import { v2GrpcComponent } from '../network/inference/v2-grpc.js';

const LOCAL_EXPORTER = '127.0.0.1:9100';

/** Devices of the local exporter that saw traffic (so the demo shows real rates). */
async function localExporterInterfaces(): Promise<string[] | undefined> {
  try {
    const res = await fetch(`http://${LOCAL_EXPORTER}/metrics`, { signal: AbortSignal.timeout(1000) });
    if (res.status !== 200) return undefined;
    const [bytes] = parseExpositionToFamilies(await res.text(), { names: [BYTES_METRIC], contentType: res.headers.get('content-type') ?? undefined });
    const devices = new Set<string>();
    for (const v of bytes?.values ?? []) {
      const device = v.labels.find((l) => l.name === 'device')?.value;
      if (device && Number(v.value) > 0) devices.add(device);
    }
    return devices.size > 0 ? [...devices] : undefined;
  } catch {
    return undefined;
  }
}

async function demoExperiment(cfg: AppConfig, logger: Logger): Promise<ExperimentSource> {
  if (cfg.network.experiment) return experimentFor(cfg, logger);
  const raw = JSON.parse(readFileSync(DEFAULT_EXPERIMENT_FILE, 'utf8')) as RawExperiment;
  const interfaces = await localExporterInterfaces();
  if (interfaces) {
    raw.routers.push({
      local: {
        collector_url: `http://127.0.0.1:${cfg.http.port}/metrics/${LOCAL_EXPORTER.replace(':', '_')}.json`,
        topic: 'TD_local',
        interfaces,
        test_metrics: false,
        router_type: 'huawei',
        model_type: 'dummy',
        source: 'direct',
        exporter_url: `http://${LOCAL_EXPORTER}`,
      },
    });
    logger.info({ interfaces }, 'local node exporter found: added router "local"');
  }
  const exp = normalizeExperiment(raw, DEFAULT_EXPERIMENT_FILE);
  // the demo experiment is built in memory (not watched); reload re-reads the bundled file
  return new ExperimentSource({ ...exp, source: '' });
}

/** Every component `wattflow up` runs, in start order (also what the auth matrix test serves). */
export async function upComponents(cfg: AppConfig, logger: Logger): Promise<{ components: Component[]; fabric: Fabric; experiment: ExperimentSource }> {
  const fabric = await createFabric(cfg, logger);
  const experiment = await demoExperiment(cfg, logger);
  const store = await openTimeSeriesStore({ dir: cfg.storage.dir, retentionHours: cfg.storage.retentionHours });
  // the web UI at / (src/ui/): its live hub follows the ML topics and the vehicle predictions
  const ui = cfg.ui.enabled ? createUi({ cfg, logger, fabric, experiment, store, vehicles: true, role: 'up' }) : undefined;
  const components = [
    fabricComponent(fabric),
    { name: 'store', stop: () => store.close() },
    { name: 'experiment', stop: async () => experiment.close(), reload: () => experiment.reload() },
    createCollector(cfg.collector),
    ...(await createRegistryComponents(cfg, logger, fabric, experiment)),
    ...(ui ? [ui.component] : []),
    ...(await networkComponents(cfg, logger, fabric, experiment, { api: true, influx: true, inference: true, processor: true, producer: true }, store)),
    ...createVehicleComponents({ cfg, logger, store, ...(ui ? { onScored: ui.onScored } : {}) }),
  ];
  return { components, fabric, experiment };
}

export const upRole: Role = {
  name: 'up',
  summary: 'run every stage in one process (in-process bus and embedded storage, or Kafka when KAFKA_BROKERS is set)',
  usage: [
    'usage: wattflow up [--config FILE] [--experiment FILE] [--port N]',
    '',
    'Runs the collector, producer, processor, inference, the router API (embedded storage),',
    'and the InfluxDB sink when INFLUX_URL is set, and the web UI at /. Without --experiment: the',
    'bundled demo experiment (r1, r2 on the reference test metrics, r3..r7 synthetic traffic)',
    'plus the local node exporter if one answers.',
  ].join('\n'),
  async run(args) {
    const { values } = parseRoleArgs(args, { experiment: { type: 'string', short: 'e' } });
    const cfg = loadRoleConfig(values);
    if (values.experiment) cfg.network.experiment = values.experiment;
    if (cfg.network.experiment) loadExperiment(cfg.network.experiment); // fail fast with the file's error
    const logger = roleLogger(cfg, 'up');
    enableStageEnergy(cfg); // stages' CPU time from their first message (splits this process's energy)
    const { components, fabric, experiment } = await upComponents(cfg, logger);
    const energy = await energyComponentsForUp(cfg, logger); // the energy exporter: its own listener (28282)
    components.push(...energy.components);
    // KServe V2 over gRPC beside the REST server (grpc.port, default http.port + 1; a busy port is logged, up carries on)
    const grpcV2 = v2GrpcComponent(cfg, logger, { optional: true });
    components.push(grpcV2);
    await serve(cfg, logger, components, (url, auth) => {
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
          `  metrics:      ${url}/metrics   health: ${url}/healthz   ready: ${url}/readyz`,
          energy.bannerLine(),
          `  auth:         ${auth.startsWith('OFF') ? `WARNING: ${auth}` : auth}`,
        ].join('\n'),
      );
    });
  },
};

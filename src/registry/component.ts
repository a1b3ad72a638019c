/**
 * The model registry as components of a process (role `registry`, and `wattflow up`): the
 * catalog (embedded storage's kv, file `registry.db`), the artifact store (local directory or
 * S3), the Registry service with its REST API, MLflow API and web page, and the control-topic
 * reconciliation at start.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Component } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import type { Fabric } from '../fabric/fabric.js';
import { openTimeSeriesStore } from '../storage/index.js';
import { registerRegistryRoutes } from './api.js';
import { openArtifactStore } from './artifacts.js';
import type { RegistryConfig } from './config.js';
import type { RouterInventory } from './deployment-resolution.js';
import { registerMlflowRoutes } from './mlflow/api.js';
import { Registry } from './registry.js';
import type { VehicleArtifactValidator } from './vehicle-kind.js';

/** The configuration sections the registry reads (its own, and where the process keeps data and listens). */
export interface RegistryHostConfig {
  registry: RegistryConfig;
  storage: { dir: string; retentionHours: number };
  http: { host: string };
}

export interface RegistryParts {
  registry: Registry;
  components: Component[];
}

export interface RegistryDeps {
  /** The routers of the experiment (validates deployments). */
  experiment?: RouterInventory;
  /** Accepts vehicle model artifacts (src/vehicle/model/registry-upload-check.ts). */
  vehicleModels?: VehicleArtifactValidator;
}

/** The registry and its components (catalog close, REST API + start-up reconciliation). */
export async function openRegistry(
  cfg: RegistryHostConfig,
  logger: Logger,
  fabric: Fabric | undefined,
  experiment?: RouterInventory,
  deps: Omit<RegistryDeps, 'experiment'> = {},
): Promise<RegistryParts> {
  const rc = cfg.registry;
  const dir = rc.dir ?? cfg.storage.dir;
  const kv = await openTimeSeriesStore({ dir, file: 'registry.db', retentionHours: cfg.storage.retentionHours });
  const artifactDefault = dir.trim() === '' || dir === ':memory:' ? join(tmpdir(), `wattflow-artifacts-${process.pid}`) : dir;
  let artifacts;
  try {
    artifacts = openArtifactStore(rc.artifacts, artifactDefault);
  } catch (err) {
    await kv.close();
    throw err;
  }
  // temp files of writes a killed registry left behind (before this one writes anything)
  try {
    const { removed, kept } = (await artifacts.start?.()) ?? { removed: [], kept: [] };
    if (removed.length > 0) logger.warn({ removed, dir: artifacts.describe() }, 'artifact store: removed temporary files that interrupted writes left');
    if (kept.length > 0) logger.info({ kept }, 'artifact store: temporary files of writes that may be in progress (another process on this directory) were kept');
  } catch (err) {
    logger.warn({ err: (err as Error).message, dir: artifacts.describe() }, 'artifact store: could not look for temporary files left by interrupted writes');
  }
  // where clients reach it: registry.url, else this server's URL (told by the lifecycle once it listens)
  let listened: string | undefined;
  const registry = new Registry({
    kv,
    artifacts,
    logger,
    fabric,
    controlTopic: rc.controlTopic,
    statusTopic: rc.statusTopic,
    experiment,
    baseUrl: () => (cfg.registry.url ? cfg.registry.url.replace(/\/+$/, '') : listened),
    maxArtifactBytes: rc.maxArtifactBytes,
    vehicleModels: deps.vehicleModels,
  });
  const components: Component[] = [
    {
      name: 'registry-store',
      stop: async () => {
        await artifacts.close();
        await kv.close();
      },
    },
    {
      name: 'registry',
      routes: (a) => {
        registerRegistryRoutes(a, registry, { maxArtifactBytes: rc.maxArtifactBytes });
        // the same models through MLflow's REST API and artifact proxy (src/registry/mlflow/)
        registerMlflowRoutes(a, registry, { kv, artifacts, maxArtifactBytes: rc.maxArtifactBytes });
      },
      start: () => registry.start(),
      listening: (url) => {
        listened = url;
      },
    },
  ];
  return { registry, components };
}

/** The registry's components for a role (what `wattflow up` and `wattflow registry` add). */
export async function createRegistryComponents(
  cfg: RegistryHostConfig,
  logger: Logger,
  fabric: Fabric,
  experiment?: RouterInventory,
  deps: Omit<RegistryDeps, 'experiment'> = {},
): Promise<Component[]> {
  return (await openRegistry(cfg, logger, fabric, experiment, deps)).components;
}

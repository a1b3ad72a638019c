/**
 * The model registry as components of a process (role `registry`, and `wattflow up`): the
 * metadata store (embedded storage's kv, file `registry.db`), the artifact store (local
 * directory or S3), the Registry service with its REST API and web page, and the control-topic
 * reconciliation at start. Also re-exports the registry's public surface.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '../app-config.js';
import type { Component } from '../core/component.js';
import { schemeOf } from '../core/tls.js';
import type { Logger } from '../core/logger.js';
import type { Fabric } from '../fabric/fabric.js';
import type { ExperimentSource } from '../router-power/experiment.js';
import { openTimeSeriesStore } from '../storage/index.js';
import { registerRegistryRoutes } from './api.js';
import { registerMlflowRoutes } from './mlflow/api.js';
import { openArtifactStore } from './artifacts.js';
import { Registry } from './registry.js';

export * from './control.js';
export * from './errors.js';
export * from './artifacts.js';
export * from './registry.js';
export * from './store.js';
export * from './vehicle-models.js';
export { RegistryClient, RegistryClientError, DEFAULT_REGISTRY_URL } from './client.js';

export interface RegistryParts {
  registry: Registry;
  components: Component[];
}

function listeningUrl(app: FastifyInstance | undefined, cfg: AppConfig): string | undefined {
  if (cfg.registry.url) return cfg.registry.url.replace(/\/+$/, '');
  const addr = app?.server.address();
  if (!addr || typeof addr !== 'object') return undefined;
  const host = cfg.http.host === '0.0.0.0' || cfg.http.host === '::' ? '127.0.0.1' : cfg.http.host;
  return `${schemeOf(app)}://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
}

/** The registry and its components (store close, REST API + start-up reconciliation). */
export async function openRegistry(cfg: AppConfig, logger: Logger, fabric: Fabric | undefined, experiment?: ExperimentSource): Promise<RegistryParts> {
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
  let app: FastifyInstance | undefined;
  const registry = new Registry({
    kv,
    artifacts,
    logger,
    fabric,
    controlTopic: rc.controlTopic,
    statusTopic: rc.statusTopic,
    experiment,
    baseUrl: () => listeningUrl(app, cfg),
    maxArtifactBytes: rc.maxArtifactBytes,
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
        app = a;
        registerRegistryRoutes(a, registry, { maxArtifactBytes: rc.maxArtifactBytes });
        // the same models through MLflow's REST API and artifact proxy (src/registry/mlflow/)
        registerMlflowRoutes(a, registry, { kv, artifacts, maxArtifactBytes: rc.maxArtifactBytes });
      },
      start: () => registry.start(),
    },
  ];
  return { registry, components };
}

/** The registry's components for a role (what `wattflow up` and `wattflow registry` add). */
export async function createRegistryComponents(cfg: AppConfig, logger: Logger, fabric: Fabric, experiment?: ExperimentSource): Promise<Component[]> {
  return (await openRegistry(cfg, logger, fabric, experiment)).components;
}

/**
 * Opening the configured artifact store (local directory or S3), and the artifact store's
 * public surface (artifact-store.ts, local-artifact-store.ts, s3-artifact-store.ts,
 * artifact-fetch.ts).
 */
import { join } from 'node:path';
import type { ArtifactStore } from './artifact-store.js';
import type { ArtifactStoreConfig } from './config.js';
import { RegistryError } from './errors.js';
import { LocalArtifactStore } from './local-artifact-store.js';
import { S3ArtifactStore } from './s3-artifact-store.js';

export { artifactKeys, type ArtifactStore } from './artifact-store.js';
export { LocalArtifactStore, TEMP_GRACE_MS } from './local-artifact-store.js';
export { S3ArtifactStore, s3Client } from './s3-artifact-store.js';
export { fetchArtifact, type FetchOptions } from './artifact-fetch.js';

/** The configured store; the local directory defaults to `<defaultDir>/artifacts`. */
export function openArtifactStore(cfg: ArtifactStoreConfig, defaultDir = '.wattflow'): ArtifactStore {
  if (cfg.kind === 's3') {
    if (!cfg.s3.endpoint && !process.env.AWS_REGION && !cfg.s3.region) {
      throw new RegistryError('INVALID', 'S3 artifact store needs an endpoint (S3_ENDPOINT) or an AWS region');
    }
    return new S3ArtifactStore(cfg.s3);
  }
  return new LocalArtifactStore(cfg.dir ?? join(defaultDir || '.wattflow', 'artifacts'));
}

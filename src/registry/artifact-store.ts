/**
 * The artifact store: where the registry keeps artifact bytes (ONNX files, vehicle model JSON,
 * metadata documents), by key `<model>/<version>/<file>`, addressed by URI so that inference
 * workers can fetch them directly. Implementations: local-artifact-store.ts, s3-artifact-store.ts.
 */
import { RegistryError } from './errors.js';

export interface ArtifactStore {
  readonly kind: 'local' | 's3';
  /** Human-readable location (directory, or endpoint/bucket). */
  describe(): string;
  /** Before the first write: removes what interrupted writes left (local: orphaned temp files). */
  start?(): Promise<{ removed: string[]; kept: string[] }>;
  /** The URI of a key (what deployment records carry). */
  uri(key: string): string;
  put(key: string, bytes: Uint8Array, contentType?: string): Promise<void>;
  /** The bytes; RegistryError ARTIFACT_MISSING when absent. */
  get(key: string): Promise<Uint8Array>;
  exists(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

const SAFE_KEY = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

export function checkKey(key: string): void {
  if (!SAFE_KEY.test(key) || key.split('/').some((p) => p === '.' || p === '..')) {
    throw new RegistryError('INVALID', `invalid artifact key "${key}"`);
  }
}

export const artifactKeys = (model: string, version: string) => ({
  onnx: `${model}/${version}/model.onnx`,
  metadata: `${model}/${version}/metadata.json`,
});

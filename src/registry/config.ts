/**
 * The `registry` section of the configuration (the model registry, its artifact store, the
 * control and status topics, and the inference workers' deployment watcher): its schema with
 * defaults, its type, and its environment aliases, for src/app-config.ts to compose.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigSection, Enum, type EnvAlias } from '../core/config.js';

const str = (v: string) => v;

/** An S3-compatible object store (S3Proxy, MinIO, AWS). */
export const s3Schema = ConfigSection({
  endpoint: Type.Optional(Type.String({ format: 'uri' })),
  bucket: Type.String({ minLength: 3, default: 'wattflow-models' }),
  region: Type.String({ default: 'us-east-1' }),
  accessKeyId: Type.Optional(Type.String()),
  secretAccessKey: Type.Optional(Type.String()),
  /** Key prefix of every artifact. */
  prefix: Type.String({ default: 'models/' }),
  /** Path-style URLs (S3Proxy, MinIO); false for virtual-hosted AWS buckets. */
  forcePathStyle: Type.Boolean({ default: true }),
  /** Create the bucket when it does not exist. */
  createBucket: Type.Boolean({ default: true }),
});
export type S3Config = Static<typeof s3Schema>;

/** Where the registry keeps artifacts (ONNX files, vehicle model JSON, metadata documents). */
export const artifactStoreSchema = ConfigSection({
  /** 'local': a directory; 's3': any S3-compatible store (S3_ENDPOINT implies s3). */
  kind: Enum(['local', 's3'], { default: 'local' }),
  /** Directory of the local artifact store (default <storage.dir>/artifacts). */
  dir: Type.Optional(Type.String()),
  s3: s3Schema,
});
export type ArtifactStoreConfig = Static<typeof artifactStoreSchema>;

/** The deployment watcher of an inference worker (src/router-power/inference/deployed-models.ts). */
export const workerSchema = ConfigSection({
  /** Stable worker id (default <hostname>:<http port>, or :pid<pid> on port 0). */
  id: Type.Optional(Type.String({ minLength: 1 })),
  /** Longest a prediction row waits to share a runtime call with others (ms). */
  microBatchDelayMs: Type.Number({ minimum: 0, default: 2 }),
  /** Most rows in one runtime call. */
  maxBatchRows: Type.Integer({ minimum: 1, default: 4096 }),
  /** Retry delay of a failed model load (ms; doubles up to 10 min). */
  retryMs: Type.Integer({ minimum: 100, default: 30_000 }),
  /** Timeout of an artifact download (ms). */
  downloadTimeoutMs: Type.Integer({ minimum: 100, default: 30_000 }),
});
export type WorkerConfig = Static<typeof workerSchema>;

/** The model registry (role `registry`, and `up`) and the inference workers' deployment watcher. */
export const registrySection = ConfigSection({
  /** Registry base URL: where `models`/`train --register` talk to and workers download from (default: this process). */
  url: Type.Optional(Type.String({ format: 'uri' })),
  /** Directory of the registry catalog (SQLite `registry.db`; default storage.dir; '' = in memory). */
  dir: Type.Optional(Type.String()),
  /** Largest accepted ONNX upload, bytes. */
  maxArtifactBytes: Type.Integer({ minimum: 1024, default: 64 * 1024 * 1024 }),
  artifacts: artifactStoreSchema,
  /** Compacted control topic: desired model per router / router type / all. */
  controlTopic: Type.String({ minLength: 1, default: 'wattflow_model_deployments' }),
  /** Compacted topic where inference workers report what they actually serve. */
  statusTopic: Type.String({ minLength: 1, default: 'wattflow_model_status' }),
  worker: workerSchema,
});
export type RegistryConfig = Static<typeof registrySection>;

export const registryAliases: EnvAlias[] = [
  { env: 'WATTFLOW_REGISTRY_URL', path: '/registry/url', parse: str },
  { env: 'S3_ENDPOINT', path: '/registry/artifacts/s3/endpoint', parse: str, implies: [{ path: '/registry/artifacts/kind', value: 's3' }] },
  { env: 'S3_BUCKET', path: '/registry/artifacts/s3/bucket', parse: str },
  { env: 'S3_ACCESS_KEY_ID', path: '/registry/artifacts/s3/accessKeyId', parse: str },
  { env: 'S3_SECRET_ACCESS_KEY', path: '/registry/artifacts/s3/secretAccessKey', parse: str },
  { env: 'S3_REGION', path: '/registry/artifacts/s3/region', parse: str },
];

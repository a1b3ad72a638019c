/**
 * Artifact storage of the model registry: where ONNX files and their metadata documents live.
 * Two implementations behind one interface:
 *  - LocalArtifactStore: a directory (the embedded default), atomic writes (temp file + rename;
 *    the temp file is removed when the write fails, and temp files a killed process left are
 *    removed by start());
 *  - S3ArtifactStore: any S3-compatible object store through the AWS SDK v3 (endpoint, bucket,
 *    region, credentials by config; path-style URLs for S3Proxy/MinIO), bucket created on demand.
 * Keys are `<prefix><model>/<version>/model.onnx` and `…/metadata.json`. Artifacts are addressed
 * by URI (`file:///abs/path`, `s3://bucket/key`) so that inference workers can fetch them
 * directly; `fetchArtifact` does that, falling back to the registry's download URL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { ArtifactStoreConfig, S3Config } from './config.js';
import { clientAuthHeaders } from '../core/auth.js';
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

function checkKey(key: string): void {
  if (!SAFE_KEY.test(key) || key.split('/').some((p) => p === '.' || p === '..')) {
    throw new RegistryError('INVALID', `invalid artifact key "${key}"`);
  }
}

export const artifactKeys = (model: string, version: string) => ({
  onnx: `${model}/${version}/model.onnx`,
  metadata: `${model}/${version}/metadata.json`,
});

/**
 * Temporary files of atomic writes: `<file>.tmp-<host>-<pid>-<instance>-<n>` (host: 8 hex of the
 * host name's hash, instance: random per process, so a process that got the pid of a killed one
 * — pid 1 in every container — still tells its own files apart). Versions before 2026-12 wrote
 * `<file>.tmp-<pid>-<ms>`.
 */
const TMP_RE = /\.tmp-([0-9a-f]{8})-(\d+)-([0-9a-f]{8})-\d+$/;
const OLD_TMP_RE = /\.tmp-(\d+)-\d+$/;
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
const INSTANCE = randomBytes(4).toString('hex');
let tmpCounter = 0;

/** A temp file no live write can still be using is removed at start; younger ones of a live process on this host (or of another host) are kept until this age. */
export const TEMP_GRACE_MS = 15 * 60_000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a temp file is an orphan (undefined: it may belong to a write in progress, keep it). */
function orphanReason(name: string, ageMs: number, graceMs: number): string | undefined {
  if (ageMs >= graceMs) return `older than ${Math.round(graceMs / 1000)} s`;
  const m = TMP_RE.exec(name);
  if (m) {
    if (m[1] !== HOST_TAG) return undefined; // another host's process: only its age tells
    const pid = Number(m[2]);
    if (m[3] === INSTANCE) return undefined; // this process's own write
    if (pid === process.pid) return 'written by an earlier process with this pid';
    return pidAlive(pid) ? undefined : `its writer (pid ${pid}) is gone`;
  }
  const old = OLD_TMP_RE.exec(name);
  if (old) {
    const pid = Number(old[1]);
    return pid === process.pid || !pidAlive(pid) ? `its writer (pid ${pid}) is gone` : undefined;
  }
  return undefined;
}

export class LocalArtifactStore implements ArtifactStore {
  readonly kind = 'local' as const;
  readonly dir: string;

  constructor(
    dir: string,
    private readonly opts: { tempGraceMs?: number } = {},
  ) {
    this.dir = resolve(dir);
  }

  /**
   * Removes the temp files that interrupted writes left (a process killed between creating its
   * temp file and renaming it): those whose writer is gone (same host, pid not running, or this
   * pid but another process instance) and any older than the grace period (15 min; temp files of
   * other hosts sharing the directory, and of live processes, are only removed then — a write
   * lasts far less). Returns the paths removed and kept.
   */
  async start(): Promise<{ removed: string[]; kept: string[] }> {
    const removed: string[] = [];
    const kept: string[] = [];
    const grace = this.opts.tempGraceMs ?? TEMP_GRACE_MS;
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && (TMP_RE.test(e.name) || OLD_TMP_RE.test(e.name))) {
          let age: number;
          try {
            age = Date.now() - (await stat(p)).mtimeMs;
          } catch {
            continue; // renamed or removed meanwhile
          }
          if (orphanReason(e.name, age, grace) !== undefined) {
            await rm(p, { force: true });
            removed.push(p);
          } else kept.push(p);
        }
      }
    };
    await walk(this.dir);
    return { removed, kept };
  }

  describe(): string {
    return this.dir;
  }

  private path(key: string): string {
    checkKey(key);
    const p = join(this.dir, ...key.split('/'));
    if (!p.startsWith(this.dir + sep)) throw new RegistryError('INVALID', `invalid artifact key "${key}"`);
    return p;
  }

  uri(key: string): string {
    return pathToFileURL(this.path(key)).href;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.tmp-${HOST_TAG}-${process.pid}-${INSTANCE}-${++tmpCounter}`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, p);
    } catch (err) {
      // a failed write (disk full, rename refused, …) leaves nothing behind
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(this.path(key)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new RegistryError('ARTIFACT_MISSING', `artifact ${key} is missing from the local store ${this.dir}`);
      }
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.path(key))).isFile();
    } catch {
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async close(): Promise<void> {}
}

function s3Status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export function s3Client(cfg: S3Config): S3Client {
  // The project supports Node 20 on purpose; the SDK's "upgrade to 22" notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    region: cfg.region,
    forcePathStyle: cfg.forcePathStyle,
    ...(cfg.accessKeyId && cfg.secretAccessKey
      ? { credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey } }
      : {}),
    maxAttempts: 3,
  });
}

export class S3ArtifactStore implements ArtifactStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  private bucketReady: Promise<void> | undefined;

  constructor(private readonly cfg: S3Config) {
    this.client = s3Client(cfg);
  }

  describe(): string {
    return `${this.cfg.endpoint ?? 'aws'} bucket ${this.cfg.bucket}${this.cfg.prefix ? ` prefix ${this.cfg.prefix}` : ''}`;
  }

  private objectKey(key: string): string {
    checkKey(key);
    return `${this.cfg.prefix}${key}`;
  }

  uri(key: string): string {
    return `s3://${this.cfg.bucket}/${this.objectKey(key)}`;
  }

  /** Checks the bucket once (creating it when allowed and missing). */
  ensureBucket(): Promise<void> {
    this.bucketReady ??= (async () => {
      try {
        await this.client.send(new HeadBucketCommand({ Bucket: this.cfg.bucket }));
      } catch (err) {
        if (s3Status(err) !== 404 || !this.cfg.createBucket) {
          throw new RegistryError('STORE_FAILED', `S3 bucket ${this.cfg.bucket} at ${this.cfg.endpoint ?? 'aws'}: ${(err as Error).name} ${(err as Error).message}`, undefined, { cause: err });
        }
        try {
          await this.client.send(new CreateBucketCommand({ Bucket: this.cfg.bucket }));
        } catch (e) {
          const name = (e as Error).name;
          if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw e;
        }
      }
    })().catch((err) => {
      this.bucketReady = undefined;
      throw err;
    });
    return this.bucketReady;
  }

  async put(key: string, bytes: Uint8Array, contentType = 'application/octet-stream'): Promise<void> {
    await this.ensureBucket();
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.cfg.bucket, Key: this.objectKey(key), Body: bytes, ContentType: contentType }));
    } catch (err) {
      throw new RegistryError('STORE_FAILED', `cannot write ${this.uri(key)}: ${(err as Error).message}`, undefined, { cause: err });
    }
  }

  async get(key: string): Promise<Uint8Array> {
    return getS3Object(this.client, this.cfg.bucket, this.objectKey(key));
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: this.objectKey(key) }));
      return true;
    } catch (err) {
      if (s3Status(err) === 404) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: this.objectKey(key) }));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

async function getS3Object(client: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  try {
    const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!res.Body) throw new Error('empty response body');
    return await res.Body.transformToByteArray();
  } catch (err) {
    const status = s3Status(err);
    if (status === 404 || (err as Error).name === 'NoSuchKey' || (err as Error).name === 'NoSuchBucket') {
      throw new RegistryError('ARTIFACT_MISSING', `artifact s3://${bucket}/${key} is missing`, undefined, { cause: err });
    }
    throw new RegistryError('STORE_FAILED', `cannot read s3://${bucket}/${key}: ${(err as Error).message}`, undefined, { cause: err });
  }
}

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

export interface FetchOptions {
  /** S3 settings of this process (credentials, endpoint) for s3:// URIs. */
  s3?: S3Config;
  timeoutMs?: number;
}

/**
 * Reads an artifact by URI — `file://` from the file system, `s3://` with this process's S3
 * settings — and when that is impossible or fails, from `downloadUrl` (the registry). Throws a
 * RegistryError (ARTIFACT_MISSING, STORE_FAILED) naming every place tried.
 */
export async function fetchArtifact(uri: string, downloadUrl: string | undefined, opts: FetchOptions = {}): Promise<Uint8Array> {
  const tried: string[] = [];
  let missing = false;
  let s3: S3Client | undefined;
  try {
    if (uri.startsWith('file://')) {
      try {
        return new Uint8Array(await readFile(fileURLToPath(uri)));
      } catch (err) {
        missing ||= (err as NodeJS.ErrnoException).code === 'ENOENT';
        tried.push(`${uri}: ${(err as Error).message}`);
      }
    } else if (uri.startsWith('s3://') && opts.s3) {
      const rest = uri.slice(5);
      const slash = rest.indexOf('/');
      s3 = s3Client(opts.s3);
      try {
        return await getS3Object(s3, rest.slice(0, slash), rest.slice(slash + 1));
      } catch (err) {
        missing ||= (err as RegistryError).code === 'ARTIFACT_MISSING';
        tried.push(`${uri}: ${(err as Error).message}`);
      }
    } else tried.push(`${uri}: no access from this process`);
  } finally {
    s3?.destroy();
  }
  if (downloadUrl) {
    try {
      // the registry's download route needs scope read: this process's token (WATTFLOW_TOKEN / auth.clientToken)
      const res = await fetch(downloadUrl, { headers: clientAuthHeaders(), signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000) });
      if (res.ok) return new Uint8Array(await res.arrayBuffer());
      missing ||= res.status === 404 || res.status === 409;
      tried.push(`${downloadUrl}: HTTP ${res.status} ${(await res.text().catch(() => '')).slice(0, 200)}`);
    } catch (err) {
      tried.push(`${downloadUrl}: ${(err as Error).message}`);
    }
  }
  throw new RegistryError(missing ? 'ARTIFACT_MISSING' : 'STORE_FAILED', `cannot fetch the model artifact (${tried.join('; ')})`);
}

/**
 * The artifact store in any S3-compatible object store through the AWS SDK v3 (endpoint, bucket,
 * region, credentials by config; path-style URLs for S3Proxy/MinIO), bucket created on demand.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { checkKey, type ArtifactStore } from './artifact-store.js';
import type { S3Config } from './config.js';
import { RegistryError } from './errors.js';

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

export async function getS3Object(client: S3Client, bucket: string, key: string): Promise<Uint8Array> {
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

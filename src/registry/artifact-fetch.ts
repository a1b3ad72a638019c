/**
 * How an inference worker reads a deployed artifact: by URI (`file://`, `s3://` with this
 * process's S3 settings), else from the registry's download URL.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { clientAuthHeaders } from '../core/auth.js';
import type { S3Config } from './config.js';
import { RegistryError } from './errors.js';
import { getS3Object, s3Client } from './s3-artifact-store.js';

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

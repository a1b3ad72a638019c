/**
 * Where and how the InfluxDB writer talks to the server, by API version: 1.x `POST
 * /write?db=&rp=` with basic auth (or a token), 2.x/3.x `POST /api/v2/write?org=&bucket=` with a
 * token (1.8's compatibility endpoint takes "user:password" as token). Credentials in the URL
 * (user:pass@host, which fetch refuses) become the auth header.
 */
import type { InfluxConfig } from '../config.js';

export interface InfluxEndpoint {
  /** Base URL (no credentials, ends with '/'). */
  baseUrl: URL;
  /** The write endpoint with its query string. */
  writeUrl: string;
  authHeader: string | undefined;
}

export function influxEndpoint(c: InfluxConfig & { url: string }): InfluxEndpoint {
  const url = new URL(c.url);
  const urlUser = decodeURIComponent(url.username);
  const urlPass = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';

  const user = c.username ?? (urlUser || undefined);
  const pass = c.password ?? (urlPass || undefined);
  const params = new URLSearchParams();
  if (c.apiVersion === 2) {
    if (c.org) params.set('org', c.org);
    params.set('bucket', c.bucket ?? (c.retentionPolicy ? `${c.database}/${c.retentionPolicy}` : c.database));
    params.set('precision', 'ms');
    const token = c.token ?? (user !== undefined ? `${user}:${pass ?? ''}` : undefined);
    return { baseUrl: url, writeUrl: `${new URL('api/v2/write', url).href}?${params}`, authHeader: token !== undefined ? `Token ${token}` : undefined };
  }
  params.set('db', c.database);
  if (c.retentionPolicy) params.set('rp', c.retentionPolicy);
  params.set('precision', 'ms');
  let authHeader: string | undefined;
  if (c.token !== undefined) authHeader = `Token ${c.token}`;
  else if (user !== undefined) authHeader = `Basic ${Buffer.from(`${user}:${pass ?? ''}`).toString('base64')}`;
  return { baseUrl: url, writeUrl: `${new URL('write', url).href}?${params}`, authHeader };
}

/** A fetch failure in a few words: 'timeout', the socket error code, or the message. */
export function describeFetchError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  const cause = e?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ''}`;
  return e?.message ?? String(err);
}

/** InfluxDB 1.x database creation (`CREATE DATABASE`, idempotent) for the writer's `createDatabase`. */
import type { Logger } from '../../core/logger.js';
import { describeFetchError, type InfluxEndpoint } from './endpoint.js';
import { MAX_BODY_LOG } from './types.js';

/** InfluxQL identifier quoting: "name" with `\` and `"` escaped. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** true: created (or existed); false: refused; undefined: unreachable (retry later). */
export async function createDatabase(endpoint: InfluxEndpoint, database: string, timeoutMs: number, log: Logger): Promise<boolean | undefined> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (endpoint.authHeader) headers.authorization = endpoint.authHeader;
  const q = `CREATE DATABASE ${quoteIdentifier(database)}`;
  try {
    const res = await fetch(new URL('query', endpoint.baseUrl), {
      method: 'POST',
      headers,
      body: new URLSearchParams({ q }).toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status >= 500 || res.status === 429) {
      log.warn({ status: res.status, body: text.slice(0, MAX_BODY_LOG) }, 'InfluxDB: CREATE DATABASE failed, will retry');
      return undefined;
    }
    let error: string | undefined;
    try {
      const json = JSON.parse(text) as { error?: string; results?: Array<{ error?: string }> };
      error = json.error ?? json.results?.find((r) => r.error)?.error;
    } catch {
      if (res.status >= 400) error = text.slice(0, MAX_BODY_LOG);
    }
    if (res.status >= 400 || error) {
      log.warn({ status: res.status, error, database }, 'InfluxDB refused CREATE DATABASE; writing anyway');
      return false;
    }
    log.info({ database }, 'InfluxDB database ensured');
    return true;
  } catch (err) {
    log.warn({ reason: describeFetchError(err) }, 'InfluxDB: CREATE DATABASE failed (unreachable), will retry');
    return undefined;
  }
}

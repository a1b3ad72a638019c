/**
 * Fetching a Prometheus exporter's /metrics over HTTP with a timeout and a response-size
 * limit, and with typed failures the collector maps to HTTP statuses (unreachable → 502,
 * timeout → 504, too large → 502, non-200 → the exporter's status and body). Identical
 * concurrent scrapes of one target share one request (single flight).
 */
export type ScrapeFailureKind = 'unreachable' | 'timeout' | 'too_large' | 'status';

export class ScrapeError extends Error {
  constructor(
    readonly kind: ScrapeFailureKind,
    readonly target: string,
    message: string,
    readonly status?: number,
    readonly body?: string,
  ) {
    super(message);
    this.name = 'ScrapeError';
  }
}

export interface ScrapeOptions {
  timeoutMs: number;
  maxBytes: number;
  /** Sent as Accept; the default asks for the classic text format (what the reference parses). */
  accept?: string;
  /** More request headers (the producer's bearer token to a wattflow collector). */
  headers?: Record<string, string>;
}

export interface ScrapeResult {
  text: string;
  contentType: string;
  /** When the response was complete (ms since epoch). */
  receivedAt: number;
  bytes: number;
}

const DEFAULT_ACCEPT = 'text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1';

function isTimeout(e: Error): boolean {
  return e.name === 'TimeoutError' || e.name === 'AbortError';
}

export async function scrape(url: string, target: string, opts: ScrapeOptions): Promise<ScrapeResult> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  const timeoutError = () => new ScrapeError('timeout', target, `scrape of ${target} timed out after ${opts.timeoutMs} ms`);
  let res: Response;
  try {
    res = await fetch(url, { signal, headers: { ...opts.headers, accept: opts.accept ?? DEFAULT_ACCEPT }, redirect: 'error' });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (isTimeout(e)) throw timeoutError();
    throw new ScrapeError('unreachable', target, `cannot reach ${target}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
  }
  try {
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      await res.body?.cancel();
      throw new ScrapeError('too_large', target, `response of ${target} is ${declared} bytes, over the limit of ${opts.maxBytes}`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        total += chunk.byteLength;
        if (total > opts.maxBytes) throw new ScrapeError('too_large', target, `response of ${target} exceeds the limit of ${opts.maxBytes} bytes`);
        chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      }
    }
    const text = Buffer.concat(chunks, total).toString('utf8');
    if (res.status !== 200) throw new ScrapeError('status', target, `${target} answered HTTP ${res.status}`, res.status, text.slice(0, 4096));
    return { text, contentType: res.headers.get('content-type') ?? '', receivedAt: Date.now(), bytes: total };
  } catch (err) {
    if (err instanceof ScrapeError) throw err;
    const e = err as Error;
    if (isTimeout(e)) throw timeoutError();
    throw new ScrapeError('unreachable', target, `reading the response of ${target} failed: ${e.message}`);
  }
}

/** Single flight: concurrent calls with the same key share one in-flight promise. */
export class SingleFlight<T> {
  private inflight = new Map<string, Promise<T>>();
  /** Calls that joined an in-flight call (the call that started it not included). */
  coalesced = 0;

  /** Is a call with this key in flight (a run() now would join it)? */
  has(key: string): boolean {
    return this.inflight.has(key);
  }

  run(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.inflight.get(key);
    if (existing) {
      this.coalesced++;
      return existing;
    }
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
}

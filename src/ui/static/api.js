// Talking to the server: JSON reads with the bearer token, and the live event stream.
//
// The token (when the server has auth on) is typed once, kept in this tab's sessionStorage and
// sent as `Authorization: Bearer …`. The event stream is read with fetch() (not EventSource,
// which cannot send headers): the token stays out of URLs and logs. It reconnects by itself
// and sends `Last-Event-ID`, so the server replays what was missed (docs/ui.md).

const TOKEN_KEY = 'wattflow.token';

/** Requests started ahead of the view that will read them (path → answer). @type {Map<string, Promise<unknown>>} */
const prefetched = new Map();

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

/** @param {string} token */
export function setToken(token) {
  prefetched.clear(); // answers asked for with the previous token
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the token lives until the page is left */
  }
}

/** @returns {Record<string, string>} */
function authHeaders() {
  const t = getToken();
  return t ? { authorization: `Bearer ${t}` } : {};
}

export class HttpError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** @type {Set<(err: HttpError) => void>} */
const authListeners = new Set();

/** Called with every 401/403 answer (the app shows the token dialog). @param {(err: HttpError) => void} fn */
export function onAuthProblem(fn) {
  authListeners.add(fn);
}

/** @param {HttpError} err */
function authProblem(err) {
  for (const fn of authListeners) fn(err);
}

/**
 * Starts a GET now; the next getJson(path) takes its answer instead of asking again.
 * @param {string} path
 */
export function prefetch(path) {
  if (prefetched.has(path)) return;
  const p = fetchJson(path);
  // a failed one is forgotten (the view asks again); not an unhandled rejection meanwhile
  p.catch(() => {
    if (prefetched.get(path) === p) prefetched.delete(path);
  });
  prefetched.set(path, p);
  setTimeout(() => prefetched.delete(path), 10_000); // never read: forgotten
}

/**
 * GET a JSON document from this server.
 * @template T
 * @param {string} path
 * @param {{signal?: AbortSignal}} [o]
 * @returns {Promise<T>}
 */
export function getJson(path, o = {}) {
  const early = prefetched.get(path);
  if (early) {
    prefetched.delete(path);
    return /** @type {Promise<T>} */ (early);
  }
  return fetchJson(path, o);
}

/**
 * @template T
 * @param {string} path
 * @param {{signal?: AbortSignal}} [o]
 * @returns {Promise<T>}
 */
async function fetchJson(path, o = {}) {
  const res = await fetch(path, { headers: { accept: 'application/json', ...authHeaders() }, ...(o.signal ? { signal: o.signal } : {}) });
  if (!res.ok) {
    let msg = `HTTP ${res.status}`;
    try {
      const body = await res.json();
      if (body && typeof body.error === 'string') msg = body.error;
    } catch {
      /* not JSON */
    }
    const err = new HttpError(res.status, msg);
    if (res.status === 401 || res.status === 403) authProblem(err);
    throw err;
  }
  return /** @type {Promise<T>} */ (res.json());
}

/**
 * @typedef {{type: string, data: any, id: string}} StreamEvent
 * @typedef {'connecting' | 'live' | 'reconnecting' | 'auth' | 'closed'} StreamState
 */

/** The stream's state for the header's indicator. @type {Set<(s: StreamState, detail?: string) => void>} */
const stateListeners = new Set();
/** @param {(s: StreamState, detail?: string) => void} fn */
export function onStreamState(fn) {
  stateListeners.add(fn);
}

/**
 * Server-Sent Events over fetch: reconnects with Last-Event-ID (the server resumes from there).
 */
export class EventStream {
  /**
   * @param {string} path e.g. /api/ui/stream?channels=routers&routers=r1
   * @param {(ev: StreamEvent) => void} onEvent
   */
  constructor(path, onEvent) {
    this.path = path;
    this.onEvent = onEvent;
    this.lastEventId = '';
    this.retryMs = 2000;
    this.closed = false;
    /** @type {AbortController | undefined} */
    this.abort = undefined;
    void this.run();
  }

  /** @param {StreamState} s @param {string} [detail] */
  state(s, detail) {
    if (this.closed && s !== 'closed') return;
    for (const fn of stateListeners) fn(s, detail);
  }

  async run() {
    let failures = 0;
    while (!this.closed) {
      this.abort = new AbortController();
      try {
        /** @type {Record<string, string>} */
        const headers = { accept: 'text/event-stream', ...authHeaders() };
        if (this.lastEventId) headers['last-event-id'] = this.lastEventId;
        this.state(failures ? 'reconnecting' : 'connecting');
        const res = await fetch(this.path, { headers, signal: this.abort.signal, cache: 'no-store' });
        if (res.status === 401 || res.status === 403) {
          let msg = `HTTP ${res.status}`;
          try {
            msg = (await res.json()).error ?? msg;
          } catch {
            /* not JSON */
          }
          this.state('auth', msg);
          authProblem(new HttpError(res.status, msg));
          return; // the app opens a new stream once a token is given
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        failures = 0;
        this.state('live');
        await this.read(res.body);
      } catch (err) {
        if (this.closed) return;
        failures++;
        this.state('reconnecting', /** @type {Error} */ (err).message);
      }
      if (this.closed) return;
      await new Promise((r) => setTimeout(r, Math.min(this.retryMs * Math.max(1, failures), 15000)));
    }
  }

  /** @param {ReadableStream<Uint8Array>} body */
  async read(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    let type = 'message';
    let data = '';
    let id = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (line === '') {
          if (data) {
            if (id) this.lastEventId = id;
            let parsed;
            try {
              parsed = JSON.parse(data);
            } catch {
              parsed = data;
            }
            try {
              this.onEvent({ type, data: parsed, id });
            } catch (err) {
              console.warn('event handler failed', err);
            }
          }
          type = 'message';
          data = '';
          id = '';
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') type = val;
        else if (field === 'data') data = data ? `${data}\n${val}` : val;
        else if (field === 'id') id = val;
        else if (field === 'retry' && /^\d+$/.test(val)) this.retryMs = Number(val);
      }
    }
  }

  close() {
    this.closed = true;
    this.abort?.abort();
  }
}

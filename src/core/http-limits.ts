/**
 * Limits and error answers of every HTTP server (all roles build theirs with core/server.ts):
 *
 *  - server limits (section `http` of the app config): a request must arrive whole within
 *    `requestTimeoutMs` and its headers within `headersTimeoutMs` (else 408 and the connection
 *    is closed — a body sent 1 byte per second is cut off), an idle keep-alive connection is
 *    closed after `keepAliveTimeoutMs`, a socket with no traffic at all after `socketTimeoutMs`,
 *    at most `maxConnections` sockets are open (more are closed on accept), bodies are limited
 *    to `bodyLimitBytes` unless a route sets its own (Vehicle API ingest, registry upload);
 *  - every `application/json` body is checked for nesting deeper than `maxJsonDepth` before it
 *    is parsed (400 naming the limit and where, see json-depth.ts);
 *  - every error becomes the project's answer `{"error": "<what is wrong>"}` (plus `code` for
 *    framework errors): 4xx for the client's mistakes — validation (`query parameter "from"
 *    …`), malformed or too deep JSON, 413 with the limit, 415 with the type, unknown route,
 *    malformed URL, oversize headers, timeouts — and 500 without the internal message or a
 *    stack trace (logged with the request id, which the answer gives).
 */
import http from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Socket } from 'node:net';
import { DEFAULT_MAX_JSON_DEPTH, jsonDepthProblem } from './json-depth.js';
import type { Logger } from './logger.js';

export interface HttpLimits {
  /** Largest request body (bytes) of a route that does not set its own. */
  bodyLimitBytes: number;
  /** Deepest nesting of a JSON body (arrays and objects). */
  maxJsonDepth: number;
  /** A request (headers and body) must be received within this (ms; 408 and close otherwise). */
  requestTimeoutMs: number;
  /** Request headers must be received within this (ms). */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this (ms). */
  keepAliveTimeoutMs: number;
  /** A socket with no traffic in either direction is closed after this (ms; 0 = never). */
  socketTimeoutMs: number;
  /** Most open connections; more are closed when accepted (0 = no cap). */
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  bodyLimitBytes: 10 * 1024 * 1024,
  maxJsonDepth: DEFAULT_MAX_JSON_DEPTH,
  requestTimeoutMs: 60_000,
  headersTimeoutMs: 15_000,
  keepAliveTimeoutMs: 72_000,
  socketTimeoutMs: 120_000,
  maxConnections: 1024,
});

/** The limits in effect: `given` (e.g. the app config's `http` section) over the defaults. */
export function httpLimits(given?: Partial<HttpLimits>): HttpLimits {
  const out = { ...DEFAULT_HTTP_LIMITS };
  for (const k of Object.keys(out) as Array<keyof HttpLimits>) {
    const v = given?.[k];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out[k] = v;
  }
  return out;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The server's limits (read by routes that parse bodies themselves). */
    httpLimits: HttpLimits;
  }
}

/** The Fastify constructor options for these limits. */
export function fastifyLimitOptions(l: HttpLimits): Partial<FastifyServerOptions> {
  return {
    bodyLimit: l.bodyLimitBytes,
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionTimeout: l.socketTimeoutMs,
    clientErrorHandler: clientErrorHandler(l),
    frameworkErrors: (err: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      void reply.code(status).send({ error: frameworkMessage(err), code: err.code });
    },
  };
}

function frameworkMessage(err: FastifyError): string {
  if (err.code === 'FST_ERR_BAD_URL') return `malformed URL (invalid percent-encoding): ${err.message.slice(1, 200).replace(/' is not a valid url component$/, '')}`;
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return 'a path parameter is longer than the server accepts (100 characters)';
  return err.message || 'bad request';
}

/** Answers the errors Node's HTTP parser and timers raise before Fastify sees a request. */
function clientErrorHandler(l: HttpLimits) {
  return function onClientError(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let status = 400;
    let error = `malformed HTTP request (${err.code ?? 'parse error'})`;
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      error = `request not received within ${l.requestTimeoutMs} ms (headers within ${Math.min(l.headersTimeoutMs, l.requestTimeoutMs || Infinity)} ms); the connection is closed`;
    } else if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      error = `request headers larger than ${http.maxHeaderSize} bytes`;
    } else if (err.code === 'HPE_UNEXPECTED_CONTENT_LENGTH' || err.code === 'HPE_INVALID_CONTENT_LENGTH') {
      error = 'invalid Content-Length (or both Content-Length and Transfer-Encoding)';
    } else if (err.code === 'HPE_INVALID_METHOD') {
      status = 400;
      error = 'invalid HTTP method';
    }
    this.log.debug({ err: err.message, code: err.code }, 'client error');
    if (socket.writable) {
      const body = JSON.stringify({ error, code: err.code ?? 'CLIENT_ERROR' });
      socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\n\r\n${body}`);
    }
    socket.destroy(err);
  };
}

/** Applies the limits Fastify has no option for (before listen). */
export function applyServerLimits(app: FastifyInstance, l: HttpLimits): void {
  const s = app.server as http.Server;
  s.requestTimeout = l.requestTimeoutMs;
  // Node refuses a headers timeout longer than the request timeout
  s.headersTimeout = l.requestTimeoutMs > 0 ? Math.min(l.headersTimeoutMs, l.requestTimeoutMs) : l.headersTimeoutMs;
  // how often Node checks those two (default 30 s: a short timeout would fire up to 30 s late)
  const shortest = Math.min(...[s.requestTimeout, s.headersTimeout].filter((x) => x > 0), 30_000);
  (s as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(50, Math.min(1000, Math.floor(shortest / 4)));
  s.maxConnections = l.maxConnections > 0 ? l.maxConnections : Infinity;
}

// ------------------------------------------------------------------------------------- errors

/** `{error}` answer of an error thrown or passed to Fastify: status and body (no stack, no internal message on 5xx). */
export function errorAnswer(err: FastifyError & { validationContext?: string }, req: FastifyRequest): { status: number; body: Record<string, unknown> } {
  const given = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  if (given >= 500 && err.statusCode === undefined) {
    return { status: 500, body: { error: `internal error while handling ${req.method} ${routeOf(req)}; it is logged with request id ${req.id}`, code: 'INTERNAL' } };
  }
  const code = typeof err.code === 'string' ? err.code : undefined;
  let error = err.message;
  if (err.validation) error = validationMessage(err, req);
  else if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') error = `request body larger than ${req.routeOptions.bodyLimit ?? 'the limit of'} bytes`;
  else if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') error = `unsupported content type ${JSON.stringify(String(req.headers['content-type'] ?? '').slice(0, 100))} for ${req.method} ${routeOf(req)}`;
  else if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') error = 'empty body with content type application/json: send a JSON document';
  else if (code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') error = 'the body is not as long as Content-Length says';
  if (!error) error = http.STATUS_CODES[given] ?? 'error';
  return { status: given, body: { error, ...(code ? { code } : {}) } };
}

const routeOf = (req: FastifyRequest) => req.routeOptions.url ?? req.url.split('?')[0]!.slice(0, 200);

const PLACES: Record<string, string> = { querystring: 'query parameter', params: 'path parameter', headers: 'header', body: 'body' };

/** `query parameter "from" must be …` from a schema validation error. */
function validationMessage(err: FastifyError & { validationContext?: string }, req: FastifyRequest): string {
  const v = err.validation![0]!;
  const place = PLACES[err.validationContext ?? ''] ?? err.validationContext ?? 'request';
  const name =
    v.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .join('.') || (v.params as { missingProperty?: string }).missingProperty;
  if (err.validationContext === 'querystring' && name) {
    const raw = (req.query as Record<string, unknown> | undefined)?.[name];
    if (Array.isArray(raw)) return `query parameter "${name}" is given ${raw.length} times; give it once`;
  }
  const what = v.keyword === 'required' ? 'is required' : v.message ?? 'is invalid';
  if (place === 'body') return `body${name ? ` ${name}` : ''} ${what}`;
  return name ? `${place} "${name}" ${what}` : `${place} ${what}`;
}

/**
 * The server-wide guards: the depth-checked JSON parser, the error handler and the not-found
 * answer. Plugins may set their own error handler (the registry's adds its codes) — they can
 * use errorAnswer for the same messages.
 */
export function installInputGuards(app: FastifyInstance, l: HttpLimits, logger: Logger): void {
  app.decorate('httpLimits', l);
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    const problem = jsonDepthProblem(text, l.maxJsonDepth);
    if (problem) {
      done(Object.assign(new Error(problem), { statusCode: 400, code: 'JSON_TOO_DEEP' }), undefined);
      return;
    }
    defaultJson(req, text, (err: Error | null, value?: unknown) => {
      if (!err || (err as FastifyError).code !== 'FST_ERR_CTP_INVALID_JSON_BODY') return done(err, value);
      let why = 'keys "__proto__" and "constructor": {"prototype": …} are not accepted';
      try {
        JSON.parse(text);
      } catch (e) {
        why = (e as Error).message.slice(0, 200);
      }
      done(Object.assign(new Error(`malformed JSON body: ${why}`), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }), undefined);
    });
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const { status, body } = errorAnswer(err, req);
    if (status >= 500) logger.error({ err, reqId: req.id, method: req.method, url: req.url.slice(0, 300) }, 'request failed');
    void reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` });
  });
}

/**
 * Authentication and authorization of every HTTP server wattflow runs (one mechanism for all
 * roles): bearer tokens with scopes, checked in one onRequest hook installed by buildServer.
 *
 *  - Tokens are configured hashed (sha256 hex of the token), each with a name and scopes, in
 *    the config section `auth.tokens` and/or a file `auth.tokensFile` (JSON or YAML, e.g. a
 *    mounted Kubernetes Secret; env WATTFLOW_TOKENS_FILE; SIGHUP re-reads it).
 *    `wattflow token new --name N --scopes read,ingest` makes one (prints the token once and the
 *    entry). The legacy VEHICLE_API_TOKEN (vehicle.api.authToken, plaintext) is one more token
 *    named "VEHICLE_API_TOKEN" with scopes ingest + read.
 *  - Scopes: `ingest` (vehicle measurements, predictions written to a sink), `models:write`
 *    (registry create/upload/alias/delete), `deploy` (deploy/switch/undeploy/rollback), `read`
 *    (private reads: router data, vehicles, dead letters, registry listings, model status,
 *    V2 metadata and inference).
 *  - Every route declares what it needs in its Fastify route config: `{ config: { auth: 'read' } }`
 *    or `'public'` (health, readiness, Prometheus /metrics). A route that declares nothing
 *    fails closed: under auth it answers 403 to every caller (and an error is logged when it is
 *    registered); test/core/auth-matrix.test.ts enumerates every route and fails on it.
 *  - Answers: 401 + `WWW-Authenticate: Bearer …` when the token is missing or unknown, 403
 *    naming the scope the route needs; JSON `{error}` as every other route.
 *  - No token configured: auth is off (every caller has every scope) — allowed on a loopback
 *    bind (with a warning), refused beyond loopback unless `auth.allowUnauthenticated`
 *    (WATTFLOW_ALLOW_UNAUTHENTICATED=1) or the server requires client certificates (mTLS).
 *  - The token this process sends to other wattflow servers (CLI clients, the Vehicle API's
 *    forwarder, inference workers downloading artifacts, the registry probing workers, the
 *    producer polling a collector): `auth.clientToken`, env WATTFLOW_TOKEN (clientAuthHeaders()).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { SCOPES, tokenEntrySchema, type AuthConfig, type Scope, type TokenEntry } from './auth-config.js';
import { ConfigError, newAjv } from './config.js';
import type { Logger } from './logger.js';
import { counter } from './metrics.js';

export { SCOPES, type Scope, type TokenEntry } from './auth-config.js';

/** What a route needs: nothing (`public`) or a token with this scope. */
export type RouteAuth = 'public' | Scope;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope this route needs (src/core/auth.ts); every route must declare one. */
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    /** Who is calling (set by the auth hook; null on an app built without buildServer). */
    caller: Caller | null;
  }
}

export interface Caller {
  /** The token's name ("anonymous" without a token, "open" when auth is off). */
  name: string;
  scopes: ReadonlySet<Scope>;
}

// ------------------------------------------------------------------ tokens

export const sha256Hex = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** A new random token (`wf_` + 43 base64url characters: 256 bits). */
export function newToken(): string {
  return `wf_${randomBytes(32).toString('base64url')}`;
}

export function tokenEntry(name: string, token: string, scopes: readonly Scope[]): TokenEntry {
  return { name, sha256: sha256Hex(token), scopes: [...scopes] };
}

/** Parses `read,ingest` (or `all`/`*`) into scopes; throws naming the unknown one. */
export function parseScopes(list: string): Scope[] {
  const items = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 1 && (items[0] === 'all' || items[0] === '*')) return [...SCOPES];
  if (items.length === 0) throw new Error(`no scopes given (one or more of ${SCOPES.join(', ')}, or all)`);
  for (const s of items) if (!(SCOPES as readonly string[]).includes(s)) throw new Error(`unknown scope "${s}" (one of ${SCOPES.join(', ')}, or all)`);
  return [...new Set(items)] as Scope[];
}

const fileSchema = {
  anyOf: [
    { type: 'array', items: tokenEntrySchema },
    { type: 'object', required: ['tokens'], properties: { tokens: { type: 'array', items: tokenEntrySchema } }, additionalProperties: false },
  ],
};

/** The entries of a tokens file; ConfigError naming the file, the path and the reason. */
export function readTokensFile(file: string): TokenEntry[] {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8')); // YAML is a superset of JSON
  } catch (err) {
    throw new ConfigError(file, '', `cannot read the tokens file: ${(err as Error).message}`);
  }
  const validate = newAjv().compile(fileSchema);
  if (!validate(doc)) {
    // anyOf hides the useful error: validate the branch the document looks like
    const branch = newAjv().compile(Array.isArray(doc) ? fileSchema.anyOf[0]! : fileSchema.anyOf[1]!);
    branch(doc);
    const e = branch.errors?.[0];
    throw new ConfigError(file, e?.instancePath ?? '', `${e?.message ?? 'invalid'} (expected a list of {name, sha256, scopes}, or {tokens: [...]})`);
  }
  return Array.isArray(doc) ? (doc as TokenEntry[]) : (doc as { tokens: TokenEntry[] }).tokens;
}

interface CompiledToken {
  name: string;
  digest: Buffer;
  scopes: ReadonlySet<Scope>;
}

export const OPEN_CALLER: Caller = Object.freeze({ name: 'open', scopes: new Set<Scope>(SCOPES) });
export const ANONYMOUS: Caller = Object.freeze({ name: 'anonymous', scopes: new Set<Scope>() });

export type AuthResult = { ok: true; caller: Caller } | { ok: false; error: string; challenge: string };

const REALM = 'Bearer realm="wattflow"';

/** Where the accepted tokens come from, and the check of one request's Authorization header. */
export class Authenticator {
  private tokens: CompiledToken[] = [];
  /** Tokens issued by this process for its own clients (kept across reloads). */
  private readonly issued: CompiledToken[] = [];

  constructor(private readonly sources: { entries?: readonly TokenEntry[]; file?: string; plaintext?: Array<{ name: string; token: string; scopes: Scope[] }> } = {}) {
    this.tokens = this.load();
  }

  /** Auth is on when at least one token is configured. */
  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  /** The configured tokens' names. */
  get tokenNames(): string[] {
    return this.tokens.map((t) => t.name);
  }

  /**
   * A random token valid only on this process's server, for its own clients calling it over
   * HTTP (under `wattflow up`: the registry probing the in-process worker's status, a worker
   * downloading from the in-process registry) when no auth.clientToken is configured.
   */
  issueProcessToken(scopes: readonly Scope[]): string {
    const token = newToken();
    this.issued.push({ name: 'this-process', digest: createHash('sha256').update(token, 'utf8').digest(), scopes: new Set(scopes) });
    return token;
  }

  private load(): CompiledToken[] {
    const entries: TokenEntry[] = [
      ...(this.sources.entries ?? []),
      ...(this.sources.file ? readTokensFile(this.sources.file) : []),
      ...(this.sources.plaintext ?? []).map((p) => tokenEntry(p.name, p.token, p.scopes)),
    ];
    const seen = new Set<string>();
    for (const e of entries) {
      if (seen.has(e.name)) throw new ConfigError(this.sources.file ?? 'the auth settings', '/auth/tokens', `token name "${e.name}" is used twice (names identify tokens in logs and 403 answers)`);
      seen.add(e.name);
    }
    return entries.map((e) => ({ name: e.name, digest: Buffer.from(e.sha256, 'hex'), scopes: new Set(e.scopes) }));
  }

  /** Re-reads the tokens file (secret rotation); on error the previous tokens stay. */
  reload(): void {
    this.tokens = this.load();
  }

  /** Checks an Authorization header value against the configured tokens (timing-safe). */
  authenticate(header: string | undefined): AuthResult {
    if (header === undefined || header.trim() === '') {
      return { ok: false, error: 'authentication required: send "Authorization: Bearer <token>" (clients: set WATTFLOW_TOKEN)', challenge: REALM };
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) {
      return { ok: false, error: 'the Authorization header must be "Bearer <token>"', challenge: `${REALM}, error="invalid_request", error_description="expected Bearer <token>"` };
    }
    const digest = createHash('sha256').update(m[1]!, 'utf8').digest();
    let found: CompiledToken | undefined;
    for (const t of [...this.tokens, ...this.issued]) {
      // compare against every token (no early exit): the time does not depend on which one matches
      if (timingSafeEqual(digest, t.digest) && !found) found = t;
    }
    if (!found) {
      return { ok: false, error: 'invalid bearer token (not one of the configured tokens)', challenge: `${REALM}, error="invalid_token", error_description="unknown token"` };
    }
    return { ok: true, caller: { name: found.name, scopes: found.scopes } };
  }
}

// ------------------------------------------------------------------ server side

const authFailures = counter({
  name: 'wattflow_http_auth_failures_total',
  help: 'HTTP requests refused by authentication (401) or authorization (403), by reason',
  labelNames: ['reason'] as const,
});

/** Routes as registered (method, URL pattern, declared auth), per app — for tests and diagnostics. */
const declared = new WeakMap<FastifyInstance, Array<{ method: string; url: string; auth: RouteAuth | undefined }>>();

export function declaredRoutes(app: FastifyInstance): ReadonlyArray<{ method: string; url: string; auth: RouteAuth | undefined }> {
  return declared.get(app) ?? [];
}

/** The 403 answer naming the scope that is needed, for any transport (HTTP here, gRPC PERMISSION_DENIED in v2-grpc.ts). */
export function forbiddenAnswer(caller: Caller | null | undefined, scope: Scope, what: string): { status: 403; body: { error: string }; headers: Record<string, string> } {
  authFailures.inc({ reason: 'scope' });
  return {
    status: 403,
    body: { error: `${what} needs scope "${scope}"; token "${caller?.name ?? 'anonymous'}" has ${caller && caller.scopes.size ? [...caller.scopes].join(', ') : 'none'}` },
    headers: { 'www-authenticate': `${REALM}, error="insufficient_scope", scope="${scope}"` },
  };
}

/** The 403 answer naming the scope that is needed (for checks inside a handler). */
export function forbidden(reply: FastifyReply, scope: Scope, what: string): { error: string } {
  const a = forbiddenAnswer(reply.request.caller, scope, what);
  reply.code(403).header('www-authenticate', a.headers['www-authenticate']!);
  return a.body;
}

/** Whether a caller (null: auth off) has `scope`. */
export function callerHasScope(caller: Caller | null | undefined, scope: Scope): boolean {
  return caller === null || caller === undefined || caller.scopes.has(scope);
}

/** Counts a refusal of a transport that does not go through the HTTP hook (gRPC). */
export function countAuthFailure(reason: 'missing_token' | 'invalid_token' | 'scope'): void {
  authFailures.inc({ reason });
}

/** Whether the caller of `req` has `scope` (always true when auth is off, or on an app built without buildServer). */
export function callerHas(req: FastifyRequest, scope: Scope): boolean {
  const c = req.caller;
  return c === null || c === undefined || c.scopes.has(scope);
}

/**
 * Installs the auth hooks on a new app, before any route is added: onRoute records every
 * route's declaration (an undeclared one is logged as an error), onRequest authenticates and
 * authorizes. With auth off every request's caller has every scope.
 */
export function installAuth(app: FastifyInstance, auth: Authenticator | undefined, logger: Logger): void {
  const routes: Array<{ method: string; url: string; auth: RouteAuth | undefined }> = [];
  declared.set(app, routes);
  app.decorateRequest('caller', null);
  app.addHook('onRoute', (r) => {
    const a = (r.config as { auth?: RouteAuth } | undefined)?.auth;
    for (const method of [r.method].flat()) routes.push({ method, url: r.url, auth: a });
    if (a === undefined) logger.error({ method: r.method, url: r.url }, 'route declares no auth scope (config.auth): it answers 403 to every caller when auth is on');
  });
  app.addHook('onRequest', async (req, reply) => {
    if (!auth?.enabled) {
      req.caller = OPEN_CALLER;
      return;
    }
    const need = req.is404 ? 'any' : req.routeOptions.config.auth;
    if (need === 'public') {
      req.caller = ANONYMOUS;
      return;
    }
    const r = auth.authenticate(req.headers.authorization);
    if (!r.ok) {
      authFailures.inc({ reason: req.headers.authorization ? 'invalid_token' : 'missing_token' });
      return reply.code(401).header('www-authenticate', r.challenge).send({ error: r.error });
    }
    req.caller = r.caller;
    if (need === 'any') return; // an unknown URL: its 404, to an authenticated caller only
    if (need === undefined) {
      authFailures.inc({ reason: 'undeclared_route' });
      return reply.code(403).send({ error: `${req.method} ${req.routeOptions.url} declares no scope: refused to everyone (a wattflow bug; please report it)` });
    }
    if (!r.caller.scopes.has(need)) return reply.send(forbidden(reply, need, `${req.method} ${req.routeOptions.url}`));
  });
}

// ------------------------------------------------------------------ roles

const LOOPBACK = /^(127(?:\.\d{1,3}){3}|::1|localhost|::ffff:127(?:\.\d{1,3}){3})$/i;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host.trim().replace(/^\[|\]$/g, ''));
}

/** The part of the app configuration the server's auth depends on. */
export interface AuthAppConfig {
  auth: AuthConfig;
  http: { host: string; tls?: { requireClientCert?: boolean } };
  vehicle?: { api?: { authToken?: string } };
}

/** The legacy Vehicle API token's name and scopes. */
export const VEHICLE_TOKEN_NAME = 'VEHICLE_API_TOKEN';
export const VEHICLE_TOKEN_SCOPES: Scope[] = ['ingest', 'read'];

const cache = new WeakMap<object, Authenticator>();

/**
 * The authenticator of a role's server, from the configuration (cached per config object).
 * Throws ConfigError (exit 2) when the tokens file is invalid, or when the server would listen
 * beyond loopback with no token, no client-certificate requirement and no explicit
 * `auth.allowUnauthenticated`.
 */
export function serverAuthOf(cfg: AuthAppConfig): Authenticator {
  const hit = cache.get(cfg);
  if (hit) return hit;
  const legacy = cfg.vehicle?.api?.authToken;
  const auth = new Authenticator({
    entries: cfg.auth.tokens,
    ...(cfg.auth.tokensFile ? { file: cfg.auth.tokensFile } : {}),
    ...(legacy ? { plaintext: [{ name: VEHICLE_TOKEN_NAME, token: legacy, scopes: VEHICLE_TOKEN_SCOPES }] } : {}),
  });
  if (!auth.enabled && !isLoopback(cfg.http.host) && !cfg.auth.allowUnauthenticated && !cfg.http.tls?.requireClientCert) {
    throw new ConfigError(
      'the http settings',
      '/http/host',
      `"${cfg.http.host}" is beyond loopback and no token is configured: refusing to serve unauthenticated. ` +
        'Configure tokens (auth.tokens or auth.tokensFile / WATTFLOW_TOKENS_FILE; make one with `wattflow token new`), ' +
        'require client certificates (http.tls.requireClientCert), or allow it explicitly (auth.allowUnauthenticated: true / WATTFLOW_ALLOW_UNAUTHENTICATED=1)',
    );
  }
  cache.set(cfg, auth);
  return auth;
}

/** One line saying how the server is protected (the `up` banner, the log). */
export function authSummary(auth: Authenticator, cfg: AuthAppConfig): string {
  if (auth.enabled) return `bearer tokens (${auth.tokenNames.join(', ')})${cfg.http.tls?.requireClientCert ? ' + client certificates' : ''}`;
  if (cfg.http.tls?.requireClientCert) return 'client certificates only (no token configured: every client with a certificate has every scope)';
  return `OFF — anyone who can reach ${cfg.http.host} may read, ingest, upload and deploy (configure auth.tokens; docs/security.md)`;
}

// ------------------------------------------------------------------ client side

let configuredClientToken: string | undefined;

/** Sets the token this process sends to other wattflow servers (from auth.clientToken). */
export function setClientToken(token: string | undefined): void {
  configuredClientToken = token === '' ? undefined : token;
}

/** The token this process sends: auth.clientToken, else WATTFLOW_TOKEN. */
export function clientToken(): string | undefined {
  const env = process.env.WATTFLOW_TOKEN;
  return configuredClientToken ?? (env && env.trim() !== '' ? env.trim() : undefined);
}

/** `{authorization: 'Bearer …'}` when a token is set, else `{}`. */
export function clientAuthHeaders(token: string | undefined = clientToken()): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** The hint a client adds to a 401/403 answer. */
export function tokenHint(status: number, variable = 'WATTFLOW_TOKEN'): string {
  return status === 401
    ? `set ${variable} (or --token) to a valid token`
    : `set ${variable} (or --token) to a token with the scope named above`;
}

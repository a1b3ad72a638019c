/**
 * One Open Inference Protocol (KServe V2 REST) server per Fastify app, serving every model of
 * every provider — as KServe and Triton do (one server, many models). Providers (the inference
 * workers' power models in kserve.ts, the vehicle predictor in
 * src/vehicle/predictor/v2-endpoint.ts) register with `registerV2Provider(app, provider)`; the
 * generic routes are installed once per app:
 *
 *   GET  /v2                                      server metadata (union of the extensions)
 *   GET  /v2/health/live | /v2/health/ready       ready when every provider is ready
 *   GET  /v2/models                               every provider's models (not in the spec)
 *   GET  /v2/models/{name}[/versions/{v}]         metadata       ┐ dispatched to the provider
 *   GET  /v2/models/{name}[/versions/{v}]/ready   readiness      │ that serves {name}; 404
 *   POST /v2/models/{name}[/versions/{v}]/infer   inference      ┘ naming the served models
 *   POST /v2/repository/index                     loaded models (when a provider has the
 *                                                 `model_repository` extension)
 *
 * Two providers claiming the same model name is an error: at registration (for the models
 * served then) and on every request that names it (500 naming both providers) — never a
 * silent shadowing. Request tensors are decoded by v2-protocol.ts.
 *
 * One handler, two transports: the answers come from the transport-neutral `V2Core` (status
 * and body); the REST routes below and the gRPC service (v2-grpc.ts,
 * `inference.GRPCInferenceService`) both call it, so the same request gets the same answer.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Caller } from '../../core/auth.js';

/** One model version a provider serves now. */
export interface V2ModelEntry {
  name: string;
  version: string;
  platform: string;
  /** Extra fields of this entry in `GET /v2/models` (e.g. the routers it serves). */
  listing?: Record<string, unknown>;
}

/** An answer of the V2 core: the HTTP status (gRPC maps it to a status code), the JSON body, extra headers. */
export interface V2Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** What an infer handler gets: the model and the version that answers (resolved), the request body, the caller (null: auth off). */
export interface V2InferContext {
  name: string;
  version: string;
  body: unknown;
  caller: Caller | null;
}

export interface V2Provider {
  /** Who this is, in messages ("this worker", "this vehicle predictor"). */
  readonly label: string;
  /** The server name `GET /v2` answers when this provider is alone on the app. */
  readonly serverName: string;
  readonly extensions?: readonly string[];
  /** The model versions served now. */
  models(): V2ModelEntry[];
  /** This provider's contribution to server readiness: true, or false / the reason it is not ready. */
  ready(): boolean | string;
  /** The version that answers for `name` (the one asked, else the provider's default); undefined → 404. */
  resolve(name: string, version?: string): string | undefined;
  /** Model metadata of a resolved version. */
  metadata(name: string, version: string): unknown;
  /** Readiness of a resolved version. */
  modelReady(name: string, version: string): boolean;
  /** Inference (absent: the provider does not take infer requests; they are answered 404). A failure (not a refusal) is thrown. */
  infer?(ctx: V2InferContext): Promise<V2Answer>;
  /** Told about an infer request answered by the server on the provider's behalf (for metrics). */
  onInferAnswered?(name: string, status: number): void;
}

/** The error a name clash raises (registration) or answers (requests). */
export function clashMessage(name: string, owners: readonly V2Provider[]): string {
  return `model name "${name}" is claimed by more than one V2 provider on this server (${owners.map((p) => p.label).join(' and ')}); rename one of the models`;
}

function servedList(providers: readonly V2Provider[]): string {
  const all = [...new Set(providers.flatMap((p) => p.models().map((m) => `${m.name}@${m.version}`)))];
  return all.join(', ') || 'no models';
}

/**
 * The V2 server's answers, whatever the transport: the providers of one app (REST) — and of its
 * gRPC service, which serves the same providers.
 */
export class V2Core {
  readonly providers: V2Provider[] = [];
  repositoryRoute = false;

  private by(): string {
    return this.providers.length === 1 ? this.providers[0]!.label : 'this server';
  }

  private notFound(name: string, version?: string): V2Answer {
    return { status: 404, body: { error: `model "${name}"${version !== undefined ? ` version "${version}"` : ''} is not served by ${this.by()} (serving: ${servedList(this.providers)})` } };
  }

  /** The provider serving `name`, or the answer to send instead. */
  private owner(name: string): { provider: V2Provider } | { answer: V2Answer } {
    const owners = this.providers.filter((p) => p.models().some((m) => m.name === name));
    if (owners.length > 1) return { answer: { status: 500, body: { error: clashMessage(name, owners) } } };
    if (owners.length === 0) return { answer: this.notFound(name) };
    return { provider: owners[0]! };
  }

  private resolved(name: string, version?: string): { provider: V2Provider; version: string } | { answer: V2Answer } {
    const o = this.owner(name);
    if ('answer' in o) return o;
    const v = o.provider.resolve(name, version);
    if (v === undefined) return { answer: this.notFound(name, version) };
    return { provider: o.provider, version: v };
  }

  serverMetadata(): { name: string; version: string; extensions: string[] } {
    return {
      name: this.providers.length === 1 ? this.providers[0]!.serverName : 'wattflow',
      version: '1',
      extensions: [...new Set(this.providers.flatMap((p) => p.extensions ?? []))],
    };
  }

  ready(): V2Answer {
    const reasons: string[] = [];
    let ready = true;
    for (const p of this.providers) {
      const r = p.ready();
      if (r === true) continue;
      ready = false;
      if (typeof r === 'string') reasons.push(r);
    }
    return ready ? { status: 200, body: { ready } } : { status: 503, body: { ready, ...(reasons.length ? { reason: reasons.join('; ') } : {}) } };
  }

  models(): Array<Record<string, unknown>> {
    return this.providers.flatMap((p) => p.models().map((m) => ({ name: m.name, version: m.version, ...m.listing })));
  }

  modelMetadata(name: string, version?: string): V2Answer {
    const r = this.resolved(name, version);
    return 'answer' in r ? r.answer : { status: 200, body: r.provider.metadata(name, r.version) };
  }

  modelReady(name: string, version?: string): V2Answer {
    const r = this.resolved(name, version);
    return 'answer' in r ? r.answer : { status: 200, body: { name, version: r.version, ready: r.provider.modelReady(name, r.version) } };
  }

  async infer(name: string, version: string | undefined, body: unknown, caller: Caller | null): Promise<V2Answer> {
    const owners = this.providers.filter((p) => p.models().some((m) => m.name === name));
    if (owners.length === 0) {
      // a model not (yet) loaded by a provider that is not ready: 503, as before it is ready
      const waiting = this.providers.find((p) => p.ready() !== true);
      if (waiting) {
        waiting.onInferAnswered?.(name, 503);
        return { status: 503, body: { error: `${waiting.label} is not ready` } };
      }
    }
    const r = this.resolved(name, version);
    if ('answer' in r) {
      for (const p of owners.length ? owners : this.providers) p.onInferAnswered?.(name, r.answer.status);
      return r.answer;
    }
    if (!r.provider.infer) {
      return { status: 404, body: { error: `model "${name}"${version !== undefined ? ` version "${version}"` : ''} does not take infer requests on ${r.provider.label}` } };
    }
    return r.provider.infer({ name, version: r.version, body, caller });
  }
}

const cores = new WeakMap<FastifyInstance, V2Core>();

/** The V2 core of an app (undefined when no provider registered on it). */
export function v2CoreOf(app: FastifyInstance): V2Core | undefined {
  return cores.get(app);
}

/** Scopes (src/core/auth.ts): the health routes are public (probes); metadata and inference need `read` (a provider writing predictions to a sink checks `ingest` itself). */
const PUBLIC = { config: { auth: 'public' } } as const;
const READ = { config: { auth: 'read' } } as const;

/** Registers `provider` on the app's V2 server, installing the generic routes on first use. */
export function registerV2Provider(app: FastifyInstance, provider: V2Provider): void {
  let core = cores.get(app);
  if (core) {
    const mine = new Set(provider.models().map((m) => m.name));
    for (const other of core.providers) {
      for (const m of other.models()) if (mine.has(m.name)) throw new Error(clashMessage(m.name, [other, provider]));
    }
    core.providers.push(provider);
  } else {
    core = new V2Core();
    core.providers.push(provider);
    cores.set(app, core);
    installRoutes(app, core);
  }
  if (!core.repositoryRoute && provider.extensions?.includes('model_repository')) {
    core.repositoryRoute = true;
    const c = core;
    app.post('/v2/repository/index', READ, async () => c.providers.flatMap((p) => p.models().map((m) => ({ name: m.name, version: m.version, state: 'READY' }))));
  }
}

/** Sends a core answer on a REST reply. */
function send(reply: FastifyReply, a: V2Answer): unknown {
  reply.code(a.status);
  for (const [k, v] of Object.entries(a.headers ?? {})) reply.header(k, v);
  return a.body;
}

function installRoutes(app: FastifyInstance, core: V2Core): void {
  type Req = { params: unknown };
  const params = (req: Req) => req.params as { name: string; version?: string };

  app.get('/v2', READ, async () => core.serverMetadata());
  app.get('/v2/health/live', PUBLIC, async () => ({ live: true }));
  app.get('/v2/health/ready', PUBLIC, async (_req, reply) => send(reply, core.ready()));
  app.get('/v2/models', READ, async () => ({ models: core.models() }));

  const meta = async (req: Req, reply: FastifyReply) => send(reply, core.modelMetadata(params(req).name, params(req).version));
  app.get('/v2/models/:name', READ, meta);
  app.get('/v2/models/:name/versions/:version', READ, meta);

  const ready = async (req: Req, reply: FastifyReply) => send(reply, core.modelReady(params(req).name, params(req).version));
  app.get('/v2/models/:name/ready', READ, ready);
  app.get('/v2/models/:name/versions/:version/ready', READ, ready);

  const infer = async (req: Req & { body: unknown }, reply: FastifyReply) =>
    send(reply, await core.infer(params(req).name, params(req).version, req.body, reply.request.caller ?? null));
  app.post('/v2/models/:name/infer', READ, infer);
  app.post('/v2/models/:name/versions/:version/infer', READ, infer);
}

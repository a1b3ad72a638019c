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
 */
import type { FastifyInstance, FastifyReply } from 'fastify';

/** One model version a provider serves now. */
export interface V2ModelEntry {
  name: string;
  version: string;
  platform: string;
  /** Extra fields of this entry in `GET /v2/models` (e.g. the routers it serves). */
  listing?: Record<string, unknown>;
}

/** What an infer handler gets: the model and the version that answers (resolved). */
export interface V2InferContext {
  name: string;
  version: string;
  body: unknown;
  reply: FastifyReply;
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
  /** Inference (absent: the provider does not take infer requests; they are answered 404). */
  infer?(ctx: V2InferContext): Promise<unknown>;
  /** Told about an infer request answered by the server on the provider's behalf (for metrics). */
  onInferAnswered?(name: string, status: number): void;
}

interface V2State {
  providers: V2Provider[];
  repositoryRoute: boolean;
}

const states = new WeakMap<FastifyInstance, V2State>();

/** Scopes (src/core/auth.ts): the health routes are public (probes); metadata and inference need `read` (a provider writing predictions to a sink checks `ingest` itself). */
const PUBLIC = { config: { auth: 'public' } } as const;
const READ = { config: { auth: 'read' } } as const;

/** The error a name clash raises (registration) or answers (requests). */
export function clashMessage(name: string, owners: readonly V2Provider[]): string {
  return `model name "${name}" is claimed by more than one V2 provider on this server (${owners.map((p) => p.label).join(' and ')}); rename one of the models`;
}

function servedList(providers: readonly V2Provider[]): string {
  const all = [...new Set(providers.flatMap((p) => p.models().map((m) => `${m.name}@${m.version}`)))];
  return all.join(', ') || 'no models';
}

/** Registers `provider` on the app's V2 server, installing the generic routes on first use. */
export function registerV2Provider(app: FastifyInstance, provider: V2Provider): void {
  let state = states.get(app);
  if (state) {
    const mine = new Set(provider.models().map((m) => m.name));
    for (const other of state.providers) {
      for (const m of other.models()) if (mine.has(m.name)) throw new Error(clashMessage(m.name, [other, provider]));
    }
    state.providers.push(provider);
  } else {
    state = { providers: [provider], repositoryRoute: false };
    states.set(app, state);
    installRoutes(app, state);
  }
  if (!state.repositoryRoute && provider.extensions?.includes('model_repository')) {
    state.repositoryRoute = true;
    const st = state;
    app.post('/v2/repository/index', READ, async () =>
      st.providers.flatMap((p) => p.models().map((m) => ({ name: m.name, version: m.version, state: 'READY' }))),
    );
  }
}

function installRoutes(app: FastifyInstance, state: V2State): void {
  const { providers } = state;
  const by = () => (providers.length === 1 ? providers[0]!.label : 'this server');
  const notReady = () => providers.find((p) => p.ready() !== true);

  const notFound = (reply: FastifyReply, name: string, version?: string) => {
    reply.code(404);
    return { error: `model "${name}"${version !== undefined ? ` version "${version}"` : ''} is not served by ${by()} (serving: ${servedList(providers)})` };
  };

  /** The provider serving `name`, or the answer to send instead. */
  const owner = (name: string, reply: FastifyReply): { provider: V2Provider } | { answer: unknown } => {
    const owners = providers.filter((p) => p.models().some((m) => m.name === name));
    if (owners.length > 1) {
      reply.code(500);
      return { answer: { error: clashMessage(name, owners) } };
    }
    if (owners.length === 0) return { answer: notFound(reply, name) };
    return { provider: owners[0]! };
  };

  app.get('/v2', READ, async () => ({
    name: providers.length === 1 ? providers[0]!.serverName : 'wattflow',
    version: '1',
    extensions: [...new Set(providers.flatMap((p) => p.extensions ?? []))],
  }));
  app.get('/v2/health/live', PUBLIC, async () => ({ live: true }));
  app.get('/v2/health/ready', PUBLIC, async (_req, reply) => {
    const reasons: string[] = [];
    let ready = true;
    for (const p of providers) {
      const r = p.ready();
      if (r === true) continue;
      ready = false;
      if (typeof r === 'string') reasons.push(r);
    }
    if (!ready) reply.code(503);
    return ready ? { ready } : { ready, ...(reasons.length ? { reason: reasons.join('; ') } : {}) };
  });
  app.get('/v2/models', READ, async () => ({
    models: providers.flatMap((p) => p.models().map((m) => ({ name: m.name, version: m.version, ...m.listing }))),
  }));

  type Req = { params: unknown };
  const resolved = (req: Req, reply: FastifyReply): { provider: V2Provider; name: string; version: string } | { answer: unknown } => {
    const { name, version } = req.params as { name: string; version?: string };
    const o = owner(name, reply);
    if ('answer' in o) return o;
    const v = o.provider.resolve(name, version);
    if (v === undefined) return { answer: notFound(reply, name, version) };
    return { provider: o.provider, name, version: v };
  };

  const meta = async (req: Req, reply: FastifyReply) => {
    const r = resolved(req, reply);
    return 'answer' in r ? r.answer : r.provider.metadata(r.name, r.version);
  };
  app.get('/v2/models/:name', READ, meta);
  app.get('/v2/models/:name/versions/:version', READ, meta);

  const ready = async (req: Req, reply: FastifyReply) => {
    const r = resolved(req, reply);
    return 'answer' in r ? r.answer : { name: r.name, version: r.version, ready: r.provider.modelReady(r.name, r.version) };
  };
  app.get('/v2/models/:name/ready', READ, ready);
  app.get('/v2/models/:name/versions/:version/ready', READ, ready);

  const infer = async (req: Req & { body: unknown }, reply: FastifyReply) => {
    const { name, version } = req.params as { name: string; version?: string };
    const owners = providers.filter((p) => p.models().some((m) => m.name === name));
    if (owners.length === 0) {
      // a model not (yet) loaded by a provider that is not ready: 503, as before it is ready
      const waiting = notReady();
      if (waiting) {
        reply.code(503);
        waiting.onInferAnswered?.(name, 503);
        return { error: `${waiting.label} is not ready` };
      }
    }
    const r = resolved(req, reply);
    if ('answer' in r) {
      for (const p of owners.length ? owners : providers) p.onInferAnswered?.(name, reply.statusCode);
      return r.answer;
    }
    if (!r.provider.infer) {
      reply.code(404);
      return { error: `model "${name}"${version !== undefined ? ` version "${version}"` : ''} does not take infer requests on ${r.provider.label}` };
    }
    return r.provider.infer({ name: r.name, version: r.version, body: req.body, reply });
  };
  app.post('/v2/models/:name/infer', READ, infer);
  app.post('/v2/models/:name/versions/:version/infer', READ, infer);
}

/**
 * The registry's REST API (served by role `registry` and by `wattflow up`) and its web page.
 *
 *   GET    /api/registry/models                                   models with versions, aliases, deployments
 *   POST   /api/registry/models                 {name, description?, router_type?}
 *   GET    /api/registry/models/{name}
 *   DELETE /api/registry/models/{name}                            (only without versions)
 *   POST   /api/registry/models/{name}/versions                   upload (see below)
 *   GET    /api/registry/models/{name}/versions
 *   GET    /api/registry/models/{name}/versions/{version|alias}
 *   GET    /api/registry/models/{name}/versions/{version|alias}/artifact   the ONNX bytes
 *   GET    /api/registry/models/{name}/versions/{version|alias}/metadata   the metadata document
 *   DELETE /api/registry/models/{name}/versions/{version}         (409 while deployed)
 *   PUT    /api/registry/models/{name}/aliases/{alias}   {version}
 *   DELETE /api/registry/models/{name}/aliases/{alias}
 *   GET    /api/registry/deployments
 *   POST   /api/registry/deployments            {ref | dummy:true, routers | router_type | all, force?, exclusive?}
 *   POST   /api/registry/deployments/undeploy   {routers | router_type | all}
 *   POST   /api/registry/deployments/rollback   {routers | router_type | all}
 *   GET    /api/registry/status                                   desired vs actual per worker and router
 *   GET    /registry                                              web page
 *
 * Upload: either JSON `{onnx_base64, metadata?, version?, alias?, router_type?, model_type?,
 * features?, source?}`, or the raw ONNX bytes as `application/octet-stream` with the same
 * options as query parameters and the metadata document (optional when embedded in the ONNX)
 * base64-encoded in the `x-wattflow-metadata` header. `features` is
 * `PacketSize_B:bytes,Throughput_Percentage:fraction` (graph column order).
 * Errors answer `{error, code, detail?}` with the RegistryError's status.
 *
 * Scopes (src/core/auth.ts): every GET (and the page) `read`; create, upload, alias, delete
 * `models:write`; deployments, undeploy, rollback `deploy`. Moving an alias a deployment follows
 * (PUT alias, or an upload with `alias`) redeploys, so it needs `deploy` as well.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { errorAnswer } from '../core/http-limits.js';
import { DEFAULT_MAX_JSON_DEPTH, jsonDepthProblem } from '../core/json-depth.js';
import { callerHas, forbidden } from '../core/auth.js';
import { KNOWN_FEATURE_UNITS, type FeatureSpec } from '../ml/onnx/metadata.js';
import type { DeploymentRecord, DeploymentTarget } from './control.js';
import { RegistryError } from './errors.js';
import { renderRegistryPage } from './page.js';
import type { Registry, UploadOptions } from './registry.js';

/** `A:unit,B:unit` → feature specs (a known feature's unit may be left out). */
export function parseFeatures(spec: string): FeatureSpec[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const [name, unit] = item.split(':').map((x) => x.trim());
      const u = unit ?? (Object.hasOwn(KNOWN_FEATURE_UNITS, name!) ? KNOWN_FEATURE_UNITS[name!] : undefined);
      if (!name || u === undefined) throw new RegistryError('INVALID', `feature "${item}": give NAME:UNIT (e.g. PacketSize_B:bytes)`);
      return { name, unit: u };
    });
}

/** A deployment record without the (large) metadata document. */
export function publicTarget(t: DeploymentTarget | null | undefined): unknown {
  if (!t || t.kind === 'dummy') return t ?? null;
  const { metadata: _m, ...rest } = t;
  return rest;
}

export function publicRecord(r: DeploymentRecord): unknown {
  return { ...r, target: publicTarget(r.target), previous: r.previous === undefined ? undefined : publicTarget(r.previous) };
}

function sendError(reply: FastifyReply, err: unknown): unknown {
  if (err instanceof RegistryError) {
    reply.code(err.status);
    return err.toJSON();
  }
  // not a refusal but a failure: the scope's error handler logs it and answers 500 INTERNAL with the request id (not its message)
  throw err;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function scopeBody(body: unknown): { routers?: string[]; routerType?: string; all?: boolean } {
  const b = (body ?? {}) as Record<string, unknown>;
  const routers = Array.isArray(b.routers) ? b.routers.map(String) : typeof b.routers === 'string' ? b.routers.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  return {
    ...(routers && routers.length ? { routers } : {}),
    ...(str(b.router_type) ? { routerType: str(b.router_type) } : {}),
    ...(b.all === true ? { all: true } : {}),
  };
}

/** Whether a deployment follows NAME@ALIAS (moving the alias then redeploys: it needs scope deploy too). */
export async function aliasDeployed(registry: Registry, name: string, alias: string): Promise<boolean> {
  return (await registry.listDeployments()).some((r) => r.target?.kind === 'model' && r.target.model === name && r.target.alias === alias);
}

/** Options of a raw upload given as query parameters (each once; a repeated one is a 400 naming it). */
const UPLOAD_QUERY_KEYS = ['version', 'alias', 'router_type', 'model_type', 'features', 'source', 'description'] as const;
const UPLOAD_QUERY = { type: 'object', properties: Object.fromEntries(UPLOAD_QUERY_KEYS.map((k) => [k, { type: 'string' }])) };

export interface RegistryApiOptions {
  maxArtifactBytes: number;
}

/** The scope each route needs (src/core/auth.ts): reads, model changes, deployments. */
const READ = { config: { auth: 'read' } } as const;
const MODELS_WRITE = { config: { auth: 'models:write' } } as const;
const DEPLOY = { config: { auth: 'deploy' } } as const;

export function registerRegistryRoutes(app: FastifyInstance, registry: Registry, opts: RegistryApiOptions): void {
  const handle =
    <P>(fn: (req: { params: P; body: unknown; query: Record<string, string | undefined>; headers: Record<string, unknown> }, reply: FastifyReply) => Promise<unknown>) =>
    async (req: { params: unknown; body: unknown; query: unknown; headers: Record<string, unknown> }, reply: FastifyReply) => {
      try {
        return await fn(req as never, reply);
      } catch (err) {
        return sendError(reply, err);
      }
    };

  app.register(async (scope) => {
    // Raw ONNX uploads (only in this plugin's scope; other components keep Fastify's defaults).
    scope.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: opts.maxArtifactBytes }, (_req, body, done) =>
      done(null, body),
    );
    const uploadLimit = Math.ceil(opts.maxArtifactBytes * 1.4) + 1024 * 1024;
    const maxJsonDepth = scope.httpLimits?.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
    // errors Fastify answers for this scope (body too large, malformed JSON, query validation): the server's messages, with the registry's codes
    scope.setErrorHandler((err: FastifyError, req, reply) => {
      const { status, body } = errorAnswer(err, req);
      if (status >= 500) req.log.error({ err, reqId: req.id }, 'registry request failed');
      const code = status === 413 ? 'TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status < 500 ? 'INVALID' : 'INTERNAL';
      void reply.code(status).send({ error: body.error, code, ...(typeof body.code === 'string' && body.code !== code ? { detail: body.code } : {}) });
    });

    scope.get('/api/registry/models', READ, handle(async () => ({ models: await registry.listModels() })));
    scope.post(
      '/api/registry/models', MODELS_WRITE,
      handle(async (req, reply) => {
        const b = (req.body ?? {}) as Record<string, unknown>;
        if (!str(b.name)) throw new RegistryError('INVALID', 'body must be {"name": "...", "description"?: "...", "router_type"?: "..."}');
        const m = await registry.createModel({ name: str(b.name)!, description: str(b.description), router_type: str(b.router_type) });
        reply.code(201);
        return m;
      }),
    );
    scope.get('/api/registry/models/:name', READ, handle<{ name: string }>(async (req) => registry.showModel(req.params.name)));
    scope.delete(
      '/api/registry/models/:name', MODELS_WRITE,
      handle<{ name: string }>(async (req, reply) => {
        await registry.deleteModel(req.params.name);
        reply.code(204);
        return '';
      }),
    );

    scope.post(
      '/api/registry/models/:name/versions',
      { bodyLimit: uploadLimit, ...MODELS_WRITE, schema: { querystring: UPLOAD_QUERY } },
      handle<{ name: string }>(async (req, reply) => {
        let bytes: Uint8Array;
        let o: Record<string, unknown>;
        if (Buffer.isBuffer(req.body)) {
          bytes = new Uint8Array(req.body);
          // the documented options only (a query key such as "metadata" or "__proto__" is not one)
          o = {};
          for (const k of UPLOAD_QUERY_KEYS) if (req.query[k] !== undefined) o[k] = req.query[k];
          const header = req.headers['x-wattflow-metadata'];
          if (typeof header === 'string' && header !== '') {
            const text = Buffer.from(header, 'base64').toString('utf8');
            const deep = jsonDepthProblem(text, maxJsonDepth, 'x-wattflow-metadata');
            if (deep) throw new RegistryError('INVALID', deep);
            try {
              o.metadata = JSON.parse(text);
            } catch {
              throw new RegistryError('INVALID_METADATA', 'x-wattflow-metadata must be base64 of a JSON document');
            }
          }
        } else {
          o = (req.body ?? {}) as Record<string, unknown>;
          if (typeof o.onnx_base64 !== 'string') {
            throw new RegistryError('INVALID', 'upload the ONNX bytes as application/octet-stream, or JSON with "onnx_base64"');
          }
          bytes = new Uint8Array(Buffer.from(o.onnx_base64, 'base64'));
        }
        if (str(o.alias) && !callerHas(reply.request, 'deploy') && (await aliasDeployed(registry, req.params.name, str(o.alias)!))) {
          return forbidden(reply, 'deploy', `moving the deployed alias ${req.params.name}@${str(o.alias)} (it redeploys)`);
        }
        const features = Array.isArray(o.features) ? (o.features as FeatureSpec[]) : str(o.features) ? parseFeatures(str(o.features)!) : undefined;
        const upload: UploadOptions = {
          ...(str(o.version) ? { version: str(o.version) } : {}),
          ...(str(o.alias) ? { alias: str(o.alias) } : {}),
          ...(o.metadata !== undefined ? { metadata: o.metadata } : {}),
          ...(str(o.router_type) ? { routerType: str(o.router_type) } : {}),
          ...(str(o.model_type) ? { modelType: str(o.model_type) } : {}),
          ...(features ? { features } : {}),
          ...(str(o.source) ? { source: str(o.source) } : {}),
          ...(str(o.description) ? { description: str(o.description) } : {}),
        };
        const v = await registry.upload(req.params.name, bytes, upload);
        reply.code(201);
        return v;
      }),
    );
    scope.get(
      '/api/registry/models/:name/versions', READ,
      handle<{ name: string }>(async (req) => ({ versions: (await registry.showModel(req.params.name)).versions })),
    );
    scope.get(
      '/api/registry/models/:name/versions/:ref', READ,
      handle<{ name: string; ref: string }>(async (req) => registry.showVersion(`${req.params.name}@${req.params.ref}`)),
    );
    scope.get(
      '/api/registry/models/:name/versions/:ref/metadata', READ,
      handle<{ name: string; ref: string }>(async (req) => (await registry.showVersion(`${req.params.name}@${req.params.ref}`)).metadata),
    );
    scope.get(
      '/api/registry/models/:name/versions/:ref/artifact', READ,
      handle<{ name: string; ref: string }>(async (req, reply) => {
        const { version, bytes } = await registry.download(`${req.params.name}@${req.params.ref}`);
        reply.header('content-type', 'application/octet-stream');
        reply.header('content-disposition', `attachment; filename="${version.model}-${version.version}.onnx"`);
        reply.header('x-wattflow-sha256', version.sha256);
        reply.header('x-wattflow-version', version.version);
        reply.header('etag', `"${version.sha256}"`);
        return reply.send(Buffer.from(bytes));
      }),
    );
    scope.delete(
      '/api/registry/models/:name/versions/:ref', MODELS_WRITE,
      handle<{ name: string; ref: string }>(async (req) => {
        const { removedAliases } = await registry.deleteVersion(`${req.params.name}@${req.params.ref}`);
        return { deleted: `${req.params.name}@${req.params.ref}`, removed_aliases: removedAliases };
      }),
    );
    scope.put(
      '/api/registry/models/:name/aliases/:alias', MODELS_WRITE,
      handle<{ name: string; alias: string }>(async (req, reply) => {
        const version = str((req.body as Record<string, unknown> | undefined)?.version);
        if (!version) throw new RegistryError('INVALID', 'body must be {"version": "..."}');
        if (!callerHas(reply.request, 'deploy') && (await aliasDeployed(registry, req.params.name, req.params.alias))) {
          return forbidden(reply, 'deploy', `moving the deployed alias ${req.params.name}@${req.params.alias} (it redeploys)`);
        }
        const { redeployed } = await registry.setAlias(req.params.name, req.params.alias, version);
        return { model: req.params.name, alias: req.params.alias, version, redeployed };
      }),
    );
    scope.delete(
      '/api/registry/models/:name/aliases/:alias', MODELS_WRITE,
      handle<{ name: string; alias: string }>(async (req, reply) => {
        await registry.unsetAlias(req.params.name, req.params.alias);
        reply.code(204);
        return '';
      }),
    );

    scope.get('/api/registry/deployments', READ, handle(async () => ({ deployments: (await registry.listDeployments()).map(publicRecord) })));
    scope.post(
      '/api/registry/deployments', DEPLOY,
      handle(async (req, reply) => {
        const b = (req.body ?? {}) as Record<string, unknown>;
        const records = await registry.deploy({
          ...scopeBody(b),
          ...(str(b.ref) ? { ref: str(b.ref) } : {}),
          ...(b.dummy === true ? { dummy: true } : {}),
          ...(b.force === true ? { force: true } : {}),
          ...(b.exclusive === true ? { exclusive: true } : {}),
        });
        reply.code(201);
        return { deployments: records.map(publicRecord) };
      }),
    );
    scope.post('/api/registry/deployments/undeploy', DEPLOY, handle(async (req) => ({ deployments: (await registry.undeploy(scopeBody(req.body))).map(publicRecord) })));
    scope.post('/api/registry/deployments/rollback', DEPLOY, handle(async (req) => ({ deployments: (await registry.rollback(scopeBody(req.body))).map(publicRecord) })));
    scope.get('/api/registry/status', READ, handle(async () => registry.status()));

    scope.get(
      '/registry', READ,
      handle(async (_req, reply) => {
        const [models, status] = await Promise.all([registry.listModels(), registry.status()]);
        reply.header('content-type', 'text/html; charset=utf-8');
        return renderRegistryPage(models, status, registry.artifacts.describe());
      }),
    );
  });
}

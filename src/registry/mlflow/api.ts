/**
 * The MLflow-compatible REST API of the registry (served by role `registry` and `wattflow up`
 * beside wattflow's own API): a subset of MLflow's `model_registry.proto` and `service.proto`
 * under `/api/2.0/mlflow/…` and the artifact proxy of `mlflow_artifacts.proto` under
 * `/api/2.0/mlflow-artifacts/artifacts[/path]`, with MLflow's JSON shapes (int64 timestamps as
 * numbers, empty lists and unset fields left out), MLflow's `{error_code, message}` errors and
 * HTTP statuses, and unknown request fields ignored as MLflow does. GET requests take their
 * fields from the query string (a repeated field as repeated keys), the others from a JSON body.
 *
 *   registered-models/create · get · search · get-latest-versions (GET|POST) · delete · update
 *   registered-models/set-tag · delete-tag · alias (POST set, GET get-by-alias, DELETE)
 *   model-versions/create · get · search · get-download-uri · update · delete · set-tag · delete-tag
 *   experiments/get-by-name · get · create
 *   runs/create · get · update · log-metric · log-parameter · set-tag · delete-tag · log-batch
 *        · log-model · log-inputs (stored on the run; GetRun returns params, latest metrics, tags)
 *   mlflow-artifacts: GET …/artifacts?path=P (list), GET|PUT|DELETE …/artifacts/<path>
 *
 * Any other `/api/2.0/mlflow/…` path answers ENDPOINT_NOT_FOUND (404) naming the supported
 * ones. Scopes (src/core/auth.ts): reads `read`; creates, updates, deletes, runs and artifact
 * uploads `models:write`; moving an alias a deployment follows also `deploy`. Refusals of the
 * auth hook (401/403) are answered in MLflow's shape too (UNAUTHENTICATED, PERMISSION_DENIED).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorAnswer } from '../../core/http-limits.js';
import { callerHas } from '../../core/auth.js';
import type { ArtifactStore } from '../artifact-store.js';
import type { Registry } from '../registry.js';
import type { KvLike } from '../catalog.js';
import { aliasDeployed } from '../api.js';
import { asMlflowError, invalidParam, missingParam, MlflowError } from './errors.js';
import { MlflowService } from './service.js';
import { MlflowCatalog, type KeyValue } from './catalog.js';

export interface MlflowApiOptions {
  kv: KvLike;
  artifacts: ArtifactStore;
  maxArtifactBytes: number;
}

const READ = { config: { auth: 'read' } } as const;
const WRITE = { config: { auth: 'models:write' } } as const;

export const MLFLOW_PREFIX = '/api/2.0/mlflow';
export const ARTIFACTS_PREFIX = '/api/2.0/mlflow-artifacts/artifacts';

type Params = Record<string, unknown>;

/**
 * The request's fields: the query string, then (for a body that is a JSON object) the body over
 * it. Field names are the proto's (`run_id`) or, as protobuf's JSON mapping also allows and
 * MLflow's server accepts, their lowerCamelCase JSON names (`runId`, what the Java client sends).
 */
function fieldsOf(req: FastifyRequest): Params {
  const q = (req.query ?? {}) as Params;
  const b = req.body;
  const all = b && typeof b === 'object' && !Array.isArray(b) && !Buffer.isBuffer(b) ? { ...q, ...(b as Params) } : { ...q };
  const out: Params = Object.create(null) as Params;
  for (const [k, v] of Object.entries(all)) {
    const snake = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (snake === k || !Object.hasOwn(all, snake)) out[snake] = v;
  }
  return out;
}

function str(p: Params, name: string, required: true): string;
function str(p: Params, name: string, required?: false): string | undefined;
function str(p: Params, name: string, required = false): string | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === '') {
    if (required) throw missingParam(name);
    return undefined;
  }
  if (typeof v !== 'string') throw invalidParam(name, v, 'a string');
  return v;
}

function int(p: Params, name: string, dflt?: number): number | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === '') return dflt;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw invalidParam(name, v, 'an integer');
  return n;
}

function num(v: unknown, name: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(v)) return Number(v);
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  throw invalidParam(name, v, 'a number');
}

function strList(p: Params, name: string): string[] {
  const v = p[name];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x, i) => {
    if (typeof x !== 'string') throw invalidParam(`${name}[${i}]`, x, 'a string');
    return x;
  });
}

function keyValues(p: Params, name: string): KeyValue[] {
  const v = p[name];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidParam(name, v, 'a list of {key, value}');
  return v.map((t, i) => {
    if (!t || typeof t !== 'object') throw invalidParam(`${name}[${i}]`, t, 'an object {key, value}');
    const key = (t as Params).key;
    const value = (t as Params).value ?? '';
    if (typeof key !== 'string' || key === '') throw missingParam(`${name}[${i}].key`);
    if (typeof value !== 'string') throw invalidParam(`${name}[${i}].value`, value, 'a string');
    return { key, value };
  });
}

function metricsOf(p: Params, name: string): Array<{ key: string; value: number; timestamp: number; step: number }> {
  const v = p[name];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidParam(name, v, 'a list of {key, value, timestamp, step}');
  return v.map((m, i) => {
    const o = (m ?? {}) as Params;
    return { key: str(o, 'key', true), value: num(o.value, `${name}[${i}].value`), timestamp: int(o, 'timestamp', Date.now())!, step: int(o, 'step', 0)! };
  });
}

const runIdOf = (p: Params): string => str(p, 'run_id') ?? str(p, 'run_uuid') ?? (() => { throw missingParam('run_id'); })();

/** The routes of the MLflow-compatible API (see the module comment). */
export function registerMlflowRoutes(app: FastifyInstance, registry: Registry, opts: MlflowApiOptions): MlflowService {
  const svc = new MlflowService({ registry, catalog: new MlflowCatalog(opts.kv), artifacts: opts.artifacts, maxArtifactBytes: opts.maxArtifactBytes });

  const send = (reply: FastifyReply, err: unknown): unknown => {
    const e = asMlflowError(err);
    if (e instanceof MlflowError) {
      reply.code(e.status);
      return e.toJSON();
    }
    throw err; // a failure: the scope's error handler logs it and answers INTERNAL_ERROR with the request id
  };
  const handle =
    (fn: (p: Params, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        return await fn(fieldsOf(req), req, reply);
      } catch (err) {
        return send(reply, err);
      }
    };

  /** MLflow's shape for what the server answers before a handler (auth hook, body parsing, errors). */
  const mlflowScope = (scope: FastifyInstance) => {
    scope.setErrorHandler((err: FastifyError, req, reply) => {
      const { status, body } = errorAnswer(err, req);
      if (status >= 500) req.log.error({ err, reqId: req.id }, 'MLflow API request failed');
      const code = status >= 500 ? 'INTERNAL_ERROR' : /JSON/i.test(String(body.code ?? '')) ? 'MALFORMED_REQUEST' : 'BAD_REQUEST';
      void reply.code(status).send({ error_code: code, message: String(body.error) });
    });
    scope.addHook('onSend', async (_req, reply, payload) => {
      if ((reply.statusCode === 401 || reply.statusCode === 403) && typeof payload === 'string') {
        try {
          const b = JSON.parse(payload) as { error?: unknown; error_code?: unknown };
          if (typeof b.error === 'string' && b.error_code === undefined) {
            return JSON.stringify({ error_code: reply.statusCode === 401 ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED', message: b.error });
          }
        } catch {
          // not JSON: as it is
        }
      }
      return payload;
    });
  };

  const routes: string[] = [];
  app.register(async (scope) => {
    mlflowScope(scope);
    const R = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, auth: typeof READ | typeof WRITE, fn: (p: Params, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => {
      routes.push(`${method} ${path}`);
      scope.route({ method, url: `${MLFLOW_PREFIX}/${path}`, ...auth, handler: handle(fn) });
    };

    // ---------------------------------------------------------- registered models
    R('POST', 'registered-models/create', WRITE, async (p) => ({
      registered_model: await svc.createRegisteredModel(str(p, 'name', true), str(p, 'description'), keyValues(p, 'tags')),
    }));
    R('GET', 'registered-models/get', READ, async (p) => ({ registered_model: await svc.registeredModelJson(await svc.model(str(p, 'name', true))) }));
    R('GET', 'registered-models/search', READ, async (p) => svc.searchRegisteredModels(str(p, 'filter'), int(p, 'max_results', 100)!, strList(p, 'order_by'), str(p, 'page_token')));
    const latest = async (p: Params) => {
      const versions = await svc.getLatestVersions(str(p, 'name', true), strList(p, 'stages'));
      return versions.length ? { model_versions: versions } : {};
    };
    R('GET', 'registered-models/get-latest-versions', READ, latest);
    R('POST', 'registered-models/get-latest-versions', READ, latest);
    R('DELETE', 'registered-models/delete', WRITE, async (p) => {
      await svc.deleteRegisteredModel(str(p, 'name', true));
      return {};
    });
    R('PATCH', 'registered-models/update', WRITE, async (p) => ({ registered_model: await svc.updateRegisteredModel(str(p, 'name', true), str(p, 'description') ?? (p.description === '' ? '' : undefined)) }));
    R('POST', 'registered-models/set-tag', WRITE, async (p) => {
      await svc.setTag(str(p, 'name', true), str(p, 'key', true), str(p, 'value') ?? '');
      return {};
    });
    R('DELETE', 'registered-models/delete-tag', WRITE, async (p) => {
      await svc.deleteTag(str(p, 'name', true), str(p, 'key', true));
      return {};
    });
    R('POST', 'registered-models/alias', WRITE, async (p, req) => {
      const name = str(p, 'name', true);
      const alias = str(p, 'alias', true);
      const version = str(p, 'version', true);
      await svc.model(name);
      if (!callerHas(req, 'deploy') && (await aliasDeployed(registry, name, alias))) {
        throw new MlflowError('PERMISSION_DENIED', `moving the deployed alias ${name}@${alias} (it redeploys) needs scope "deploy"; token "${req.caller?.name ?? 'anonymous'}" has ${[...(req.caller?.scopes ?? [])].join(', ') || 'none'}`);
      }
      await svc.version(name, version);
      await registry.setAlias(name, alias, version);
      return {};
    });
    R('GET', 'registered-models/alias', READ, async (p) => ({ model_version: await svc.getByAlias(str(p, 'name', true), str(p, 'alias', true)) }));
    R('DELETE', 'registered-models/alias', WRITE, async (p) => {
      const name = str(p, 'name', true);
      const alias = str(p, 'alias', true);
      const m = await svc.model(name);
      if (!Object.hasOwn(m.aliases, alias)) throw new MlflowError('INVALID_PARAMETER_VALUE', `Registered model alias ${alias} not found.`);
      await registry.unsetAlias(name, alias);
      return {};
    });

    // ---------------------------------------------------------- model versions
    R('POST', 'model-versions/create', WRITE, async (p, req) => ({
      model_version: await svc.createModelVersion({
        name: str(p, 'name', true),
        source: str(p, 'source', true),
        ...(str(p, 'run_id') ? { run_id: str(p, 'run_id') } : {}),
        ...(str(p, 'run_link') ? { run_link: str(p, 'run_link') } : {}),
        ...(str(p, 'description') ? { description: str(p, 'description') } : {}),
        tags: keyValues(p, 'tags'),
        caller: req.caller ?? null,
      }),
    }));
    R('GET', 'model-versions/get', READ, async (p) => ({ model_version: await svc.getModelVersion(str(p, 'name', true), str(p, 'version', true)) }));
    R('GET', 'model-versions/search', READ, async (p) => svc.searchModelVersions(str(p, 'filter'), int(p, 'max_results', 200_000)!, strList(p, 'order_by'), str(p, 'page_token')));
    R('GET', 'model-versions/get-download-uri', READ, async (p) => {
      const { m, v } = await svc.version(str(p, 'name', true), str(p, 'version', true));
      return { artifact_uri: svc.downloadUri(m.name, v.version) };
    });
    R('PATCH', 'model-versions/update', WRITE, async (p) => ({
      model_version: await svc.updateModelVersion(str(p, 'name', true), str(p, 'version', true), str(p, 'description') ?? (p.description === '' ? '' : undefined)),
    }));
    R('DELETE', 'model-versions/delete', WRITE, async (p) => {
      await svc.deleteModelVersion(str(p, 'name', true), str(p, 'version', true));
      return {};
    });
    R('POST', 'model-versions/set-tag', WRITE, async (p) => {
      await svc.setVersionTag(str(p, 'name', true), str(p, 'version', true), str(p, 'key', true), str(p, 'value') ?? '');
      return {};
    });
    R('DELETE', 'model-versions/delete-tag', WRITE, async (p) => {
      await svc.setVersionTag(str(p, 'name', true), str(p, 'version', true), str(p, 'key', true), undefined);
      return {};
    });

    // ---------------------------------------------------------- experiments and runs (the minimum a client needs to log a model)
    R('GET', 'experiments/get-by-name', READ, async (p) => ({ experiment: svc.tracking.experimentJson(await svc.tracking.experimentByName(str(p, 'experiment_name', true))) }));
    R('GET', 'experiments/get', READ, async (p) => ({ experiment: svc.tracking.experimentJson(await svc.tracking.experiment(str(p, 'experiment_id', true))) }));
    R('POST', 'experiments/create', WRITE, async (p) => ({ experiment_id: await svc.tracking.createExperiment(str(p, 'name', true), keyValues(p, 'tags')) }));
    R('POST', 'runs/create', WRITE, async (p) => {
      const run = await svc.tracking.createRun({
        experiment_id: str(p, 'experiment_id') ?? '0',
        ...(str(p, 'user_id') ? { user_id: str(p, 'user_id') } : {}),
        ...(str(p, 'run_name') ? { run_name: str(p, 'run_name') } : {}),
        ...(int(p, 'start_time') !== undefined ? { start_time: int(p, 'start_time') } : {}),
        tags: keyValues(p, 'tags'),
      });
      return { run: svc.tracking.runJson(run) };
    });
    R('GET', 'runs/get', READ, async (p) => ({ run: svc.tracking.runJson(await svc.tracking.run(runIdOf(p))) }));
    R('POST', 'runs/update', WRITE, async (p) => {
      const r = await svc.tracking.updateRun(runIdOf(p), {
        ...(str(p, 'status') ? { status: str(p, 'status') } : {}),
        ...(int(p, 'end_time') !== undefined ? { end_time: int(p, 'end_time') } : {}),
        ...(str(p, 'run_name') ? { run_name: str(p, 'run_name') } : {}),
      });
      return { run_info: svc.tracking.runJson(r).info };
    });
    R('POST', 'runs/log-metric', WRITE, async (p) => {
      await svc.tracking.logToRun(runIdOf(p), { metrics: [{ key: str(p, 'key', true), value: num(p.value, 'value'), timestamp: int(p, 'timestamp', Date.now())!, step: int(p, 'step', 0)! }] });
      return {};
    });
    R('POST', 'runs/log-parameter', WRITE, async (p) => {
      await svc.tracking.logToRun(runIdOf(p), { params: [{ key: str(p, 'key', true), value: str(p, 'value') ?? '' }] });
      return {};
    });
    R('POST', 'runs/set-tag', WRITE, async (p) => {
      await svc.tracking.logToRun(runIdOf(p), { tags: [{ key: str(p, 'key', true), value: str(p, 'value') ?? '' }] });
      return {};
    });
    R('POST', 'runs/delete-tag', WRITE, async (p) => {
      await svc.tracking.logToRun(runIdOf(p), { deleteTag: str(p, 'key', true) });
      return {};
    });
    R('POST', 'runs/log-batch', WRITE, async (p) => {
      await svc.tracking.logToRun(runIdOf(p), { metrics: metricsOf(p, 'metrics'), params: keyValues(p, 'params'), tags: keyValues(p, 'tags') });
      return {};
    });
    R('POST', 'runs/log-model', WRITE, async (p) => {
      const json = str(p, 'model_json', true);
      let model: unknown;
      try {
        model = JSON.parse(json);
      } catch {
        throw invalidParam('model_json', json.slice(0, 100), 'a JSON document (the MLmodel)');
      }
      await svc.tracking.logToRun(runIdOf(p), { model });
      return {};
    });
    R('POST', 'runs/log-inputs', WRITE, async (p) => {
      await svc.tracking.run(runIdOf(p)); // datasets are not kept: accepted so that a client logging them goes on
      return {};
    });

    // anything else under the prefix: MLflow's ENDPOINT_NOT_FOUND, naming what is served
    scope.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: `${MLFLOW_PREFIX}/*`, ...READ, handler: async (req, reply) => {
      reply.code(404);
      return {
        error_code: 'ENDPOINT_NOT_FOUND',
        message: `${req.method} ${req.url.split('?')[0]!.slice(0, 200)} is not part of wattflow's MLflow API subset (served: ${routes.join(', ')}; docs/registry.md)`,
      };
    } });
  });

  // ---------------------------------------------------------- the artifact proxy (own scope: any content type is the file's bytes)
  app.register(async (scope) => {
    mlflowScope(scope);
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: opts.maxArtifactBytes }, (_req, body, done) => done(null, body));
    const pathOf = (req: FastifyRequest) => (req.params as { '*'?: string })['*'] ?? '';
    scope.get(ARTIFACTS_PREFIX, READ, handle(async (p) => {
      const files = await svc.artifactProxy.listArtifacts(str(p, 'path') ?? '');
      return files.length ? { files } : {};
    }));
    scope.get(`${ARTIFACTS_PREFIX}/*`, READ, handle(async (_p, req, reply) => {
      const { bytes, contentType } = await svc.artifactProxy.getArtifact(pathOf(req));
      reply.header('content-type', contentType);
      return reply.send(Buffer.from(bytes));
    }));
    scope.put(`${ARTIFACTS_PREFIX}/*`, { ...WRITE, bodyLimit: opts.maxArtifactBytes }, handle(async (_p, req) => {
      const body = req.body;
      const bytes = Buffer.isBuffer(body) ? new Uint8Array(body) : new Uint8Array(0);
      await svc.artifactProxy.putArtifact(pathOf(req), bytes);
      return {};
    }));
    scope.delete(`${ARTIFACTS_PREFIX}/*`, WRITE, handle(async (_p, req) => {
      await svc.artifactProxy.deleteArtifact(pathOf(req));
      return {};
    }));
  });
  return svc;
}

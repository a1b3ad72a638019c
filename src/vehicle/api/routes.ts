/**
 * The Vehicle API's HTTP routes (role `vehicle-api`, and part of `wattflow up`):
 *
 *   POST /v1/vehicles/{vehicle_id}/measurements   one measurement, an array, {measurements}, or NDJSON
 *   GET  /api/vehicles                            vehicles with their latest vector time and score
 *   GET  /api/vehicles/{id}/latest                latest vector, prediction and raw value per signal
 *   GET  /api/vehicles/{id}/series?signal=&from=&to=&limit=   raw measurements of one signal
 *   GET  /api/vehicle-signals                     the signal catalog
 *
 * Ingest needs scope `ingest`, every read `read` (src/core/auth.ts; the legacy VEHICLE_API_TOKEN is
 * a token with both). Ingest answers 400 (malformed body, with the reason), 401/403 (token),
 * 413 (body or measurement count over the limit), 415, 429 (per-vehicle rate, Retry-After) and
 * 503 (node-local Redis or predictor unavailable: nothing is stored, retry later).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorAnswer } from '../../core/http-limits.js';
import { DEFAULT_MAX_JSON_DEPTH } from '../../core/json-depth.js';
import { isDateMs, MAX_DATE_MS, parseTime } from '../../core/time.js';
import type { Component } from '../../core/component.js';
import type { Logger } from '../../core/logger.js';
import { normalizeSignalName, SIGNAL_ID_PATTERN, type SignalCatalog } from '../catalog/signals.js';
import type { VehicleConfig } from '../config.js';
import { StoreError, type IngestService } from '../ingest/ingest-service.js';
import { BodyError, decodeBody, type BodyFormat } from '../ingest/measurements.js';
import { VehicleRateLimiter } from '../ingest/rate-limit.js';
import { ingestRequests, ingestSeconds, unavailableTotal } from '../metrics.js';
import { VEHICLE_ID_PATTERN, type VehicleStore } from '../store/store.js';

export interface VehicleApiOptions {
  cfg: VehicleConfig;
  store: VehicleStore;
  ingest: IngestService;
  catalog: SignalCatalog;
  logger: Logger;
  name?: string;
}

const JSON_TYPES = ['application/json'];
const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines', 'application/jsonlines'];
const MAX_SERIES_LIMIT = 10_000;
const MAX_LISTED_VEHICLES = 1000;
/** Reads need scope `read`, ingest `ingest` (src/core/auth.ts; VEHICLE_API_TOKEN is a token with both). */
const READ = { config: { auth: 'read' } } as const;

function formatOf(contentType: string | undefined): BodyFormat | undefined {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (JSON_TYPES.includes(t)) return 'json';
  if (NDJSON_TYPES.includes(t)) return 'ndjson';
  return undefined;
}

/** Query time: epoch seconds or ms, or an ISO 8601 date (core/time.ts), within the range of a Date. */
function parseQueryTime(raw: string | undefined, fallback: number): number | string {
  if (raw === undefined || raw === '') return fallback;
  const shown = raw.slice(0, 100);
  const t = parseTime(raw, { signed: true });
  if (t === undefined) return `invalid time "${shown}" (epoch seconds, epoch ms or ISO 8601)`;
  const ms = Math.round(t);
  return isDateMs(ms) ? ms : `time "${shown}" is outside the range of dates (±${MAX_DATE_MS} ms from 1970)`;
}

/** Query parameters are each given once (a repeated one is a 400 naming it); limits are integers in range. */
const LIMIT_QUERY = { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: MAX_SERIES_LIMIT } } } as const;
const SERIES_QUERY = {
  type: 'object',
  properties: { signal: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: MAX_SERIES_LIMIT } },
} as const;

export function createVehicleApi(o: VehicleApiOptions): Component {
  const api = o.cfg.api;
  const limiter = new VehicleRateLimiter(api.rateLimit.measurementsPerSecond, api.rateLimit.burst);
  const log = o.logger.child({ component: 'vehicle-api' });

  const fail = (reply: FastifyReply, status: number, error: string, extra: Record<string, unknown> = {}) => {
    ingestRequests.inc({ status: String(status) });
    reply.code(status);
    return { error, ...extra };
  };

  const storeUnavailable = (reply: FastifyReply): { error: string } | undefined => {
    const s = o.store.available();
    if (s === true) return undefined;
    reply.code(503).header('retry-after', '1');
    return { error: s };
  };

  /** The server's JSON depth limit (http.maxJsonDepth): the ingest body is decoded here, not by the server's JSON parser. */
  let maxJsonDepth = DEFAULT_MAX_JSON_DEPTH;

  const ingestRoute = async (req: FastifyRequest<{ Params: { vehicleId: string } }>, reply: FastifyReply) => {
    const started = performance.now();
    const { vehicleId } = req.params;
    if (!VEHICLE_ID_PATTERN.test(vehicleId)) return fail(reply, 400, `invalid vehicle id "${vehicleId}": 1-64 characters of A-Z a-z 0-9 _ . : - (starting with a letter or digit)`);
    const format = formatOf(req.headers['content-type']);
    if (!format) return fail(reply, 415, `unsupported content type "${req.headers['content-type'] ?? ''}": use application/json or application/x-ndjson`);
    let items: unknown[];
    try {
      items = decodeBody(typeof req.body === 'string' ? req.body : '', format, api.maxMeasurementsPerRequest, maxJsonDepth);
    } catch (err) {
      if (err instanceof BodyError) return fail(reply, err.statusCode, err.message);
      throw err;
    }
    const avail = o.ingest.available();
    if (!avail.ok) {
      unavailableTotal.inc({ dependency: avail.dependency });
      reply.header('retry-after', '1');
      return fail(reply, 503, `${avail.reason}; nothing was stored, retry later`);
    }
    const rate = limiter.take(vehicleId, items.length);
    if (!rate.ok) {
      reply.header('retry-after', String(rate.retryAfterS));
      return fail(reply, 429, `rate limit of ${api.rateLimit.measurementsPerSecond} measurements/s for vehicle ${vehicleId} exceeded; retry in ${rate.retryAfterS} s`);
    }
    let result;
    try {
      result = await o.ingest.ingest(vehicleId, items);
    } catch (err) {
      if (!(err instanceof StoreError)) throw err; // a bug, not the store: 500 (logged), not "retry later"
      log.warn({ err: err.message, vehicleId }, 'ingest failed (store)');
      unavailableTotal.inc({ dependency: 'redis' });
      reply.header('retry-after', '1');
      return fail(reply, 503, `could not store the measurements (${err.message}); retry later`);
    }
    ingestRequests.inc({ status: '200' });
    ingestSeconds.observe((performance.now() - started) / 1000);
    return result;
  };

  const routes = async (app: FastifyInstance) => {
    maxJsonDepth = app.httpLimits?.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
    await app.register(async (scope) => {
      // the ingest body is read as text and decoded by decodeBody (400 with the reason, NDJSON line numbers)
      scope.removeContentTypeParser(['application/json']);
      scope.addContentTypeParser([...JSON_TYPES, ...NDJSON_TYPES], { parseAs: 'string', bodyLimit: api.bodyLimitBytes }, (_req, body, done) => done(null, body));
      scope.setErrorHandler((err: FastifyError, req, reply) => {
        // the server's answers (src/core/http-limits.ts: 413 with the limit, 415 with the type, no internal message on a 500), counted
        const { status, body } = errorAnswer(err, req);
        if (status >= 500) log.error({ err, reqId: req.id }, 'ingest request failed');
        ingestRequests.inc({ status: String(status) });
        void reply.code(status).send(body);
      });
      scope.post('/v1/vehicles/:vehicleId/measurements', { bodyLimit: api.bodyLimitBytes, config: { auth: 'ingest' } }, ingestRoute);
    });

    app.get('/api/vehicle-signals', READ, async () => ({
      signals: o.catalog.signals.map((s) => ({ id: s.id, name: s.name, unit: s.unit, min: s.min, max: s.max, kind: s.kind, pid: s.pid ?? null, aliases: s.aliases })),
    }));

    // vectors the predictor refused (push mode) and invalid entries read from the vector stream or channel (pull modes), newest first, with the reason
    app.get('/api/vehicle-dead-letters', { ...READ, schema: { querystring: LIMIT_QUERY } }, async (req: FastifyRequest<{ Querystring: { limit?: string } }>, reply) => {
      const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SERIES_LIMIT) return reply.code(400).send({ error: `limit must be an integer 1..${MAX_SERIES_LIMIT}` });
      const down = storeUnavailable(reply);
      if (down) return down;
      const entries = await o.store.deadLetters(limit);
      return { count: entries.length, deadLetters: entries.map((e) => ({ at: new Date(e.atMs).toISOString(), reason: e.reason, vector: e.vector, ...(e.raw !== undefined ? { raw: e.raw } : {}) })) };
    });

    app.get('/api/vehicles', READ, async (_req, reply) => {
      const down = storeUnavailable(reply);
      if (down) return down;
      const ids = await o.store.listVehicles();
      const shown = ids.slice(0, MAX_LISTED_VEHICLES);
      const vehicles = await Promise.all(
        shown.map(async (id) => {
          const [v, p] = await Promise.all([o.store.getLatestVector(id), o.store.getLatestPrediction(id)]);
          return { id, latestTs: v?.ts ?? null, score: p?.score ?? null, label: p?.label ?? null, flags: v?.flags.map((f) => f.rule) ?? [] };
        }),
      );
      return { count: ids.length, truncated: ids.length > shown.length, vehicles };
    });

    app.get('/api/vehicles/:vehicleId/latest', READ, async (req: FastifyRequest<{ Params: { vehicleId: string } }>, reply) => {
      const { vehicleId } = req.params;
      if (!VEHICLE_ID_PATTERN.test(vehicleId)) return reply.code(400).send({ error: `invalid vehicle id "${vehicleId}"` });
      const down = storeUnavailable(reply);
      if (down) return down;
      const [vector, prediction, measurements] = await Promise.all([
        o.store.getLatestVector(vehicleId),
        o.store.getLatestPrediction(vehicleId),
        o.store.latestMeasurements(vehicleId),
      ]);
      if (!vector && Object.keys(measurements).length === 0) return reply.code(404).send({ error: `no data for vehicle ${vehicleId}` });
      return { vehicleId, vector: vector ?? null, prediction: prediction ?? null, measurements };
    });

    app.get(
      '/api/vehicles/:vehicleId/series',
      { ...READ, schema: { querystring: SERIES_QUERY } },
      async (req: FastifyRequest<{ Params: { vehicleId: string }; Querystring: { signal?: string; from?: string; to?: string; limit?: string } }>, reply) => {
        const { vehicleId } = req.params;
        if (!VEHICLE_ID_PATTERN.test(vehicleId)) return reply.code(400).send({ error: `invalid vehicle id "${vehicleId}"` });
        const q = req.query;
        if (!q.signal) return reply.code(400).send({ error: 'query parameter signal is required' });
        const def = o.catalog.resolve(q.signal);
        const signal = def?.id ?? normalizeSignalName(q.signal);
        if (!def && !SIGNAL_ID_PATTERN.test(signal)) return reply.code(400).send({ error: `invalid signal "${q.signal}"` });
        const from = parseQueryTime(q.from, -Infinity);
        const to = parseQueryTime(q.to, Infinity);
        if (typeof from === 'string') return reply.code(400).send({ error: `query parameter "from": ${from}` });
        if (typeof to === 'string') return reply.code(400).send({ error: `query parameter "to": ${to}` });
        const limit = q.limit === undefined ? 1000 : Number(q.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SERIES_LIMIT) return reply.code(400).send({ error: `limit must be an integer 1..${MAX_SERIES_LIMIT}` });
        const down = storeUnavailable(reply);
        if (down) return down;
        const points = await o.store.series(vehicleId, signal, from, to, limit);
        return { vehicleId, signal, unit: def?.unit ?? null, points };
      },
    );
  };

  return {
    name: o.name ?? 'vehicle-api',
    routes,
    async start() {
      o.ingest.start();
    },
    async stop() {
      await o.ingest.stop();
    },
    ready() {
      const a = o.ingest.available();
      return a.ok ? true : a.reason;
    },
  };
}

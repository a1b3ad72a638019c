/**
 * The router API (role `api`): routers with their latest state, the last ML message of a
 * router, and a router's history of one metric — read from the time-series store that the
 * store sink fills from the ML topics.
 *   GET /api/routers
 *   GET /api/routers/{id}/latest
 *   GET /api/routers/{id}/series?metric=power&from=-1h&to=now[&limit=N][&points=N]
 * `points` downsamples on the server (the web UI's charts): at most N points, one per equal
 * time bucket with the bucket's mean as `value` plus `min` and `max` (src/api/downsample.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { Component } from '../core/component.js';
import type { ExperimentSource } from '../router-power/experiment.js';
import type { TimeSeriesStore } from '../storage/index.js';
import { parseTimeParam } from './time-query.js';
import { downsample } from './downsample.js';

export const ROUTER_METRICS = [
  'power',
  'occupation',
  'packet_length',
  'packet_rate',
  'byte_rate_mbps',
  'power_rate_occupation',
  'power_rate_packet_length',
] as const;

export const routerSeries = (id: string) => `router/${id}`;

/** The series query: each parameter once (a repeated one is a 400 naming it), limit an integer 1..1,000,000. */
const SERIES_QUERY = {
  type: 'object',
  properties: {
    metric: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    limit: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    points: { type: 'integer', minimum: 2, maximum: 10_000 },
  },
} as const;

/** Rows read for a downsampled series when no limit is given (a day at one point per second is 86,400). */
const DOWNSAMPLE_READ_LIMIT = 200_000;

export function createRouterApi(opts: { store: TimeSeriesStore; experiment: ExperimentSource }): Component {
  return {
    name: 'router-api',
    routes(app: FastifyInstance) {
      app.get('/api/routers', { config: { auth: 'read' } }, async () => {
        const exp = opts.experiment.current;
        const known = new Map((await opts.store.listSeries('router/')).map((s) => [s.series, s]));
        const routers = await Promise.all(
          exp.routers.map(async (r) => {
            const latest = known.has(routerSeries(r.id)) ? await opts.store.latest(routerSeries(r.id)) : undefined;
            return {
              id: r.id,
              topic: r.topic,
              interfaces: r.interfaces,
              router_type: r.routerType,
              model_type: r.modelType,
              source: r.source,
              latest: latest ? { time: new Date(latest.tsMs).toISOString(), ...latest.fields } : null,
            };
          }),
        );
        return { experiment_id: exp.experimentId, polling_interval: exp.pollingInterval, routers };
      });

      app.get<{ Params: { id: string } }>('/api/routers/:id/latest', { config: { auth: 'read' } }, async (req, reply) => {
        const latest = await opts.store.latest(routerSeries(req.params.id));
        if (!latest?.doc) {
          reply.code(404);
          return { error: `no prediction yet for router "${req.params.id}"` };
        }
        reply.header('content-type', 'application/json; charset=utf-8');
        return latest.doc;
      });

      app.get<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>('/api/routers/:id/series', { config: { auth: 'read' }, schema: { querystring: SERIES_QUERY } }, async (req, reply) => {
        const q = req.query;
        const metric = q.metric ?? 'power';
        if (!(ROUTER_METRICS as readonly string[]).includes(metric)) {
          reply.code(400);
          return { error: `unknown metric "${metric}"`, metrics: ROUTER_METRICS };
        }
        const now = Date.now();
        const from = parseTimeParam(q.from, now - 3_600_000, now);
        const to = parseTimeParam(q.to, now, now);
        if (typeof from !== 'number' || typeof to !== 'number') {
          reply.code(400);
          return { error: typeof from !== 'number' ? `query parameter "from": ${from.error}` : `query parameter "to": ${(to as { error: string }).error}` };
        }
        const buckets = q.points === undefined ? undefined : Number(q.points);
        const limit = q.limit === undefined ? (buckets ? DOWNSAMPLE_READ_LIMIT : 10_000) : Number(q.limit);
        const points = await opts.store.range(routerSeries(req.params.id), metric, from, to, limit);
        const head = { router: req.params.id, metric, from: new Date(from).toISOString(), to: new Date(to).toISOString() };
        if (buckets !== undefined && points.length > buckets) {
          const reduced = downsample(points, from, to, buckets);
          return { ...head, downsampled: { rows: points.length, points: reduced.length }, points: reduced.map((p) => ({ time: new Date(p.tsMs).toISOString(), t: p.tsMs, value: p.value, min: p.min, max: p.max })) };
        }
        return { ...head, points: points.map((p) => ({ time: new Date(p.tsMs).toISOString(), t: p.tsMs, value: p.value })) };
      });
    },
  };
}

/**
 * The built-in web UI (served by `wattflow up` and `wattflow api` at `/`; docs/ui.md):
 *
 *   GET /                                  the page (public: it holds no data; it asks for a token when the server wants one)
 *   GET /ui/{version}/{file}               its scripts, styles and uPlot (public, immutable)
 *   GET /api/ui/info                       what this process serves (read)
 *   GET /api/ui/stream                     Server-Sent Events: router, vehicle, health, energy, deadletter, … (read)
 *   GET /api/ui/fleet                      every router: sortable, filtered, paged, with sparklines downsampled here (read)
 *   GET /api/ui/health                     pipeline health now and its recent history (read)
 *   GET /api/ui/energy                     energy now and its recent history (read)
 *   GET /api/ui/dead-letters               the newest dead letters of the pipeline's topics (read)
 *   GET /api/ui/vehicles/{id}/scores       a vehicle's anomaly score over time, downsampled (read)
 *
 * Router history comes from `GET /api/routers/{id}/series?points=N` (the router API,
 * downsampled there), the registry's from `/api/registry/…`, vehicles' from `/api/vehicles/…`.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Component } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import type { Fabric } from '../fabric/fabric.js';
import type { ExperimentSource } from '../router-power/experiment.js';
import type { EnergyConfig } from '../energy/config.js';
import type { InfluxConfig } from '../sinks/config.js';
import type { TimeSeriesStore } from '../storage/types.js';
import { parseTimeParam } from '../api/time-query.js';
import type { Scored } from '../vehicle/predictor/sinks.js';
import { vehicleSeries } from '../vehicle/predictor/sinks.js';
import { VEHICLE_ID_PATTERN } from '../vehicle/store/store.js';
import { uiDefaults, type UiConfig } from './config.js';
import { downsample } from '../api/downsample.js';
import { EnergySampler } from './energy.js';
import { FLEET_QUERY, fleetPage, type FleetQuery } from './fleet.js';
import { HealthSampler } from './health.js';
import { LiveHub } from './hub.js';
import { CHANNELS, type Channel, type StreamFilter } from './stream-client.js';
import { influxSelect, influxString } from './influx-query.js';
import { loadStaticBundle, type StaticBundle, type StaticFile } from './static-files.js';

export { LiveHub } from './hub.js';

const PUBLIC = { config: { auth: 'public' } } as const;
const READ = { config: { auth: 'read' } } as const;

const VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

/** Router ids in natural order (r2 before r10); one collator, not one per comparison. */
const ID_LIST = { type: 'string', maxLength: 100_000 } as const;
const STREAM_QUERY = { type: 'object', properties: { routers: ID_LIST, vehicles: ID_LIST, channels: { type: 'string', maxLength: 200 } } } as const;
const DEAD_LETTER_QUERY = { type: 'object', properties: { stage: { type: 'string', maxLength: 100 }, limit: { type: 'integer', minimum: 1, maximum: 10_000 } } } as const;
const SCORES_QUERY = {
  type: 'object',
  properties: { from: { type: 'string', maxLength: 100 }, to: { type: 'string', maxLength: 100 }, points: { type: 'integer', minimum: 2, maximum: 10_000 } },
} as const;

export interface UiOptions {
  cfg: { influx: InfluxConfig; energy: EnergyConfig; ui?: UiConfig };
  logger: Logger;
  fabric?: Fabric;
  experiment: ExperimentSource;
  store?: TimeSeriesStore;
  /** The vehicle pipeline runs in this process (its predictions reach the hub through onScored). */
  vehicles?: boolean;
  /** The role, shown on the page (up, api). */
  role: string;
}

export interface Ui {
  component: Component;
  hub: LiveHub;
  /** Wire to the vehicle predictor's sink (createVehicleComponents onScored). */
  onScored: (items: readonly Scored[]) => void;
}

/** The energy exporter's base URL: ui.energyUrl, else the one `up` starts (energy.host:energy.port). */
export function energyUrlOf(cfg: UiOptions['cfg']): string | undefined {
  if (cfg.ui?.energyUrl) return cfg.ui.energyUrl;
  const e = cfg.energy;
  if (!e || e.enabled === false || !e.port) return undefined;
  const host = e.host === '0.0.0.0' || e.host === '::' ? '127.0.0.1' : e.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${e.port}`;
}

function sendFile(req: FastifyRequest, reply: FastifyReply, f: StaticFile, cache: string): FastifyReply {
  reply.header('content-type', f.type).header('etag', f.etag).header('cache-control', cache).header('x-content-type-options', 'nosniff').header('vary', 'accept-encoding');
  if (req.headers['if-none-match'] === f.etag) return reply.code(304).send();
  const gz = f.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  if (gz) reply.header('content-encoding', 'gzip');
  return reply.send(gz ? f.gzip : f.body);
}

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'", // uPlot positions its cursor and legend through the CSSOM (allowed), never style attributes
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/** `a,b,c` → a set (undefined for `*` or absent). */
function idSet(raw: string | undefined): Set<string> | undefined {
  if (raw === undefined || raw.trim() === '' || raw.trim() === '*') return undefined;
  return new Set(raw.split(',').map((s) => s.trim()).filter(Boolean));
}

export function createUi(o: UiOptions): Ui {
  const cfg: UiConfig = { ...uiDefaults(), ...o.cfg.ui };
  const log = o.logger.child({ component: 'ui' });
  const hub = new LiveHub({
    ...(o.fabric ? { fabric: o.fabric } : {}),
    experiment: o.experiment,
    ...(o.store ? { store: o.store } : {}),
    logger: o.logger,
    recentPoints: cfg.recentPoints,
    replayEvents: cfg.replayEvents,
    maxStreams: cfg.maxStreams,
    maxDeadLetterTopics: cfg.maxDeadLetterTopics,
    deadLetters: cfg.deadLetters,
  });
  const keep = Math.ceil(300_000 / cfg.sampleIntervalMs); // five minutes of samples
  const health = new HealthSampler({ intervalMs: cfg.sampleIntervalMs, keep, onSnapshot: (s) => hub.emit('health', 'health', s) });
  const energyUrl = energyUrlOf(o.cfg);
  const energy = new EnergySampler({ url: energyUrl, intervalMs: Math.max(cfg.sampleIntervalMs, 2000), keep, onSnapshot: (s) => hub.emit('energy', 'energy', s) });
  let bundle: StaticBundle | undefined;
  let app: FastifyInstance | undefined;

  const features = () => ({
    routers: true,
    vehicles: o.vehicles === true && app?.hasRoute({ method: 'GET', url: '/api/vehicles' }) === true,
    registry: app?.hasRoute({ method: 'GET', url: '/api/registry/status' }) === true,
    models_status: app?.hasRoute({ method: 'GET', url: '/api/models/status' }) === true,
    energy: energyUrl ?? null,
    influx: Boolean(o.cfg.influx.url),
    dead_letters: hub.deadLettersOff ?? true,
  });

  const info = () => {
    const exp = o.experiment.current;
    return {
      version: VERSION,
      role: o.role,
      experiment_id: exp.experimentId,
      polling_interval: exp.pollingInterval,
      routers: exp.routers.length,
      features: features(),
    };
  };

  const routes = (a: FastifyInstance) => {
    app = a;
    bundle = loadStaticBundle();
    const b = bundle;
    // the event streams end before the server waits for its connections to close
    a.addHook('preClose', async () => hub.closeStreams());

    a.get('/', PUBLIC, async (req, reply) => {
      reply.header('content-security-policy', CSP).header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY');
      return sendFile(req, reply, b.index, 'no-cache');
    });
    a.get<{ Params: { version: string; '*': string } }>('/ui/:version/*', PUBLIC, async (req, reply) => {
      const f = b.files.get(req.params['*']);
      if (!f) return reply.code(404).send({ error: `no UI file "${String(req.params['*']).slice(0, 100)}"` });
      // an old version's URL still gets the current file, but not cached for long
      return sendFile(req, reply, f, req.params.version === b.version ? 'public, max-age=31536000, immutable' : 'no-cache');
    });

    a.get('/api/ui/info', READ, async () => info());

    a.get<{ Querystring: { routers?: string; vehicles?: string; channels?: string } }>('/api/ui/stream', { ...READ, schema: { querystring: STREAM_QUERY } }, async (req, reply) => {
      const accept = String(req.headers.accept ?? '');
      if (!accept.includes('text/event-stream')) {
        return reply.code(406).send({ error: 'this is an event stream (Server-Sent Events): send "Accept: text/event-stream"; the same data as JSON: /api/ui/fleet, /api/ui/health, /api/ui/energy' });
      }
      const channels = req.query.channels === undefined ? new Set<Channel>(CHANNELS) : new Set(req.query.channels.split(',').map((c) => c.trim()).filter(Boolean));
      const unknown = [...channels].filter((c) => !(CHANNELS as readonly string[]).includes(c));
      if (unknown.length) return reply.code(400).send({ error: `query parameter "channels": unknown channel "${unknown[0]!.slice(0, 50)}" (one or more of ${CHANNELS.join(', ')})` });
      if (hub.full) return reply.code(503).header('retry-after', '5').send({ error: `too many open event streams (ui.maxStreams = ${cfg.maxStreams}); retry later` });
      const filter: StreamFilter = {
        channels: channels as Set<Channel>,
        ...(idSet(req.query.routers) ? { routers: idSet(req.query.routers)! } : {}),
        ...(idSet(req.query.vehicles) ? { vehicles: idSet(req.query.vehicles)! } : {}),
      };
      const lastEventId = req.headers['last-event-id'];
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
      });
      req.raw.socket.setNoDelay(true);
      hub.open(res, filter, typeof lastEventId === 'string' ? lastEventId : undefined, info());
    });

    a.get<{ Querystring: FleetQuery }>(
      '/api/ui/fleet',
      { ...READ, schema: { querystring: FLEET_QUERY } },
      async (req) => fleetPage(hub.routerStates(), o.experiment.current, req.query, Date.now()),
    );

    a.get('/api/ui/health', READ, async () => ({ now: health.last ?? (await health.sample()), history: health.historyColumns(), dead_letters: hub.deadLettersOff ?? true }));
    a.get('/api/ui/energy', READ, async () => ({ now: energy.last ?? (await energy.sample()), history: energy.historyColumns() }));
    a.get<{ Querystring: { stage?: string; limit?: number } }>('/api/ui/dead-letters', { ...READ, schema: { querystring: DEAD_LETTER_QUERY } }, async (req) => {
      const list = hub.deadLetters(req.query.stage, Number(req.query.limit ?? 100));
      return { following: hub.deadLettersOff ?? true, count: list.length, dead_letters: list };
    });

    a.get<{ Params: { vehicleId: string }; Querystring: { from?: string; to?: string; points?: number } }>(
      '/api/ui/vehicles/:vehicleId/scores',
      { ...READ, schema: { querystring: SCORES_QUERY } },
      async (req, reply) => {
        const id = req.params.vehicleId;
        if (!VEHICLE_ID_PATTERN.test(id)) return reply.code(400).send({ error: `invalid vehicle id "${id.slice(0, 80)}"` });
        const now = Date.now();
        const from = parseTimeParam(req.query.from, now - 3_600_000, now);
        const to = parseTimeParam(req.query.to, now, now);
        if (typeof from !== 'number') return reply.code(400).send({ error: `query parameter "from": ${from.error}` });
        if (typeof to !== 'number') return reply.code(400).send({ error: `query parameter "to": ${to.error}` });
        const points = Number(req.query.points ?? 600);
        if (o.cfg.influx.url) {
          // predictions go to InfluxDB when it is configured (the embedded storage then has none)
          const bucketMs = Math.max(1000, Math.ceil((to - from) / points / 1000) * 1000);
          try {
            const rows = await influxSelect(
              o.cfg.influx,
              `SELECT mean("score") AS "score", max("score") AS "max", min("score") AS "min", mean("threshold") AS "threshold", max("missing") AS "missing" FROM "prediction" WHERE "vehicle_id" = ${influxString(id)} AND time >= ${Math.floor(from)}ms AND time <= ${Math.ceil(to)}ms GROUP BY time(${bucketMs}ms) fill(none)`,
            );
            return { vehicle: id, source: 'influxdb', from: new Date(from).toISOString(), to: new Date(to).toISOString(), points: rows.map((r) => ({ t: r.tsMs, value: r.values.score ?? null, min: r.values.min ?? null, max: r.values.max ?? null, missing: r.values.missing ?? null })) };
          } catch (err) {
            log.warn({ err: (err as Error).message }, 'vehicle score history from InfluxDB failed');
            return reply.code(502).send({ error: `vehicle score history from InfluxDB failed: ${(err as Error).message}` });
          }
        }
        if (!o.store) return { vehicle: id, source: 'none', from: new Date(from).toISOString(), to: new Date(to).toISOString(), points: [] };
        const [score, missing] = await Promise.all([o.store.range(vehicleSeries(id), 'score', from, to, 200_000), o.store.range(vehicleSeries(id), 'missing', from, to, 200_000)]);
        const reduced = downsample(score, from, to, points);
        const missingAt = new Map(missing.map((p) => [p.tsMs, p.value]));
        return {
          vehicle: id,
          source: 'embedded storage',
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          points: reduced.map((p) => ({ t: p.tsMs, value: p.value, min: p.min, max: p.max, missing: p.n === 1 ? (missingAt.get(p.tsMs) ?? null) : null })),
        };
      },
    );
  };

  const component: Component = {
    name: 'web-ui',
    routes,
    async start() {
      await hub.start();
      health.start();
      energy.start();
      log.info({ energy: energyUrl ?? 'off', version: bundle?.version }, 'web UI ready at /');
    },
    async stop() {
      health.stop();
      energy.stop();
      await hub.stop();
    },
    ready: () => hub.ready(),
  };
  return { component, hub, onScored: (items) => hub.acceptScored(items) };
}

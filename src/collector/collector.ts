/**
 * The collector (role `collector`, the reference's "node exporter collector app"):
 *   GET /metrics/{host}_{port}.json[?name=…&name=…&<label>=v1,v2]
 * scrapes http://{host}:{port}/metrics and answers the seed's JSON document. Targets must be
 * on the configured allow-list unless `allowAnyTarget`; identical concurrent scrapes of one
 * target share one upstream request. Errors: target not allowed → 403; unreachable → 502;
 * timeout → 504; response too large → 502; exporter non-200 → that status with its body;
 * malformed exposition → 422 with the line number and the problem.
 */
import type { FastifyInstance } from 'fastify';
import type { Component } from '../core/component.js';
import { counter, histogram } from '../core/metrics.js';
import type { CollectorConfig } from './config.js';
import { scrape, ScrapeError, SingleFlight, type ScrapeResult } from './scrape.js';
import { collectorDocument } from './convert.js';
import { ExpositionFilterError, ExpositionParseError } from './exposition/index.js';


const requests = counter({ name: 'wattflow_collector_requests_total', help: 'Collector requests by outcome', labelNames: ['outcome'] as const });
const scrapeSeconds = histogram({ name: 'wattflow_collector_scrape_seconds', help: 'Upstream scrape duration' });
const coalescedTotal = counter({ name: 'wattflow_collector_coalesced_total', help: 'Requests served by an in-flight scrape of the same target' });

/** `r1_9100` → { host: 'r1', port: 9100 }; the last underscore separates the port. */
export function parseTargetName(name: string): { host: string; port: number } | undefined {
  const i = name.lastIndexOf('_');
  if (i <= 0) return undefined;
  const host = name.slice(0, i);
  const port = Number(name.slice(i + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (!/^[A-Za-z0-9.\-:[\]]+$/.test(host)) return undefined;
  return { host, port };
}

export function createCollector(cfg: CollectorConfig): Component {
  const flights = new SingleFlight<ScrapeResult>();
  const allowed = new Set(cfg.allowTargets.map((t) => t.toLowerCase()));
  return {
    name: 'collector',
    routes(app: FastifyInstance) {
      app.get<{ Params: { target: string } }>('/metrics/:target', { config: { auth: 'read' } }, async (req, reply) => {
        const raw = req.params.target;
        const name = raw.endsWith('.json') ? raw.slice(0, -5) : raw;
        const t = parseTargetName(name);
        if (!t) {
          requests.inc({ outcome: 'bad_target' });
          reply.code(400);
          return { error: `bad target "${raw}": expected {host}_{port}.json, e.g. 127.0.0.1_9100.json` };
        }
        const target = `${t.host}:${t.port}`;
        if (!cfg.allowAnyTarget && !allowed.has(target.toLowerCase())) {
          requests.inc({ outcome: 'forbidden' });
          reply.code(403);
          return { error: `target ${target} is not in collector.allowTargets`, target };
        }
        const started = performance.now();
        // decided now: requests arriving while this scrape is in flight must not make its
        // starter count as coalesced (the counter once exceeded the requests it served)
        const joined = flights.has(target);
        let res: ScrapeResult;
        try {
          res = await flights.run(target, () =>
            scrape(`http://${target}/metrics`, target, { timeoutMs: cfg.timeoutMs, maxBytes: cfg.maxResponseBytes }),
          );
        } catch (err) {
          if (!(err instanceof ScrapeError)) throw err;
          requests.inc({ outcome: err.kind });
          if (err.kind === 'status') {
            reply.code(err.status ?? 502).header('content-type', 'text/plain; charset=utf-8');
            return err.body ?? '';
          }
          reply.code(err.kind === 'timeout' ? 504 : 502);
          return { error: err.message, target, reason: err.kind };
        } finally {
          if (joined) coalescedTotal.inc();
        }
        scrapeSeconds.observe((performance.now() - started) / 1000);
        const query = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
        try {
          const doc = collectorDocument(res, target, query);
          requests.inc({ outcome: 'ok' });
          return doc;
        } catch (err) {
          if (err instanceof ExpositionFilterError) {
            requests.inc({ outcome: 'bad_filter' });
            reply.code(400);
            return { error: err.message, parameter: err.key };
          }
          if (!(err instanceof ExpositionParseError)) throw err;
          requests.inc({ outcome: 'malformed' });
          reply.code(422);
          return { error: `malformed exposition from ${target}: ${err.message}`, target, line: err.line, column: err.column, reason: err.reason };
        }
      });
    },
  };
}

/**
 * Glue between a scrape and the collector's JSON document: picks the format from the
 * Content-Type, parses (with the name filter pushed into the parser for speed), applies label
 * filters, and converts to the seed's JSON (`node_exporter`, `epoch_timestamp`, `metrics[]`).
 */
import type { MetricFamilyJson } from '../network/messages.js';
import { epochSeconds } from '../network/messages.js';
import { formatFromContentType, parseExposition } from './exposition/parser.js';
import type { MetricFamily } from './exposition/types.js';
import type { ScrapeResult } from './scrape.js';

export interface CollectorDocument {
  node_exporter: string;
  epoch_timestamp: string;
  metrics: MetricFamilyJson[];
}

function toJson(families: MetricFamily[]): MetricFamilyJson[] {
  return families.map((f) => ({
    name: f.name,
    description: f.help,
    type: f.type,
    values: f.samples.map((s) => ({ labels: s.labels.map((l) => ({ name: l.name, value: l.value })), value: s.value })),
  }));
}

/** Parses exposition text into the JSON families, keeping only `names` when given. */
export function parseExpositionToFamilies(text: string, opts: { names?: string[]; contentType?: string } = {}): MetricFamilyJson[] {
  return toJson(parseExposition(text, { names: opts.names, format: formatFromContentType(opts.contentType) }));
}

/** The collector's answer for one scrape, filtered by the request's query. */
export function collectorDocument(res: ScrapeResult, target: string, query: URLSearchParams): CollectorDocument {
  const names = query.getAll('name');
  const labelFilters: Array<[string, Set<string>]> = [];
  for (const [k, v] of query) if (k !== 'name') labelFilters.push([k, new Set(v.split(','))]);
  let families = parseExposition(res.text, { names: names.length ? names : undefined, format: formatFromContentType(res.contentType) });
  if (labelFilters.length) {
    families = families
      .map((f) => ({ ...f, samples: f.samples.filter((s) => labelFilters.every(([k, vals]) => s.labels.some((l) => l.name === k && vals.has(l.value)))) }))
      .filter((f) => f.samples.length > 0);
  }
  return { node_exporter: target, epoch_timestamp: epochSeconds(res.receivedAt), metrics: toJson(families) };
}

/**
 * Glue between a scrape and the collector's JSON document: picks the format from the
 * Content-Type, parses with the request's filter (names pushed into the parser for speed,
 * labels applied after), and converts to the seed's JSON (exposition/to-collector-json.ts).
 */
import type { MetricFamilyJson } from './metric-family-json.js';
import {
  familyToCollectorMetric,
  filterFromSearchParams,
  formatFromContentType,
  parseAndFilter,
  parseExposition,
  toCollectorJson,
  type CollectorDocument,
} from './exposition/index.js';
import type { ScrapeResult } from './scrape.js';

/** Parses exposition text into the JSON families, keeping only `names` when given. */
export function parseExpositionToFamilies(text: string, opts: { names?: string[]; contentType?: string } = {}): MetricFamilyJson[] {
  return parseExposition(text, { names: opts.names, format: formatFromContentType(opts.contentType) }).map(familyToCollectorMetric);
}

/** The collector's answer for one scrape, filtered by the request's query (?name=…&label=v1,v2). */
export function collectorDocument(res: ScrapeResult, target: string, query: URLSearchParams): CollectorDocument {
  const filter = filterFromSearchParams(query);
  const families = parseAndFilter(res.text, filter, { format: formatFromContentType(res.contentType) });
  return toCollectorJson(families, { nodeExporter: target, epochSeconds: res.receivedAt / 1000 });
}

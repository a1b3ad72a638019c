/**
 * Public API of the exposition module: parse Prometheus text 0.0.4 / OpenMetrics 1.0 scrape
 * payloads, filter them by name and labels, and convert them into the collector's JSON
 * document (docs/collector-json.md).
 */
export {
  ExpositionParseError,
  type Exemplar,
  type ExpositionFormat,
  type MetricFamily,
  type MetricLabel,
  type MetricSample,
  type MetricType,
} from './types.js';
export { detectFormat, formatFromContentType } from './lexer.js';
export { parseExposition, type ParseOptions } from './parser.js';
export {
  applyFilter,
  ExpositionFilterError,
  filterFromSearchParams,
  isEmptyFilter,
  parseAndFilter,
  type ExpositionFilter,
  type FilterFromSearchParamsOptions,
} from './filter.js';
export {
  currentEpochSeconds,
  familyToCollectorMetric,
  formatEpochSeconds,
  toCollectorJson,
  type CollectorDocument,
  type CollectorExemplar,
  type CollectorLabel,
  type CollectorMetric,
  type CollectorValue,
  type ToCollectorJsonOptions,
} from './to-collector-json.js';

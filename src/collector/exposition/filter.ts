/**
 * Filtering of parsed metric families by family/series name and by label equality, and the
 * conversion of a URL query (`?name=a&name=b&device=eth2,eth3`) into such a filter.
 *
 * Semantics:
 * - `names`: a family whose name is listed is kept whole; of any other family only the
 *   samples whose series name is listed are kept (so `name=x_bucket` selects just the bucket
 *   series of histogram `x`, and `name=foo_total` the `_total` series of an OpenMetrics
 *   counter `foo`). Absent → every family.
 * - `labels`: every listed label must have one of its listed values (AND across labels, OR
 *   within one label's values). A sample without the label has the value "" (as in
 *   Prometheus), so `device=` selects samples with no or an empty `device` label.
 * - Families left without samples are dropped.
 */
import { filterByNames } from './families.js';
import { parseExposition, type ParseOptions } from './parser.js';
import type { MetricFamily, MetricSample } from './types.js';

export interface ExpositionFilter {
  /** Family or series names to keep; undefined keeps every name. */
  readonly names?: ReadonlySet<string>;
  /** Label name → accepted values; a sample must match every entry. */
  readonly labels?: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Thrown by {@link filterFromSearchParams} for a query key or name that cannot match. */
export class ExpositionFilterError extends Error {
  override readonly name = 'ExpositionFilterError';
  /** The offending query key. */
  readonly key: string;

  constructor(key: string, message: string) {
    super(message);
    this.key = key;
  }
}

export interface FilterFromSearchParamsOptions {
  /** Query key that lists names (default `name`). */
  nameKey?: string;
  /** Query keys that are neither names nor labels (e.g. the collector's own parameters). */
  ignore?: Iterable<string>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Build a filter from a query string. `name` may repeat and may hold a comma-separated list;
 * every other key (except `ignore`d ones) is a label filter whose value is a comma-separated
 * list of accepted values (repeating the key adds values). Values are not trimmed.
 * Throws {@link ExpositionFilterError} for an invalid metric name or label name.
 */
export function filterFromSearchParams(
  params: URLSearchParams,
  options: FilterFromSearchParamsOptions = {},
): ExpositionFilter {
  const nameKey = options.nameKey ?? 'name';
  const ignore = new Set(options.ignore ?? []);
  let names: Set<string> | undefined;
  const labels = new Map<string, Set<string>>();
  for (const [key, raw] of params) {
    if (ignore.has(key)) continue;
    if (key === nameKey) {
      names ??= new Set();
      for (const n of raw.split(',')) {
        if (n === '') continue;
        if (!METRIC_NAME.test(n)) {
          throw new ExpositionFilterError(key, `invalid metric name ${JSON.stringify(n)} in query parameter "${key}"`);
        }
        names.add(n);
      }
      continue;
    }
    if (!LABEL_NAME.test(key)) {
      throw new ExpositionFilterError(key, `invalid label name ${JSON.stringify(key)} in query (label names match [a-zA-Z_][a-zA-Z0-9_]*)`);
    }
    let values = labels.get(key);
    if (values === undefined) {
      values = new Set();
      labels.set(key, values);
    }
    for (const v of raw.split(',')) values.add(v);
  }
  const filter: { names?: ReadonlySet<string>; labels?: ReadonlyMap<string, ReadonlySet<string>> } = {};
  if (names !== undefined) filter.names = names;
  if (labels.size > 0) filter.labels = labels;
  return filter;
}

/** True when the filter keeps everything (no names, no labels). */
export function isEmptyFilter(filter: ExpositionFilter): boolean {
  return filter.names === undefined && (filter.labels === undefined || filter.labels.size === 0);
}

function matchesLabels(sample: MetricSample, wanted: ReadonlyMap<string, ReadonlySet<string>>): boolean {
  const labels = sample.labels;
  for (const [name, values] of wanted) {
    let value = '';
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (l.name === name) {
        value = l.value;
        break;
      }
    }
    if (!values.has(value)) return false;
  }
  return true;
}

/**
 * Apply a filter to families (see the module header for the semantics). Returns new family
 * objects only where samples were removed; families left empty are dropped.
 */
export function applyFilter(families: readonly MetricFamily[], filter: ExpositionFilter): MetricFamily[] {
  const byName = filter.names === undefined ? [...families] : filterByNames(families, filter.names);
  const labels = filter.labels;
  if (labels === undefined || labels.size === 0) return byName.filter((f) => f.samples.length > 0);
  const out: MetricFamily[] = [];
  for (const fam of byName) {
    const kept = fam.samples.filter((s) => matchesLabels(s, labels));
    if (kept.length > 0) out.push(kept.length === fam.samples.length ? fam : { ...fam, samples: kept });
  }
  return out;
}

/**
 * Parse and filter in one go: the filter's names are handed to the parser (which then skips
 * lines of other families cheaply), its labels are applied afterwards. Same result as
 * `applyFilter(parseExposition(text, options), filter)` for valid input.
 */
export function parseAndFilter(
  text: string,
  filter: ExpositionFilter,
  options: Omit<ParseOptions, 'names'> = {},
): MetricFamily[] {
  const families =
    filter.names === undefined ? parseExposition(text, options) : parseExposition(text, { ...options, names: filter.names });
  return applyFilter(families, { labels: filter.labels ?? new Map() });
}

/**
 * Single-pass parser for Prometheus text 0.0.4 and OpenMetrics 1.0: a scrape payload → metric
 * families in first-appearance order (original value texts kept), or an ExpositionParseError
 * naming line, column and reason. Pure. This file reads sample lines and drives the class chain;
 * rules, leniencies and why it is hand-written: docs/collector-json.md.
 */
import { detectFormat } from './format.js';
import { hasLabel, SUF_BARE, SUF_BUCKET } from './family-types.js';
import type { FamState } from './family-table.js';
import { CC, CC_NAME, CC_NAME_START, describeChar, HASH, LBRACE, parseFloatToken, quote, SP, TAB } from './lexer.js';
import { MetadataLineParser } from './metadata-lines.js';
import { filterByNames } from './name-filter.js';
import { addPoint, seriesKey } from './series-keys.js';
import { ExpositionParseError, type Exemplar, type ExpositionFormat, type MetricFamily, type MetricLabel, type MetricSample } from './types.js';


export interface ParseOptions {
  /**
   * Input format. `auto` (default) treats the input as OpenMetrics iff its last non-blank line
   * is `# EOF`, else as Prometheus text 0.0.4. Prefer passing the format derived from the
   * response's Content-Type ({@link formatFromContentType}).
   */
  format?: ExpositionFormat | 'auto';
  /**
   * Keep only these families / series (same semantics as the `names` of an exposition filter:
   * a family is kept whole if its name is listed, otherwise only its samples whose series name
   * is listed). Lines that cannot belong to a listed name are skipped after reading their
   * metric name, without further validation, which makes a filtered parse much faster.
   */
  names?: Iterable<string>;
  /** Reject duplicate series (default true). */
  checkDuplicates?: boolean;
}

/**
 * Parse a Prometheus text / OpenMetrics payload into metric families (first-appearance order).
 * Throws {@link ExpositionParseError} for malformed input, and nothing else, for any string.
 */
export function parseExposition(text: string, options: ParseOptions = {}): MetricFamily[] {
  if (typeof text !== 'string') {
    throw new ExpositionParseError(1, 1, `input must be a string, got ${text === null ? 'null' : typeof text}`);
  }
  const fmt = options.format === undefined || options.format === 'auto' ? detectFormat(text) : options.format;
  const parser = new Parser(text, fmt === 'openmetrics', options.names, options.checkDuplicates !== false);
  try {
    return parser.run();
  } catch (err) {
    if (err instanceof ExpositionParseError) throw err;
    // Defensive: engine limits (e.g. more than 2^24 distinct series in one Map) must still
    // surface as a parse error rather than as some other exception.
    const msg = err instanceof Error ? err.message : String(err);
    throw new ExpositionParseError(Math.max(1, parser.lineNo), 1, `input could not be parsed: ${msg}`);
  }
}

class Parser extends MetadataLineParser {
  private readonly checkDup: boolean;
  /** Error path only (see duplicate()): the series to look for and where parsing stops. */
  private probeKey: string | null = null;
  private probeTs: number | undefined = undefined;
  private probeLine = 0;
  private stopLine = 0;

  constructor(text: string, om: boolean, names: Iterable<string> | undefined, checkDup: boolean) {
    super(text, om, names);
    this.checkDup = checkDup;
  }

  run(): MetricFamily[] {
    const text = this.text;
    const len = text.length;
    let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark is not content
    while (pos < len) {
      if (++this.lineNo === this.stopLine) return this.families;
      let eol = text.indexOf('\n', pos);
      if (eol === -1) eol = len;
      let end = eol;
      if (end > pos && text.charCodeAt(end - 1) === 13) end--;
      this.lineStart = pos;
      this.end = end;
      let p = pos;
      while (p < end) {
        const c = text.charCodeAt(p);
        if (c !== SP && c !== TAB) break;
        p++;
      }
      if (p < end) {
        if (this.eofLine !== 0) this.fail(p, `unexpected content after '# EOF' (line ${this.eofLine})`);
        if (text.charCodeAt(p) === HASH) this.comment(p);
        else this.sample(p);
      }
      pos = eol + 1;
    }
    if (this.om && this.eofLine === 0) {
      const endsWithNl = len > 0 && text.charCodeAt(len - 1) === 10;
      throw new ExpositionParseError(
        Math.max(1, this.lineNo + (endsWithNl ? 1 : 0)),
        1,
        "missing '# EOF' at the end of OpenMetrics input",
      );
    }
    if (this.filter === null) return this.families;
    return filterByNames(this.families, this.filter.wanted);
  }

  // ---- sample lines -------------------------------------------------------------------------

  private sample(ns: number): void {
    const text = this.text;
    const end = this.end;
    // Fast path: the same series name as the previous sample (or as the family just declared),
    // followed by '{' or a blank. Then the name needs no scan, no slice and no lookup.
    const last = this.lastName;
    const ld = this.lastDecl;
    let name: string;
    let ne = ns + last.length;
    let c = text.charCodeAt(ne);
    if (last.length > 0 && ne < end && (c === LBRACE || c === SP || c === TAB) && text.startsWith(last, ns)) {
      name = last;
    } else {
      c = text.charCodeAt(ns);
      if (!(c < 128 && CC[c]! & CC_NAME_START)) {
        this.fail(ns, `expected a metric name or '#', found ${describeChar(text, ns, end)}`);
      }
      let q = ns + 1;
      while (q < end && (c = text.charCodeAt(q)) < 128 && CC[c]! & CC_NAME) q++;
      ne = q;
      if (q >= end) this.fail(q, `expected a value after metric name ${quote(text.slice(ns, ne))}`);
      if (c !== LBRACE && c !== SP && c !== TAB) {
        this.fail(q, `invalid character ${describeChar(text, q, end)} in metric name ${quote(text.slice(ns, q))}`);
      }
      const filter = this.filter;
      if (filter !== null && !filter.sampleLength(ne - ns)) return; // cannot be wanted: skip
      name = text.slice(ns, ne);
      if (ld !== null && name === ld.fam.name) {
        // Reuse the declared name string: the family lookup below is then skipped.
        name = ld.fam.name;
      } else if (filter !== null && !filter.sample(name)) {
        return; // cannot belong to a wanted family: skip the line
      }
    }
    let p = ne;

    // Labels.
    p = this.skipBlanks(p);
    let labels: MetricLabel[];
    let labelsEnd = ne;
    if (p < end && text.charCodeAt(p) === LBRACE) {
      labels = [];
      this.canonical = p === ne;
      p = this.parseLabels(p + 1, labels, true);
      labelsEnd = p;
      p = this.skipBlanks(p);
    } else {
      labels = [];
    }

    // Value.
    if (p >= end) this.fail(p, `expected a value after ${quote(text.slice(ns, labelsEnd))}`);
    const vs = p;
    while (p < end && (c = text.charCodeAt(p)) !== SP && c !== TAB) p++;
    const numeric = parseFloatToken(text, vs, p, true);
    if (numeric === undefined) {
      if (text.charCodeAt(vs) === HASH) this.fail(vs, `expected a value before '#' after ${quote(text.slice(ns, labelsEnd))}`);
      this.fail(vs, `invalid value ${quote(text.slice(vs, p))} (expected a float, NaN, +Inf or -Inf)`);
    }
    const value = text.slice(vs, p);

    // Optional timestamp, optional exemplar (OpenMetrics).
    let timestampMs: number | undefined;
    let exemplar: Exemplar | undefined;
    p = this.skipBlanks(p);
    if (p < end && text.charCodeAt(p) !== HASH) {
      const ts = p;
      while (p < end && (c = text.charCodeAt(p)) !== SP && c !== TAB) p++;
      timestampMs = this.timestamp(ts, p);
      p = this.skipBlanks(p);
    }
    if (p < end) {
      if (text.charCodeAt(p) !== HASH) this.fail(p, `unexpected text after the timestamp`);
      if (!this.om) {
        this.fail(p, `unexpected '#' after the sample value (exemplars exist only in OpenMetrics; the input is parsed as Prometheus text 0.0.4)`);
      }
      exemplar = this.exemplar(p);
    }

    // Family.
    let st: FamState;
    let suffix: number;
    if (name === last && this.lastState !== null) {
      st = this.lastState;
      suffix = this.lastSuffix;
    } else {
      st = this.resolve(name, ns);
      suffix = this.lastSuffix;
    }
    const fam = st.fam;

    // Structural checks for histograms and summaries.
    if (suffix === SUF_BUCKET) {
      if (!hasLabel(labels, 'le')) this.fail(ns, `histogram bucket ${quote(name)} has no "le" label`);
    } else if (suffix === SUF_BARE && fam.type === 'summary') {
      if (!hasLabel(labels, 'quantile')) this.fail(ns, `summary sample ${quote(name)} has no "quantile" label`);
    }
    if (this.om) this.metricPoint(st, suffix, name, labels, timestampMs, ns);

    const sample: MetricSample = { name, labels, value, numeric };
    if (timestampMs !== undefined) sample.timestampMs = timestampMs;
    if (exemplar !== undefined) sample.exemplar = exemplar;

    if (this.checkDup) {
      const key =
        labels.length === 0 ? name : this.canonical ? text.slice(ns, labelsEnd) : seriesKey(name, labels);
      // Exporters usually emit a family's series in ascending order; while the keys keep
      // increasing no key can repeat, so the set of keys is only built once they do not.
      if (st.keys === null && key > st.lastKey) {
        st.lastKey = key;
      } else {
        if (st.keys === null) {
          st.keys = new Map();
          for (const o of fam.samples) addPoint(st, seriesKey(o.name, o.labels), o.timestampMs, this.om);
        }
        if (!addPoint(st, key, timestampMs, this.om)) this.duplicate(ns, key, timestampMs);
      }
    }
    if (
      this.probeKey !== null &&
      this.probeLine === 0 &&
      seriesKey(name, labels) === this.probeKey &&
      (this.probeTs === undefined || timestampMs === undefined || timestampMs === this.probeTs)
    ) {
      this.probeLine = this.lineNo;
    }

    fam.samples.push(sample);
    this.prevLabels = labels;
  }
  private duplicate(ns: number, key: string, ts: number | undefined): never {
    // Error path only: parse the input again up to this line to find the conflicting line.
    let first = '';
    const probe = new Parser(this.text, this.om, this.filter?.wanted, false);
    probe.probeKey = key;
    probe.probeTs = ts;
    probe.stopLine = this.lineNo;
    try {
      probe.run();
      if (probe.probeLine > 0) first = ` (first seen on line ${probe.probeLine})`;
    } catch {
      // cannot happen for a prefix that already parsed; the message just lacks the line
    }
    this.fail(ns, `duplicate series ${quote(key)}${first}`);
  }
}

/**
 * Single-pass parser for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text.
 *
 * It turns a scrape payload (what `GET /metrics` of a node exporter returns) into metric
 * families in first-appearance order, keeping every value's original text next to its numeric
 * value, and rejects malformed input with an {@link ExpositionParseError} that names the line,
 * the column and the reason. It is a pure function: no I/O, no global state.
 *
 * Why hand-written: searching the npm package index (names and descriptions mentioning
 * Prometheus/OpenMetrics and parsing) found no OpenMetrics parser and one general-purpose
 * Prometheus text parser, `parse-prometheus-text-format` (1.1.1; checked with `npm view` and
 * by reading its source). It reads only Prometheus text 0.0.4 (no exemplars, `# EOF`,
 * `_created`, info/stateset/gaugehistogram), reshapes histograms and summaries into nested
 * objects, keys labels by name (exposition order lost), and reports errors as the offending
 * line's text without a line number; we did not benchmark it, its coverage rules it out.
 * `prom-client`, already a dependency, only produces the format. This module scans with
 * `charCodeAt` and a character-class table, slices each token once and allocates only what
 * it returns; bench/parse-exposition.bench.ts measures it (target >= 100 MB/s).
 *
 * Leniencies and strictness (see docs/collector-json.md, "Parser rules", for the full list):
 * CRLF line ends, blank lines, spaces/tabs between tokens, generic `#` comments and trailing
 * commas in label sets are accepted in both formats. Errors in both formats: a second TYPE
 * (or HELP, UNIT) line for a family, a TYPE line after samples it would cover, the same series
 * (name + label set, in any label order) twice unless both occurrences carry timestamps
 * (different ones in Prometheus text), a repeated label name, histogram buckets without `le`,
 * summary quantile samples without `quantile`. A backslash before any other character in a
 * label value is kept literally (as Prometheus and client_python read it). OpenMetrics only: `# EOF` must end the input, families must be
 * contiguous, metadata (TYPE, HELP, UNIT) must precede samples, a metric's samples (its label
 * set, minus `le`/`quantile`/the state label) must be contiguous, their timestamps must not go
 * backwards, info and stateset have no UNIT, timestamps are float seconds (Prometheus text:
 * integer milliseconds). test/collector/openmetrics-suite.test.ts runs the official OpenMetrics
 * parser suite and lists every deliberate leniency with its reason.
 */
import {
  ExpositionParseError,
  type Exemplar,
  type ExpositionFormat,
  type MetricFamily,
  type MetricLabel,
  type MetricSample,
  type MetricType,
} from './types.js';

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

// ---- character classes -------------------------------------------------------------------

const CC_NAME_START = 1; // [a-zA-Z_:]
const CC_NAME = 2; // [a-zA-Z0-9_:]
const CC_LABEL_START = 4; // [a-zA-Z_]
const CC_LABEL = 8; // [a-zA-Z0-9_]
const CC = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  const digit = c >= 48 && c <= 57;
  if (alpha || c === 58) CC[c]! |= CC_NAME_START | CC_NAME;
  if (digit) CC[c]! |= CC_NAME | CC_LABEL;
  if (alpha) CC[c]! |= CC_LABEL_START | CC_LABEL;
}

const SP = 32;
const TAB = 9;
const HASH = 35;
const QUOTE = 34;
const BSLASH = 92;
const COMMA = 44;
const EQ = 61;
const LBRACE = 123;
const RBRACE = 125;

// ---- family types and the series suffixes they own ----------------------------------------

const SUF_BARE = 1;
const SUF_TOTAL = 2;
const SUF_CREATED = 4;
const SUF_BUCKET = 8;
const SUF_SUM = 16;
const SUF_COUNT = 32;
const SUF_GSUM = 64;
const SUF_GCOUNT = 128;
const SUF_INFO = 256;

const SUFFIXES: ReadonlyArray<readonly [string, number]> = [
  ['_total', SUF_TOTAL],
  ['_bucket', SUF_BUCKET],
  ['_sum', SUF_SUM],
  ['_count', SUF_COUNT],
  ['_gsum', SUF_GSUM],
  ['_gcount', SUF_GCOUNT],
  ['_info', SUF_INFO],
  ['_created', SUF_CREATED],
];

/** Which series names (family name + suffix) belong to a family of each type. */
const TYPE_MASK: Readonly<Record<MetricType, number>> = {
  counter: SUF_BARE | SUF_TOTAL | SUF_CREATED,
  gauge: SUF_BARE,
  histogram: SUF_BUCKET | SUF_SUM | SUF_COUNT | SUF_CREATED,
  gaugehistogram: SUF_BUCKET | SUF_GSUM | SUF_GCOUNT,
  summary: SUF_BARE | SUF_SUM | SUF_COUNT | SUF_CREATED,
  info: SUF_BARE | SUF_INFO,
  stateset: SUF_BARE,
  untyped: SUF_BARE,
  unknown: SUF_BARE,
};

const TYPES = new Map<string, MetricType>(
  (Object.keys(TYPE_MASK) as MetricType[]).map((t) => [t, t]),
);

function suffixList(type: MetricType, name: string): string {
  const mask = TYPE_MASK[type];
  const out: string[] = [];
  if (mask & SUF_BARE) out.push(name);
  for (const [s, bit] of SUFFIXES) if (mask & bit) out.push(name + s);
  return out.join(', ');
}

// ---- public helpers -----------------------------------------------------------------------

/**
 * Format from an HTTP Content-Type: `application/openmetrics-text` → openmetrics,
 * `text/plain` (any version) → prometheus, anything else or absent → auto.
 */
export function formatFromContentType(contentType: string | null | undefined): ExpositionFormat | 'auto' {
  if (!contentType) return 'auto';
  const media = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (media === 'application/openmetrics-text') return 'openmetrics';
  if (media === 'text/plain') return 'prometheus';
  return 'auto';
}

/** OpenMetrics iff the last non-blank line of `text` is exactly `# EOF`. */
export function detectFormat(text: string): ExpositionFormat {
  let e = text.length;
  while (e > 0) {
    const c = text.charCodeAt(e - 1);
    if (c === 10 || c === 13 || c === SP || c === TAB) e--;
    else break;
  }
  if (e >= 5 && text.startsWith('# EOF', e - 5) && (e === 5 || text.charCodeAt(e - 6) === 10)) {
    return 'openmetrics';
  }
  return 'prometheus';
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

// ---- internals ----------------------------------------------------------------------------

interface FamState {
  fam: MetricFamily;
  mask: number;
  hasType: boolean;
  hasHelp: boolean;
  hasUnit: boolean;
  /** Created by a sample line rather than by HELP/TYPE/UNIT. */
  implicit: boolean;
  /** OpenMetrics: another family has started since this one (it may not continue). */
  closed: boolean;
  /** Duplicate detection: the greatest series key so far while keys only increased... */
  lastKey: string;
  /** ...and, once they did not, every key with its first timestamp (NaN: none)... */
  keys: Map<string, number> | null;
  /** ...and `key\0timestamp` of series exposed as several points in time. */
  points: Set<string> | null;
  /** OpenMetrics: the current metric (label set, minus le/quantile/state) and its timestamp... */
  group: string | null;
  groupTs: number | undefined;
  /** ...and every metric seen in this family with the line it started on. */
  groups: Map<string, number> | null;
}

/** Names a name-filtered parse must look at: sample lines and metadata lines. */
class NameIndex {
  readonly wanted: ReadonlySet<string>;
  private readonly sampleNames = new Set<string>();
  private readonly metaNames = new Set<string>();
  /** Bit 1: some sample name has this length; bit 2: some metadata name has (index ≤ 255). */
  private readonly lengths = new Uint8Array(256);

  constructor(names: Iterable<string>) {
    const wanted = new Set<string>();
    for (const n of names) wanted.add(String(n));
    this.wanted = wanted;
    for (const n of wanted) {
      this.addSample(n);
      this.addMeta(n);
      for (const [s] of SUFFIXES) {
        this.addSample(n + s);
        this.addMeta(n + s);
        if (n.length > s.length && n.endsWith(s)) this.addMeta(n.slice(0, -s.length));
      }
    }
  }

  private addSample(n: string): void {
    this.sampleNames.add(n);
    if (n.length < 256) this.lengths[n.length]! |= 1;
  }

  private addMeta(n: string): void {
    this.metaNames.add(n);
    if (n.length < 256) this.lengths[n.length]! |= 2;
  }

  /** Cheap pre-check: could a sample name of this length be wanted? */
  sampleLength(len: number): boolean {
    return len >= 256 || (this.lengths[len]! & 1) !== 0;
  }

  /** Could this sample name belong to a wanted family? */
  sample(name: string): boolean {
    return this.sampleNames.has(name);
  }

  /** Cheap pre-check: could a metadata line's name of this length be needed? */
  metaLength(len: number): boolean {
    return len >= 256 || (this.lengths[len]! & 2) !== 0;
  }

  meta(name: string): boolean {
    return this.metaNames.has(name);
  }
}

const KW_HELP = 1;
const KW_TYPE = 2;
const KW_UNIT = 3;

function describeChar(text: string, p: number, end: number): string {
  if (p >= end) return 'end of line';
  const c = text.charCodeAt(p);
  if (c === TAB) return "'\\t'";
  if (c === 13) return "'\\r'";
  const code = `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  if (c < 32 || c === 127 || (c >= 0xd800 && c <= 0xdfff)) return code;
  return c < 127 ? `'${text[p]}'` : `'${text[p]}' (${code})`;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
}

function unescapeLabelValue(text: string, s: number, e: number): string {
  // \\, \" and \n are unescaped; a backslash before any other character is kept literally,
  // as Prometheus's parsers and client_python read it (the OpenMetrics grammar allows it).
  let out = '';
  let run = s;
  for (let p = s; p < e; p++) {
    if (text.charCodeAt(p) === BSLASH) {
      const n = text.charCodeAt(p + 1);
      if (n !== 110 && n !== QUOTE && n !== BSLASH) continue; // kept with its backslash
      out += text.slice(run, p);
      out += n === 110 ? '\n' : n === QUOTE ? '"' : '\\';
      p++;
      run = p + 1;
    }
  }
  return out + text.slice(run, e);
}

function unescapeHelp(text: string, s: number, e: number, firstBackslash: number): string {
  // \\, \n and \" are unescaped; any other backslash is kept literally (HELP is free text).
  let b = firstBackslash;
  if (b === -1 || b >= e) return text.slice(s, e);
  let out = '';
  let run = s;
  while (b !== -1 && b < e) {
    const n = b + 1 < e ? text.charCodeAt(b + 1) : -1;
    if (n === BSLASH || n === 110 || n === QUOTE) {
      out += text.slice(run, b) + (n === 110 ? '\n' : n === QUOTE ? '"' : '\\');
      run = b + 2;
      b = text.indexOf('\\', b + 2);
    } else {
      b = text.indexOf('\\', b + 1);
    }
  }
  return out + text.slice(run, e);
}

function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (ch) => (ch === '\n' ? '\\n' : `\\${ch}`));
}

/**
 * Validate a float token text[s, e) and return its value, or undefined if it is not a number.
 * Accepts decimal floats (`1`, `-1.5e+09`, `.5`, `5.`), `NaN` and `[+-]Inf`/`[+-]Infinity`
 * (case-insensitive, like Go's ParseFloat); rejects hex, underscores and everything else.
 */
function parseFloatToken(text: string, s: number, e: number, allowSpecial: boolean): number | undefined {
  let p = s;
  let c = text.charCodeAt(p);
  let neg = false;
  if (c === 43 || c === 45) {
    neg = c === 45;
    p++;
    if (p >= e) return undefined;
    c = text.charCodeAt(p);
  }
  // Fast path: short plain integers.
  if (c >= 48 && c <= 57) {
    let n = 0;
    const q0 = p;
    while (p < e && (c = text.charCodeAt(p)) >= 48 && c <= 57) {
      n = n * 10 + (c - 48);
      p++;
    }
    if (p === e && p - q0 <= 15) return neg ? -n : n;
  } else if (c !== 46) {
    if (!allowSpecial) return undefined;
    const len = e - p;
    if (len === 3 || len === 8) {
      const word = text.slice(p, e).toLowerCase();
      if (word === 'inf' || word === 'infinity') return neg ? -Infinity : Infinity;
      if (word === 'nan' && p === s) return NaN;
    }
    return undefined;
  }
  // General decimal grammar: digits [. digits] [e [sign] digits], at least one mantissa digit.
  p = s;
  c = text.charCodeAt(p);
  if (c === 43 || c === 45) p++;
  let digits = 0;
  while (p < e && (c = text.charCodeAt(p)) >= 48 && c <= 57) {
    p++;
    digits++;
  }
  if (p < e && text.charCodeAt(p) === 46) {
    p++;
    while (p < e && (c = text.charCodeAt(p)) >= 48 && c <= 57) {
      p++;
      digits++;
    }
  }
  if (digits === 0) return undefined;
  if (p < e && ((c = text.charCodeAt(p)) === 101 || c === 69)) {
    p++;
    if (p < e && ((c = text.charCodeAt(p)) === 43 || c === 45)) p++;
    const q = p;
    while (p < e && (c = text.charCodeAt(p)) >= 48 && c <= 57) p++;
    if (p === q) return undefined;
  }
  if (p !== e) return undefined;
  return Number(text.slice(s, e));
}

class Parser {
  private readonly text: string;
  private readonly om: boolean;
  private readonly filter: NameIndex | null;
  private readonly checkDup: boolean;
  private readonly families: MetricFamily[] = [];
  private readonly byName = new Map<string, FamState>();
  /** Error path only (see duplicate()): the series to look for and where parsing stops. */
  private probeKey: string | null = null;
  private probeTs: number | undefined = undefined;
  private probeLine = 0;
  private stopLine = 0;

  lineNo = 0;
  private lineStart = 0;
  private end = 0;
  private eofLine = 0;
  /** Position of the next backslash at or after the last HELP text (-1: none left). */
  private nextBackslash = 0;

  /** The previous sample's name, family and suffix bit: consecutive samples usually share them. */
  private lastName = '';
  private lastState: FamState | null = null;
  private lastSuffix = 0;
  /** The family of the last HELP/TYPE/UNIT line: its samples usually follow. */
  private lastDecl: FamState | null = null;
  /** How many families were created by sample lines (no metadata seen first). */
  private implicitCount = 0;
  private prevLabels: MetricLabel[] = [];
  /** OpenMetrics contiguity: the family that lines currently belong to. */
  private current: FamState | null = null;
  /** Set by parseLabels: the label text is already in canonical form (usable as a key). */
  private canonical = true;

  constructor(text: string, om: boolean, names: Iterable<string> | undefined, checkDup: boolean) {
    this.text = text;
    this.om = om;
    this.filter = names === undefined ? null : new NameIndex(names);
    this.checkDup = checkDup;
  }

  private fail(p: number, reason: string): never {
    throw new ExpositionParseError(this.lineNo, p - this.lineStart + 1, reason);
  }

  private skipBlanks(p: number): number {
    const text = this.text;
    const end = this.end;
    while (p < end) {
      const c = text.charCodeAt(p);
      if (c !== SP && c !== TAB) break;
      p++;
    }
    return p;
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

  // ---- comment lines: HELP, TYPE, UNIT, EOF, or ignored ------------------------------------

  private comment(hashPos: number): void {
    const text = this.text;
    const end = this.end;
    const k = this.skipBlanks(hashPos + 1);
    let ke = k;
    while (ke < end) {
      const c = text.charCodeAt(ke);
      if (c === SP || c === TAB) break;
      ke++;
    }
    const kwLen = ke - k;
    let kw = 0;
    if (kwLen === 4) {
      if (text.startsWith('HELP', k)) kw = KW_HELP;
      else if (text.startsWith('TYPE', k)) kw = KW_TYPE;
      else if (this.om && text.startsWith('UNIT', k)) kw = KW_UNIT;
    } else if (kwLen === 3 && this.om && text.startsWith('EOF', k)) {
      const after = this.skipBlanks(ke);
      if (after < end) this.fail(after, "unexpected text after '# EOF'");
      this.eofLine = this.lineNo;
      return;
    }
    if (kw === 0) return; // a plain comment

    const kwText = kw === KW_HELP ? 'HELP' : kw === KW_TYPE ? 'TYPE' : 'UNIT';
    const ns = this.skipBlanks(ke);
    if (ns >= end) this.fail(ns, `expected a metric name after '# ${kwText}'`);
    let c = text.charCodeAt(ns);
    if (!(c < 128 && CC[c]! & CC_NAME_START)) {
      this.fail(ns, `invalid metric name in ${kwText} line: unexpected ${describeChar(text, ns, end)}`);
    }
    let p = ns + 1;
    while (p < end && (c = text.charCodeAt(p)) < 128 && CC[c]! & CC_NAME) p++;
    if (p < end && c !== SP && c !== TAB) {
      this.fail(p, `invalid character ${describeChar(text, p, end)} in metric name ${quote(text.slice(ns, p))} in ${kwText} line`);
    }
    // OpenMetrics: one space follows the name, also before an empty HELP text or UNIT.
    if (this.om && (p >= end || c !== SP)) {
      this.fail(p, `expected a space after ${quote(text.slice(ns, p))} in ${kwText} line, found ${describeChar(text, p, end)}`);
    }
    // HELP and TYPE of one family usually come together: reuse the declared name string, so
    // the family lookup is skipped and later name comparisons are cheap.
    const ld = this.lastDecl;
    const filter = this.filter;
    if (filter !== null && !filter.metaLength(p - ns)) return; // cannot be wanted: skip
    let name = text.slice(ns, p);
    if (ld !== null && name === ld.fam.name) {
      name = ld.fam.name;
    } else if (filter !== null && !filter.meta(name)) {
      return;
    }

    if (kw === KW_HELP) {
      // OpenMetrics: exactly one space separates name and text; Prometheus: any blanks.
      let hs = p;
      if (this.om) {
        hs++; // the one space (checked above)
      } else {
        hs = this.skipBlanks(hs);
      }
      // The next backslash in the whole input is cached so HELP lines stay O(line length).
      if (this.nextBackslash !== -1 && this.nextBackslash < hs) this.nextBackslash = text.indexOf('\\', hs);
      const help = unescapeHelp(text, hs, end, this.nextBackslash);
      const st = this.declare(name, ns);
      if (st.hasHelp) this.fail(hashPos, `duplicate HELP line for ${quote(name)}`);
      if (this.om && st.fam.samples.length > 0) this.lateMetadata(hashPos, 'HELP', st);
      st.fam.help = help;
      st.hasHelp = true;
      return;
    }

    const ts = this.skipBlanks(p);
    let te = ts;
    while (te < end && (c = text.charCodeAt(te)) !== SP && c !== TAB) te++;
    // An empty UNIT is valid OpenMetrics (no unit); an empty TYPE is not.
    if (ts === te && kw === KW_TYPE) this.fail(ts, `missing metric type after ${quote(name)} in TYPE line`);
    const token = text.slice(ts, te);
    const rest = this.skipBlanks(te);
    if (rest < end) this.fail(rest, `unexpected text after ${kw === KW_TYPE ? 'the metric type' : 'the unit'} in ${kwText} line`);

    if (kw === KW_UNIT) {
      if (token !== '' && !name.endsWith(`_${token}`)) {
        this.fail(ts, `unit ${quote(token)} is not a suffix of metric family name ${quote(name)}`);
      }
      const st = this.declare(name, ns);
      if (st.hasUnit) this.fail(hashPos, `duplicate UNIT line for ${quote(name)}`);
      if (st.fam.samples.length > 0) this.lateMetadata(hashPos, 'UNIT', st);
      if (token !== '' && (st.fam.type === 'info' || st.fam.type === 'stateset')) {
        this.fail(ts, `${st.fam.type} ${quote(name)} cannot have a unit (OpenMetrics: info and stateset families have none)`);
      }
      if (token !== '') st.fam.unit = token;
      st.hasUnit = true;
      return;
    }

    const type = TYPES.get(token) ?? TYPES.get(token.toLowerCase());
    if (type === undefined) {
      this.fail(ts, `unknown metric type ${quote(token)} for ${quote(name)} (expected one of ${[...TYPES.keys()].join(', ')})`);
    }
    // Samples that this type would own, seen before the TYPE line, went to implicit families.
    const mask = TYPE_MASK[type];
    if (this.implicitCount > 0) {
      for (const [s, bit] of SUFFIXES) {
        if (!(mask & bit)) continue;
        const orphan = this.byName.get(name + s);
        if (orphan !== undefined && orphan.implicit && !orphan.hasType && orphan.fam.samples.length > 0) {
          this.fail(hashPos, `TYPE line for ${quote(name)} comes after its sample ${quote(name + s)}; TYPE must precede the samples it describes`);
        }
      }
    }
    const st = this.declare(name, ns);
    if (this.om && st.fam.unit !== undefined && (type === 'info' || type === 'stateset')) {
      this.fail(ts, `${type} ${quote(name)} cannot have a unit (OpenMetrics: info and stateset families have none; UNIT ${quote(st.fam.unit)} was declared)`);
    }
    if (st.hasType) {
      if (st.fam.type === type) this.fail(hashPos, `duplicate TYPE line for ${quote(name)}`);
      this.fail(hashPos, `contradicting TYPE lines for ${quote(name)}: ${quote(type)} after ${quote(st.fam.type)}`);
    }
    const samples = st.fam.samples;
    if (samples.length > 0) {
      // Prometheus text allows a late TYPE only when it changes nothing about grouping.
      if (this.om) this.fail(hashPos, `TYPE line for ${quote(name)} comes after its samples; OpenMetrics requires metadata first`);
      const ok =
        (mask & SUF_BARE) !== 0 &&
        samples.every((s) => s.name === name && (type !== 'summary' || hasLabel(s.labels, 'quantile')));
      if (!ok) this.fail(hashPos, `TYPE line for ${quote(name)} comes after its samples and would regroup them`);
    }
    st.fam.type = type;
    st.mask = mask;
    st.hasType = true;
  }

  /** OpenMetrics: HELP and UNIT, like TYPE, must come before the family's samples. */
  private lateMetadata(hashPos: number, kw: string, st: FamState): never {
    const first = st.fam.samples[0]!;
    this.fail(hashPos, `${kw} line for ${quote(st.fam.name)} comes after its sample ${quote(first.name)}; OpenMetrics requires metadata first`);
  }

  /** Find or create the family named by a metadata line. */
  private declare(name: string, namePos: number): FamState {
    const ld = this.lastDecl;
    let st = ld !== null && ld.fam.name === name ? ld : this.byName.get(name);
    if (st === undefined) {
      st = this.newFamily(name, false);
    }
    this.lastDecl = st;
    if (this.om) this.enter(st, namePos);
    // A new family can change how later sample names resolve.
    this.lastName = '';
    this.lastState = null;
    return st;
  }

  private newFamily(name: string, implicit: boolean): FamState {
    const fam: MetricFamily = { name, help: '', type: this.om ? 'unknown' : 'untyped', samples: [] };
    const st: FamState = {
      fam,
      mask: SUF_BARE,
      hasType: false,
      hasHelp: false,
      hasUnit: false,
      implicit,
      closed: false,
      lastKey: '',
      keys: null,
      points: null,
      group: null,
      groupTs: undefined,
      groups: null,
    };
    this.families.push(fam);
    this.byName.set(name, st);
    if (implicit) this.implicitCount++;
    return st;
  }

  /** OpenMetrics: lines of one family must be contiguous. */
  private enter(st: FamState, p: number): void {
    const cur = this.current;
    if (st === cur) return;
    if (st.closed) {
      this.fail(p, `metric family ${quote(st.fam.name)} is interleaved with other families (OpenMetrics requires each family's lines to be contiguous)`);
    }
    if (cur !== null) cur.closed = true;
    this.current = st;
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

  /**
   * OpenMetrics: a metric (the sample's label set, minus `le` of histogram buckets, `quantile`
   * of summary quantiles and the state label of a stateset) is one group of lines: once another
   * metric of the family has started it may not continue, and within it timestamps do not go
   * backwards (compared at the microsecond, the precision kept), as client_python's parser (the
   * suite's reference) checks it. Unlike client_python, lines without a timestamp may sit
   * beside lines with one (the specification's own examples put `_created` without a
   * timestamp next to a timestamped `_total`).
   */
  private metricPoint(st: FamState, suffix: number, name: string, labels: MetricLabel[], ts: number | undefined, ns: number): void {
    const type = st.fam.type;
    const drop =
      suffix === SUF_BUCKET ? 'le' : type === 'summary' && suffix === SUF_BARE ? 'quantile' : type === 'stateset' ? st.fam.name : '';
    const g = groupKey(labels, drop);
    if (g === st.group) {
      if (ts === undefined) return;
      const prev = st.groupTs;
      if (prev !== undefined && ts < prev) {
        this.fail(ns, `timestamp of ${quote(name)} goes backwards (${ts / 1000} s after ${prev / 1000} s; OpenMetrics requires a metric's timestamps in increasing order)`);
      }
      st.groupTs = ts;
      return;
    }
    const groups = (st.groups ??= new Map());
    const first = groups.get(g);
    if (first !== undefined) {
      this.fail(ns, `metric ${quote(`${st.fam.name}{${g}}`)} of family ${quote(st.fam.name)} continues after another metric started (first seen on line ${first}; OpenMetrics requires each metric's lines to be contiguous)`);
    }
    groups.set(g, this.lineNo);
    st.group = g;
    st.groupTs = ts;
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

  /** Which family a sample name belongs to: exact family name first, then family + suffix. */
  private resolve(name: string, ns: number): FamState {
    const ld = this.lastDecl;
    let st = ld !== null && ld.fam.name === name ? ld : this.byName.get(name);
    let suffix = SUF_BARE;
    if (st !== undefined) {
      if (!(st.mask & SUF_BARE)) {
        this.fail(ns, `sample ${quote(name)} is not a valid series of ${st.fam.type} ${quote(name)} (expected ${suffixList(st.fam.type, name)})`);
      }
    } else {
      for (const [s, bit] of SUFFIXES) {
        if (name.length > s.length && name.endsWith(s)) {
          const base = this.byName.get(name.slice(0, -s.length));
          if (base !== undefined && base.mask & bit) {
            st = base;
            suffix = bit;
            break;
          }
        }
      }
      if (st === undefined) st = this.newFamily(name, true);
    }
    if (this.om) this.enter(st, ns);
    this.lastName = name;
    this.lastState = st;
    this.lastSuffix = suffix;
    return st;
  }

  /**
   * Parse `name="value", ...}` starting after `{`; push labels into `out`; return the position
   * after `}`. With `series`, also maintain `canonical` (no blanks, no trailing comma, names in
   * ascending order) so the raw text can serve as the duplicate-detection key.
   */
  private parseLabels(p: number, out: MetricLabel[], series: boolean): number {
    const text = this.text;
    const end = this.end;
    const prev = this.prevLabels;
    let canonical = this.canonical;
    let prevName = '';
    let nameSet: Set<string> | null = null;
    let c = 0;
    for (;;) {
      const q = this.skipBlanks(p);
      if (q !== p) canonical = false;
      p = q;
      if (p >= end) this.fail(p, "unterminated label set (missing '}')");
      c = text.charCodeAt(p);
      if (c === RBRACE) {
        if (out.length > 0) canonical = false; // trailing comma
        break;
      }
      if (!(c < 128 && CC[c]! & CC_LABEL_START)) {
        this.fail(p, `expected a label name${out.length === 0 ? " or '}'" : ''}, found ${describeChar(text, p, end)}`);
      }
      const ls = p;
      p++;
      while (p < end && (c = text.charCodeAt(p)) < 128 && CC[c]! & CC_LABEL) p++;
      const idx = out.length;
      let lname: string;
      const pl = idx < prev.length ? prev[idx]! : undefined;
      if (pl !== undefined && regionEquals(text, ls, p, pl.name)) lname = pl.name;
      else lname = text.slice(ls, p);

      let q2 = this.skipBlanks(p);
      if (q2 !== p) canonical = false;
      p = q2;
      if (p >= end || text.charCodeAt(p) !== EQ) {
        this.fail(p, `expected '=' after label name ${quote(lname)}, found ${describeChar(text, p, end)}`);
      }
      q2 = this.skipBlanks(p + 1);
      if (q2 !== p + 1) canonical = false;
      p = q2;
      if (p >= end || text.charCodeAt(p) !== QUOTE) {
        this.fail(p, `expected '"' to open the value of label ${quote(lname)}, found ${describeChar(text, p, end)}`);
      }
      p++;
      const vs = p;
      let escaped = false;
      for (;;) {
        if (p >= end) this.fail(vs - 1, `unterminated value of label ${quote(lname)} (missing closing '"')`);
        c = text.charCodeAt(p);
        if (c === QUOTE) break;
        if (c === BSLASH) {
          escaped = true;
          p++;
          if (p >= end) this.fail(vs - 1, `unterminated value of label ${quote(lname)} (missing closing '"')`);
          c = text.charCodeAt(p);
          // Another character after the backslash stays as written (backslash included); the
          // same value can then be spelled two ways, so the raw text is no series key.
          if (c !== BSLASH && c !== QUOTE && c !== 110) canonical = false;
        }
        p++;
      }
      let value: string;
      if (escaped) {
        value = unescapeLabelValue(text, vs, p);
      } else if (pl !== undefined && regionEquals(text, vs, p, pl.value)) {
        value = pl.value;
      } else {
        value = text.slice(vs, p);
      }
      p++;

      if (idx < 8) {
        for (let i = 0; i < idx; i++) {
          if (out[i]!.name === lname) this.fail(ls, `duplicate label name ${quote(lname)}`);
        }
      } else {
        // Long label sets: a set keeps the check linear.
        if (nameSet === null) nameSet = new Set(out.map((l) => l.name));
        if (nameSet.has(lname)) this.fail(ls, `duplicate label name ${quote(lname)}`);
        nameSet.add(lname);
      }
      if (series && canonical) {
        if (lname <= prevName) canonical = false;
        prevName = lname;
      }
      out.push({ name: lname, value });

      q2 = this.skipBlanks(p);
      if (q2 !== p) canonical = false;
      p = q2;
      if (p >= end) this.fail(p, "unterminated label set (missing '}')");
      c = text.charCodeAt(p);
      if (c === COMMA) {
        p++;
        continue;
      }
      if (c === RBRACE) break;
      this.fail(p, `expected ',' or '}' after the value of label ${quote(lname)}, found ${describeChar(text, p, end)}`);
    }
    if (series) this.canonical = canonical;
    return p + 1;
  }

  private timestamp(s: number, e: number): number {
    const text = this.text;
    let ms: number;
    if (this.om) {
      const v = parseFloatToken(text, s, e, false);
      if (v === undefined) this.fail(s, `invalid timestamp ${quote(text.slice(s, e))} (expected seconds since the epoch)`);
      ms = Math.round(v * 1e6) / 1e3;
    } else {
      let p = s;
      let c = text.charCodeAt(p);
      if (c === 43 || c === 45) p++;
      const d = p;
      while (p < e && (c = text.charCodeAt(p)) >= 48 && c <= 57) p++;
      if (p !== e || p === d) {
        this.fail(s, `invalid timestamp ${quote(text.slice(s, e))} (expected integer milliseconds since the epoch)`);
      }
      ms = Number(text.slice(s, e));
    }
    if (!Number.isFinite(ms)) this.fail(s, `timestamp ${quote(text.slice(s, e))} is out of range`);
    return ms;
  }

  /** OpenMetrics exemplar: `# {labels} value [timestamp]` up to the end of the line. */
  private exemplar(hashPos: number): Exemplar {
    const text = this.text;
    const end = this.end;
    let p = this.skipBlanks(hashPos + 1);
    if (p >= end || text.charCodeAt(p) !== LBRACE) {
      this.fail(p, `expected '{' to start the exemplar's label set, found ${describeChar(text, p, end)}`);
    }
    const labels: MetricLabel[] = [];
    const savedPrev = this.prevLabels;
    this.prevLabels = [];
    p = this.parseLabels(p + 1, labels, false);
    this.prevLabels = savedPrev;
    p = this.skipBlanks(p);
    if (p >= end) this.fail(p, 'expected a value after the exemplar labels');
    const vs = p;
    let c = 0;
    while (p < end && (c = text.charCodeAt(p)) !== SP && c !== TAB) p++;
    const numeric = parseFloatToken(text, vs, p, true);
    if (numeric === undefined) this.fail(vs, `invalid exemplar value ${quote(text.slice(vs, p))}`);
    const ex: Exemplar = { labels, value: text.slice(vs, p), numeric };
    p = this.skipBlanks(p);
    if (p < end) {
      const ts = p;
      while (p < end && (c = text.charCodeAt(p)) !== SP && c !== TAB) p++;
      ex.timestampMs = this.timestamp(ts, p);
      p = this.skipBlanks(p);
      if (p < end) this.fail(p, 'unexpected text after the exemplar');
    }
    return ex;
  }
}

/** Does text[s, e) equal `str`? (A charCodeAt loop beats startsWith for short names.) */
function regionEquals(text: string, s: number, e: number, str: string): boolean {
  const n = str.length;
  if (e - s !== n) return false;
  for (let i = 0; i < n; i++) if (text.charCodeAt(s + i) !== str.charCodeAt(i)) return false;
  return true;
}

function hasLabel(labels: readonly MetricLabel[], name: string): boolean {
  for (let i = 0; i < labels.length; i++) if (labels[i]!.name === name) return true;
  return false;
}

/** Canonical series key: name{a="v",b="w"} with labels sorted by name and values escaped. */
function seriesKey(name: string, labels: readonly MetricLabel[]): string {
  if (labels.length === 0) return name;
  const sorted = [...labels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${name}{${sorted.map((l) => `${l.name}="${escapeLabelValue(l.value)}"`).join(',')}}`;
}

/** A metric's identity within its family: labels sorted by name, without `drop`. */
function groupKey(labels: readonly MetricLabel[], drop: string): string {
  const n = labels.length;
  if (n === 0) return '';
  if (n === 1) {
    const l = labels[0]!;
    return l.name === drop ? '' : `${l.name}="${escapeLabelValue(l.value)}"`;
  }
  const kept = drop === '' ? [...labels] : labels.filter((l) => l.name !== drop);
  kept.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return kept.map((l) => `${l.name}="${escapeLabelValue(l.value)}"`).join(',');
}

/**
 * Record one occurrence of a series; false if it is a duplicate. A repeated series is allowed
 * only as another point in time: every occurrence carries a timestamp, all different in
 * Prometheus text; in OpenMetrics equal timestamps are allowed too (the suite's
 * duplicate_timestamps cases; their order is checked by metricPoint).
 */
function addPoint(st: FamState, key: string, ts: number | undefined, om: boolean): boolean {
  const keys = st.keys!;
  const first = keys.get(key);
  if (first === undefined) {
    keys.set(key, ts ?? NaN);
    return true;
  }
  if (ts === undefined || Number.isNaN(first)) return false;
  if (om) return true;
  const points = (st.points ??= new Set<string>());
  points.add(`${key}\u0000${first}`);
  const point = `${key}\u0000${ts}`;
  if (points.has(point)) return false;
  points.add(point);
  return true;
}

/** Keep families named in `names` whole; of the others, only samples whose name is listed. */
export function filterByNames(families: readonly MetricFamily[], names: ReadonlySet<string>): MetricFamily[] {
  const out: MetricFamily[] = [];
  for (const fam of families) {
    if (names.has(fam.name)) {
      if (fam.samples.length > 0) out.push(fam);
      continue;
    }
    const kept = fam.samples.filter((s) => names.has(s.name));
    if (kept.length > 0) out.push(kept.length === fam.samples.length ? fam : { ...fam, samples: kept });
  }
  return out;
}

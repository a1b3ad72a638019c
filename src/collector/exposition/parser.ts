/**
 * Single-pass parser for Prometheus text 0.0.4 and OpenMetrics 1.0: a scrape payload → metric
 * families in first-appearance order (original value texts kept), or an ExpositionParseError
 * naming line, column and reason. Pure. This file is the line loop, comment (HELP/TYPE/UNIT/EOF)
 * and sample lines, and the table of families; tokens: lexer.ts; family types, series keys and
 * the name filter: families.ts. Rules, leniencies and why it is hand-written: docs/collector-json.md.
 */
import { addPoint, type FamState, filterByNames, metricPoint, NameIndex, seriesKey, suffixList } from './families.js';
import * as families from './families.js';
import { describeChar, detectFormat, LineReader, quote } from './lexer.js';
import * as lexer from './lexer.js';
import { ExpositionParseError, type Exemplar, type ExpositionFormat, type MetricFamily, type MetricLabel, type MetricSample } from './types.js';

// Module-local on purpose, like lexer.ts's character table: the per-line and per-character code
// reads no imported name, which is looked up through its module binding at every use (a getter
// call where tsx compiles to CommonJS) and was measurably slower (docs/collector-json.md).
const SP = 32;
const TAB = 9;
const HASH = 35;
const LBRACE = 123;
const { hasLabel, newFamState, SUF_BARE, SUF_BUCKET, SUFFIXES, TYPE_MASK, TYPES } = families;
const { parseFloatToken, scanName, unescapeHelp } = lexer;

const KW_HELP = 1;
const KW_TYPE = 2;
const KW_UNIT = 3;

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
    parser.run();
    return parser.result();
  } catch (err) {
    if (err instanceof ExpositionParseError) throw err;
    // Defensive: engine limits (e.g. more than 2^24 distinct series in one Map) must still
    // surface as a parse error rather than as some other exception.
    const msg = err instanceof Error ? err.message : String(err);
    throw new ExpositionParseError(Math.max(1, parser.lineNo), 1, `input could not be parsed: ${msg}`);
  }
}

class Parser extends LineReader {
  private readonly filter: NameIndex | null;
  private readonly families: MetricFamily[] = [];
  private readonly byName = new Map<string, FamState>();
  /** The previous sample's name, family and suffix bit: consecutive samples usually share them. */
  private lastName = '';
  private lastState: FamState | null = null;
  private lastSuffix = 0;
  /** The family of the last HELP/TYPE/UNIT line: its samples usually follow. */
  private lastDecl: FamState | null = null;
  /** How many families were created by sample lines (no metadata seen first). */
  private implicitCount = 0;
  /** OpenMetrics contiguity: the family that lines currently belong to. */
  private current: FamState | null = null;

  private eofLine = 0;
  /** Position of the next backslash at or after the last HELP text (-1: none left). */
  private nextBackslash = 0;

  private readonly checkDup: boolean;
  /** Error path only (see duplicate()): the series to look for and where parsing stops. */
  private probeKey: string | null = null;
  private probeTs: number | undefined = undefined;
  private probeLine = 0;
  private stopLine = 0;

  constructor(text: string, om: boolean, names: Iterable<string> | undefined, checkDup: boolean) {
    super(text, om);
    this.filter = names === undefined ? null : new NameIndex(names);
    this.checkDup = checkDup;
  }

  /**
   * The line loop. The end-of-input checks and the name cut are in result(): as part of this
   * long loop they ran in its on-stack-replaced code, compiled before any parse had taken them,
   * and V8 left that code by deoptimizing at every filtered parse (`node --trace-deopt`).
   */
  run(): void {
    const text = this.text;
    const len = text.length;
    let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark is not content
    while (pos < len) {
      if (++this.lineNo === this.stopLine) return;
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
  }

  result(): MetricFamily[] {
    const text = this.text;
    const len = text.length;
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
    const p = scanName(text, ns, end);
    if (p === ns) this.fail(ns, `invalid metric name in ${kwText} line: unexpected ${describeChar(text, ns, end)}`);
    let c = text.charCodeAt(p);
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

  // ---- the table of families ---------------------------------------------------------------

  /** OpenMetrics: HELP and UNIT, like TYPE, must come before the family's samples. */
  private lateMetadata(hashPos: number, kw: string, st: FamState): never {
    const first = st.fam.samples[0]!;
    this.fail(hashPos, `${kw} line for ${quote(st.fam.name)} comes after its sample ${quote(first.name)}; OpenMetrics requires metadata first`);
  }

  /** Find or create the family named by a metadata line. */
  private declare(name: string, namePos: number): FamState {
    const ld = this.lastDecl;
    const st = (ld !== null && ld.fam.name === name ? ld : this.byName.get(name)) ?? this.newFamily(name, false);
    this.lastDecl = st;
    if (this.om) this.enter(st, namePos);
    // A new family can change how later sample names resolve (lastState). Its samples usually
    // follow: with its name as lastName, sample() reads theirs without scanning or slicing it.
    this.lastName = st.fam.name;
    this.lastState = null;
    return st;
  }

  private newFamily(name: string, implicit: boolean): FamState {
    const st = newFamState(name, implicit, this.om);
    this.families.push(st.fam);
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
      const q = scanName(text, ns, end);
      if (q === ns) this.fail(ns, `expected a metric name or '#', found ${describeChar(text, ns, end)}`);
      ne = q;
      c = text.charCodeAt(q);
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
    if (this.om) {
      const err = metricPoint(st, suffix, name, labels, timestampMs, this.lineNo);
      if (err !== null) this.fail(ns, err);
    }

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

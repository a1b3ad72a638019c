/**
 * The exposition formats' lexical level: which format a payload is in, character classes, and
 * the token readers of one line, on `text[s, e)` without allocating where possible: metric names,
 * floats, timestamps, label sets with their escapes, OpenMetrics exemplars, HELP escapes, and the
 * wording helpers of error messages. The parser (parser.ts) extends LineReader.
 */
import { ExpositionParseError, type Exemplar, type ExpositionFormat, type MetricLabel } from './types.js';

// Character classes and codes are module-local on purpose: per-character loops that read them
// as imports were measurably slower (docs/collector-json.md, "Performance").
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
const QUOTE = 34;
const BSLASH = 92;
const COMMA = 44;
const EQ = 61;
const LBRACE = 123;
const RBRACE = 125;

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

export function describeChar(text: string, p: number, end: number): string {
  if (p >= end) return 'end of line';
  const c = text.charCodeAt(p);
  if (c === TAB) return "'\\t'";
  if (c === 13) return "'\\r'";
  const code = `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  if (c < 32 || c === 127 || (c >= 0xd800 && c <= 0xdfff)) return code;
  return c < 127 ? `'${text[p]}'` : `'${text[p]}' (${code})`;
}

export function quote(s: string): string {
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

export function unescapeHelp(text: string, s: number, e: number, firstBackslash: number): string {
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

export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (ch) => (ch === '\n' ? '\\n' : `\\${ch}`));
}

/**
 * Validate a float token text[s, e) and return its value, or undefined if it is not a number.
 * Accepts decimal floats (`1`, `-1.5e+09`, `.5`, `5.`), `NaN` and `[+-]Inf`/`[+-]Infinity`
 * (case-insensitive, like Go's ParseFloat); rejects hex, underscores and everything else.
 */
export function parseFloatToken(text: string, s: number, e: number, allowSpecial: boolean): number | undefined {
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

/** End of the metric name that starts at `p` (`p` itself if no name starts there). */
export function scanName(text: string, p: number, end: number): number {
  let c = text.charCodeAt(p);
  if (p >= end || !(c < 128 && CC[c]! & CC_NAME_START)) return p;
  p++;
  while (p < end && (c = text.charCodeAt(p)) < 128 && CC[c]! & CC_NAME) p++;
  return p;
}

/** Does text[s, e) equal `str`? (A charCodeAt loop beats startsWith for short names.) */
function regionEquals(text: string, s: number, e: number, str: string): boolean {
  const n = str.length;
  if (e - s !== n) return false;
  for (let i = 0; i < n; i++) if (text.charCodeAt(s + i) !== str.charCodeAt(i)) return false;
  return true;
}

/** The current line of a parse and the readers of its tokens; the parser extends it. */
export abstract class LineReader {
  protected readonly text: string;
  protected readonly om: boolean;
  lineNo = 0;
  protected lineStart = 0;
  protected end = 0;
  protected prevLabels: MetricLabel[] = [];
  /** Set by parseLabels: the label text is already in canonical form (usable as a key). */
  protected canonical = true;

  constructor(text: string, om: boolean) {
    this.text = text;
    this.om = om;
  }

  protected fail(p: number, reason: string): never {
    throw new ExpositionParseError(this.lineNo, p - this.lineStart + 1, reason);
  }

  protected skipBlanks(p: number): number {
    const text = this.text;
    const end = this.end;
    while (p < end) {
      const c = text.charCodeAt(p);
      if (c !== SP && c !== TAB) break;
      p++;
    }
    return p;
  }

  /**
   * Parse `name="value", ...}` starting after `{`; push labels into `out`; return the position
   * after `}`. With `series`, also maintain `canonical` (no blanks, no trailing comma, names in
   * ascending order) so the raw text can serve as the duplicate-detection key.
   */
  protected parseLabels(p: number, out: MetricLabel[], series: boolean): number {
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

  protected timestamp(s: number, e: number): number {
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
  protected exemplar(hashPos: number): Exemplar {
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

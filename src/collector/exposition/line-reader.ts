/**
 * Reads the tokens of one exposition line for the parser: label sets, timestamps and
 * OpenMetrics exemplars, with line/column positions for errors. The base of the parser's
 * class chain (line-reader → family-table → metadata-lines → parser).
 */
import {
  BSLASH,
  CC,
  CC_LABEL,
  CC_LABEL_START,
  COMMA,
  describeChar,
  EQ,
  LBRACE,
  parseFloatToken,
  QUOTE,
  quote,
  RBRACE,
  regionEquals,
  SP,
  TAB,
  unescapeLabelValue,
} from './lexer.js';
import { ExpositionParseError, type Exemplar, type MetricLabel } from './types.js';

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

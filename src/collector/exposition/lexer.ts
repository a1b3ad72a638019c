/**
 * The exposition formats' lexical level: character classes, character codes, and token readers
 * that work on `text[s, e)` without allocating (floats, label-value and HELP escapes), plus the
 * wording helpers of error messages.
 */

export const CC_NAME_START = 1; // [a-zA-Z_:]
export const CC_NAME = 2; // [a-zA-Z0-9_:]
export const CC_LABEL_START = 4; // [a-zA-Z_]
export const CC_LABEL = 8; // [a-zA-Z0-9_]
export const CC = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  const digit = c >= 48 && c <= 57;
  if (alpha || c === 58) CC[c]! |= CC_NAME_START | CC_NAME;
  if (digit) CC[c]! |= CC_NAME | CC_LABEL;
  if (alpha) CC[c]! |= CC_LABEL_START | CC_LABEL;
}

export const SP = 32;
export const TAB = 9;
export const HASH = 35;
export const QUOTE = 34;
export const BSLASH = 92;
export const COMMA = 44;
export const EQ = 61;
export const LBRACE = 123;
export const RBRACE = 125;

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

export function unescapeLabelValue(text: string, s: number, e: number): string {
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

/** Does text[s, e) equal `str`? (A charCodeAt loop beats startsWith for short names.) */
export function regionEquals(text: string, s: number, e: number, str: string): boolean {
  const n = str.length;
  if (e - s !== n) return false;
  for (let i = 0; i < n; i++) if (text.charCodeAt(s + i) !== str.charCodeAt(i)) return false;
  return true;
}

/**
 * Lexer of the formula language: turns expression text into tokens, on demand.
 *
 * Tokens: numbers (`12`, `1.5`, `.5`, `5.`, `1e-3`, `2.5E+4`), identifiers
 * (`[A-Za-z_][A-Za-z0-9_]*`, ASCII only), the operators `+ - * / ^` (and `**`, the Python
 * spelling of `^`, since the reference system is written in Python), `(`, `)` and `,`.
 * Whitespace is space, tab, CR, LF, VT and FF. Any other character becomes an `invalid`
 * token rather than an immediate error, so the parser reports problems in reading order
 * (`process.exit()` fails on the unknown name `process`, not on the `.` after it).
 *
 * The lexer makes one pass over the text and never backtracks: linear time on any input.
 */
import { errorAt, type ExpressionOrigin } from './errors.js';

export type TokenKind = 'number' | 'ident' | 'op' | 'lparen' | 'rparen' | 'comma' | 'invalid' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** The token's text as written (for `**`, the text is `**` and `op` is `^`). */
  readonly text: string;
  readonly offset: number;
  /** The value of a number token. */
  readonly value: number;
  /** The operator of an op token (`**` normalised to `^`). */
  readonly op: string;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isIdentStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isIdentPart = (c: number): boolean => isIdentStart(c) || isDigit(c);
const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;

export class Lexer {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly origin?: ExpressionOrigin,
  ) {}

  /** Reads the next token; `eof` (repeatedly) at the end. */
  next(): Token {
    const text = this.text;
    let i = this.pos;
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    if (i >= text.length) {
      this.pos = i;
      return tok('eof', '', i);
    }
    const c = text.charCodeAt(i);
    const start = i;
    if (isDigit(c) || (c === 46 /* . */ && isDigit(text.charCodeAt(i + 1)))) {
      return this.number(start);
    }
    if (isIdentStart(c)) {
      i++;
      while (i < text.length && isIdentPart(text.charCodeAt(i))) i++;
      this.pos = i;
      return tok('ident', text.slice(start, i), start);
    }
    this.pos = i + 1;
    switch (c) {
      case 43: // +
      case 45: // -
      case 47: // /
      case 94: // ^
        return { kind: 'op', text: text[i] as string, offset: start, value: NaN, op: text[i] as string };
      case 42: // * or **
        if (text.charCodeAt(i + 1) === 42) {
          this.pos = i + 2;
          return { kind: 'op', text: '**', offset: start, value: NaN, op: '^' };
        }
        return { kind: 'op', text: '*', offset: start, value: NaN, op: '*' };
      case 40:
        return tok('lparen', '(', start);
      case 41:
        return tok('rparen', ')', start);
      case 44:
        return tok('comma', ',', start);
      default: {
        // One whole code point, so a surrogate pair is reported as the character it encodes.
        const cp = text.codePointAt(i) ?? c;
        const ch = String.fromCodePoint(cp);
        this.pos = i + ch.length;
        return tok('invalid', ch, start);
      }
    }
  }

  private number(start: number): Token {
    const text = this.text;
    let i = start;
    while (isDigit(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) === 46) {
      i++;
      while (isDigit(text.charCodeAt(i))) i++;
    }
    const e = text.charCodeAt(i);
    if (e === 69 || e === 101) {
      // An exponent needs digits: `1e5`, `1e-5`, `1E+5`. `2e` or `2ex` is an error, not `2*e`.
      let j = i + 1;
      const sign = text.charCodeAt(j);
      if (sign === 43 || sign === 45) j++;
      if (!isDigit(text.charCodeAt(j))) {
        let end = j;
        while (end < text.length && isIdentPart(text.charCodeAt(end))) end++;
        throw errorAt('invalid-number', `malformed number '${text.slice(start, end)}': the exponent has no digits`, text, start, this.origin, {
          length: end - start,
          hint: "write e.g. 1e-3; for Euler's number times a value use '*' (2 * e)",
        });
      }
      i = j;
      while (isDigit(text.charCodeAt(i))) i++;
    }
    // A second '.' or a digit glued on (`1.2.3`, `1e5.5`) makes the number malformed.
    if (text.charCodeAt(i) === 46) {
      let end = i;
      while (end < text.length && (isIdentPart(text.charCodeAt(end)) || text.charCodeAt(end) === 46)) end++;
      const shown = text.slice(start, Math.min(end, start + 40));
      throw errorAt('invalid-number', `malformed number '${shown}${end - start > 40 ? '…' : ''}'`, text, start, this.origin, { length: end - start });
    }
    const raw = text.slice(start, i);
    const value = Number(raw);
    if (!Number.isFinite(value)) {
      throw errorAt('invalid-number', `number '${raw.length > 40 ? `${raw.slice(0, 39)}…` : raw}' is out of range`, text, start, this.origin, { length: i - start });
    }
    this.pos = i;
    return { kind: 'number', text: raw, offset: start, value, op: '' };
  }
}

function tok(kind: TokenKind, text: string, offset: number): Token {
  return { kind, text, offset, value: NaN, op: '' };
}

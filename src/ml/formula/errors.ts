/**
 * FormulaError: the one error type of the formula language, and the limits that keep
 * hostile input bounded.
 *
 * Every failure in this package (lexing, parsing, name resolution, arity, limits, the file
 * format, reading the file) is a `FormulaError` with a machine-readable `code`, a
 * human-readable `reason` and, when there is one, the position: `line`/`column` (1-based,
 * in the file or expression text, UTF-16 code units as editors count them) and `offset`
 * (0-based, in the expression). Its `message` is the compiler-style
 * `source:line:column: reason`, e.g. `models/dummy/x.txt:2:27: unexpected ')'`.
 */

/** Longest expression accepted (characters); longer input is rejected before lexing. */
export const MAX_EXPRESSION_LENGTH = 65_536;
/**
 * Deepest nesting accepted: parentheses, unary signs, function calls and `^` chains count
 * while parsing, and the height of the resulting tree is bounded by the same number, so
 * every recursive pass (differentiation, compilation, evaluation, printing) stays far below
 * the JavaScript stack limit.
 */
export const MAX_DEPTH = 256;
/** Largest symbolic derivative (distinct nodes; sub-trees are shared). */
export const MAX_DERIVATIVE_NODES = 100_000;
/** Largest formula file accepted (bytes). */
export const MAX_FILE_BYTES = 1_048_576;

export type FormulaErrorCode =
  /** A character that is not part of the language (the reason names it). */
  | 'unexpected-character'
  /** A token where it cannot stand, e.g. `)` with no `(`, `2 x`, `x +* y`. */
  | 'unexpected-token'
  /** The expression ended where more was needed (`2 *`, `sqrt(x`). */
  | 'unexpected-end'
  /** A malformed or out-of-range number (`1e`, `1.2.3`, `1e999`). */
  | 'invalid-number'
  | 'unknown-variable'
  | 'unknown-function'
  /** A variable or constant used as a function (`x(2)`), or a function used as a value. */
  | 'not-a-function'
  | 'not-a-value'
  /** Wrong number of arguments to a function. */
  | 'arity'
  | 'empty-expression'
  /** Expression longer than MAX_EXPRESSION_LENGTH. */
  | 'too-long'
  /** Nesting or tree height beyond MAX_DEPTH. */
  | 'too-deep'
  /** Symbolic derivative larger than MAX_DERIVATIVE_NODES. */
  | 'too-complex'
  /** A file line that is not `key = value`, or text after a closing quote. */
  | 'syntax'
  | 'unterminated-string'
  | 'unknown-key'
  | 'duplicate-key'
  | 'missing-key'
  /** The file is not valid UTF-8. */
  | 'encoding'
  | 'file-too-large'
  /** The file could not be read (missing, unreadable, a directory...). */
  | 'io';

export interface FormulaErrorDetails {
  code: FormulaErrorCode;
  /** What is wrong, without the position, e.g. `unexpected ')'`. */
  reason: string;
  /** File name (or other label) of the text; `<expression>` for a bare expression. */
  source?: string | undefined;
  /** 1-based line in the source text. */
  line?: number | undefined;
  /** 1-based column in the source text. */
  column?: number | undefined;
  /** 0-based offset of the problem in the expression text. */
  offset?: number | undefined;
  /** Length of the offending text (≥ 1 when known). */
  length?: number | undefined;
  /** A suggestion, e.g. `did you mean 'sqrt'?`. */
  hint?: string | undefined;
  cause?: unknown;
}

export class FormulaError extends Error {
  override readonly name = 'FormulaError';
  readonly code: FormulaErrorCode;
  readonly reason: string;
  readonly source: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly offset: number | undefined;
  readonly length: number | undefined;
  readonly hint: string | undefined;

  constructor(details: FormulaErrorDetails) {
    super(formatMessage(details), details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.reason = details.reason;
    this.source = details.source;
    this.line = details.line;
    this.column = details.column;
    this.offset = details.offset;
    this.length = details.length;
    this.hint = details.hint;
  }
}

function formatMessage(d: FormulaErrorDetails): string {
  let where = d.source ?? '<expression>';
  if (d.line !== undefined) where += `:${d.line}`;
  if (d.line !== undefined && d.column !== undefined) where += `:${d.column}`;
  return `${where}: ${d.reason}${d.hint ? ` (${d.hint})` : ''}`;
}

/**
 * Where an expression sits in its source: the file name and the line/column of its first
 * character. Errors at an offset in the expression are reported at the matching file
 * position.
 */
export interface ExpressionOrigin {
  source?: string | undefined;
  /** 1-based line of the expression's first character (default 1). */
  line?: number | undefined;
  /** 1-based column of the expression's first character (default 1). */
  column?: number | undefined;
}

/** Builds a FormulaError at `offset` of `text`, mapped to the origin's line/column. */
export function errorAt(
  code: FormulaErrorCode,
  reason: string,
  text: string,
  offset: number,
  origin: ExpressionOrigin | undefined,
  extra: { length?: number; hint?: string | undefined } = {},
): FormulaError {
  const baseLine = origin?.line ?? 1;
  const baseColumn = origin?.column ?? 1;
  const off = Math.max(0, Math.min(offset, text.length));
  // Count line breaks before the offset (only bare multi-line expressions have any).
  let line = baseLine;
  let lineStart = 0;
  for (let i = 0; i < off; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = line === baseLine ? baseColumn + off : off - lineStart + 1;
  return new FormulaError({
    code,
    reason,
    source: origin?.source,
    line,
    column,
    offset: off,
    length: extra.length,
    hint: extra.hint,
  });
}

/**
 * Quotes user text for an error message: abbreviated past 40 characters, control and other
 * invisible characters shown as U+XXXX so a message never carries raw control codes.
 */
export function quote(text: string, max = 40): string {
  const chars = Array.from(text);
  const shown = chars.length > max ? [...chars.slice(0, max - 1), '…'] : chars;
  return `'${shown.map(visible).join('')}'`;
}

/** One code point as shown in messages: itself when printable, else U+XXXX. */
export function visible(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const invisible =
    cp < 0x20 ||
    (cp >= 0x7f && cp <= 0xa0) ||
    cp === 0xad ||
    (cp >= 0x2000 && cp <= 0x200f) ||
    (cp >= 0x2028 && cp <= 0x202f) ||
    cp === 0x2060 ||
    cp === 0xfeff ||
    (cp >= 0xd800 && cp <= 0xdfff);
  return invisible ? codePointName(cp) : ch;
}

export function codePointName(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

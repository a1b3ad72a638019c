/**
 * Parser of the formula language: expression text → expression tree (ast.ts), recursive
 * descent with positioned errors and hard bounds (MAX_EXPRESSION_LENGTH, MAX_DEPTH). Grammar
 * and why hand-written (not mathjs, expr-eval, jsep): docs/formula-language.md.
 */
import type { BinaryOp, Node } from './ast.js';
import { errorAt, MAX_DEPTH, MAX_EXPRESSION_LENGTH, quote, visible, codePointName, type ExpressionOrigin, type FormulaError } from './errors.js';
import { Lexer, type Token } from './lexer.js';
import { CONSTANTS, FUNCTIONS, VARIABLES, suggestName } from './names.js';

/** Parses one expression. Throws FormulaError (only) on any problem. */
export function parseExpression(text: string, origin?: ExpressionOrigin): Node {
  if (typeof text !== 'string') {
    throw errorAt('empty-expression', 'expression is not text', '', 0, origin);
  }
  if (text.length > MAX_EXPRESSION_LENGTH) {
    throw errorAt(
      'too-long',
      `expression is ${text.length} characters long; the limit is ${MAX_EXPRESSION_LENGTH}`,
      text,
      MAX_EXPRESSION_LENGTH,
      origin,
    );
  }
  return new Parser(text, origin).parse();
}

const HINTS: ReadonlyMap<string, string> = new Map([
  ['×', "use '*' for multiplication"],
  ['·', "use '*' for multiplication"],
  ['⋅', "use '*' for multiplication"],
  ['∗', "use '*' for multiplication"],
  ['÷', "use '/' for division"],
  ['−', "this is a Unicode minus sign; use the ASCII '-'"],
  ['–', "this is a dash; use the ASCII '-'"],
  ['—', "this is a dash; use the ASCII '-'"],
  ['π', "write 'pi'"],
  ['²', "write '^2'"],
  ['³', "write '^3'"],
  ['√', 'write sqrt(...)'],
  ['\u00a0', 'a no-break space; use a normal space'],
  ['"', 'quotes may only surround a whole value in a formula file'],
  ["'", 'quotes may only surround a whole value in a formula file'],
  ['[', "use '(' and ')' for grouping"],
  [']', "use '(' and ')' for grouping"],
  ['{', "use '(' and ')' for grouping"],
  ['}', "use '(' and ')' for grouping"],
  ['=', 'assignments and comparisons are not part of the language'],
  ['<', 'comparisons are not part of the language'],
  ['>', 'comparisons are not part of the language'],
  ['%', "there is no modulo or percent operator; x is a fraction (occupation % / 100)"],
  ['.', 'there is no member access; numbers are written like 0.5 or .5'],
  [';', 'one expression per value'],
  ['#', 'comments are only allowed in a formula file, outside quotes'],
]);

class Parser {
  private readonly lexer: Lexer;
  private tok: Token;
  private prev: Token | undefined;
  /** Height of each node built, for the MAX_DEPTH bound on the tree. */
  private readonly heights = new WeakMap<Node, number>();

  constructor(
    private readonly text: string,
    private readonly origin: ExpressionOrigin | undefined,
  ) {
    this.lexer = new Lexer(text, origin);
    this.tok = this.lexer.next();
  }

  parse(): Node {
    if (this.at('eof')) {
      throw this.error('empty-expression', 'empty expression', this.tok.offset);
    }
    const node = this.additive(0);
    if (!this.at('eof')) {
      throw this.unexpected('an operator or the end of the expression');
    }
    return node;
  }

  // --- grammar ---------------------------------------------------------------------------

  private additive(depth: number): Node {
    let left = this.term(depth);
    while (this.at('op') && (this.tok.op === '+' || this.tok.op === '-')) {
      const opTok = this.advance();
      const right = this.term(depth);
      left = this.bin(opTok, left, right);
    }
    return left;
  }

  private term(depth: number): Node {
    let left = this.unary(depth);
    while (this.at('op') && (this.tok.op === '*' || this.tok.op === '/')) {
      const opTok = this.advance();
      const right = this.unary(depth);
      left = this.bin(opTok, left, right);
    }
    return left;
  }

  private unary(depth: number): Node {
    if (this.at('op') && (this.tok.op === '+' || this.tok.op === '-')) {
      const opTok = this.advance();
      this.enter(depth + 1, opTok);
      const arg = this.unary(depth + 1);
      if (opTok.op === '+') return arg;
      const node: Node = { kind: 'neg', arg, pos: opTok.offset };
      this.setHeight(node, this.height(arg) + 1, opTok);
      return node;
    }
    return this.power(depth);
  }

  private power(depth: number): Node {
    const base = this.primary(depth);
    if (this.at('op') && this.tok.op === '^') {
      const opTok = this.advance();
      this.enter(depth + 1, opTok);
      const exponent = this.unary(depth + 1);
      return this.bin(opTok, base, exponent);
    }
    return base;
  }

  private primary(depth: number): Node {
    const t = this.tok;
    switch (t.kind) {
      case 'number': {
        this.advance();
        const node: Node = { kind: 'num', value: t.value, pos: t.offset };
        this.heights.set(node, 1);
        return node;
      }
      case 'ident':
        return this.name(depth);
      case 'lparen': {
        this.advance();
        this.enter(depth + 1, t);
        if (this.at('rparen')) {
          throw this.error('unexpected-token', "empty parentheses '()'", this.tok.offset, { length: 1 });
        }
        const inner = this.additive(depth + 1);
        this.expectClose(t, 'parenthesis');
        return inner;
      }
      default:
        throw this.unexpected("a number, a name or '('");
    }
  }

  private name(depth: number): Node {
    const t = this.advance();
    const name = t.text;
    if (this.at('lparen')) {
      const spec = FUNCTIONS.get(name);
      if (!spec) {
        if (VARIABLES.has(name) || CONSTANTS.has(name)) {
          throw this.error('not-a-function', `${quote(name)} is a ${VARIABLES.has(name) ? 'variable' : 'constant'}, not a function`, t.offset, {
            length: name.length,
            hint: "implicit multiplication is not supported: write '*'",
          });
        }
        throw this.error('unknown-function', `unknown function ${quote(name)}`, t.offset, { length: name.length, hint: didYouMean(name) });
      }
      const open = this.advance();
      this.enter(depth + 1, open);
      const args: Node[] = [];
      if (!this.at('rparen')) {
        for (;;) {
          args.push(this.additive(depth + 1));
          if (!this.at('comma')) break;
          this.advance();
        }
      }
      this.expectClose(open, `argument list of ${name}()`);
      if (args.length < spec.minArgs || args.length > spec.maxArgs) {
        throw this.error('arity', `function '${name}' expects ${arityText(spec.minArgs, spec.maxArgs)}, got ${args.length}`, t.offset, {
          length: name.length,
        });
      }
      const node: Node = { kind: 'call', fn: name, args, pos: t.offset };
      let h = 0;
      for (const a of args) h = Math.max(h, this.height(a));
      this.setHeight(node, h + 1, t);
      return node;
    }
    const v = VARIABLES.get(name);
    if (v !== undefined) {
      const node: Node = v === name ? { kind: 'var', name: v, pos: t.offset } : { kind: 'var', name: v, alias: name, pos: t.offset };
      this.heights.set(node, 1);
      return node;
    }
    const c = CONSTANTS.get(name);
    if (c !== undefined) {
      const node: Node = { kind: 'num', value: c, name, pos: t.offset };
      this.heights.set(node, 1);
      return node;
    }
    if (FUNCTIONS.has(name)) {
      throw this.error('not-a-value', `'${name}' is a function; call it with arguments, e.g. ${name}(x)`, t.offset, { length: name.length });
    }
    throw this.error('unknown-variable', `unknown name ${quote(name)}`, t.offset, {
      length: name.length,
      hint: didYouMean(name) ?? 'the variables are x (occupation, 0..1) and y (packet length, bytes)',
    });
  }

  // --- helpers ---------------------------------------------------------------------------

  /** Whether the current token is of a kind (a method, so TypeScript does not narrow
   * `this.tok` across advance()). */
  private at(kind: Token['kind']): boolean {
    return this.tok.kind === kind;
  }

  private advance(): Token {
    const t = this.tok;
    this.prev = t;
    this.tok = this.lexer.next();
    return t;
  }

  private expectClose(open: Token, what: string): void {
    if (this.at('rparen')) {
      this.advance();
      return;
    }
    if (this.at('eof')) {
      throw this.error('unexpected-end', `missing ')' to close the ${what} opened at offset ${open.offset}`, this.tok.offset);
    }
    throw this.unexpected(this.at('comma') ? "')' (this function takes no more arguments here)" : "',' or ')'");
  }

  private bin(opTok: Token, left: Node, right: Node): Node {
    const node: Node = { kind: 'bin', op: opTok.op as BinaryOp, left, right, pos: opTok.offset };
    this.setHeight(node, 1 + Math.max(this.height(left), this.height(right)), opTok);
    return node;
  }

  private height(n: Node): number {
    return this.heights.get(n) ?? 1;
  }

  private setHeight(node: Node, h: number, at: Token): void {
    if (h > MAX_DEPTH) {
      throw this.error('too-deep', `expression tree deeper than ${MAX_DEPTH} levels (too many chained operations; simplify or split the formula)`, at.offset, {
        length: at.text.length,
      });
    }
    this.heights.set(node, h);
  }

  private enter(depth: number, at: Token): void {
    if (depth > MAX_DEPTH) {
      throw this.error('too-deep', `nesting deeper than ${MAX_DEPTH} levels`, at.offset, { length: at.text.length });
    }
  }

  private unexpected(expected: string): FormulaError {
    const t = this.tok;
    switch (t.kind) {
      case 'eof':
        return this.error('unexpected-end', `unexpected end of expression; expected ${expected}`, t.offset);
      case 'invalid': {
        const cp = t.text.codePointAt(0) ?? 0;
        const shown = visible(t.text);
        const label = shown === t.text ? `'${t.text}' (${codePointName(cp)})` : shown;
        return this.error('unexpected-character', `unexpected character ${label}`, t.offset, { length: t.text.length, hint: HINTS.get(t.text) });
      }
      default: {
        const shown = t.kind === 'number' || t.kind === 'ident' ? `${t.kind === 'number' ? 'number' : 'name'} ${quote(t.text)}` : `'${t.text}'`;
        let hint: string | undefined;
        const p = this.prev;
        if (p && (t.kind === 'ident' || t.kind === 'number' || t.kind === 'lparen') && (p.kind === 'number' || p.kind === 'ident' || p.kind === 'rparen')) {
          hint = "implicit multiplication is not supported: write '*'";
        } else if (t.kind === 'rparen' && p?.kind === 'op') {
          hint = `'${p.text}' needs an operand`;
        } else if (t.kind === 'op' && p?.kind === 'op') {
          hint = t.op === '*' && p.op === '*' ? undefined : 'two operators in a row';
        }
        return this.error('unexpected-token', `unexpected ${shown}`, t.offset, { length: t.text.length, hint });
      }
    }
  }

  private error(
    code: Parameters<typeof errorAt>[0],
    reason: string,
    offset: number,
    extra: { length?: number; hint?: string | undefined } = {},
  ): FormulaError {
    return errorAt(code, reason, this.text, offset, this.origin, extra);
  }
}

function arityText(min: number, max: number): string {
  const plural = (n: number): string => `${n} argument${n === 1 ? '' : 's'}`;
  if (min === max) return plural(min);
  if (max === Infinity) return `at least ${plural(min)}`;
  return `${min} to ${max} arguments`;
}

function didYouMean(name: string): string | undefined {
  const s = suggestName(name);
  return s ? `did you mean '${s}'?` : undefined;
}

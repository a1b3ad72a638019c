/**
 * The expression tree (AST) of the formula language and its printer.
 *
 * Nodes are immutable plain objects. `pos` is the 0-based offset of the node's token in the
 * expression text it was parsed from (-1 for nodes made by differentiation or folding).
 * Sub-trees may be shared (the differentiator reuses them), so a tree is really a DAG; every
 * pass that could revisit a shared node memoises by node identity.
 *
 * `formatExpression` prints a tree back as text that parses to the same tree (numbers are
 * printed with JavaScript's shortest round-trip form, parentheses only where precedence or
 * associativity needs them), except for `partial` nodes, which only differentiation makes
 * and which have no syntax of their own (printed as `∂min/∂arg1(a, b)`).
 */

export type VarName = 'x' | 'y';
export type BinaryOp = '+' | '-' | '*' | '/' | '^';

export interface NumNode {
  readonly kind: 'num';
  readonly value: number;
  /** Set for named constants (`pi`, `e`) so they print by name. */
  readonly name?: string;
  readonly pos: number;
}
export interface VarNode {
  readonly kind: 'var';
  readonly name: VarName;
  /** The spelling used in the text when it was an alias (e.g. `Throughput`). */
  readonly alias?: string;
  readonly pos: number;
}
export interface NegNode {
  readonly kind: 'neg';
  readonly arg: Node;
  readonly pos: number;
}
export interface BinNode {
  readonly kind: 'bin';
  readonly op: BinaryOp;
  readonly left: Node;
  readonly right: Node;
  readonly pos: number;
}
export interface CallNode {
  readonly kind: 'call';
  readonly fn: string;
  readonly args: readonly Node[];
  readonly pos: number;
}
/**
 * The partial derivative of function `fn` with respect to its argument number `index`
 * (0-based), evaluated at `args` by central finite differences. Made only by the
 * differentiator, for the functions it does not differentiate symbolically (min, max).
 */
export interface PartialNode {
  readonly kind: 'partial';
  readonly fn: string;
  readonly index: number;
  readonly args: readonly Node[];
  readonly pos: number;
}

export type Node = NumNode | VarNode | NegNode | BinNode | CallNode | PartialNode;

// Binding strength for printing: higher binds tighter.
const PREC_ADD = 1;
const PREC_MUL = 2;
const PREC_NEG = 3;
const PREC_POW = 4;
const PREC_ATOM = 5;

function precedence(node: Node): number {
  switch (node.kind) {
    case 'num':
      // A negative literal (made by folding) prints with a leading '-', like a negation.
      return node.value < 0 || Object.is(node.value, -0) ? PREC_NEG : PREC_ATOM;
    case 'var':
    case 'call':
    case 'partial':
      return PREC_ATOM;
    case 'neg':
      return PREC_NEG;
    case 'bin':
      return node.op === '+' || node.op === '-' ? PREC_ADD : node.op === '^' ? PREC_POW : PREC_MUL;
  }
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return '(0/0)';
  if (value === Infinity) return '(1/0)';
  if (value === -Infinity) return '(-1/0)';
  if (Object.is(value, -0)) return '-0';
  return String(value);
}

/** Prints an expression tree as formula-language text (see the module comment). */
export function formatExpression(node: Node): string {
  const memo = new Map<Node, string>();
  const fmt = (n: Node): string => {
    const hit = memo.get(n);
    if (hit !== undefined) return hit;
    const s = fmtNode(n);
    memo.set(n, s);
    return s;
  };
  const wrap = (child: Node, needParens: boolean): string => (needParens ? `(${fmt(child)})` : fmt(child));
  const fmtNode = (n: Node): string => {
    switch (n.kind) {
      case 'num':
        return n.name ?? formatNumber(n.value);
      case 'var':
        return n.alias ?? n.name;
      case 'neg':
        // `-(-a)` rather than `--a`, and `-(a * b)`: the parser reads `-a * b` as `(-a) * b`.
        return `-${wrap(n.arg, precedence(n.arg) <= PREC_NEG)}`;
      case 'bin': {
        const p = precedence(n);
        if (n.op === '^') {
          // Right-associative: the base needs parentheses at equal precedence, and a negative
          // base always (`(-2)^2`); the exponent only below it (`a^(-b)` for clarity).
          return `${wrap(n.left, precedence(n.left) <= p)}^${wrap(n.right, precedence(n.right) < p)}`;
        }
        const left = wrap(n.left, precedence(n.left) < p);
        // Left-associative: the right operand needs parentheses at equal precedence, so the
        // printed text keeps the tree's grouping (and its floating-point rounding) exactly.
        const right = wrap(n.right, precedence(n.right) <= p);
        return `${left} ${n.op} ${right}`;
      }
      case 'call':
        return `${n.fn}(${n.args.map(fmt).join(', ')})`;
      case 'partial':
        return `∂${n.fn}/∂arg${n.index + 1}(${n.args.map(fmt).join(', ')})`;
    }
  };
  return fmt(node);
}

/** The variables an expression depends on. */
export function variablesOf(node: Node): Set<VarName> {
  const out = new Set<VarName>();
  const seen = new Set<Node>();
  const walk = (n: Node): void => {
    if (seen.has(n)) return;
    seen.add(n);
    switch (n.kind) {
      case 'var':
        out.add(n.name);
        return;
      case 'num':
        return;
      case 'neg':
        walk(n.arg);
        return;
      case 'bin':
        walk(n.left);
        walk(n.right);
        return;
      case 'call':
      case 'partial':
        for (const a of n.args) walk(a);
        return;
    }
  };
  walk(node);
  return out;
}

/**
 * Number of nodes of the tree with shared sub-trees counted each time they are used: the
 * work one evaluation does. Memoised, so it runs in time linear in the DAG.
 */
export function expandedSize(node: Node): number {
  const memo = new Map<Node, number>();
  const size = (n: Node): number => {
    const hit = memo.get(n);
    if (hit !== undefined) return hit;
    let s = 1;
    switch (n.kind) {
      case 'neg':
        s += size(n.arg);
        break;
      case 'bin':
        s += size(n.left) + size(n.right);
        break;
      case 'call':
      case 'partial':
        for (const a of n.args) s += size(a);
        break;
      default:
        break;
    }
    memo.set(n, s);
    return s;
  };
  return size(node);
}

/** Number of distinct nodes (shared sub-trees counted once): the size in memory. */
export function dagSize(node: Node): number {
  const seen = new Set<Node>();
  const stack: Node[] = [node];
  while (stack.length > 0) {
    const n = stack.pop() as Node;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n.kind === 'neg') stack.push(n.arg);
    else if (n.kind === 'bin') stack.push(n.left, n.right);
    else if (n.kind === 'call' || n.kind === 'partial') stack.push(...n.args);
  }
  return seen.size;
}

/** Height of the tree (a leaf has height 1). */
export function heightOf(node: Node): number {
  const memo = new Map<Node, number>();
  const h = (n: Node): number => {
    const hit = memo.get(n);
    if (hit !== undefined) return hit;
    let s = 0;
    switch (n.kind) {
      case 'neg':
        s = h(n.arg);
        break;
      case 'bin':
        s = Math.max(h(n.left), h(n.right));
        break;
      case 'call':
      case 'partial':
        for (const a of n.args) s = Math.max(s, h(a));
        break;
      default:
        break;
    }
    memo.set(n, s + 1);
    return s + 1;
  };
  return h(node);
}

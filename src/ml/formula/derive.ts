/**
 * Symbolic differentiation of expression trees, simplified as built, memoised per node (the
 * result is a DAG linear in the input). Which function is differentiated how:
 * docs/formula-language.md, "Differentiation".
 */
import { dagSize, type BinNode, type Node, type VarName } from './ast.js';
import { errorAt, MAX_DERIVATIVE_NODES, type ExpressionOrigin } from './errors.js';
import { FUNCTIONS } from './names.js';

export interface DeriveOptions {
  /** Where the differentiated expression is, for the position of a `too-complex` error. */
  origin?: ExpressionOrigin | undefined;
  /** Largest result accepted, in distinct nodes (default MAX_DERIVATIVE_NODES). */
  maxNodes?: number | undefined;
}

/**
 * ∂node/∂wrt as a simplified tree. Throws FormulaError `too-complex` when the result has
 * more than `maxNodes` distinct nodes (reported at the origin: the expression's start).
 */
export function derive(node: Node, wrt: VarName, options: DeriveOptions = {}): Node {
  const memo = new Map<Node, Node>();
  const d = (n: Node): Node => {
    const hit = memo.get(n);
    if (hit !== undefined) return hit;
    const r = deriveNode(n, wrt, d);
    memo.set(n, r);
    return r;
  };
  const result = d(node);
  const limit = options.maxNodes ?? MAX_DERIVATIVE_NODES;
  const size = dagSize(result);
  if (size > limit) {
    throw errorAt(
      'too-complex',
      `the symbolic derivative with respect to ${wrt} has ${size} nodes, more than the limit of ${limit}`,
      '',
      0,
      options.origin,
      { hint: `write dz/d${wrt} explicitly or simplify the formula` },
    );
  }
  return result;
}

const LN2 = Math.LN2;
const LN10 = Math.LN10;

function deriveNode(n: Node, wrt: VarName, d: (n: Node) => Node): Node {
  switch (n.kind) {
    case 'num':
      return ZERO;
    case 'var':
      return n.name === wrt ? ONE : ZERO;
    case 'neg':
      return neg(d(n.arg));
    case 'partial':
      // Only min/max make partial nodes; their partials are piecewise constant.
      return ZERO;
    case 'bin':
      return deriveBinary(n, d);
    case 'call': {
      const args = n.args;
      const u = args[0] as Node;
      const du = (): Node => d(u);
      switch (n.fn) {
        case 'sqrt':
          return div(du(), mul(num(2), n));
        case 'cbrt':
          return div(du(), mul(num(3), pow(n, num(2))));
        case 'exp':
          return mul(du(), n);
        case 'expm1':
          return mul(du(), call('exp', [u]));
        case 'ln':
          return div(du(), u);
        case 'log':
          if (args.length === 2) {
            // log(u, b) = ln(u) / ln(b)
            const b = args[1] as Node;
            return deriveQuotient(call('ln', [u]), call('ln', [b]), div(du(), u), div(d(b), b));
          }
          return div(du(), u);
        case 'log10':
          return div(du(), mul(num(LN10), u));
        case 'log2':
          return div(du(), mul(num(LN2), u));
        case 'log1p':
          return div(du(), add(num(1), u));
        case 'pow': {
          const b = args[1] as Node;
          return derivePower(n, u, b, du(), d(b));
        }
        case 'abs':
          return mul(du(), call('sign', [u]));
        case 'sign':
        case 'floor':
        case 'ceil':
        case 'round':
        case 'trunc':
          return ZERO;
        case 'min':
        case 'max': {
          if (args.length === 1) return du();
          let sum: Node = ZERO;
          args.forEach((a, i) => {
            const da = d(a);
            if (!isZero(da)) sum = add(sum, mul({ kind: 'partial', fn: n.fn, index: i, args, pos: -1 }, da));
          });
          return sum;
        }
        case 'hypot': {
          let sum: Node = ZERO;
          for (const a of args) sum = add(sum, mul(a, d(a)));
          return div(sum, n);
        }
        case 'sin':
          return mul(du(), call('cos', [u]));
        case 'cos':
          return neg(mul(du(), call('sin', [u])));
        case 'tan':
          return div(du(), pow(call('cos', [u]), num(2)));
        case 'asin':
          return div(du(), call('sqrt', [sub(num(1), pow(u, num(2)))]));
        case 'acos':
          return neg(div(du(), call('sqrt', [sub(num(1), pow(u, num(2)))])));
        case 'atan':
          return div(du(), add(num(1), pow(u, num(2))));
        case 'atan2': {
          // atan2(a, b): (b·a' − a·b') / (a² + b²)
          const b = args[1] as Node;
          return div(sub(mul(b, du()), mul(u, d(b))), add(pow(u, num(2)), pow(b, num(2))));
        }
        case 'sinh':
          return mul(du(), call('cosh', [u]));
        case 'cosh':
          return mul(du(), call('sinh', [u]));
        case 'tanh':
          return mul(du(), sub(num(1), pow(n, num(2))));
        case 'asinh':
          return div(du(), call('sqrt', [add(pow(u, num(2)), num(1))]));
        case 'acosh':
          return div(du(), call('sqrt', [sub(pow(u, num(2)), num(1))]));
        case 'atanh':
          return div(du(), sub(num(1), pow(u, num(2))));
        default:
          // Unreachable for parsed trees: the parser only accepts the functions above.
          throw new TypeError(`no derivative rule for function '${n.fn}'`);
      }
    }
  }
}

function deriveBinary(n: BinNode, d: (n: Node) => Node): Node {
  const a = n.left;
  const b = n.right;
  switch (n.op) {
    case '+':
      return add(d(a), d(b));
    case '-':
      return sub(d(a), d(b));
    case '*':
      return add(mul(d(a), b), mul(a, d(b)));
    case '/':
      return deriveQuotient(a, b, d(a), d(b));
    case '^':
      return derivePower(n, a, b, d(a), d(b));
  }
}

function deriveQuotient(a: Node, b: Node, da: Node, db: Node): Node {
  if (isZero(db)) return div(da, b);
  // (a'b − ab') / b²
  return div(sub(mul(da, b), mul(a, db)), pow(b, num(2)));
}

/** d(a^b) for the node `self` = a^b (or pow(a, b)). */
function derivePower(self: Node, a: Node, b: Node, da: Node, db: Node): Node {
  if (isZero(db)) {
    // Constant exponent: b·a^(b−1)·a' (no logarithm, so negative bases work).
    if (isZero(da)) return ZERO;
    return mul(mul(b, pow(a, sub(b, num(1)))), da);
  }
  if (isZero(da)) {
    // Constant base: a^b·ln(a)·b'
    return mul(mul(db, call('ln', [a])), self);
  }
  // General: a^b·(b'·ln(a) + b·a'/a)
  return mul(self, add(mul(db, call('ln', [a])), div(mul(b, da), a)));
}

// --- smart constructors ----------------------------------------------------------------

const ZERO: Node = { kind: 'num', value: 0, pos: -1 };
const ONE: Node = { kind: 'num', value: 1, pos: -1 };

function num(value: number): Node {
  return value === 0 && !Object.is(value, -0) ? ZERO : value === 1 ? ONE : { kind: 'num', value, pos: -1 };
}

function numValue(n: Node): number | undefined {
  return n.kind === 'num' ? n.value : undefined;
}

function isZero(n: Node): boolean {
  return n.kind === 'num' && n.value === 0;
}

function isNumber(n: Node, v: number): boolean {
  return n.kind === 'num' && n.value === v;
}

/** Folds when the result is finite; otherwise keeps the operation (e.g. 1/0). */
function fold(r: number, otherwise: () => Node): Node {
  return Number.isFinite(r) ? num(r) : otherwise();
}

function binNode(op: BinNode['op'], left: Node, right: Node): Node {
  return { kind: 'bin', op, left, right, pos: -1 };
}

/** Splits c·t into [c, t]; anything else is [1, n] (or [−1, t] for −t). */
function coefficient(n: Node): [number, Node] {
  if (n.kind === 'bin' && n.op === '*' && n.left.kind === 'num' && !n.left.name) return [n.left.value, n.right];
  if (n.kind === 'neg') {
    const [c, t] = coefficient(n.arg);
    return [-c, t];
  }
  return [1, n];
}

export function add(a: Node, b: Node): Node {
  // Identities before folding, so a named constant (pi) keeps its name.
  if (isZero(a)) return b;
  if (isZero(b)) return a;
  const va = numValue(a);
  const vb = numValue(b);
  if (va !== undefined && vb !== undefined) return fold(va + vb, () => binNode('+', a, b));
  if (b.kind === 'neg') return sub(a, b.arg);
  if (vb !== undefined && vb < 0) return sub(a, num(-vb));
  if (b.kind === 'bin' && b.op === '*' && b.left.kind === 'num' && b.left.value < 0) return sub(a, mul(num(-b.left.value), b.right));
  const [ca, ta] = coefficient(a);
  const [cb, tb] = coefficient(b);
  if (a.kind !== 'num' && equal(ta, tb)) return mul(num(ca + cb), ta);
  return binNode('+', a, b);
}

export function sub(a: Node, b: Node): Node {
  if (isZero(b)) return a;
  const va = numValue(a);
  const vb = numValue(b);
  if (va !== undefined && vb !== undefined) return fold(va - vb, () => binNode('-', a, b));
  if (isZero(a)) return neg(b);
  if (b.kind === 'neg') return add(a, b.arg);
  if (vb !== undefined && vb < 0) return add(a, num(-vb));
  if (b.kind === 'bin' && b.op === '*' && b.left.kind === 'num' && b.left.value < 0) return add(a, mul(num(-b.left.value), b.right));
  const [ca, ta] = coefficient(a);
  const [cb, tb] = coefficient(b);
  if (a.kind !== 'num' && equal(ta, tb)) return mul(num(ca - cb), ta);
  return binNode('-', a, b);
}

export function mul(a: Node, b: Node): Node {
  if (isZero(a) || isZero(b)) return ZERO;
  if (isNumber(a, 1)) return b;
  if (isNumber(b, 1)) return a;
  const va = numValue(a);
  const vb = numValue(b);
  if (va !== undefined && vb !== undefined) return fold(va * vb, () => binNode('*', a, b));
  if (isNumber(a, -1)) return neg(b);
  if (isNumber(b, -1)) return neg(a);
  // Constants first: `40 * x`, not `x * 40`.
  if (vb !== undefined) return mul(b, a);
  if (a.kind === 'neg' && b.kind === 'neg') return mul(a.arg, b.arg);
  // a · (1 / b) → a / b
  if (b.kind === 'bin' && b.op === '/' && isNumber(b.left, 1)) return div(a, b.right);
  if (a.kind === 'bin' && a.op === '/' && isNumber(a.left, 1)) return div(b, a.right);
  if (a.kind === 'neg') return neg(mul(a.arg, b));
  if (b.kind === 'neg') return neg(mul(a, b.arg));
  if (va !== undefined && b.kind === 'bin' && b.op === '*' && b.left.kind === 'num') {
    const c = va * b.left.value;
    if (Number.isFinite(c)) return mul(num(c), b.right);
  }
  if (va === undefined && b.kind === 'bin' && b.op === '*' && b.left.kind === 'num') {
    // t · (c · u) → c · (t · u), keeping the constant in front.
    return mul(b.left, mul(a, b.right));
  }
  if (va === undefined && equal(a, b)) return pow(a, num(2));
  return binNode('*', a, b);
}

export function div(a: Node, b: Node): Node {
  if (isNumber(b, 1)) return a;
  const va = numValue(a);
  const vb = numValue(b);
  if (va !== undefined && vb !== undefined) return fold(va / vb, () => binNode('/', a, b));
  if (isZero(a)) return ZERO;
  if (isNumber(b, -1)) return neg(a);
  if (a.kind === 'neg' && b.kind === 'neg') return div(a.arg, b.arg);
  if (a.kind === 'neg') return neg(div(a.arg, b));
  return binNode('/', a, b);
}

export function neg(a: Node): Node {
  if (a.kind === 'num') return num(a.value === 0 ? 0 : -a.value);
  if (a.kind === 'neg') return a.arg;
  if (a.kind === 'bin' && a.op === '*' && a.left.kind === 'num') return mul(num(-a.left.value), a.right);
  return { kind: 'neg', arg: a, pos: -1 };
}

export function pow(a: Node, b: Node): Node {
  const va = numValue(a);
  const vb = numValue(b);
  if (va !== undefined && vb !== undefined) return fold(Math.pow(va, vb), () => binNode('^', a, b));
  if (isZero(b)) return ONE;
  if (isNumber(b, 1)) return a;
  if (isNumber(a, 1)) return ONE;
  return binNode('^', a, b);
}

export function call(fn: string, args: Node[]): Node {
  const spec = FUNCTIONS.get(fn);
  if (spec && args.every((a) => a.kind === 'num')) {
    const r = spec.impl(...args.map((a) => (a as { value: number }).value));
    if (Number.isFinite(r)) return num(r);
  }
  return { kind: 'call', fn, args, pos: -1 };
}

/**
 * Structural equality, used to merge like terms. Gives up (answers false) after visiting
 * 2000 nodes, so it can never make differentiation quadratic on large trees.
 */
function equal(a: Node, b: Node): boolean {
  let budget = 2000;
  const eq = (p: Node, q: Node): boolean => {
    if (p === q) return true;
    if (--budget < 0) return false;
    if (p.kind !== q.kind) return false;
    switch (p.kind) {
      case 'num':
        return Object.is(p.value, (q as typeof p).value);
      case 'var':
        return p.name === (q as typeof p).name;
      case 'neg':
        return eq(p.arg, (q as typeof p).arg);
      case 'bin': {
        const r = q as typeof p;
        return p.op === r.op && eq(p.left, r.left) && eq(p.right, r.right);
      }
      case 'call':
      case 'partial': {
        const r = q as typeof p;
        if (p.fn !== r.fn || p.args.length !== r.args.length) return false;
        if (p.kind === 'partial' && p.index !== (r as typeof p).index) return false;
        return p.args.every((x, i) => eq(x, r.args[i] as Node));
      }
    }
  };
  return eq(a, b);
}

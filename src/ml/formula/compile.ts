/**
 * Compilation of expression trees into fast evaluators, and a reference interpreter.
 *
 * `compile(node)` turns a tree into a tree of closures, one per node, each a plain
 * `(x, y) => number` — no `eval`, no `new Function`, no `vm`: nothing is ever turned back
 * into code. Sub-trees without variables are evaluated once at compile time (constant
 * folding); a sub-tree shared by several parents (derivatives share them) is evaluated
 * once per call; and the common shapes get their own closures (an operand that is a constant or
 * a variable is read directly instead of called, `t^2` is `t * t`), so the reference
 * formula `700 + 20 * x * x - 0.0008 * y` evaluates in a few tens of nanoseconds.
 *
 * `evaluate(node, x, y)` walks the tree directly. It is slower and exists as the reference
 * the compiled form is tested against; both give bit-identical results (they share the
 * arithmetic helpers below).
 */
import type { BinaryOp, Node, VarName } from './ast.js';
import { FUNCTIONS, type FunctionSpec } from './names.js';

/** A compiled expression: x = occupation fraction, y = packet length in bytes. */
export type CompiledExpr = (x: number, y: number) => number;

/** a^b as evaluated everywhere in this package (t^2 as t·t, exactly rounded). */
export function powValue(a: number, b: number): number {
  return b === 2 ? a * a : Math.pow(a, b);
}

/**
 * Central-difference step for a value a: ∛ε·max(1, |a|), the step that balances truncation
 * and rounding error for a smooth function.
 */
const CBRT_EPS = Math.cbrt(Number.EPSILON);

/** ∂f/∂(argument i) at vals by central differences. Restores vals[i]. */
export function partialValue(f: (...a: number[]) => number, vals: number[], i: number): number {
  const a = vals[i] as number;
  const h = CBRT_EPS * Math.max(1, Math.abs(a));
  const up = a + h;
  const down = a - h;
  vals[i] = up;
  const fUp = f(...vals);
  vals[i] = down;
  const fDown = f(...vals);
  vals[i] = a;
  return (fUp - fDown) / (up - down);
}

function spec(name: string): FunctionSpec {
  const s = FUNCTIONS.get(name);
  // Unreachable for trees made by the parser or the differentiator.
  if (!s) throw new TypeError(`unknown function '${name}'`);
  return s;
}

function applyBinary(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '^':
      return powValue(a, b);
  }
}

/**
 * Reference tree-walking interpreter (see the module comment). It does not cache shared
 * sub-trees, so on a large derivative DAG it can be much slower than the compiled form.
 */
export function evaluate(node: Node, x: number, y: number): number {
  switch (node.kind) {
    case 'num':
      return node.value;
    case 'var':
      return node.name === 'x' ? x : y;
    case 'neg':
      return -evaluate(node.arg, x, y);
    case 'bin':
      return applyBinary(node.op, evaluate(node.left, x, y), evaluate(node.right, x, y));
    case 'call':
      return spec(node.fn).impl(...node.args.map((a) => evaluate(a, x, y)));
    case 'partial':
      return partialValue(
        spec(node.fn).impl,
        node.args.map((a) => evaluate(a, x, y)),
        node.index,
      );
  }
}

const X: CompiledExpr = (x) => x;
const Y: CompiledExpr = (_x, y) => y;

/** Compiles a tree into a closure tree (see the module comment). */
export function compile(node: Node): CompiledExpr {
  const constMemo = new Map<Node, boolean>();
  const isConstant = (n: Node): boolean => {
    const hit = constMemo.get(n);
    if (hit !== undefined) return hit;
    let r: boolean;
    switch (n.kind) {
      case 'num':
        r = true;
        break;
      case 'var':
        r = false;
        break;
      case 'neg':
        r = isConstant(n.arg);
        break;
      case 'bin':
        r = isConstant(n.left) && isConstant(n.right);
        break;
      case 'call':
      case 'partial':
        r = n.args.every(isConstant);
        break;
    }
    constMemo.set(n, r);
    return r;
  };

  // Nodes used by more than one parent (derivatives share sub-trees): evaluated once per
  // call and cached, keyed by an epoch the root bumps on every call.
  const parents = countParents(node);
  const state = { epoch: 0 };
  let anyCached = false;

  const memo = new Map<Node, CompiledExpr>();
  const c = (n: Node): CompiledExpr => {
    const hit = memo.get(n);
    if (hit !== undefined) return hit;
    let f: CompiledExpr;
    if (isConstant(n)) {
      // Folded through the memoised closures, so shared constant sub-trees cost once.
      const v = compileNode(n, c, isConstant)(0, 0);
      f = () => v;
    } else {
      f = compileNode(n, c, isConstant);
      if ((parents.get(n) ?? 0) > 1 && n.kind !== 'var') {
        anyCached = true;
        const inner = f;
        let seen = -1;
        let cached = 0;
        f = (x, y) => {
          if (seen === state.epoch) return cached;
          cached = inner(x, y);
          seen = state.epoch;
          return cached;
        };
      }
    }
    memo.set(n, f);
    return f;
  };
  const root = c(node);
  if (!anyCached) return root;
  return (x, y) => {
    state.epoch++;
    return root(x, y);
  };
}

/** For each node, how many parent edges point to it (in the DAG). */
function countParents(root: Node): Map<Node, number> {
  const count = new Map<Node, number>();
  const stack: Node[] = [root];
  const seen = new Set<Node>();
  while (stack.length > 0) {
    const n = stack.pop() as Node;
    if (seen.has(n)) continue;
    seen.add(n);
    const children = n.kind === 'neg' ? [n.arg] : n.kind === 'bin' ? [n.left, n.right] : n.kind === 'call' || n.kind === 'partial' ? n.args : [];
    for (const ch of children) {
      count.set(ch, (count.get(ch) ?? 0) + 1);
      stack.push(ch);
    }
  }
  return count;
}

type Operand = { kind: 'const'; value: number } | { kind: 'var'; name: VarName } | { kind: 'fn'; f: CompiledExpr };

function compileNode(n: Node, c: (n: Node) => CompiledExpr, isConstant: (n: Node) => boolean): CompiledExpr {
  const operand = (m: Node): Operand => {
    if (isConstant(m)) return { kind: 'const', value: c(m)(0, 0) };
    if (m.kind === 'var') return { kind: 'var', name: m.name };
    return { kind: 'fn', f: c(m) };
  };
  switch (n.kind) {
    case 'num': {
      const v = n.value;
      return () => v;
    }
    case 'var':
      return n.name === 'x' ? X : Y;
    case 'neg': {
      const a = c(n.arg);
      return (x, y) => -a(x, y);
    }
    case 'bin':
      return compileBinary(n.op, operand(n.left), operand(n.right));
    case 'call': {
      const impl = spec(n.fn).impl;
      const args = n.args.map(c);
      if (args.length === 1) {
        const a = args[0] as CompiledExpr;
        // Written-out calls for the functions V8 compiles to a few instructions.
        switch (n.fn) {
          case 'sqrt':
            return (x, y) => Math.sqrt(a(x, y));
          case 'abs':
            return (x, y) => Math.abs(a(x, y));
          case 'floor':
            return (x, y) => Math.floor(a(x, y));
          case 'ceil':
            return (x, y) => Math.ceil(a(x, y));
          case 'round':
            return (x, y) => Math.round(a(x, y));
          case 'trunc':
            return (x, y) => Math.trunc(a(x, y));
          case 'ln':
          case 'log':
            return (x, y) => Math.log(a(x, y));
          case 'exp':
            return (x, y) => Math.exp(a(x, y));
          default: {
            const f = impl as (v: number) => number;
            return (x, y) => f(a(x, y));
          }
        }
      }
      if (args.length === 2) {
        const a = args[0] as CompiledExpr;
        const b = args[1] as CompiledExpr;
        return (x, y) => impl(a(x, y), b(x, y));
      }
      const vals = new Array<number>(args.length).fill(0);
      return (x, y) => {
        for (let i = 0; i < args.length; i++) vals[i] = (args[i] as CompiledExpr)(x, y);
        return impl(...vals);
      };
    }
    case 'partial': {
      const impl = spec(n.fn).impl;
      const args = n.args.map(c);
      const index = n.index;
      return (x, y) => {
        const vals = args.map((a) => a(x, y));
        return partialValue(impl, vals, index);
      };
    }
  }
}

/**
 * Binary operations, specialised on the operand shapes: constant, variable (read directly)
 * or sub-expression (called). The generic form is `(x, y) => op(l(x, y), r(x, y))`.
 */
function compileBinary(op: BinaryOp, l: Operand, r: Operand): CompiledExpr {
  if (op === '^') {
    const f = toFn(l);
    if (r.kind === 'const') {
      const e = r.value;
      if (e === 2) {
        if (l.kind === 'var') return l.name === 'x' ? (x) => x * x : (_x, y) => y * y;
        return (x, y) => {
          const t = f(x, y);
          return t * t;
        };
      }
      return (x, y) => Math.pow(f(x, y), e);
    }
    const g = toFn(r);
    return (x, y) => powValue(f(x, y), g(x, y));
  }
  // constant ∘ variable and variable ∘ constant: the shapes of polynomial terms (20 * x).
  if (l.kind === 'const' && r.kind === 'var') return constVar(op, l.value, r.name);
  if (l.kind === 'var' && r.kind === 'const') return varConst(op, l.name, r.value);
  if (l.kind === 'const') {
    const k = l.value;
    const g = toFn(r);
    switch (op) {
      case '+':
        return (x, y) => k + g(x, y);
      case '-':
        return (x, y) => k - g(x, y);
      case '*':
        return (x, y) => k * g(x, y);
      case '/':
        return (x, y) => k / g(x, y);
    }
  }
  if (r.kind === 'const') {
    const k = r.value;
    const f = toFn(l);
    switch (op) {
      case '+':
        return (x, y) => f(x, y) + k;
      case '-':
        return (x, y) => f(x, y) - k;
      case '*':
        return (x, y) => f(x, y) * k;
      case '/':
        return (x, y) => f(x, y) / k;
    }
  }
  const f = toFn(l);
  const g = toFn(r);
  switch (op) {
    case '+':
      return (x, y) => f(x, y) + g(x, y);
    case '-':
      return (x, y) => f(x, y) - g(x, y);
    case '*':
      return (x, y) => f(x, y) * g(x, y);
    case '/':
      return (x, y) => f(x, y) / g(x, y);
  }
}

function toFn(o: Operand): CompiledExpr {
  if (o.kind === 'fn') return o.f;
  if (o.kind === 'var') return o.name === 'x' ? X : Y;
  const v = o.value;
  return () => v;
}

function constVar(op: Exclude<BinaryOp, '^'>, k: number, v: VarName): CompiledExpr {
  if (v === 'x') {
    switch (op) {
      case '+':
        return (x) => k + x;
      case '-':
        return (x) => k - x;
      case '*':
        return (x) => k * x;
      case '/':
        return (x) => k / x;
    }
  }
  switch (op) {
    case '+':
      return (_x, y) => k + y;
    case '-':
      return (_x, y) => k - y;
    case '*':
      return (_x, y) => k * y;
    case '/':
      return (_x, y) => k / y;
  }
}

function varConst(op: Exclude<BinaryOp, '^'>, v: VarName, k: number): CompiledExpr {
  if (v === 'x') {
    switch (op) {
      case '+':
        return (x) => x + k;
      case '-':
        return (x) => x - k;
      case '*':
        return (x) => x * k;
      case '/':
        return (x) => x / k;
    }
  }
  switch (op) {
    case '+':
      return (_x, y) => y + k;
    case '-':
      return (_x, y) => y - k;
    case '*':
      return (_x, y) => y * k;
    case '/':
      return (_x, y) => y / k;
  }
}

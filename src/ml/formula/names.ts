/**
 * The names a formula may use: variables (with their aliases), constants and functions — the
 * whole environment an expression can reach (Maps, so `__proto__` & co. resolve to nothing).
 * Details: docs/formula-language.md, "Names".
 */
import type { VarName } from './ast.js';

export const VARIABLES: ReadonlyMap<string, VarName> = new Map<string, VarName>([
  ['x', 'x'],
  ['y', 'y'],
  ['Throughput', 'x'],
  ['Throughput_Percentage', 'x'],
  ['PacketSize', 'y'],
  ['PacketSize_B', 'y'],
]);

export const CONSTANTS: ReadonlyMap<string, number> = new Map([
  ['pi', Math.PI],
  ['e', Math.E],
]);

export type DerivativeKind = 'symbolic' | 'zero' | 'numeric';

export interface FunctionSpec {
  readonly name: string;
  readonly minArgs: number;
  readonly maxArgs: number;
  /** The implementation; called with exactly the given arguments. */
  readonly impl: (...args: number[]) => number;
  readonly derivative: DerivativeKind;
  readonly doc: string;
}

const fn = (
  name: string,
  minArgs: number,
  maxArgs: number,
  impl: (...args: number[]) => number,
  derivative: DerivativeKind,
  doc: string,
): [string, FunctionSpec] => [name, { name, minArgs, maxArgs, impl, derivative, doc }];

const ln = (a: number): number => Math.log(a);

export const FUNCTIONS: ReadonlyMap<string, FunctionSpec> = new Map([
  fn('sqrt', 1, 1, Math.sqrt, 'symbolic', 'square root'),
  fn('cbrt', 1, 1, Math.cbrt, 'symbolic', 'cube root'),
  fn('exp', 1, 1, Math.exp, 'symbolic', 'e^a'),
  fn('expm1', 1, 1, Math.expm1, 'symbolic', 'e^a - 1, accurate near 0'),
  fn('ln', 1, 1, ln, 'symbolic', 'natural logarithm'),
  fn('log', 1, 2, (a: number, b?: number) => (b === undefined ? Math.log(a) : Math.log(a) / Math.log(b)), 'symbolic', 'log(a): natural logarithm; log(a, b): logarithm of a in base b'),
  fn('log10', 1, 1, Math.log10, 'symbolic', 'base-10 logarithm'),
  fn('log2', 1, 1, Math.log2, 'symbolic', 'base-2 logarithm'),
  fn('log1p', 1, 1, Math.log1p, 'symbolic', 'ln(1 + a), accurate near 0'),
  fn('pow', 2, 2, Math.pow, 'symbolic', 'pow(a, b) = a^b'),
  fn('abs', 1, 1, Math.abs, 'symbolic', 'absolute value'),
  fn('sign', 1, 1, Math.sign, 'zero', '-1, 0 or 1'),
  fn('floor', 1, 1, Math.floor, 'zero', 'round down'),
  fn('ceil', 1, 1, Math.ceil, 'zero', 'round up'),
  fn('round', 1, 1, Math.round, 'zero', 'round to nearest, halves up (JavaScript Math.round)'),
  fn('trunc', 1, 1, Math.trunc, 'zero', 'round toward zero'),
  fn('min', 1, Infinity, Math.min, 'numeric', 'smallest argument'),
  fn('max', 1, Infinity, Math.max, 'numeric', 'largest argument'),
  fn('hypot', 1, Infinity, Math.hypot, 'symbolic', 'sqrt(a^2 + b^2 + ...)'),
  fn('sin', 1, 1, Math.sin, 'symbolic', 'sine (radians)'),
  fn('cos', 1, 1, Math.cos, 'symbolic', 'cosine (radians)'),
  fn('tan', 1, 1, Math.tan, 'symbolic', 'tangent (radians)'),
  fn('asin', 1, 1, Math.asin, 'symbolic', 'arc sine'),
  fn('acos', 1, 1, Math.acos, 'symbolic', 'arc cosine'),
  fn('atan', 1, 1, Math.atan, 'symbolic', 'arc tangent'),
  fn('atan2', 2, 2, Math.atan2, 'symbolic', 'atan2(a, b): angle of the point (b, a)'),
  fn('sinh', 1, 1, Math.sinh, 'symbolic', 'hyperbolic sine'),
  fn('cosh', 1, 1, Math.cosh, 'symbolic', 'hyperbolic cosine'),
  fn('tanh', 1, 1, Math.tanh, 'symbolic', 'hyperbolic tangent'),
  fn('asinh', 1, 1, Math.asinh, 'symbolic', 'inverse hyperbolic sine'),
  fn('acosh', 1, 1, Math.acosh, 'symbolic', 'inverse hyperbolic cosine'),
  fn('atanh', 1, 1, Math.atanh, 'symbolic', 'inverse hyperbolic tangent'),
]);

/** Every name the language knows, for suggestions. */
export function knownNames(): string[] {
  return [...VARIABLES.keys(), ...CONSTANTS.keys(), ...FUNCTIONS.keys()];
}

/**
 * A suggestion for an unknown name: a known name equal to it ignoring case, or within edit
 * distance 2 (for names of 3+ characters).
 */
export function suggestName(name: string): string | undefined {
  if (name.length > 40) return undefined;
  const lower = name.toLowerCase();
  const names = knownNames();
  const sameCase = names.find((n) => n.toLowerCase() === lower);
  if (sameCase) return sameCase;
  if (name.length < 3) return undefined;
  let best: string | undefined;
  // Allow one edit for short names, two for longer ones ('foo' is not a typo of 'log').
  let bestDistance = name.length <= 4 ? 2 : 3;
  for (const n of names) {
    const d = editDistance(lower, n.toLowerCase());
    if (d < bestDistance) {
      best = n;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 3;
}

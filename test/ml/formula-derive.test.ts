// Symbolic differentiation: simplified results, agreement with hand-written derivatives and
// with central finite differences at random points (hand-picked and randomly generated
// formulas), the min/max finite-difference fallback, and the size bound.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compile,
  dagSize,
  derive,
  expandedSize,
  evaluate,
  formatExpression,
  FormulaError,
  MAX_DERIVATIVE_NODES,
  parseExpression,
  type VarName,
} from '../../src/ml/formula/index.js';
import { prng as rng } from '../helpers/prng.js';
import { cpuMs } from '../helpers/cpu-time.js';


/** ∂f/∂v by central differences with a relative step. */
function numericPartial(f: (x: number, y: number) => number, x: number, y: number, v: VarName): number {
  const p = v === 'x' ? x : y;
  const h = 1e-6 * Math.max(1, Math.abs(p));
  return v === 'x' ? (f(x + h, y) - f(x - h, y)) / (2 * h) : (f(x, y + h) - f(x, y - h)) / (2 * h);
}

function d(text: string, v: VarName): string {
  return formatExpression(derive(parseExpression(text), v));
}

/** Asserts symbolic ≈ numeric derivative of `text` at random points of the box. */
function checkAgainstNumeric(text: string, seed: number, box = { x: [0.05, 1], y: [64, 1500] }, points = 40): void {
  const node = parseExpression(text);
  const f = compile(node);
  const random = rng(seed);
  for (const v of ['x', 'y'] as const) {
    const dv = derive(node, v);
    const df = compile(dv);
    for (let i = 0; i < points; i++) {
      const x = box.x[0]! + random() * (box.x[1]! - box.x[0]!);
      const y = box.y[0]! + random() * (box.y[1]! - box.y[0]!);
      const symbolic = df(x, y);
      const numeric = numericPartial(f, x, y, v);
      const scale = Math.max(1, Math.abs(numeric), Math.abs(f(x, y)) / Math.max(1, v === 'x' ? Math.abs(x) : Math.abs(y)));
      assert.ok(
        Number.isFinite(symbolic) && Math.abs(symbolic - numeric) <= 2e-6 * scale,
        `∂(${text})/∂${v} at (${x}, ${y}): symbolic ${symbolic} (${formatExpression(dv)}) vs numeric ${numeric}`,
      );
      // The interpreter agrees with the compiled derivative exactly.
      assert.ok(Object.is(evaluate(dv, x, y), symbolic));
    }
  }
}

describe('simplified derivatives', () => {
  test('the reference formula derives to its hand-written derivatives', () => {
    assert.equal(d('700 + 20 * x * x - 0.0008 * y', 'x'), '40 * x');
    assert.equal(d('700 + 20 * x * x - 0.0008 * y', 'y'), '-0.0008');
  });

  const cases: Array<[string, VarName, string]> = [
    ['5', 'x', '0'],
    ['x', 'x', '1'],
    ['y', 'x', '0'],
    ['3 * x + 2 * y', 'x', '3'],
    ['3 * x + 2 * y', 'y', '2'],
    ['x * y', 'x', 'y'],
    ['x * y', 'y', 'x'],
    ['x ^ 2', 'x', '2 * x'],
    ['x ^ 3', 'x', '3 * x^2'],
    ['x ** 2 + x', 'x', '2 * x + 1'],
    ['-x ^ 2', 'x', '-2 * x'],
    ['x / 4', 'x', 'x'.length ? '1 / 4'.replace('1 / 4', '0.25') : ''],
    ['1 / x', 'x', '-1 / x^2'],
    ['y / x', 'y', '1 / x'],
    ['x ^ y', 'y', 'ln(x) * x^y'],
    ['2 ^ x', 'x', '0.6931471805599453 * 2^x'],
    ['exp(2 * x)', 'x', '2 * exp(2 * x)'],
    ['sin(x)', 'x', 'cos(x)'],
    ['cos(x)', 'x', '-sin(x)'],
    ['ln(y)', 'y', '1 / y'],
    ['sqrt(x)', 'x', '1 / (2 * sqrt(x))'],
    ['abs(x)', 'x', 'sign(x)'],
    ['floor(x) + round(y)', 'x', '0'],
    ['x + x', 'x', '2'],
    ['x * x', 'x', '2 * x'],
    ['700 + 20 * x * x - 0.0008 * y + 1e-7 * y ^ 2', 'y', '-0.0008 + 2e-7 * y'],
    ['pi * x', 'x', 'pi'],
  ];
  for (const [text, v, expected] of cases) {
    test(`∂(${text})/∂${v} = ${expected}`, () => assert.equal(d(text, v), expected));
  }

  test('derived text parses back to the same function', () => {
    const random = rng(7);
    for (const text of ['x ^ y', 'exp(x) * ln(y) / sqrt(x * x + 1)', 'atan2(y, x) + tanh(3 * x)', 'log(x, 2) * log10(y)']) {
      for (const v of ['x', 'y'] as const) {
        const dv = derive(parseExpression(text), v);
        const reparsed = parseExpression(formatExpression(dv));
        for (let i = 0; i < 10; i++) {
          const x = 0.1 + random();
          const y = 64 + 1000 * random();
          const a = evaluate(dv, x, y);
          const b = evaluate(reparsed, x, y);
          assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a)), `${text} ∂${v}: ${a} vs ${b}`);
        }
      }
    }
  });
});

describe('derivatives agree with hand-written ones', () => {
  const cases: Array<[string, string, string]> = [
    // [energy, hand-written dz/dx, hand-written dz/dy]
    ['700 + 20 * x * x - 0.0008 * y', '40 * x', '-0.0008'],
    ['650 + 80 * tanh(3 * x) - 0.001 * y', '240 * (1 - tanh(3 * x)^2)', '-0.001'],
    ['500 + 100 * sqrt(x) + 0.02 * y * x', '50 / sqrt(x) + 0.02 * y', '0.02 * x'],
    ['600 * exp(0.2 * x) + 30 * ln(y)', '120 * exp(0.2 * x)', '30 / y'],
    ['x ^ 3 * y ^ 2 / 1e6', '3 * x^2 * y^2 / 1e6', '2 * x^3 * y / 1e6'],
    ['700 + 50 * sin(pi * x) * cos(y / 1000)', '50 * pi * cos(pi * x) * cos(y / 1000)', '-0.05 * sin(pi * x) * sin(y / 1000)'],
  ];
  for (const [energy, hx, hy] of cases) {
    test(energy, () => {
      const e = parseExpression(energy);
      const dx = compile(derive(e, 'x'));
      const dy = compile(derive(e, 'y'));
      const hdx = compile(parseExpression(hx));
      const hdy = compile(parseExpression(hy));
      const random = rng(energy.length);
      for (let i = 0; i < 50; i++) {
        const x = 0.01 + 0.99 * random();
        const y = 64 + 1436 * random();
        for (const [a, b] of [
          [dx(x, y), hdx(x, y)],
          [dy(x, y), hdy(x, y)],
        ] as const) {
          assert.ok(Math.abs(a - b) <= 1e-10 * Math.max(1, Math.abs(b)), `${energy} at (${x}, ${y}): ${a} vs ${b}`);
        }
      }
    });
  }
});

describe('symbolic vs central differences at random points', () => {
  const formulas = [
    '700 + 20 * x * x - 0.0008 * y',
    'x ^ y / 1000',
    '(1 + x) ^ (y / 1000)',
    'sqrt(x) + cbrt(y)',
    'exp(x) + expm1(x / 2) + ln(y) + log10(y) + log2(y) + log1p(x)',
    'log(y, 2 + x)',
    'pow(x, 2.5) + pow(y / 1000, x)',
    'abs(x - 0.5) * y',
    'sin(x) * cos(y / 100) + tan(x / 2)',
    'asin(x / 2) + acos(x / 2) + atan(y / 100)',
    'atan2(y / 1000, x) + atan2(x, 1)',
    'sinh(x) + cosh(x) + tanh(y / 1000)',
    'asinh(y) + acosh(y) + atanh(x / 2)',
    'hypot(x, y / 1000, 1)',
    'x / (1 + y / 1000) - y / (2 + x)',
    '-(x ^ 2) + -y / 10',
    '1 / (x * y)',
    'e ^ (x * y / 1000)',
    '2 ^ x * 3 ^ (y / 1000)',
    '(x + y / 1000) ^ 3 / (1 + x ^ 2)',
    'floor(y) * x + ceil(x) * 0 + trunc(y) + sign(x) * y',
  ];
  formulas.forEach((text, i) => test(text, () => checkAgainstNumeric(text, 100 + i)));

  test('randomly generated smooth formulas (seeded)', () => {
    const random = rng(2024);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const gen = (depth: number): string => {
      if (depth <= 0 || random() < 0.25) {
        return pick(['x', '(y / 1000)', (0.5 + 2 * random()).toFixed(3), 'pi']);
      }
      const a = gen(depth - 1);
      const b = gen(depth - 1);
      return pick([
        `(${a} + ${b})`,
        `(${a} - ${b})`,
        `(${a} * ${b})`,
        `(${a} / (2 + cos(${b})))`,
        `sin(${a})`,
        `cos(${a})`,
        `tanh(${a})`,
        `atan(${a})`,
        `exp(tanh(${a}))`,
        `sqrt(1 + (${a})^2)`,
        `ln(2 + sin(${a}))`,
        `(1.5 + sin(${a}))^(${b} / 4)`,
        `(${a})^2`,
        `(${a})^3`,
        `-${a}`,
        `hypot(${a}, ${b})`,
      ]);
    };
    for (let i = 0; i < 200; i++) checkAgainstNumeric(gen(4), 5000 + i, undefined, 8);
  });
});

describe('finite-difference fallback for min and max', () => {
  test('the chain rule stays symbolic, only the partials of min/max are numeric', () => {
    const node = parseExpression('min(x, y / 1000) * 2 + max(x ^ 2, 0.25)');
    const dx = derive(node, 'x');
    assert.equal(formatExpression(dx), '2 * ∂min/∂arg1(x, y / 1000) + 2 * (∂max/∂arg1(x^2, 0.25) * x)');
    const f = compile(dx);
    // x < y/1000 and x² > 0.25: d/dx = 2 + 2x
    assert.ok(Math.abs(f(0.8, 900) - (2 + 1.6)) < 1e-9);
    // x > y/1000 and x² < 0.25: d/dx = 0
    assert.ok(Math.abs(f(0.4, 100)) < 1e-9);
    // ∂/∂y where y/1000 is the minimum: 2/1000
    assert.ok(Math.abs(compile(derive(node, 'y'))(0.9, 100) - 0.002) < 1e-12);
  });

  test('at a tie the numeric partial is the symmetric ½', () => {
    const f = compile(derive(parseExpression('max(x, 0.5)'), 'x'));
    assert.ok(Math.abs(f(0.5, 0) - 0.5) < 1e-9);
  });

  test('differentiating twice through min/max gives 0 for the piecewise-constant partial', () => {
    const d2 = derive(derive(parseExpression('min(x, 1) * x'), 'x'), 'x');
    assert.ok(Math.abs(compile(d2)(0.5, 0) - 2) < 1e-9);
  });
});

describe('size bound', () => {
  test('a derivative beyond the node limit is a FormulaError at the origin, naming the variable', () => {
    const node = parseExpression(`${'sin('.repeat(100)}x${')'.repeat(100)}`);
    assert.throws(
      () => derive(node, 'x', { origin: { source: 'f.txt', line: 2, column: 23 }, maxNodes: 150 }),
      (e: unknown) =>
        e instanceof FormulaError &&
        e.code === 'too-complex' &&
        e.line === 2 &&
        e.column === 23 &&
        e.message.startsWith('f.txt:2:23: the symbolic derivative with respect to x has ') &&
        e.reason.endsWith('nodes, more than the limit of 150') &&
        e.hint === 'write dz/dx explicitly or simplify the formula',
    );
    // ...but with respect to y it is 0.
    assert.equal(formatExpression(derive(node, 'y', { maxNodes: 150 })), '0');
  });

  test('derivatives share sub-trees: size linear in the input, within MAX_DERIVATIVE_NODES', () => {
    // A product of 120 factors, each a sum of 120 terms (the most the length and depth limits
    // allow of this shape): written out as a tree the product rule would give ~900,000 nodes.
    const factor = `(${Array.from({ length: 120 }, (_, i) => (i % 2 ? 'x' : '1')).join('+')})`;
    const text = Array.from({ length: 120 }, () => factor).join('*');
    const node = parseExpression(text);
    const dx = derive(node, 'x');
    assert.ok(dagSize(dx) < dagSize(node) + 2000 && dagSize(dx) < MAX_DERIVATIVE_NODES, `${dagSize(dx)} vs ${dagSize(node)}`);
    assert.ok(expandedSize(dx) > 500_000, String(expandedSize(dx)));
    // Evaluation visits each shared node once: fast, and right (d/dx of (60x+60)^120).
    const f = compile(dx);
    const t0 = cpuMs();
    const v = f(0.001, 0);
    assert.ok(cpuMs() - t0 < 100, 'CPU time of one evaluation');
    const expected = 120 * 60 * Math.pow(60 * 0.001 + 60, 119);
    assert.ok(Math.abs(v - expected) <= 1e-9 * Math.abs(expected), `${v} vs ${expected}`);
  });

  test('a long product chain derives in linear time', () => {
    const text = Array.from({ length: 200 }, (_, i) => `(1 + x / ${i + 1})`).join(' * ');
    const t0 = cpuMs();
    const dx = derive(parseExpression(text), 'x');
    assert.ok(cpuMs() - t0 < 2000, 'CPU time of the derivation');
    const f = compile(dx);
    const g = compile(parseExpression(text));
    const numeric = (g(0.5 + 1e-6, 0) - g(0.5 - 1e-6, 0)) / 2e-6;
    assert.ok(Math.abs(f(0.5, 0) - numeric) < 1e-6 * Math.abs(numeric), `${f(0.5, 0)} vs ${numeric}`);
  });
});

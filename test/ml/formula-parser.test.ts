// The formula language: numbers, operators, precedence and associativity, names and
// functions, printing, and the compiled evaluator against the reference interpreter.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compile,
  compileExpression,
  evaluate,
  formatExpression,
  FormulaError,
  FUNCTIONS,
  parseExpression,
  variablesOf,
} from '../../src/ml/formula/index.js';

/** Evaluates text at (x, y) through the compiled form, checking the interpreter agrees. */
function ev(text: string, x = 0, y = 0): number {
  const node = parseExpression(text);
  const compiled = compile(node)(x, y);
  const interpreted = evaluate(node, x, y);
  assert.ok(Object.is(compiled, interpreted), `${text}: compiled ${compiled} !== interpreted ${interpreted}`);
  return compiled;
}

function close(actual: number, expected: number, tol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${actual} ≉ ${expected}`);
}

describe('numbers', () => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['42', 42],
    ['3.25', 3.25],
    ['.5', 0.5],
    ['5.', 5],
    ['1e-3', 0.001],
    ['1E3', 1000],
    ['2.5E+4', 25000],
    ['2.5e-4', 0.00025],
    ['.5e1', 5],
    ['0.0008', 0.0008],
    ['007', 7],
    ['1e308', 1e308],
    ['4.9e-324', 5e-324],
  ];
  for (const [text, value] of cases) {
    test(`${text} = ${value}`, () => assert.equal(ev(text), value));
  }

  test('malformed numbers are FormulaErrors at the number', () => {
    for (const [text, offset] of [
      ['1e', 0],
      ['2 * 1e+', 4],
      ['1.2.3', 0],
      ['x + 1e5.5', 4],
      ['1ex', 0],
    ] as const) {
      assert.throws(
        () => parseExpression(text),
        (e: unknown) => e instanceof FormulaError && e.code === 'invalid-number' && e.offset === offset && /malformed number/.test(e.reason),
        text,
      );
    }
    assert.throws(
      () => parseExpression('1e999'),
      (e: unknown) => e instanceof FormulaError && e.code === 'invalid-number' && e.reason === "number '1e999' is out of range",
    );
  });
});

describe('operators, precedence, associativity', () => {
  const cases: Array<[string, number]> = [
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3], // left-associative
    ['100 / 10 / 5', 2], // left-associative
    ['2 * 3 / 4', 1.5],
    ['2 ^ 3 ^ 2', 512], // right-associative: 2^(3^2)
    ['(2 ^ 3) ^ 2', 64],
    ['2 ** 3 ** 2', 512], // Python spelling
    ['-2 ^ 2', -4], // ^ binds tighter than unary minus
    ['(-2) ^ 2', 4],
    ['2 ^ -1', 0.5], // a signed exponent
    ['2 ^ -1 ^ 2', 0.5], // 2^(-(1^2))
    ['-3 * 2', -6],
    ['--3', 3],
    ['+-+3', -3],
    ['2 * -3', -6],
    ['2 - -3', 5],
    ['1 - 2 + 3', 2],
    ['8 / 2 * 4', 16],
    ['2 * 3 ^ 2', 18],
    ['-x ^ 2', -9],
    ['1 / 0', Infinity],
    ['-1 / 0', -Infinity],
  ];
  for (const [text, value] of cases) {
    test(`${text} = ${value}`, () => assert.equal(ev(text, 3, 0), value));
  }
  test('0 / 0 is NaN, not an error', () => assert.ok(Number.isNaN(ev('0 / 0'))));
  test('whitespace anywhere between tokens, including tabs and line breaks', () => {
    assert.equal(ev(' \t1+\n2 *\r\n3 '), 7);
  });
});

describe('variables and constants', () => {
  test('x and y', () => {
    assert.equal(ev('x', 0.25, 1200), 0.25);
    assert.equal(ev('y', 0.25, 1200), 1200);
    assert.equal(ev('700 + 20 * x * x - 0.0008 * y', 1, 1200), 719.04);
  });
  test('aliases from the reference file and the reference ML features', () => {
    assert.equal(ev('Throughput + PacketSize', 0.5, 100), 100.5);
    assert.equal(ev('Throughput_Percentage * PacketSize_B', 0.5, 100), 50);
    assert.deepEqual([...variablesOf(parseExpression('Throughput + 1'))], ['x']);
    assert.equal(formatExpression(parseExpression('Throughput*2')), 'Throughput * 2');
  });
  test('pi and e', () => {
    assert.equal(ev('pi'), Math.PI);
    assert.equal(ev('e'), Math.E);
    assert.equal(ev('2 * e'), 2 * Math.E);
  });
  test('names are case-sensitive, with a suggestion', () => {
    assert.throws(
      () => parseExpression('X + 1'),
      (e: unknown) => e instanceof FormulaError && e.code === 'unknown-variable' && e.hint === "did you mean 'x'?",
    );
    assert.throws(
      () => parseExpression('SQRT(x)'),
      (e: unknown) => e instanceof FormulaError && e.code === 'unknown-function' && e.hint === "did you mean 'sqrt'?",
    );
    assert.throws(
      () => parseExpression('sqr(x)'),
      (e: unknown) => e instanceof FormulaError && e.code === 'unknown-function' && /did you mean/.test(e.hint ?? ''),
    );
  });
});

describe('functions', () => {
  const cases: Array<[string, number]> = [
    ['sqrt(16)', 4],
    ['cbrt(27)', 3],
    ['exp(0)', 1],
    ['expm1(0)', 0],
    ['ln(e)', 1],
    ['log(e)', 1],
    ['log(8, 2)', 3],
    ['log10(1000)', 3],
    ['log2(8)', 3],
    ['log1p(0)', 0],
    ['pow(2, 10)', 1024],
    ['abs(-3)', 3],
    ['sign(-3)', -1],
    ['floor(2.7)', 2],
    ['ceil(2.2)', 3],
    ['round(2.5)', 3],
    ['round(-2.5)', -2], // JavaScript Math.round
    ['trunc(-2.7)', -2],
    ['min(3, 1, 2)', 1],
    ['max(3, 1, 2)', 3],
    ['min(5)', 5],
    ['hypot(3, 4)', 5],
    ['sin(0)', 0],
    ['cos(0)', 1],
    ['tan(0)', 0],
    ['asin(1)', Math.PI / 2],
    ['acos(1)', 0],
    ['atan(1)', Math.PI / 4],
    ['atan2(1, 1)', Math.PI / 4],
    ['sinh(0)', 0],
    ['cosh(0)', 1],
    ['tanh(0)', 0],
    ['asinh(0)', 0],
    ['acosh(1)', 0],
    ['atanh(0)', 0],
    ['sqrt(x * x + y * y)', 5],
    ['max(x, y) - min(x, y)', 1],
    ['sqrt(sqrt(sqrt(256)))', 2],
  ];
  for (const [text, value] of cases) {
    test(`${text} = ${value}`, () => close(ev(text, 3, 4), value));
  }

  test('every function in the table is covered above', () => {
    const used = new Set(cases.map(([t]) => /^[a-z0-9]+/.exec(t)?.[0]));
    for (const name of FUNCTIONS.keys()) assert.ok(used.has(name), `no test for ${name}`);
  });

  test('arity is checked, reported at the function name', () => {
    const cases: Array<[string, number, string]> = [
      ['sqrt()', 0, "function 'sqrt' expects 1 argument, got 0"],
      ['1 + sqrt(1, 2)', 4, "function 'sqrt' expects 1 argument, got 2"],
      ['pow(x)', 0, "function 'pow' expects 2 arguments, got 1"],
      ['atan2(1, 2, 3)', 0, "function 'atan2' expects 2 arguments, got 3"],
      ['log(1, 2, 3)', 0, "function 'log' expects 1 to 2 arguments, got 3"],
      ['min()', 0, "function 'min' expects at least 1 argument, got 0"],
    ];
    for (const [text, offset, reason] of cases) {
      assert.throws(
        () => parseExpression(text),
        (e: unknown) => e instanceof FormulaError && e.code === 'arity' && e.offset === offset && e.reason === reason,
        text,
      );
    }
  });

  test('a function without arguments, and a variable called like a function', () => {
    assert.throws(() => parseExpression('sqrt + 1'), (e: unknown) => e instanceof FormulaError && e.code === 'not-a-value' && e.offset === 0);
    assert.throws(() => parseExpression('2 * x(3)'), (e: unknown) => e instanceof FormulaError && e.code === 'not-a-function' && e.offset === 4);
    assert.throws(() => parseExpression('pi(3)'), (e: unknown) => e instanceof FormulaError && e.code === 'not-a-function' && /constant/.test(e.reason));
  });
});

describe('syntax errors carry the position and a clear reason', () => {
  const cases: Array<[string, string, number, string]> = [
    ['(x))', 'unexpected-token', 3, "unexpected ')'"],
    ['x +', 'unexpected-end', 3, "unexpected end of expression; expected a number, a name or '('"],
    ['(x + 1', 'unexpected-end', 6, "missing ')' to close the parenthesis opened at offset 0"],
    ['sqrt(x', 'unexpected-end', 6, "missing ')' to close the argument list of sqrt() opened at offset 4"],
    ['x +* y', 'unexpected-token', 3, "unexpected '*'"],
    ['2 x', 'unexpected-token', 2, "unexpected name 'x'"],
    ['2(x)', 'unexpected-token', 1, "unexpected '('"],
    ['x 2', 'unexpected-token', 2, "unexpected number '2'"],
    ['()', 'unexpected-token', 1, "empty parentheses '()'"],
    ['min(1,)', 'unexpected-token', 6, "unexpected ')'"],
    ['min(,1)', 'unexpected-token', 4, "unexpected ','"],
    ['1, 2', 'unexpected-token', 1, "unexpected ','"],
    ['x = 1', 'unexpected-character', 2, "unexpected character '=' (U+003D)"],
    ['', 'empty-expression', 0, 'empty expression'],
    ['   \t ', 'empty-expression', 5, 'empty expression'],
  ];
  for (const [text, code, offset, reason] of cases) {
    test(JSON.stringify(text), () => {
      assert.throws(
        () => parseExpression(text),
        (e: unknown) => {
          assert.ok(e instanceof FormulaError, String(e));
          assert.equal(e.code, code);
          assert.equal(e.offset, offset);
          assert.equal(e.reason, reason);
          assert.equal(e.line, 1);
          assert.equal(e.column, offset + 1);
          assert.ok(e.message.startsWith(`<expression>:1:${offset + 1}: ${reason}`), e.message);
          return true;
        },
      );
    });
  }

  test('implicit multiplication gets a hint', () => {
    assert.throws(() => parseExpression('2x'), (e: unknown) => e instanceof FormulaError && /write '\*'/.test(e.hint ?? ''));
  });

  test('an origin maps the offset to the file line and column', () => {
    assert.throws(
      () => parseExpression('700 + 20 * x * x)', { source: 'models/dummy/x.txt', line: 2, column: 23 }),
      (e: unknown) =>
        e instanceof FormulaError && e.line === 2 && e.column === 39 && e.offset === 16 && e.message === "models/dummy/x.txt:2:39: unexpected ')'",
    );
  });

  test('a multi-line bare expression reports the line of the problem', () => {
    assert.throws(
      () => parseExpression('1 +\n  2 +\n  )'),
      (e: unknown) => e instanceof FormulaError && e.line === 3 && e.column === 3 && e.offset === 12,
    );
  });
});

describe('printing', () => {
  test('minimal parentheses that keep the tree', () => {
    const cases: Array<[string, string]> = [
      ['700 + 20 * x * x - 0.0008 * y', '700 + 20 * x * x - 0.0008 * y'],
      ['(x + y) * 2', '(x + y) * 2'],
      ['x - (y - 1)', 'x - (y - 1)'],
      ['x + (y + 1)', 'x + (y + 1)'],
      ['x / (y * 2)', 'x / (y * 2)'],
      ['2^3^2', '2^3^2'],
      ['(2^3)^2', '(2^3)^2'],
      ['-x^2', '-x^2'],
      ['(-x)^2', '(-x)^2'],
      ['2^-x', '2^(-x)'],
      ['-(x*y)', '-(x * y)'],
      ['- -x', '-(-x)'],
      ['2 * -x', '2 * -x'],
      ['x ** 2', 'x^2'],
      ['+x', 'x'],
      ['pi * e', 'pi * e'],
      ['1e-7 * y', '1e-7 * y'],
      ['max(x, y, 1)', 'max(x, y, 1)'],
    ];
    for (const [text, printed] of cases) assert.equal(formatExpression(parseExpression(text)), printed, text);
  });

  test('printed text parses back to the same tree', () => {
    for (const text of ['1 - (2 - 3)', '(1 / 2) / 3', '1 / (2 / 3)', '-(2)^2', '(-2)^2', 'x - -y', '2^-3^2', 'sin(-x)^2', '0.1 + 0.2 + 0.3', '0.1 + (0.2 + 0.3)']) {
      const a = parseExpression(text);
      const b = parseExpression(formatExpression(a));
      assert.equal(formatExpression(b), formatExpression(a));
      assert.ok(Object.is(evaluate(a, 0.3, 7), evaluate(b, 0.3, 7)), text);
    }
  });
});

describe('compiled evaluator', () => {
  test('matches the interpreter bit for bit on many shapes and points', () => {
    const formulas = [
      '700 + 20 * x * x - 0.0008 * y',
      'x + 1',
      '1 + x',
      'x - y',
      '2 - y',
      'y / 3',
      '3 / y',
      'x * y',
      'x ^ 2',
      'y ^ 2',
      '(x + 1) ^ 2',
      'x ^ 3',
      'x ^ y',
      '2 ^ x',
      '-x',
      'sqrt(x) * ln(y)',
      'log(y, 2)',
      'min(x, y, 0.5) + max(x)',
      'hypot(x, y, 1)',
      '(2 * pi + 1) * x',
      'exp(-y / 500) * tanh(3 * x)',
      '0 * x + 5',
      'x / 0',
    ];
    for (const text of formulas) {
      const node = parseExpression(text);
      const f = compile(node);
      for (const [x, y] of [
        [0, 0],
        [0.5, 1200],
        [1, 64],
        [-0.25, 1500],
        [1e-9, 1e9],
      ] as const) {
        assert.ok(Object.is(f(x, y), evaluate(node, x, y)), `${text} at (${x}, ${y})`);
      }
    }
  });

  test('constant sub-expressions are folded once', () => {
    const f = compileExpression('(sqrt(2) * pi + ln(10)) * x');
    assert.equal(f(1, 0), Math.sqrt(2) * Math.PI + Math.log(10));
  });
});

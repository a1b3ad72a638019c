// Hostile input: deep nesting, huge expressions, host-object names, code-looking text,
// Unicode, broken files — each must end in a FormulaError with a position and a reason,
// quickly. Then seeded fuzzing: thousands of random token strings, mutated valid formulas,
// random characters and random files may only ever produce FormulaError.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compile,
  derive,
  evaluate,
  formatExpression,
  FormulaError,
  MAX_DEPTH,
  MAX_EXPRESSION_LENGTH,
  MAX_FILE_BYTES,
  parseExpression,
  parseFormulaFile,
} from '../../src/ml/formula/index.js';
import { prng as rng } from '../helpers/prng.js';
import { cpuMs } from '../helpers/cpu-time.js';


/** Runs fn, which must throw a FormulaError, within `ms` of CPU time; returns the error. */
function formulaError(fn: () => unknown, ms = 1000): FormulaError {
  const t0 = cpuMs();
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  const took = cpuMs() - t0;
  assert.ok(caught instanceof FormulaError, `expected a FormulaError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.ok(took < ms, `took ${took.toFixed(0)} ms of CPU`);
  assert.equal(caught.name, 'FormulaError');
  assert.ok(caught.reason.length > 0);
  // Messages never carry raw control characters, and stay short whatever the input.
  assert.ok(!/[\u0000-\u001f\u007f]/.test(caught.message), JSON.stringify(caught.message));
  assert.ok(caught.message.length < 400, caught.message);
  return caught;
}

function expectAt(text: string, code: string, offset: number, reason?: RegExp | string): FormulaError {
  const e = formulaError(() => parseExpression(text));
  assert.equal(e.code, code, e.message);
  assert.equal(e.offset, offset, e.message);
  if (typeof reason === 'string') assert.equal(e.reason, reason);
  else if (reason) assert.match(e.reason, reason);
  return e;
}

describe('deep nesting never overflows the stack', () => {
  test('10,000 parentheses', () => {
    const e = expectAt(`${'('.repeat(10_000)}x${')'.repeat(10_000)}`, 'too-deep', MAX_DEPTH, `nesting deeper than ${MAX_DEPTH} levels`);
    assert.equal(e.column, MAX_DEPTH + 1);
  });
  test('exactly the limit is accepted', () => {
    const ok = `${'('.repeat(MAX_DEPTH)}x${')'.repeat(MAX_DEPTH)}`;
    assert.equal(compile(parseExpression(ok))(0.5, 0), 0.5);
  });
  test('10,000 unary minus signs', () => {
    expectAt(`${'-'.repeat(10_000)}x`, 'too-deep', MAX_DEPTH);
  });
  test('10,000 nested function calls', () => {
    expectAt(`${'sqrt('.repeat(10_000)}x${')'.repeat(10_000)}`, 'too-deep', MAX_DEPTH * 5 + 4); // the 257th '('
  });
  test('a 10,000-long power tower', () => {
    expectAt(`${'x^'.repeat(10_000)}x`, 'too-deep', MAX_DEPTH * 2 + 1); // the 257th '^'
  });
  test('30,000 chained additions (a left-deep tree)', () => {
    expectAt(`${'1+'.repeat(30_000)}1`, 'too-deep', MAX_DEPTH * 2 - 1, /expression tree deeper than 256 levels/);
  });
  test('wide but shallow is fine: min() of 20,000 arguments', () => {
    const f = compile(parseExpression(`min(${'1,'.repeat(20_000)}x)`));
    assert.equal(f(0.5, 0), 0.5);
  });
});

describe('huge input is refused before any work', () => {
  test('a 1 MB expression', () => {
    const e = expectAt('x+'.repeat(500_000), 'too-long', MAX_EXPRESSION_LENGTH, `expression is 1000000 characters long; the limit is ${MAX_EXPRESSION_LENGTH}`);
    assert.equal(e.column, MAX_EXPRESSION_LENGTH + 1);
  });
  test('a 1 MB expression in a file: positioned at the file column', () => {
    const e = formulaError(() => parseFormulaFile(`# big\nenergy_consumption = "${'x+'.repeat(500_000)}x"`, 'big.txt'));
    assert.equal(e.code, 'too-long');
    assert.equal(e.line, 2);
    assert.equal(e.column, 23 + MAX_EXPRESSION_LENGTH);
  });
  test('a file over MAX_FILE_BYTES', () => {
    const e = formulaError(() => parseFormulaFile(`energy_consumption = x\n${' '.repeat(MAX_FILE_BYTES)}`, 'huge.txt'));
    assert.equal(e.code, 'file-too-large');
  });
  test('a 60,000-digit number is out of range, not slow', () => {
    expectAt('9'.repeat(60_000), 'invalid-number', 0, /is out of range/);
  });
  test('100,000 lines of comments are fine', () => {
    const f = parseFormulaFile(`${'# c\n'.repeat(100_000)}energy_consumption = x`, 'comments.txt');
    assert.equal(f.energy(0.5, 0), 0.5);
  });
});

describe('nothing of the host is reachable', () => {
  const cases: Array<[string, string, number]> = [
    ['__proto__', 'unknown-variable', 0],
    ['constructor', 'unknown-variable', 0],
    ['prototype', 'unknown-variable', 0],
    ['toString', 'unknown-variable', 0],
    ['hasOwnProperty(x)', 'unknown-function', 0],
    ['constructor(1)', 'unknown-function', 0],
    ['__proto__(1)', 'unknown-function', 0],
    ['valueOf()', 'unknown-function', 0],
    ['process.exit()', 'unknown-variable', 0],
    ['process.exit(1)', 'unknown-variable', 0],
    ['globalThis', 'unknown-variable', 0],
    ['this', 'unknown-variable', 0],
    ['Function("return process")()', 'unknown-function', 0],
    ['eval("1")', 'unknown-function', 0],
    ['require("fs")', 'unknown-function', 0],
    ['import("fs")', 'unknown-function', 0],
    ['x.constructor', 'unexpected-character', 1],
    ['sqrt.call(1)', 'not-a-value', 0],
    ['x["__proto__"]', 'unexpected-character', 1],
    ['(1).constructor.constructor("return this")()', 'unexpected-character', 3],
    ['x = 1', 'unexpected-character', 2],
    ['x; process.exit()', 'unexpected-character', 1],
    ['`${x}`', 'unexpected-character', 0],
    ['x || 1', 'unexpected-character', 2],
    ['new Date()', 'unknown-variable', 0],
    ['Math.PI', 'unknown-variable', 0],
    ['Infinity', 'unknown-variable', 0],
    ['NaN', 'unknown-variable', 0],
  ];
  for (const [text, code, offset] of cases) {
    test(text, () => {
      const e = expectAt(text, code, offset);
      assert.equal(e.line, 1);
      assert.equal(e.column, offset + 1);
    });
  }
  test('Object.prototype is untouched afterwards', () => {
    for (const [text] of cases) assert.throws(() => parseExpression(text), FormulaError);
    assert.equal(Object.getOwnPropertyNames(Object.prototype).sort().join(), Object.getOwnPropertyNames(Object.getPrototypeOf({})).sort().join());
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
  test('the messages name the identifier', () => {
    assert.equal(expectAt('__proto__ + 1', 'unknown-variable', 0).reason, "unknown name '__proto__'");
    assert.equal(expectAt('constructor(1)', 'unknown-function', 0).reason, "unknown function 'constructor'");
    assert.equal(expectAt('x + process.exit()', 'unknown-variable', 4).reason, "unknown name 'process'");
  });
});

describe('Unicode', () => {
  const cases: Array<[string, number, string, string | undefined]> = [
    ['x × 2', 2, "unexpected character '×' (U+00D7)", "use '*' for multiplication"],
    ['2 ÷ x', 2, "unexpected character '÷' (U+00F7)", "use '/' for division"],
    ['x − 1', 2, "unexpected character '−' (U+2212)", "this is a Unicode minus sign; use the ASCII '-'"],
    ['2 * π', 4, "unexpected character 'π' (U+03C0)", "write 'pi'"],
    ['x²', 1, "unexpected character '²' (U+00B2)", "write '^2'"],
    ['√x', 0, "unexpected character '√' (U+221A)", 'write sqrt(...)'],
    ['ｘ + 1', 0, "unexpected character 'ｘ' (U+FF58)", undefined],
    ['１', 0, "unexpected character '１' (U+FF11)", undefined],
    ['x\u00a0+ 1', 1, 'unexpected character U+00A0', 'a no-break space; use a normal space'],
    ['x\u200b+ 1', 1, 'unexpected character U+200B', undefined],
    ['x\u202e+ 1', 1, 'unexpected character U+202E', undefined],
    ['x + 😀', 4, "unexpected character '😀' (U+1F600)", undefined],
    ['x + \ud800', 4, 'unexpected character U+D800', undefined],
    ['x\u0000', 1, 'unexpected character U+0000', undefined],
    ['x\u001b[31m', 1, 'unexpected character U+001B', undefined],
    ['\ufeffx', 0, 'unexpected character U+FEFF', undefined],
    ['ẋ', 0, "unexpected character 'ẋ' (U+1E8B)", undefined],
  ];
  for (const [text, offset, reason, hint] of cases) {
    test(JSON.stringify(text), () => {
      const e = expectAt(text, 'unexpected-character', offset, reason);
      assert.equal(e.hint, hint);
    });
  }
  test('an emoji counts as one character in the error length', () => {
    assert.equal(expectAt('😀', 'unexpected-character', 0).length, 2); // UTF-16 code units
  });
  test('in a file, columns count UTF-16 code units of the line', () => {
    const e = formulaError(() => parseFormulaFile('# π ok in comments\nenergy_consumption = "700 × x"', 'u.txt'));
    assert.equal(e.line, 2);
    assert.equal(e.column, 27);
  });
});

describe('files', () => {
  const cases: Array<[string, string, string, number | undefined]> = [
    ['empty', '', 'missing-key', undefined],
    ['whitespace only', ' \n\t\n\r\n', 'missing-key', undefined],
    ['energy key missing', 'dz/dx = 40 * x\ndz/dy = -0.0008\n', 'missing-key', undefined],
    ['binary junk', '\u0000\u0001\u0002', 'syntax', 1],
    ['a JSON file', '{"energy_consumption": "x"}', 'syntax', 1],
    ['a YAML file', 'energy_consumption: x', 'syntax', 1],
    ['__proto__ as key', '__proto__ = 1\nenergy_consumption = x', 'unknown-key', 1],
    ['constructor as key', 'energy_consumption = x\nconstructor = 1', 'unknown-key', 2],
    ['shell in a value', 'energy_consumption = "$(rm -rf /)"', 'unexpected-character', 1],
    ['code in a value', "energy_consumption = require('child_process')", 'unknown-function', 1],
    ['unterminated single quote', "energy_consumption = 'x", 'unterminated-string', 1],
    ['nested quotes', 'energy_consumption = "x"y"', 'syntax', 1],
  ];
  for (const [what, text, code, line] of cases) {
    test(what, () => {
      const e = formulaError(() => parseFormulaFile(text, 'hostile.txt'));
      assert.equal(e.code, code, e.message);
      assert.equal(e.line, line, e.message);
      assert.equal(e.source, 'hostile.txt');
      if (line !== undefined) assert.ok((e.column ?? 0) >= 1);
    });
  }
  test('a unique prototype-named key does not leak into the result', () => {
    const f = parseFormulaFile('energy_consumption = x', 'ok.txt');
    assert.equal(Object.getPrototypeOf(f.derived), Object.prototype);
    assert.equal((f as unknown as Record<string, unknown>).__proto__, Object.prototype);
  });
});

/** Full pipeline on one text: parse, print/re-parse, derive, compile, evaluate. */
function pipeline(text: string): boolean {
  const node = parseExpression(text);
  // Printing round-trips: the printed text parses to a tree that evaluates identically.
  const printed = formatExpression(node);
  const again = parseExpression(printed);
  const f = compile(node);
  for (const [x, y] of [
    [0.37, 1200],
    [0, 64],
  ] as const) {
    const a = f(x, y);
    assert.ok(Object.is(a, evaluate(node, x, y)), `compiled vs interpreted: ${text}`);
    assert.ok(Object.is(a, evaluate(again, x, y)), `round trip: ${text} → ${printed}`);
  }
  for (const v of ['x', 'y'] as const) {
    const dv = derive(node, v);
    const g = compile(dv);
    const r = g(0.37, 1200);
    assert.equal(typeof r, 'number');
  }
  return true;
}

/** Runs the pipeline; only FormulaError may escape, and it must carry a position. */
function fuzzOne(text: string, stats: { ok: number; errors: Map<string, number> }): void {
  try {
    pipeline(text);
    stats.ok++;
  } catch (e) {
    if (!(e instanceof FormulaError)) {
      assert.fail(`non-FormulaError for ${JSON.stringify(text)}: ${e instanceof Error ? e.stack : String(e)}`);
    }
    assert.ok(e.offset !== undefined && e.offset >= 0 && e.offset <= text.length, `offset ${e.offset} for ${JSON.stringify(text)}`);
    assert.ok(e.line !== undefined && e.column !== undefined && e.column >= 1);
    stats.errors.set(e.code, (stats.errors.get(e.code) ?? 0) + 1);
  }
}

describe('seeded fuzzing', () => {
  const TOKENS = [
    'x', 'y', 'pi', 'e', 'Throughput', 'PacketSize', '0', '1', '2', '0.5', '.5', '1e-3', '2.5E+4', '1e', '1.2.3', '1e999',
    '+', '-', '*', '/', '^', '**', '(', ')', '(', ')', ',', ' ', '  ', '\t', '\n',
    'sqrt', 'ln', 'log', 'exp', 'min', 'max', 'pow', 'atan2', 'hypot', 'tanh', 'abs', 'sin', 'floor',
    'foo', '__proto__', 'constructor', 'toString', 'process', '.', '=', '"', "'", '#', ';', '[', ']', '{', '}',
    '×', 'π', '😀', '\u0000', '\u00a0', '$', '!', '%', '&', '|', '?', ':', '<', '>', '@', '\\', '`', '~',
  ];

  test('5,000 random token strings: only FormulaError', (t) => {
    const random = rng(42);
    const stats = { ok: 0, errors: new Map<string, number>() };
    for (let i = 0; i < 5000; i++) {
      const n = 1 + Math.floor(random() * 16);
      let text = '';
      for (let k = 0; k < n; k++) text += TOKENS[Math.floor(random() * TOKENS.length)];
      fuzzOne(text, stats);
    }
    t.diagnostic(`valid ${stats.ok}; errors ${JSON.stringify(Object.fromEntries(stats.errors))}`);
    assert.ok(stats.errors.size >= 8, 'the fuzzer reaches many error kinds');
  });

  test('3,000 mutated valid formulas: only FormulaError, and many still valid', (t) => {
    const random = rng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const gen = (depth: number): string => {
      if (depth <= 0 || random() < 0.3) return pick(['x', 'y', '2', '0.5', '1e-3', 'pi', 'e', '700', '0']);
      const a = gen(depth - 1);
      const b = gen(depth - 1);
      return pick([
        `${a} + ${b}`, `${a} - ${b}`, `${a} * ${b}`, `${a} / ${b}`, `${a} ^ ${b}`, `(${a})`, `-${a}`,
        `sqrt(${a})`, `ln(${a})`, `exp(${a})`, `min(${a}, ${b})`, `max(${a}, ${b}, 1)`, `pow(${a}, ${b})`,
        `log(${a}, ${b})`, `atan2(${a}, ${b})`, `abs(${a})`, `tanh(${a})`, `floor(${a})`, `hypot(${a}, ${b})`,
      ]);
    };
    const stats = { ok: 0, errors: new Map<string, number>() };
    for (let i = 0; i < 3000; i++) {
      let text = gen(5);
      const mutations = Math.floor(random() * 3);
      for (let m = 0; m < mutations; m++) {
        const at = Math.floor(random() * (text.length + 1));
        const r = random();
        if (r < 0.33) text = text.slice(0, at) + text.slice(at + 1);
        else if (r < 0.66) text = text.slice(0, at) + pick(TOKENS) + text.slice(at);
        else text = text.slice(0, at) + pick(['(', ')', ',', '^', '-']) + text.slice(at + 1);
      }
      fuzzOne(text, stats);
    }
    t.diagnostic(`valid ${stats.ok}; errors ${JSON.stringify(Object.fromEntries(stats.errors))}`);
    assert.ok(stats.ok > 1000, `only ${stats.ok} valid`);
  });

  test('2,000 strings of random characters (ASCII, Latin-1, surrogates, astral)', () => {
    const random = rng(1234);
    const stats = { ok: 0, errors: new Map<string, number>() };
    for (let i = 0; i < 2000; i++) {
      const n = 1 + Math.floor(random() * 24);
      let text = '';
      for (let k = 0; k < n; k++) {
        const r = random();
        const cp = r < 0.7 ? 32 + Math.floor(random() * 95) : r < 0.85 ? Math.floor(random() * 0x300) : r < 0.95 ? 0xd800 + Math.floor(random() * 0x800) : 0x1f300 + Math.floor(random() * 0x300);
        text += cp >= 0xd800 && cp < 0xe000 ? String.fromCharCode(cp) : String.fromCodePoint(cp);
      }
      fuzzOne(text, stats);
    }
  });

  test('1,000 random formula files: only FormulaError, positioned in the file', () => {
    const random = rng(99);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const LINES = [
      'energy_consumption = "700 + 20 * x * x - 0.0008 * y"', 'energy_consumption = 700 + x', "energy_consumption = 'x^2'",
      'dz/dx = "40 * x"', 'dz/dx = 2*x', 'dz/dy = -0.0008', 'dz/dy = "0"', '# comment', '', '   ', 'energy_consumption =',
      'energy_consumption = "x', 'dz/dx = "x" y', 'foo = 1', 'dz/dz = 1', '= 1', 'energy_consumption', '#', '"#"',
      'energy_consumption = sqrt(', 'dz/dy = __proto__', 'dz/dx = x # trailing', '\u0000', 'energy_consumption = ((((x))))',
    ];
    let valid = 0;
    for (let i = 0; i < 1000; i++) {
      const n = Math.floor(random() * 6);
      const lines = Array.from({ length: n }, () => pick(LINES));
      const text = lines.join(pick(['\n', '\r\n', '\r']));
      try {
        const f = parseFormulaFile(text, 'fuzz.txt');
        assert.equal(typeof f.energy(0.5, 1000), 'number');
        assert.equal(typeof f.dzdx(0.5, 1000), 'number');
        valid++;
      } catch (e) {
        if (!(e instanceof FormulaError)) assert.fail(`non-FormulaError for ${JSON.stringify(text)}: ${String(e)}`);
        assert.equal(e.source, 'fuzz.txt');
        if (e.line !== undefined) assert.ok(e.line >= 1 && e.line <= Math.max(1, n) && (e.column ?? 0) >= 1, e.message);
        else assert.equal(e.code, 'missing-key');
      }
    }
    assert.ok(valid > 50, `only ${valid} valid files`);
  });
});

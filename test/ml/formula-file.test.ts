// The formula file: the reference file's values, format quirks, derived derivatives,
// positioned errors, loading from disk, the bundled files, and evaluation speed.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import {
  BUNDLED_FORMULA_DIR,
  bundledFormulaPath,
  evaluateDummy,
  FormulaError,
  formulaFromExpressions,
  loadBundledFormula,
  loadFormulaFile,
  loadFormulaFileSync,
  MAX_FILE_BYTES,
  parseFormulaFile,
  type DummyFormula,
} from '../../src/ml/formula/index.js';

const MODELS = fileURLToPath(new URL('../../models/dummy/', import.meta.url));
const DEFAULT_FILE = join(MODELS, 'default.txt');
// The reference file as published (kept verbatim in models/dummy/default.txt).
const REFERENCE =
  '# x = Throughput; y = PacketSize;\n' +
  'energy_consumption = "700 + 20 * x * x - 0.0008 * y"  \n' +
  'dz/dx = "40 * x"\n' +
  'dz/dy = -0.0008\n';

const tmp = mkdtempSync(join(tmpdir(), 'wattflow-formula-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function near(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} ≉ ${expected} (±${tol})`);
}

/** Asserts that fn throws a FormulaError with these fields. */
function throwsFormula(fn: () => unknown, expected: Partial<Pick<FormulaError, 'code' | 'line' | 'column' | 'reason' | 'message' | 'source'>>): FormulaError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof FormulaError, `expected a FormulaError, got ${String(caught)}`);
  for (const [k, v] of Object.entries(expected)) {
    assert.equal((caught as unknown as Record<string, unknown>)[k], v, `${k} of: ${caught.message}`);
  }
  return caught;
}

describe('the reference formula file', () => {
  test('models/dummy/default.txt is the reference file, byte for byte', () => {
    assert.equal(readFileSync(DEFAULT_FILE, 'utf8'), REFERENCE);
    assert.equal(readFileSync(join(MODELS, 'huawei.txt'), 'utf8'), REFERENCE);
  });

  for (const [name, load] of [
    ['loadFormulaFile', () => loadFormulaFile(DEFAULT_FILE)],
    ['loadFormulaFileSync', async () => loadFormulaFileSync(DEFAULT_FILE)],
    ['parseFormulaFile', async () => parseFormulaFile(REFERENCE, 'ref.txt')],
  ] as const) {
    test(`${name}: values at x = 1.0, y = 1200 B`, async () => {
      const f: DummyFormula = await load();
      assert.deepEqual(f.derived, { dzdx: false, dzdy: false });
      assert.deepEqual(f.text, { energy: '700 + 20 * x * x - 0.0008 * y', dzdx: '40 * x', dzdy: '-0.0008' });
      const p = evaluateDummy(f, 1.0, 1200);
      near(p.power, 719.04, 1e-9, 'power'); // 700 + 20 - 0.96
      assert.equal(p.dPower_dOccupation, 40);
      assert.equal(p.dPower_dPacketLength, -0.0008);
    });
  }

  test('the source is the path given', async () => {
    assert.equal((await loadFormulaFile(DEFAULT_FILE)).source, DEFAULT_FILE);
    assert.equal(parseFormulaFile(REFERENCE, 'ref.txt').source, 'ref.txt');
  });

  test("against the reference example output (examples/output_ml_metrics.json)", () => {
    const f = parseFormulaFile(REFERENCE, 'ref.txt');
    // At x = 0.0038, y = 1464: 700 + 20·0.0038² − 0.0008·1464 = 700 + 0.0002888 − 1.1712.
    near(f.energy(0.0038, 1464), 698.8290888, 1e-9, 'power at x = 0.0038');
    near(f.dzdx(0.0038, 1464), 0.152, 1e-12, 'dz/dx at x = 0.0038');
    // The reference message carries node_network_router_capacity_occupation =
    // 0.003811188890163414 (a percentage) and packet length 1464, and reports 698.8288 W.
    // The formula's x is the occupation as a fraction (% / 100): x = 3.811e-5 gives
    // 698.82880003 W, which the reference printed rounded to 4 decimals. (Taken as x =
    // 0.00381 directly it would be 698.8289 W.) Its dz/dx is 40·x = 0.0015 W, printed by the
    // reference as [0.0]; dz/dy = −0.0008 exactly.
    const x = 0.003811188890163414 / 100;
    const p = evaluateDummy(f, x, 1464);
    near(p.power, 698.8288, 5e-5, 'power');
    assert.equal(Math.round(p.power * 1e4) / 1e4, 698.8288);
    near(p.dPower_dOccupation, 0.0015244755560653656, 1e-15, 'dz/dx');
    assert.equal(p.dPower_dPacketLength, -0.0008);
  });
});

describe('format quirks', () => {
  test('quoted or bare values, comments, blank lines, trailing whitespace, CRLF, BOM, tabs', () => {
    const text =
      '\uFEFF# header comment\r\n' +
      '\r\n' +
      '   # indented comment\r\n' +
      "\tenergy_consumption\t=\t'700 + 20 * x * x - 0.0008 * y'   # trailing comment\r\n" +
      'dz/dx=40*x# glued comment\r\n' +
      '  dz/dy   =   "-0.0008"  \r\n' +
      '\r\n';
    const f = parseFormulaFile(text, 'quirks.txt');
    assert.deepEqual(f.text, { energy: '700 + 20 * x * x - 0.0008 * y', dzdx: '40*x', dzdy: '-0.0008' });
    assert.equal(f.energy(1, 1200), 719.04);
    assert.equal(f.dzdx(0.5, 0), 20);
    assert.equal(f.dzdy(0, 0), -0.0008);
  });

  test('old Mac line ends (CR only) and a file without a final newline', () => {
    const f = parseFormulaFile('energy_consumption = x\rdz/dx = 1', 'cr.txt');
    assert.equal(f.energy(0.25, 0), 0.25);
  });

  test('keys in any order', () => {
    const f = parseFormulaFile('dz/dy = 0\ndz/dx = 2 * x\nenergy_consumption = x^2', 'order.txt');
    assert.equal(f.dzdx(3, 0), 6);
  });

  test('a "#" inside quotes is part of the value (and so a positioned error)', () => {
    throwsFormula(() => parseFormulaFile('energy_consumption = "x # 2"', 'hash.txt'), {
      code: 'unexpected-character',
      line: 1,
      column: 25,
    });
  });
});

describe('derived derivatives when dz/dx or dz/dy is missing', () => {
  test('both missing: derived symbolically, equal to the hand-written ones', () => {
    const f = parseFormulaFile('energy_consumption = "700 + 20 * x * x - 0.0008 * y"', 'derived.txt');
    assert.deepEqual(f.derived, { dzdx: true, dzdy: true });
    assert.deepEqual(f.text, { energy: '700 + 20 * x * x - 0.0008 * y', dzdx: '40 * x', dzdy: '-0.0008' });
    const ref = parseFormulaFile(REFERENCE, 'ref.txt');
    for (const [x, y] of [
      [0, 64],
      [0.25, 500],
      [1, 1500],
    ] as const) {
      assert.deepEqual(evaluateDummy(f, x, y), evaluateDummy(ref, x, y));
    }
  });

  test('one missing: only that one is derived', () => {
    const f = parseFormulaFile('energy_consumption = 650 + 80 * tanh(3 * x) + 1e-6 * y^2\ndz/dy = 2e-6 * y', 'one.txt');
    assert.deepEqual(f.derived, { dzdx: true, dzdy: false });
    assert.equal(f.text.dzdx, '240 * (1 - tanh(3 * x)^2)');
    assert.equal(f.text.dzdy, '2e-6 * y');
    near(f.dzdx(0.2, 0), 240 * (1 - Math.tanh(0.6) ** 2), 1e-12);
  });

  test('with min/max the derivative falls back to finite differences for their partials', () => {
    const f = parseFormulaFile('energy_consumption = 600 + 100 * min(x, 0.8)', 'clamp.txt');
    near(f.dzdx(0.5, 0), 100, 1e-6);
    near(f.dzdx(0.9, 0), 0, 1e-6);
    assert.equal(f.text.dzdx, '100 * ∂min/∂arg1(x, 0.8)');
  });

  test('formulaFromExpressions: the same rules without a file', () => {
    const f = formulaFromExpressions({ energy: '700 + 20 * x * x - 0.0008 * y' }, 'inline');
    assert.deepEqual(f.text, { energy: '700 + 20 * x * x - 0.0008 * y', dzdx: '40 * x', dzdy: '-0.0008' });
    const g = formulaFromExpressions({ energy: 'x', dzdx: '1', dzdy: '0' });
    assert.deepEqual(g.derived, { dzdx: false, dzdy: false });
    throwsFormula(() => formulaFromExpressions({ energy: 'x', dzdx: '1 +' }, 'inline'), {
      code: 'unexpected-end',
      message: "inline dz/dx:1:4: unexpected end of expression; expected a number, a name or '('",
    });
  });
});

describe('file errors name the line and column', () => {
  const cases: Array<[string, string, Partial<FormulaError>]> = [
    [
      'unbalanced parenthesis (the example of the brief)',
      '# comment\nenergy_consumption = "700 + 20 * x)"',
      { code: 'unexpected-token', line: 2, column: 35, message: "models/dummy/x.txt:2:35: unexpected ')'" },
    ],
    ['unknown key', 'energy_consumption = x\npower = 3', { code: 'unknown-key', line: 2, column: 1, reason: "unknown key 'power'" }],
    ['key in the wrong case, with a hint', 'Energy_Consumption = x', { code: 'unknown-key', line: 1, column: 1, hint: "did you mean 'energy_consumption'?" } as Partial<FormulaError>],
    ['spaced key, with a hint', 'energy_consumption = x\n  dz / dx = 1', { code: 'unknown-key', line: 2, column: 3, hint: "did you mean 'dz/dx'?" } as Partial<FormulaError>],
    [
      'duplicate key',
      'energy_consumption = x\ndz/dx = 1\n\ndz/dx = 2',
      { code: 'duplicate-key', line: 4, column: 1, reason: "duplicate key 'dz/dx' (first given on line 2)" },
    ],
    ['line without "="', 'energy_consumption = x\nhello world', { code: 'syntax', line: 2, column: 1, reason: "expected 'key = value', found 'hello world'" }],
    ['missing key before "="', '  = 5', { code: 'syntax', line: 1, column: 3, reason: "missing key before '='" }],
    ['empty bare value', 'energy_consumption =   ', { code: 'empty-expression', line: 1, column: 24, reason: 'empty expression' }],
    ['empty quoted value', 'energy_consumption = ""', { code: 'empty-expression', line: 1, column: 23 }],
    ['unterminated quote', 'energy_consumption = "700 + x', { code: 'unterminated-string', line: 1, column: 22, reason: 'unterminated string: missing closing "' }],
    ['text after the closing quote', 'energy_consumption = "700" + x', { code: 'syntax', line: 1, column: 28, reason: "unexpected text after the closing quote: '+ x'" }],
    ['trailing garbage in a bare value', 'energy_consumption = 700 x', { code: 'unexpected-token', line: 1, column: 26, reason: "unexpected name 'x'" }],
    ['unknown variable in dz/dy', 'energy_consumption = x\ndz/dy = z', { code: 'unknown-variable', line: 2, column: 9, reason: "unknown name 'z'" }],
    ['empty file', '', { code: 'missing-key', line: undefined, reason: "no formula: the file has no 'energy_consumption' line" }],
    ['only comments', '# nothing\n\n   # here\n', { code: 'missing-key', line: undefined }],
    ['missing energy key', 'dz/dx = 1\ndz/dy = 0', { code: 'missing-key', line: undefined, reason: "missing required key 'energy_consumption'" }],
  ];
  for (const [what, text, expected] of cases) {
    test(what, () => {
      const e = throwsFormula(() => parseFormulaFile(text, 'models/dummy/x.txt'), { source: 'models/dummy/x.txt', ...expected });
      if (e.line !== undefined) assert.ok(e.message.startsWith(`models/dummy/x.txt:${e.line}:${e.column}: `), e.message);
      else assert.ok(e.message.startsWith('models/dummy/x.txt: '), e.message);
    });
  }

  test('the error column points at the offending character of the file line', () => {
    const line = "dz/dx = '40 * foo(x)'";
    const e = throwsFormula(() => parseFormulaFile(`energy_consumption = x\n${line}`, 'f.txt'), { code: 'unknown-function', line: 2 });
    assert.equal(line.slice((e.column ?? 0) - 1, (e.column ?? 0) - 1 + 3), 'foo');
    assert.equal(e.offset, 5); // in the expression
  });
});

describe('loading from disk', () => {
  test('missing file, directory, invalid UTF-8, too large: FormulaError with the path', async () => {
    const missing = join(tmp, 'nope.txt');
    await assert.rejects(loadFormulaFile(missing), (e: unknown) => e instanceof FormulaError && e.code === 'io' && e.source === missing && /no such file/.test(e.reason));
    throwsFormula(() => loadFormulaFileSync(missing), { code: 'io', source: missing });

    const dir = join(tmp, 'dir.txt');
    mkdirSync(dir);
    await assert.rejects(loadFormulaFile(dir), (e: unknown) => e instanceof FormulaError && e.code === 'io' && /directory/.test(e.reason));
    throwsFormula(() => loadFormulaFileSync(dir), { code: 'io' });

    if (existsSync('/dev/zero')) {
      // A device would never end: refused before reading.
      await assert.rejects(loadFormulaFile('/dev/zero'), (e: unknown) => e instanceof FormulaError && e.code === 'io' && /not a regular file/.test(e.reason));
      throwsFormula(() => loadFormulaFileSync('/dev/zero'), { code: 'io', reason: 'cannot read formula file: not a regular file' });
    }

    const latin1 = join(tmp, 'latin1.txt');
    writeFileSync(latin1, Buffer.from([0x23, 0x20, 0xe9, 0x0a, 0x78])); // "# é" in Latin-1
    await assert.rejects(loadFormulaFile(latin1), (e: unknown) => e instanceof FormulaError && e.code === 'encoding');
    throwsFormula(() => loadFormulaFileSync(latin1), { code: 'encoding', reason: 'file is not valid UTF-8 text' });

    const big = join(tmp, 'big.txt');
    writeFileSync(big, `energy_consumption = x\n${'#'.repeat(MAX_FILE_BYTES)}\n`);
    await assert.rejects(loadFormulaFile(big), (e: unknown) => e instanceof FormulaError && e.code === 'file-too-large');
    throwsFormula(() => loadFormulaFileSync(big), { code: 'file-too-large' });
  });

  test('a file with an error reports the file path and line', async () => {
    const bad = join(tmp, 'bad.txt');
    writeFileSync(bad, 'energy_consumption = "1 + sqrt(x, y)"\n');
    await assert.rejects(loadFormulaFile(bad), (e: unknown) => e instanceof FormulaError && e.message === `${bad}:1:27: function 'sqrt' expects 1 argument, got 2`);
  });
});

describe('bundled formulas', () => {
  test('per router type, falling back to default.txt', () => {
    assert.equal(bundledFormulaPath('huawei'), join(BUNDLED_FORMULA_DIR, 'huawei.txt'));
    assert.equal(bundledFormulaPath('no_such_router'), join(BUNDLED_FORMULA_DIR, 'default.txt'));
    assert.equal(bundledFormulaPath(), join(BUNDLED_FORMULA_DIR, 'default.txt'));
    assert.equal(loadBundledFormula('huawei').energy(1, 1200), 719.04);
  });

  test('router types cannot escape the directory', () => {
    for (const bad of ['../etc/passwd', 'a/b', '', '.hidden', 'x'.repeat(65), 'a b']) {
      throwsFormula(() => bundledFormulaPath(bad), { code: 'io' });
    }
  });
});

describe('evaluation speed', () => {
  test('compiled evaluation costs well under a microsecond', (t) => {
    const formulas = [
      parseFormulaFile(REFERENCE, 'ref.txt'),
      parseFormulaFile('energy_consumption = 650 + 80 * tanh(3 * x) + 15 * sqrt(x) - 0.001 * y + 2e-7 * y^2', 'b.txt'),
    ];
    const results: string[] = [];
    for (const f of formulas) {
      for (const [name, fn] of [
        ['energy', f.energy],
        ['dz/dx', f.dzdx],
        ['dz/dy', f.dzdy],
      ] as const) {
        const n = 200_000;
        let sink = 0;
        for (let i = 0; i < n; i++) sink += fn((1 + (i & 1023)) / 1025, 64 + (i & 1023)); // warm-up
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) sink += fn((1 + (i & 1023)) / 1025, 64 + (i & 1023));
        const ns = Number(process.hrtime.bigint() - t0) / n;
        assert.ok(Number.isFinite(sink), `${name}: ${sink}`);
        results.push(`${f.source} ${name}: ${ns.toFixed(1)} ns`);
        // Generous bound (shared CI machines); typical figures are 2-60 ns.
        assert.ok(ns < 1000, `${f.source} ${name}: ${ns} ns per evaluation`);
      }
    }
    // evaluateDummy, mixing formulas at one call site (polymorphic, as in the ML stage).
    const n = 200_000;
    let sink = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += evaluateDummy(formulas[i & 1] as DummyFormula, (i & 1023) / 1024, 1200).power;
    const ns = Number(process.hrtime.bigint() - t0) / n;
    assert.ok(Number.isFinite(sink) && ns < 2000);
    results.push(`evaluateDummy (mixed formulas): ${ns.toFixed(1)} ns`);
    t.diagnostic(results.join('; '));
  });
});

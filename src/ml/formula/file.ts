/**
 * The "ML dummy" formula file (models/dummy/*.txt): parsing, loading, and evaluation of a
 * router's power model (format: docs/formula-language.md).
 */
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { formatExpression, type Node } from './ast.js';
import { compile, type CompiledExpr } from './compile.js';
import { derive } from './derive.js';
import { FormulaError, MAX_FILE_BYTES, quote, type ExpressionOrigin, type FormulaErrorCode } from './errors.js';
import { parseExpression } from './parser.js';

export interface DummyFormula {
  /** Where the formula came from: the file path, or the name given to parseFormulaFile. */
  readonly source: string;
  /** Power in W as a function of (x = occupation fraction, y = packet length in bytes). */
  readonly energy: CompiledExpr;
  /** ∂power/∂x (W per unit of occupation fraction). */
  readonly dzdx: CompiledExpr;
  /** ∂power/∂y (W per byte). */
  readonly dzdy: CompiledExpr;
  /** True where the derivative was derived symbolically because the file did not give it. */
  readonly derived: { readonly dzdx: boolean; readonly dzdy: boolean };
  /** The expressions as text: as written in the file, or the printed derived expression. */
  readonly text: { readonly energy: string; readonly dzdx: string; readonly dzdy: string };
  /** The expression trees (for inspection, printing, further differentiation). */
  readonly ast: { readonly energy: Node; readonly dzdx: Node; readonly dzdy: Node };
}

/** Result of evaluating the dummy model at one operating point. */
export interface DummyPrediction {
  /** Power in W. */
  power: number;
  /** ∂power/∂occupation fraction. */
  dPower_dOccupation: number;
  /** ∂power/∂packet length (W per byte). */
  dPower_dPacketLength: number;
}

/**
 * Evaluates the model at occupation fraction x (0..1) and packet length y (bytes). Pure
 * arithmetic: never throws; a formula undefined at the point (ln(0), 1/0) gives NaN or
 * ±Infinity, which the caller should check with Number.isFinite.
 */
export function evaluateDummy(formula: DummyFormula, occupationFraction: number, packetLengthBytes: number): DummyPrediction {
  return {
    power: formula.energy(occupationFraction, packetLengthBytes),
    dPower_dOccupation: formula.dzdx(occupationFraction, packetLengthBytes),
    dPower_dPacketLength: formula.dzdy(occupationFraction, packetLengthBytes),
  };
}

const KEYS = ['energy_consumption', 'dz/dx', 'dz/dy'] as const;
type Key = (typeof KEYS)[number];

interface Entry {
  key: Key;
  line: number;
  keyColumn: number;
  /** The expression text (inside the quotes when quoted). */
  expr: string;
  /** 1-based column of the expression's first character. */
  column: number;
}

function fileError(code: FormulaErrorCode, reason: string, source: string, line?: number, column?: number, hint?: string): FormulaError {
  return new FormulaError({ code, reason, source, line, column, hint });
}

/**
 * Parses the text of a formula file. `sourceName` labels errors (`name:line:column: reason`)
 * and the result. Throws FormulaError (only) on any problem.
 */
export function parseFormulaFile(text: string, sourceName = '<formula>'): DummyFormula {
  if (typeof text !== 'string') throw fileError('io', 'formula text is not a string', sourceName);
  if (text.length > MAX_FILE_BYTES) {
    throw fileError('file-too-large', `formula file is ${text.length} characters long; the limit is ${MAX_FILE_BYTES}`, sourceName);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const entries = new Map<Key, Entry>();
  const lines = text.split(/\r\n|\r|\n/);
  lines.forEach((rawLine, index) => {
    const entry = parseLine(rawLine, index + 1, sourceName);
    if (!entry) return;
    const first = entries.get(entry.key);
    if (first) {
      throw fileError('duplicate-key', `duplicate key '${entry.key}' (first given on line ${first.line})`, sourceName, entry.line, entry.keyColumn);
    }
    entries.set(entry.key, entry);
  });

  const energyEntry = entries.get('energy_consumption');
  if (!energyEntry) {
    const empty = [...entries.keys()].length === 0;
    throw fileError(
      'missing-key',
      empty ? "no formula: the file has no 'energy_consumption' line" : "missing required key 'energy_consumption'",
      sourceName,
      undefined,
      undefined,
      'expected a line like: energy_consumption = "700 + 20 * x * x - 0.0008 * y"',
    );
  }
  const parse = (e: Entry): Node => parseExpression(e.expr, { source: sourceName, line: e.line, column: e.column });
  const given = (key: Key): Source | undefined => {
    const e = entries.get(key);
    return e && { node: parse(e), text: e.expr.trim() };
  };
  return buildFormula(
    sourceName,
    { node: parse(energyEntry), text: energyEntry.expr.trim() },
    { source: sourceName, line: energyEntry.line, column: energyEntry.column },
    given('dz/dx'),
    given('dz/dy'),
  );
}

interface Source {
  node: Node;
  text: string;
}

function buildFormula(sourceName: string, energy: Source, energyOrigin: ExpressionOrigin, dzdx: Source | undefined, dzdy: Source | undefined): DummyFormula {
  const derivative = (given: Source | undefined, wrt: 'x' | 'y'): Source & { derived: boolean } => {
    if (given) return { ...given, derived: false };
    const node = derive(energy.node, wrt, { origin: energyOrigin });
    return { node, text: formatExpression(node), derived: true };
  };
  const dx = derivative(dzdx, 'x');
  const dy = derivative(dzdy, 'y');
  return {
    source: sourceName,
    energy: compile(energy.node),
    dzdx: compile(dx.node),
    dzdy: compile(dy.node),
    derived: { dzdx: dx.derived, dzdy: dy.derived },
    text: { energy: energy.text, dzdx: dx.text, dzdy: dy.text },
    ast: { energy: energy.node, dzdx: dx.node, dzdy: dy.node },
  };
}

/**
 * Builds a formula from expression strings (e.g. inline in a configuration), with the same
 * rules as a file: energy required, missing derivatives derived.
 */
export function formulaFromExpressions(
  expressions: { energy: string; dzdx?: string | undefined; dzdy?: string | undefined },
  sourceName = '<formula>',
): DummyFormula {
  const one = (text: string | undefined, key: Key): Source | undefined => {
    if (text === undefined) return undefined;
    if (typeof text !== 'string') throw fileError('syntax', `${key}: expression is not a string`, sourceName);
    return { node: parseExpression(text, { source: `${sourceName} ${key}` }), text: text.trim() };
  };
  const energy = one(expressions.energy, 'energy_consumption');
  if (!energy) throw fileError('missing-key', "missing required expression 'energy'", sourceName);
  return buildFormula(sourceName, energy, { source: `${sourceName} energy_consumption` }, one(expressions.dzdx, 'dz/dx'), one(expressions.dzdy, 'dz/dy'));
}

/** Parses one line; undefined for blank and comment lines. */
function parseLine(line: string, lineNo: number, source: string): Entry | undefined {
  // Cut a trailing comment: the first '#' outside quotes.
  let quoteChar = '';
  let end = line.length;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoteChar) {
      if (ch === quoteChar) quoteChar = '';
    } else if (ch === '"' || ch === "'") {
      quoteChar = ch;
    } else if (ch === '#') {
      end = i;
      break;
    }
  }
  const content = line.slice(0, end);
  if (content.trim() === '') return undefined;

  const firstNonSpace = content.search(/\S/);
  const eq = content.indexOf('=');
  if (eq < 0) {
    throw fileError('syntax', `expected 'key = value', found ${quote(content.trim())}`, source, lineNo, firstNonSpace + 1, "keys are energy_consumption, dz/dx and dz/dy");
  }
  const rawKey = content.slice(0, eq);
  const key = rawKey.trim();
  const keyColumn = key === '' ? eq + 1 : rawKey.search(/\S/) + 1;
  if (key === '') throw fileError('syntax', "missing key before '='", source, lineNo, keyColumn);
  if (!(KEYS as readonly string[]).includes(key)) {
    const normal = key.toLowerCase().replace(/\s+/g, '');
    const close = KEYS.find((k) => k === normal);
    throw fileError(
      'unknown-key',
      `unknown key ${quote(key)}`,
      source,
      lineNo,
      keyColumn,
      close ? `did you mean '${close}'?` : 'the keys are energy_consumption, dz/dx and dz/dy',
    );
  }

  // The value: after '=', quoted or bare.
  let i = eq + 1;
  while (i < content.length && /\s/.test(content[i] as string)) i++;
  const q = content[i];
  if (q === '"' || q === "'") {
    const close = content.indexOf(q, i + 1);
    if (close < 0) {
      throw fileError('unterminated-string', `unterminated string: missing closing ${q}`, source, lineNo, i + 1);
    }
    const rest = content.slice(close + 1);
    const junk = rest.search(/\S/);
    if (junk >= 0) {
      throw fileError('syntax', `unexpected text after the closing quote: ${quote(rest.trim())}`, source, lineNo, close + 2 + junk);
    }
    return { key: key as Key, line: lineNo, keyColumn, expr: content.slice(i + 1, close), column: i + 2 };
  }
  return { key: key as Key, line: lineNo, keyColumn, expr: content.slice(i).trimEnd(), column: i + 1 };
}

/** Decodes file bytes as strict UTF-8. */
function decode(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new FormulaError({ code: 'encoding', reason: 'file is not valid UTF-8 text', source: path, cause });
  }
}

function ioError(path: string, cause: unknown): FormulaError {
  const code = (cause as { code?: unknown } | null)?.code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : code === 'ENOTREG' ? 'not a regular file' : String((cause as Error)?.message ?? cause);
  return new FormulaError({ code: 'io', reason: `cannot read formula file: ${why}`, source: path, cause });
}

/** Only regular files: a device or FIFO (/dev/zero, a pipe) could be read forever. */
function checkRegular(st: { isFile(): boolean; isDirectory(): boolean }): void {
  if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
}

function checkSize(size: number, path: string): void {
  if (size > MAX_FILE_BYTES) {
    throw new FormulaError({ code: 'file-too-large', reason: `formula file is ${size} bytes; the limit is ${MAX_FILE_BYTES}`, source: path });
  }
}

/** Reads and parses a formula file. Throws FormulaError (only), code `io` if unreadable. */
export async function loadFormulaFile(path: string): Promise<DummyFormula> {
  let bytes: Uint8Array;
  try {
    const st = await stat(path);
    checkRegular(st);
    checkSize(st.size, path);
    bytes = await readFile(path);
  } catch (err) {
    if (err instanceof FormulaError) throw err;
    throw ioError(path, err);
  }
  checkSize(bytes.length, path);
  return parseFormulaFile(decode(bytes, path), path);
}

/** Synchronous loadFormulaFile, for start-up code. */
export function loadFormulaFileSync(path: string): DummyFormula {
  let bytes: Uint8Array;
  try {
    const st = statSync(path);
    checkRegular(st);
    checkSize(st.size, path);
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof FormulaError) throw err;
    throw ioError(path, err);
  }
  checkSize(bytes.length, path);
  return parseFormulaFile(decode(bytes, path), path);
}

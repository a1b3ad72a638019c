/**
 * Property and fuzz tests for the exposition parser (seeded, reproducible): random strings and
 * mutations of real payloads only ever produce families or an ExpositionParseError; generated
 * valid payloads (both formats) parse back to exactly the generated families; the real
 * node-exporter payload round-trips through a serializer; a name-filtered parse always equals
 * filtering the full parse.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import {
  applyFilter,
  ExpositionParseError,
  parseExposition,
  type ExpositionFormat,
  type MetricFamily,
  type MetricLabel,
  type MetricSample,
  type MetricType,
  type ParseOptions,
} from '../../src/collector/exposition/index.js';
import { prng } from '../helpers/prng.js';

const SEED = Number(process.env.EXPOSITION_FUZZ_SEED ?? 0x5eed);


const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/exposition/${name}`, import.meta.url), 'utf8');

/** Parse; the only acceptable failure is a well-formed ExpositionParseError. */
function parseOrError(text: string, options: ParseOptions): MetricFamily[] | ExpositionParseError {
  try {
    const fams = parseExposition(text, options);
    assert.ok(Array.isArray(fams));
    return fams;
  } catch (err) {
    if (!(err instanceof ExpositionParseError)) {
      assert.fail(`non-ExpositionParseError thrown for ${JSON.stringify(text.slice(0, 300))} (${JSON.stringify(options)}): ${String(err)}`);
    }
    const maxLine = text.split('\n').length + 1;
    assert.ok(Number.isInteger(err.line) && err.line >= 1 && err.line <= maxLine, `line ${err.line} of ${maxLine}`);
    assert.ok(Number.isInteger(err.column) && err.column >= 1, `column ${err.column}`);
    assert.ok(err.reason.length > 0 && err.reason.length < 400, err.reason);
    return err;
  }
}

function sampleCount(fams: readonly MetricFamily[]): number {
  return fams.reduce((n, f) => n + f.samples.length, 0);
}

// ---- serializer (test-side reference writer) -----------------------------------------------

const escLabel = (v: string): string => v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
const escHelp = (v: string, om: boolean): string =>
  v.replace(om ? /[\\"\n]/g : /[\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
const labelText = (labels: readonly MetricLabel[]): string =>
  labels.length === 0 ? '' : `{${labels.map((l) => `${l.name}="${escLabel(l.value)}"`).join(',')}}`;

function formatTimestamp(ms: number, om: boolean): string {
  return om ? String(ms / 1000) : String(ms);
}

function serialize(fams: readonly MetricFamily[], format: ExpositionFormat, declareUntyped = false): string {
  const om = format === 'openmetrics';
  const out: string[] = [];
  for (const f of fams) {
    if (f.help !== '') out.push(`# HELP ${f.name} ${escHelp(f.help, om)}`);
    if (declareUntyped || (f.type !== 'untyped' && f.type !== 'unknown')) out.push(`# TYPE ${f.name} ${f.type}`);
    if (f.unit !== undefined) out.push(`# UNIT ${f.name} ${f.unit}`);
    for (const s of f.samples) {
      let line = `${s.name}${labelText(s.labels)} ${s.value}`;
      if (s.timestampMs !== undefined) line += ` ${formatTimestamp(s.timestampMs, om)}`;
      if (s.exemplar !== undefined) {
        line += ` # ${labelText(s.exemplar.labels) || '{}'} ${s.exemplar.value}`;
        if (s.exemplar.timestampMs !== undefined) line += ` ${formatTimestamp(s.exemplar.timestampMs, true)}`;
      }
      out.push(line);
    }
  }
  if (om) out.push('# EOF');
  return `${out.join('\n')}\n`;
}

// ---- generator of valid families ---------------------------------------------------------

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:0123456789';
const LABEL_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789';
const VALUE_CHARS = ['a', 'b', 'Z', '0', ' ', ',', '=', '{', '}', '"', '\\', '\n', '#', '\t', 'é', '🚀', '\\n', '""'];

function generate(rnd: () => number, format: ExpositionFormat): MetricFamily[] {
  const om = format === 'openmetrics';
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (n: number): number => Math.floor(rnd() * n);
  const word = (chars: string, first: string, n: number): string => {
    let s = first[int(first.length)]!;
    for (let i = 1; i < n; i++) s += chars[int(chars.length)]!;
    return s;
  };
  const randValue = (): [string, number] => {
    switch (int(8)) {
      case 0:
        return ['NaN', NaN];
      case 1:
        return ['+Inf', Infinity];
      case 2:
        return ['-Inf', -Infinity];
      case 3: {
        const v = int(1e6);
        return [String(v), v];
      }
      case 4: {
        const v = (rnd() - 0.5) * 1e12;
        const t = v.toExponential(int(10));
        return [t, Number(t)];
      }
      default: {
        const t = String(Math.round((rnd() - 0.5) * 1e6) / 1e3); // "0" for -0
        return [t, Number(t)];
      }
    }
  };
  const randString = (): string => {
    let s = '';
    const n = int(6);
    for (let i = 0; i < n; i++) s += pick(VALUE_CHARS);
    return s;
  };
  const types: MetricType[] = om
    ? ['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown']
    : ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
  const fams: MetricFamily[] = [];
  const nFam = 1 + int(6);
  const tsBase = 1_700_000_000_000;
  for (let fi = 0; fi < nFam; fi++) {
    const type = pick(types);
    // Ends in a digit, so it never ends with a series suffix and names never collide.
    const name = `${word(NAME_CHARS, 'abcxyzAB_:', 1 + int(8))}_${fi}`;
    // Prometheus text drops blanks between the name and the HELP text (as Go's parser does).
    const help = rnd() < 0.7 ? (om ? randString() : randString().replace(/^[ \t]+/, '')) : '';
    const fam: MetricFamily = { name, help, type, samples: [] };
    const extraLabelNames = Array.from({ length: int(3) }, (_, i) => `${word(LABEL_CHARS, 'abcXYZ_', 1 + int(5))}${i}`);
    const nSeries = 1 + int(4);
    const withTs = rnd() < 0.3;
    let t = tsBase + int(1_000_000);
    const push = (sname: string, labels: MetricLabel[], exemplarOk = false): void => {
      const [value, numeric] = randValue();
      const s: MetricSample = { name: sname, labels, value, numeric };
      if (withTs) s.timestampMs = t += 1 + int(1000);
      if (om && exemplarOk && rnd() < 0.3) {
        const [ev, en] = randValue();
        s.exemplar = { labels: [{ name: 'trace_id', value: randString() }], value: ev, numeric: en };
        if (rnd() < 0.5) s.exemplar.timestampMs = tsBase + int(1_000_000);
      }
      fam.samples.push(s);
    };
    for (let si = 0; si < nSeries; si++) {
      const base: MetricLabel[] = [{ name: 'series', value: `${si}${randString()}` }];
      for (const ln of extraLabelNames) base.push({ name: ln, value: randString() });
      if (rnd() < 0.5) base.reverse();
      switch (type) {
        case 'counter':
          if (om) {
            push(`${name}_total`, base, true);
            if (rnd() < 0.5) push(`${name}_created`, base);
          } else push(name, base);
          break;
        case 'histogram':
        case 'gaugehistogram':
          for (const le of ['0.1', '1', '+Inf']) push(`${name}_bucket`, [...base, { name: 'le', value: le }], true);
          if (type === 'histogram') {
            push(`${name}_sum`, base);
            push(`${name}_count`, base);
          } else {
            push(`${name}_gsum`, base);
            push(`${name}_gcount`, base);
          }
          break;
        case 'summary':
          for (const q of ['0.5', '0.99']) push(name, [{ name: 'quantile', value: q }, ...base]);
          push(`${name}_sum`, base);
          push(`${name}_count`, base);
          break;
        case 'info':
          push(`${name}_info`, base);
          break;
        case 'stateset':
          push(name, [...base, { name: name.replace(/:/g, '_'), value: `s${si}` }]);
          break;
        default:
          push(name, base);
      }
    }
    // OpenMetrics: info and stateset families have no unit.
    if (om && type !== 'info' && type !== 'stateset' && rnd() < 0.2) {
      const unit = word(LABEL_CHARS.slice(0, 26), 'abc', 1 + int(5));
      fam.name = `${name}_${unit}`;
      fam.unit = unit;
      for (const s of fam.samples) s.name = fam.name + s.name.slice(name.length);
    }
    fams.push(fam);
  }
  return fams;
}

// ---- mutations -----------------------------------------------------------------------------

const JUNK = ['{', '}', '"', '\\', '=', ',', '#', ' ', '\t', '\n', '\r', '\r\n', 'a', '_', '0', '.', 'e', '+', '-', 'NaN', 'Inf', '# HELP ', '# TYPE ', ' counter', ' histogram', '_bucket', '_sum', 'le="', '# EOF', '\u0000', '\uFFFD', '\uD800', '🚀', 'é'];

function mutate(rnd: () => number, text: string): string {
  const int = (n: number): number => Math.floor(rnd() * n);
  let t = text;
  const n = 1 + int(3);
  for (let i = 0; i < n; i++) {
    const p = int(t.length + 1);
    switch (int(8)) {
      case 0:
        t = t.slice(0, p) + JUNK[int(JUNK.length)]! + t.slice(p + 1);
        break;
      case 1:
        t = t.slice(0, p) + t.slice(p + 1 + int(20));
        break;
      case 2:
        t = t.slice(0, p) + JUNK[int(JUNK.length)]! + t.slice(p);
        break;
      case 3: {
        const lines = t.split('\n');
        const k = int(lines.length);
        lines.splice(k, 0, lines[int(lines.length)]!);
        t = lines.join('\n');
        break;
      }
      case 4: {
        const lines = t.split('\n');
        const a = int(lines.length);
        const b = int(lines.length);
        [lines[a], lines[b]] = [lines[b]!, lines[a]!];
        t = lines.join('\n');
        break;
      }
      case 5:
        t = t.slice(0, p);
        break;
      case 6:
        t = t.replace(/\n/g, '\r\n');
        break;
      default:
        t = t.slice(0, p) + String.fromCharCode(int(0x10000)) + t.slice(p);
    }
  }
  return t;
}

function randomGarbage(rnd: () => number): string {
  const n = Math.floor(rnd() * 120);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.6) s += JUNK[Math.floor(rnd() * JUNK.length)]!;
    else if (r < 0.9) s += String.fromCharCode(32 + Math.floor(rnd() * 95));
    else s += String.fromCharCode(Math.floor(rnd() * 0x10000));
  }
  return s;
}

/** Whenever the full parse succeeds, a name-filtered parse must give the filtered result. */
function checkFilteredParse(text: string, format: ExpositionFormat, fams: readonly MetricFamily[], names: string[]): void {
  const filtered = parseExposition(text, { format, names });
  assert.deepEqual(filtered, applyFilter(fams, { names: new Set(names) }), `names ${names.join(',')}`);
}

const FORMATS: ExpositionFormat[] = ['prometheus', 'openmetrics'];

describe('exposition parser: fuzz and properties', () => {
  const nodeExporter = fixture('node-exporter.txt');
  const openMetrics = fixture('openmetrics.txt');

  test('random strings: only ExpositionParseError, never a hang', () => {
    const rnd = prng(SEED);
    let ok = 0;
    for (let i = 0; i < 4000; i++) {
      const text = randomGarbage(rnd);
      for (const format of [...FORMATS, 'auto'] as const) {
        if (!(parseOrError(text, { format }) instanceof ExpositionParseError)) ok++;
      }
    }
    assert.ok(ok > 0, 'some random inputs are valid (e.g. empty ones)');
  });

  test('mutations of real payloads (windows and whole): only ExpositionParseError; valid ones filter consistently', () => {
    const rnd = prng(SEED + 1);
    const sources: Array<[string, ExpositionFormat]> = [
      [nodeExporter, 'prometheus'],
      [openMetrics, 'openmetrics'],
    ];
    const neLines = nodeExporter.split('\n');
    let valid = 0;
    let invalid = 0;
    for (let i = 0; i < 3000; i++) {
      let text: string;
      let format: ExpositionFormat;
      if (i % 3 === 0) {
        [text, format] = sources[1]!;
      } else {
        const start = Math.floor(rnd() * neLines.length);
        text = neLines.slice(start, start + 5 + Math.floor(rnd() * 40)).join('\n');
        format = 'prometheus';
      }
      const mutated = mutate(rnd, text);
      const res = parseOrError(mutated, { format });
      if (res instanceof ExpositionParseError) {
        invalid++;
        continue;
      }
      valid++;
      const names = res.flatMap((f) => [f.name, f.samples[0]?.name ?? f.name]);
      if (names.length > 0) checkFilteredParse(mutated, format, res, [names[Math.floor(rnd() * names.length)]!]);
      assert.deepEqual(parseExposition(mutated, { format, checkDuplicates: false }), res);
    }
    for (let i = 0; i < 150; i++) {
      const mutated = mutate(rnd, nodeExporter);
      if (parseOrError(mutated, { format: 'prometheus' }) instanceof ExpositionParseError) invalid++;
      else valid++;
    }
    assert.ok(valid > 100 && invalid > 100, `valid ${valid}, invalid ${invalid}`);
  });

  test('generated valid payloads parse back to exactly the generated families (both formats)', () => {
    const rnd = prng(SEED + 2);
    for (let i = 0; i < 1500; i++) {
      const format = FORMATS[i % 2]!;
      const fams = generate(rnd, format);
      const crlf = rnd() < 0.2;
      let text = serialize(fams, format, rnd() < 0.3);
      if (crlf) text = text.replace(/\n/g, '\r\n');
      const parsed = parseExposition(text, { format });
      assert.equal(sampleCount(parsed), sampleCount(fams));
      assert.deepEqual(parsed, fams, text);
      assert.deepEqual(parseExposition(text), fams, 'auto-detected format');
      const some = fams.map((f) => (rnd() < 0.5 ? f.name : f.samples[Math.floor(rnd() * f.samples.length)]!.name));
      checkFilteredParse(text, format, parsed, some.slice(0, 1 + Math.floor(rnd() * some.length)));
    }
  });

  test('the real node-exporter payload round-trips through serialize → parse', () => {
    const fams = parseExposition(nodeExporter);
    const again = parseExposition(serialize(fams, 'prometheus'));
    assert.deepEqual(again, fams);
    const asOm = parseExposition(serialize(fams, 'openmetrics'));
    assert.deepEqual(
      asOm.map((f) => [f.name, f.samples.length]),
      fams.map((f) => [f.name, f.samples.length]),
    );
  });

  test('pathological sizes stay linear and typed', () => {
    // Each case takes well under 200 ms of CPU when linear; the quadratic behaviours this
    // guards against (label-name checks, repeated points of one series) took seconds to
    // minutes at these sizes. CPU time, not wall clock, so a busy machine does not fail it.
    const cpuMs = (): number => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    const n = 30_000;
    // each case is valid (its check runs on the families: a wrongful rejection fails) or must be rejected
    const REJECT = 'reject' as const;
    const cases: Array<[string, () => string, ((fams: MetricFamily[]) => void) | typeof REJECT]> = [
      ['2 MB name', () => 'a'.repeat(2_000_000), REJECT],
      ['500k escapes in a label value', () => `x{a="${'\\\\'.repeat(500_000)}"} 1\n`, (f) => assert.equal(f[0]!.samples[0]!.labels[0]!.value.length, 500_000)],
      ['1M backslashes in HELP', () => `# HELP x ${'\\'.repeat(1_000_000)}\n`, (f) => assert.equal(f[0]!.help.length, 500_000)],
      ['1M blank lines', () => '\n'.repeat(1_000_000), (f) => assert.equal(f.length, 0)],
      ['1M braces', () => '{'.repeat(1_000_000), REJECT],
      ['repeated label name', () => `x{${'a="b",'.repeat(2000)}} 1`, REJECT],
      ['60k labels', () => `x{${Array.from({ length: 2 * n }, (_, i) => `a${i}="v"`).join(',')}} 1`, (f) => assert.equal(f[0]!.samples[0]!.labels.length, 2 * n)],
      ['30k points of one series', () => Array.from({ length: n }, (_, i) => `x{a="1"} ${i} ${i}`).join('\n'), (f) => assert.equal(f[0]!.samples.length, n)],
      ['30k unsorted series', () => Array.from({ length: n }, (_, i) => `x{a="${(i * 7919) % n}"} 1`).join('\n'), (f) => assert.equal(f[0]!.samples.length, n)],
      ['20k HELP-only families', () => Array.from({ length: 20_000 }, (_, i) => `# HELP m${i} h\\n${i}`).join('\n'), (f) => assert.equal(f.length, 20_000)],
    ];
    for (const [label, make, expected] of cases) {
      const text = make();
      const t0 = cpuMs();
      const res = parseOrError(text, { format: 'prometheus' });
      const used = cpuMs() - t0;
      if (expected === REJECT) assert.ok(res instanceof ExpositionParseError, `${label}: must be rejected`);
      else if (res instanceof ExpositionParseError) assert.fail(`${label}: valid input rejected: ${res.message}`);
      else expected(res);
      assert.ok(used < 1000, `${label}: ${used.toFixed(0)} ms of CPU`);
    }
  });
});

/**
 * Line protocol encoding: exact formatting, field types, non-finite and unrepresentable
 * values, and property tests of escaping — locally against a reference reader that follows the
 * InfluxDB 1.x parser's rules, and (with INFLUX_URL) round trips through the real InfluxDB.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePoint, escapeFieldKey, escapeKey, escapeMeasurement, quoteString, toLineProtocol, type Point } from '../../src/sinks/influx/line-protocol.js';
import { prng as rng } from '../helpers/prng.js';
import { service } from '../helpers/services.js';
import { influxAdmin, influxQuery, influxRows, uniqueDb } from './influx-helpers.js';

// ---- a seeded generator ------------------------------------------------------------------


const ALPHABET = ['a', 'b', 'Z', '0', '9', ' ', ',', '=', '"', '\\', 'é', '漢', '_', '-', '.', ':', '/', '😀', "'", '#'];
const CONTROL = ['\n', '\t', '\r'];

function randString(r: () => number, opts: { min?: number; max?: number; control?: boolean } = {}): string {
  const min = opts.min ?? 1;
  const len = min + Math.floor(r() * ((opts.max ?? 12) - min + 1));
  const alphabet = opts.control ? [...ALPHABET, ...CONTROL] : ALPHABET;
  let s = '';
  for (let i = 0; i < len; i++) s += alphabet[Math.floor(r() * alphabet.length)]!;
  if (s.endsWith('\\')) s += 'x'; // a trailing backslash is refused (tested separately)
  return s;
}

/** What InfluxDB stores for an identifier: control characters become the text \n, \t, \r. */
const storedIdentifier = (s: string) => s.replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r');

// ---- a reference reader with the InfluxDB 1.x parser's rules ---------------------------------
// Measurement and tags: a name ends at a separator NOT preceded by a backslash; only `\,` `\=`
// `\ ` are unescaped. Fields section: the scanner skips every backslash pair; field keys are
// unescaped for `\,` `\"` `\ ` `\=`. String fields: a backslash escapes the next character.

interface Parsed {
  measurement: string;
  tags: Array<[string, string]>;
  fields: Array<[string, string]>;
  timestamp: string;
}

function readIdent(line: string, i: number, stops: string): [string, number] {
  let j = i;
  while (j < line.length && !(stops.includes(line[j]!) && line[j - 1] !== '\\')) j++;
  return [line.slice(i, j), j];
}

const unescapeIdent = (s: string) => s.replace(/\\([,= ])/g, '$1');

function readFieldKey(line: string, i: number): [string, number] {
  let j = i;
  while (j < line.length && line[j] !== '=') j += line[j] === '\\' ? 2 : 1;
  return [line.slice(i, j), j];
}

function unescapeFieldKey(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length && ',"= '.includes(s[i + 1]!)) out += s[++i];
    else out += s[i];
  }
  return out;
}

/** Field keys the encoder must refuse: a backslash at the end or before , = space. */
const badFieldKey = (k: string) => /\\(?=[,= ]|$)/.test(storedIdentifier(k));

function parseLine(line: string): Parsed {
  const [m, i0] = readIdent(line, 0, ', ');
  let i = i0;
  const tags: Array<[string, string]> = [];
  while (line[i] === ',') {
    const [k, a] = readIdent(line, i + 1, '=');
    const [v, b] = readIdent(line, a + 1, ', ');
    tags.push([unescapeIdent(k), unescapeIdent(v)]);
    i = b;
  }
  assert.equal(line[i], ' ', `space after tags in ${JSON.stringify(line)}`);
  i++;
  const fields: Array<[string, string]> = [];
  for (;;) {
    const [k, a] = readFieldKey(line, i);
    let j = a + 1;
    let value: string;
    if (line[j] === '"') {
      let s = '';
      j++;
      while (line[j] !== '"') {
        if (j >= line.length) throw new Error(`unterminated string in ${JSON.stringify(line)}`);
        if (line[j] === '\\') j++;
        s += line[j]!;
        j++;
      }
      value = `"${s}"`;
      j++;
    } else {
      const start = j;
      while (j < line.length && line[j] !== ',' && line[j] !== ' ') j++;
      value = line.slice(start, j);
    }
    fields.push([unescapeFieldKey(k), value]);
    if (line[j] === ',') {
      i = j + 1;
      continue;
    }
    assert.equal(line[j], ' ', `space before the timestamp in ${JSON.stringify(line)}`);
    i = j + 1;
    break;
  }
  const timestamp = line.slice(i);
  assert.match(timestamp, /^-?\d+$/);
  return { measurement: unescapeIdent(m), tags, fields, timestamp };
}

// ---- examples ------------------------------------------------------------------------------

describe('line protocol: formatting', () => {
  test('measurement, sorted tags, fields and ms timestamp', () => {
    const line = toLineProtocol({
      measurement: 'router_power',
      tags: { router: 'r1', experiment_id: '1' },
      fields: { power: 698.8288, occupation: 0.0038 },
      timestampMs: 1745233815582.5064,
    });
    assert.equal(line, 'router_power,experiment_id=1,router=r1 power=698.8288,occupation=0.0038 1745233815583');
  });

  test('numbers are floats (even when integral), bigint → integer, booleans, strings', () => {
    const line = toLineProtocol({
      measurement: 'm',
      tags: {},
      fields: { a: 700, b: -0, c: 1e21, d: 5e-324, i: 42n, neg: -7n, t: true, f: false, s: 'he said "hi" \\o/' },
      timestampMs: 0,
    });
    assert.equal(line, 'm a=700,b=0,c=1e+21,d=5e-324,i=42i,neg=-7i,t=true,f=false,s="he said \\"hi\\" \\\\o/" 0');
  });

  test('escaping of measurement, tag keys/values and field keys', () => {
    assert.equal(escapeMeasurement('cpu load,x=1'), 'cpu\\ load\\,x=1');
    assert.equal(escapeKey('a b,c=d'), 'a\\ b\\,c\\=d');
    assert.equal(escapeKey('line\nbreak\ttab'), 'line\\nbreak\\ttab');
    assert.equal(escapeKey('a\\"b'), 'a\\"b');
    assert.equal(escapeFieldKey('a\\"b c'), 'a\\\\"b\\ c');
    assert.equal(quoteString('q"\\'), '"q\\"\\\\"');
    const line = toLineProtocol({ measurement: 'my m', tags: { 'tag key': 'v,=1' }, fields: { 'f=k': 1 }, timestampMs: 1 });
    assert.equal(line, 'my\\ m,tag\\ key=v\\,\\=1 f\\=k=1 1');
  });

  test('non-finite numbers are skipped and reported; a point without fields is dropped', () => {
    const reports: string[] = [];
    const line = toLineProtocol(
      { measurement: 'm', tags: {}, fields: { ok: 1.5, nan: NaN, inf: Infinity, ninf: -Infinity }, timestampMs: 5 },
      (skipped) => reports.push(...skipped.map((s) => s.key)),
    );
    assert.equal(line, 'm ok=1.5 5');
    assert.deepEqual(reports.sort(), ['inf', 'nan', 'ninf']);
    const none = encodePoint({ measurement: 'm', tags: {}, fields: { nan: NaN }, timestampMs: 5 });
    assert.equal(none.line, undefined);
    assert.ok(none.skipped.some((s) => s.key === '' && /no writable field/.test(s.reason)));
  });

  test('empty tags are omitted; "time" keys, trailing backslashes, bad timestamps are refused', () => {
    assert.equal(toLineProtocol({ measurement: 'm', tags: { a: '', '': 'x', b: 'y' }, fields: { v: 1 }, timestampMs: 1 }), 'm,b=y v=1 1');
    const e = encodePoint({ measurement: 'm', tags: { time: 'x', t: 'end\\' }, fields: { time: 1, 'k\\': 2, v: 3 }, timestampMs: 1 });
    assert.equal(e.line, 'm v=3 1');
    assert.deepEqual(e.skipped.map((s) => s.key).sort(), ['k\\', 't', 'time', 'time']);
    assert.equal(encodePoint({ measurement: 'm\\', tags: {}, fields: { v: 1 }, timestampMs: 1 }).line, undefined);
    assert.equal(encodePoint({ measurement: 'a\\b', tags: {}, fields: { v: 1 }, timestampMs: 1 }).line, undefined);
    assert.deepEqual(
      encodePoint({ measurement: 'm', tags: {}, fields: { 'a\\,b': 1, 'c\\ ': 2, 'd\\=': 3, 'e\\f': 4 }, timestampMs: 1 }).line,
      'm e\\f=4 1',
    );
    assert.equal(encodePoint({ measurement: '#m', tags: {}, fields: { v: 1 }, timestampMs: 1 }).line, undefined);
    assert.equal(encodePoint({ measurement: '', tags: {}, fields: { v: 1 }, timestampMs: 1 }).line, undefined);
    assert.equal(encodePoint({ measurement: 'm', tags: {}, fields: { v: 1 }, timestampMs: NaN }).line, undefined);
    assert.equal(encodePoint({ measurement: 'm', tags: {}, fields: { big: 2n ** 63n }, timestampMs: 1 }).line, undefined);
  });
});

describe('line protocol: escaping properties (reference reader)', () => {
  test('2,000 random points read back to exactly what was encoded', () => {
    const r = rng(42);
    for (let n = 0; n < 2000; n++) {
      const tags: Record<string, string> = {};
      const fields: Record<string, number | string | boolean> = {};
      for (let i = 0, k = Math.floor(r() * 4); i < k; i++) tags[randString(r, { control: true })] = randString(r, { control: true });
      for (let i = 0, k = 1 + Math.floor(r() * 3); i < k; i++) {
        const key = randString(r, { control: true });
        const kind = r();
        fields[key] = kind < 0.4 ? randString(r, { min: 0, max: 20, control: true }) + (r() < 0.2 ? '\\' : '') : kind < 0.8 ? (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20) : r() < 0.5;
      }
      let measurement = randString(r, { control: true }).replace(/\\/g, '/');
      if (measurement.startsWith('#')) measurement = `m${measurement}`;
      const p: Point = { measurement, tags, fields, timestampMs: Math.floor(r() * 2e12) };
      const { line, skipped } = encodePoint(p);
      const wantTags = Object.entries(tags)
        .filter(([k]) => k !== 'time')
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const wantFields = Object.entries(fields).filter(([k]) => k !== 'time' && !badFieldKey(k));
      if (wantFields.length === 0) {
        assert.equal(line, undefined);
        continue;
      }
      assert.ok(line, `encoded ${JSON.stringify(p)} (${JSON.stringify(skipped)})`);
      const parsed = parseLine(line);
      const names = [parsed.measurement, ...parsed.tags.flat(), ...parsed.fields.map(([k]) => k)];
      assert.ok(!names.some((n) => /[\n\r]/.test(n)), 'no raw line break outside string fields');
      assert.equal(parsed.measurement, storedIdentifier(measurement));
      assert.deepEqual(
        parsed.tags,
        wantTags.map(([k, v]) => [storedIdentifier(k), storedIdentifier(v)]),
      );
      assert.deepEqual(
        parsed.fields.map(([k]) => k),
        wantFields.map(([k]) => storedIdentifier(k)),
      );
      parsed.fields.forEach(([, text], i) => {
        const v = wantFields[i]![1];
        if (typeof v === 'string') assert.equal(text, `"${v}"`);
        else if (typeof v === 'number') assert.equal(Number(text), Object.is(v, -0) ? 0 : v);
        else assert.equal(text, String(v));
      });
    }
  });
});

const influx = service('INFLUX_URL', 'InfluxDB');

/** A random field key the encoder accepts (no backslash before , = space or at the end). */
function fieldKey(r: () => number): string {
  for (;;) {
    const k = `f${randString(r, { control: true })}`;
    if (!badFieldKey(k)) return k;
  }
}

describe('line protocol: round trips through the real InfluxDB', { skip: influx.skip }, () => {
  test('random tag values, string values, field keys and measurements are stored exactly', async () => {
    const db = uniqueDb('lp');
    await influxAdmin(influx.value, `CREATE DATABASE "${db}"`);
    try {
      const r = rng(7);
      const n = 300;
      const base = 1_700_000_000_000;
      const points: Point[] = [];
      const measurements = new Set<string>();
      for (let i = 0; i < n; i++) {
        points.push({
          measurement: 'lp_prop',
          tags: { id: String(i), t: randString(r, { control: true }), [`k${randString(r, { control: true })}`]: 'tv' },
          fields: { s: randString(r, { min: 0, max: 24, control: true }) + (i % 7 === 0 ? '\\' : ''), [fieldKey(r)]: i + 0.5 },
          timestampMs: base + i,
        });
        let m = `m${randString(r, { control: true }).replace(/\\/g, '/')}`;
        measurements.add(storedIdentifier(m));
        points.push({ measurement: m, tags: {}, fields: { v: i }, timestampMs: base + i });
        m = '';
      }
      const lines = points.map((p) => toLineProtocol(p));
      const res = await fetch(`${influx.value.replace(/\/$/, '')}/write?db=${db}&precision=ms`, { method: 'POST', body: lines.join('\n') });
      assert.equal(res.status, 204, await res.text());

      const rows = await influxRows(influx.value, db, 'SELECT * FROM lp_prop');
      assert.equal(rows.length, n);
      for (const row of rows) {
        const i = Number(row.id);
        const p = points[2 * i]!;
        assert.equal(row.time, base + i);
        assert.equal(row.t, storedIdentifier(p.tags.t!), `tag value of point ${i}`);
        assert.equal(row.s, p.fields.s, `string field of point ${i}`);
        const fkey = Object.keys(p.fields).find((k) => k !== 's')!;
        assert.equal(row[storedIdentifier(fkey)], i + 0.5, `field key ${JSON.stringify(fkey)} of point ${i}`);
        const tkey = Object.keys(p.tags).find((k) => k.startsWith('k'))!;
        assert.equal(row[storedIdentifier(tkey)], 'tv', `tag key ${JSON.stringify(tkey)} of point ${i}`);
      }
      const shown = await influxQuery(influx.value, db, 'SHOW MEASUREMENTS');
      const names = new Set(shown.flatMap((s) => s.values.map((v) => String(v[0]))));
      for (const m of measurements) assert.ok(names.has(m), `measurement ${JSON.stringify(m)} stored`);
    } finally {
      await influxAdmin(influx.value, `DROP DATABASE "${db}"`);
    }
  });
});

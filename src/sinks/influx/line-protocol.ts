/**
 * InfluxDB line protocol encoding (one point → one line), at millisecond precision.
 *
 *   <measurement>[,<tag_key>=<tag_value>…] <field_key>=<field_value>[,…] <timestamp_ms>
 *
 * Escaping (as the InfluxDB 1.x/2.x parser reads it — checked against a real 1.x server):
 *  - measurement: `,` and space are backslash-escaped;
 *  - tag keys, tag values and field keys: `,`, `=` and space are backslash-escaped;
 *  - string field values: `"` and `\` are backslash-escaped, then the value is double-quoted;
 *  - newline, carriage return and tab cannot appear in a measurement, tag or field key (a raw
 *    newline ends the line): they are written as the two characters `\n`, `\r`, `\t`.
 * Backslashes in names are where the parser is irregular, so the encoder is precise about them:
 *  - tag keys/values: a backslash is literal (the parser only unescapes `\,` `\=` `\ `, and
 *    a separator counts as escaped when the previous character is a backslash) — every value
 *    round-trips except one ENDING with a backslash, which cannot be written: refused;
 *  - field keys: the parser skips any backslash pair while scanning, and also unescapes `\"`:
 *    a backslash before `"` is doubled; one at the end or directly before `,` `=` or space
 *    cannot be written: refused;
 *  - measurements: 1.x unescapes measurement names inconsistently (twice, in places), so a
 *    measurement containing a backslash is refused.
 * Refused names are reported (a tag or field is left out; for a measurement, the point).
 *
 * Field types: a JS `number` is always written as a FLOAT (no suffix), even when integral —
 * InfluxDB fixes a field's type on first write, so `700` must not become an integer next to
 * `700.5`; a `bigint` is written as an integer (`42i`, int64 range); booleans as true/false;
 * strings quoted. Non-finite numbers (NaN, ±Infinity) are rejected by InfluxDB: such fields
 * are skipped and reported; a point left without any field is skipped and reported. Field and
 * tag keys named `time` are refused by InfluxDB ("invalid field name") and skipped here too.
 * Tags with an empty key or value are omitted (InfluxDB rejects `k=`); tags are sorted by key
 * (what InfluxDB recommends for write performance).
 */

export type FieldValue = number | string | boolean | bigint;

export interface Point {
  measurement: string;
  tags: Record<string, string>;
  /** number → float, bigint → integer, boolean, string. */
  fields: Record<string, FieldValue>;
  /** Milliseconds since the epoch (rounded to an integer). */
  timestampMs: number;
}

export interface SkippedField {
  /** The field (or tag) key; '' when the whole point is concerned. */
  key: string;
  reason: string;
}

export interface EncodedPoint {
  /** The line, or undefined when the point cannot be written at all. */
  line: string | undefined;
  /** Fields and tags left out (and why); when `line` is undefined, why the point was skipped. */
  skipped: SkippedField[];
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const CONTROL = /[\n\r\t]/g;
const CONTROL_ESC: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const MEASUREMENT_SPECIAL = /[, ]/g;
const KEY_SPECIAL = /[,= ]/g;

function escapeWith(s: string, special: RegExp): string {
  return s.replace(CONTROL, (c) => CONTROL_ESC[c]!).replace(special, (c) => `\\${c}`);
}

// Fast paths: most names need no escaping at all.
const NEEDS_MEASUREMENT_ESC = /[, \n\r\t]/;
const NEEDS_KEY_ESC = /[,= \n\r\t]/;

/** Escapes a measurement name (commas and spaces). */
export function escapeMeasurement(s: string): string {
  return NEEDS_MEASUREMENT_ESC.test(s) ? escapeWith(s, MEASUREMENT_SPECIAL) : s;
}

/** Escapes a tag key or tag value (commas, equals signs and spaces). */
export function escapeKey(s: string): string {
  return NEEDS_KEY_ESC.test(s) ? escapeWith(s, KEY_SPECIAL) : s;
}

/** Escapes a field key: as a tag key, plus a backslash before `"` is doubled. */
export function escapeFieldKey(s: string): string {
  if (!NEEDS_KEY_ESC.test(s) && !s.includes('\\')) return s;
  return s
    .replace(CONTROL, (c) => CONTROL_ESC[c]!)
    .replace(/\\(?=")/g, '\\\\')
    .replace(KEY_SPECIAL, (c) => `\\${c}`);
}

/** A field key the parser cannot read back: a backslash at the end or before `,` `=` space. */
const badFieldKey = (k: string): boolean => k.includes('\\') && /\\(?=[,= ]|$)/.test(k.replace(CONTROL, (c) => CONTROL_ESC[c]!));

/** Quotes a string field value (double quotes and backslashes escaped). */
export function quoteString(s: string): string {
  return /[\\"]/.test(s) ? `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"` : `"${s}"`;
}

/** Formats a float field value: shortest round-trip decimal (InfluxDB parses exponents too). */
export function formatFloat(v: number): string {
  return Object.is(v, -0) ? '0' : String(v);
}

const endsWithBackslash = (s: string): boolean => s.endsWith('\\');

function fieldValue(v: FieldValue): { text: string } | { reason: string } {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? { text: formatFloat(v) } : { reason: `non-finite number (${v})` };
    case 'bigint':
      return v < INT64_MIN || v > INT64_MAX ? { reason: 'integer outside the int64 range' } : { text: `${v}i` };
    case 'boolean':
      return { text: v ? 'true' : 'false' };
    case 'string':
      return { text: quoteString(v) };
    default:
      return { reason: `unsupported field type ${typeof v}` };
  }
}

/** Encodes one point, reporting every field/tag it had to leave out. */
export function encodePoint(p: Point): EncodedPoint {
  const skipped: SkippedField[] = [];
  const skipPoint = (reason: string): EncodedPoint => ({ line: undefined, skipped: [...skipped, { key: '', reason }] });
  if (typeof p.measurement !== 'string' || p.measurement === '') return skipPoint('empty measurement');
  if (p.measurement.startsWith('#')) return skipPoint('measurement starts with "#" (a comment line in line protocol)');
  if (p.measurement.includes('\\')) return skipPoint('measurement contains a backslash (InfluxDB 1.x unescapes measurement names inconsistently)');
  if (!Number.isFinite(p.timestampMs)) return skipPoint(`timestamp is not a finite number (${p.timestampMs})`);

  let line = escapeMeasurement(p.measurement);
  const tagKeys = Object.keys(p.tags ?? {});
  if (tagKeys.length > 1) tagKeys.sort();
  for (const k of tagKeys) {
    const v = p.tags[k];
    if (k === '' || v === undefined || v === null || v === '') continue; // InfluxDB: no empty tag keys/values
    if (typeof v !== 'string') {
      skipped.push({ key: k, reason: 'tag value is not a string' });
      continue;
    }
    if (k === 'time') {
      skipped.push({ key: k, reason: 'tag key "time" is refused by InfluxDB' });
      continue;
    }
    if (endsWithBackslash(k) || endsWithBackslash(v)) {
      skipped.push({ key: k, reason: 'tag key or value ends with a backslash (not representable)' });
      continue;
    }
    line += `,${escapeKey(k)}=${escapeKey(v)}`;
  }

  let fields = '';
  for (const [k, v] of Object.entries(p.fields ?? {})) {
    if (k === '') {
      skipped.push({ key: k, reason: 'empty field key' });
      continue;
    }
    if (k === 'time') {
      skipped.push({ key: k, reason: 'field key "time" is refused by InfluxDB' });
      continue;
    }
    if (badFieldKey(k)) {
      skipped.push({ key: k, reason: 'field key has a backslash at the end or before , = or space (not representable)' });
      continue;
    }
    const fv = fieldValue(v);
    if ('reason' in fv) {
      skipped.push({ key: k, reason: fv.reason });
      continue;
    }
    fields += `${fields ? ',' : ''}${escapeFieldKey(k)}=${fv.text}`;
  }
  if (!fields) return skipPoint('no writable field');
  return { line: `${line} ${fields} ${Math.round(p.timestampMs)}`, skipped };
}

/**
 * The line of a point ('' when it cannot be written at all). Whatever is left out is passed to
 * `onSkipped` (default: ignored) — callers count and log it.
 */
export function toLineProtocol(p: Point, onSkipped?: (skipped: SkippedField[], p: Point) => void): string {
  const { line, skipped } = encodePoint(p);
  if (skipped.length > 0) onSkipped?.(skipped, p);
  return line ?? '';
}

/** Points encoded for one write: their lines, what was left out, and up to 3 examples of it. */
export interface EncodedBatch {
  lines: string[];
  skippedPoints: number;
  skippedFields: number;
  examples: Array<{ measurement: string; skipped: SkippedField[] }>;
}

export function encodePoints(points: readonly Point[]): EncodedBatch {
  const out: EncodedBatch = { lines: [], skippedPoints: 0, skippedFields: 0, examples: [] };
  for (const p of points) {
    const enc = encodePoint(p);
    if (enc.line !== undefined) out.lines.push(enc.line);
    else out.skippedPoints++;
    if (enc.skipped.length > 0) {
      if (enc.line !== undefined) out.skippedFields += enc.skipped.length;
      if (out.examples.length < 3) out.examples.push({ measurement: p.measurement, skipped: enc.skipped });
    }
  }
  return out;
}

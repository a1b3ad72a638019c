/**
 * Ingest input: decoding a request body (one JSON measurement, a JSON array of them,
 * `{"measurements": [...]}`, or NDJSON — one measurement per line) and validating each
 * measurement against the signal catalog: signal known (or kept per config), value a finite
 * number, unit convertible to the catalog's (values are normalised to it), timestamp in epoch
 * seconds or milliseconds (normalised to integer ms), value within the signal's valid range
 * (else rejected, or kept and flagged per config). Each rejection carries its reason.
 */
import { DEFAULT_MAX_JSON_DEPTH, jsonDepthProblem } from '../../core/json-depth.js';
import { formatTs, normalizeTimestamp } from '../../core/time.js';
import { converter, isUnspecifiedUnit } from '../catalog/units.js';
import { normalizeSignalName, SIGNAL_ID_PATTERN, type SignalCatalog } from '../catalog/signals.js';

/** A validated, normalised measurement. */
export interface Measurement {
  /** Position in the request (0-based). */
  index: number;
  /** Canonical signal id. */
  signal: string;
  /** Value in the catalog unit. */
  value: number;
  /** Epoch milliseconds (integer). */
  tsMs: number;
  /** Outside the valid range, kept because outOfRange = flag. */
  flagged: boolean;
  /** In the catalog (unknown signals kept per config are stored raw but not aligned). */
  known: boolean;
}

export type RejectionCode =
  | 'invalid_measurement'
  | 'missing_signal'
  | 'unknown_signal'
  | 'invalid_value'
  | 'invalid_unit'
  | 'invalid_timestamp'
  | 'out_of_range'
  | 'conflict'
  | 'expired';

export interface Rejection {
  index: number;
  signal?: string;
  code: RejectionCode;
  reason: string;
}

export interface FlagNote {
  index: number;
  signal: string;
  flag: 'out_of_range';
  reason: string;
}

export class BodyError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

export type BodyFormat = 'json' | 'ndjson';

/**
 * Decodes a request body into raw measurement items; throws BodyError (400) with the reason. A
 * document (or NDJSON line) nested deeper than `maxDepth` is refused before it is parsed.
 */
export function decodeBody(text: string, format: BodyFormat, maxItems: number, maxDepth = DEFAULT_MAX_JSON_DEPTH): unknown[] {
  if (format === 'ndjson') {
    const items: unknown[] = [];
    let line = 0;
    let pos = 0;
    while (pos <= text.length) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = text.length;
      line++;
      const raw = text.slice(pos, nl).trim();
      pos = nl + 1;
      if (raw === '') continue;
      const deep = jsonDepthProblem(raw, maxDepth, `NDJSON line ${line}`);
      if (deep) throw new BodyError(400, deep);
      try {
        items.push(JSON.parse(raw));
      } catch (err) {
        throw new BodyError(400, `malformed NDJSON at line ${line}: ${(err as Error).message}`);
      }
      if (items.length > maxItems) throw new BodyError(413, `more than ${maxItems} measurements in one request`);
    }
    if (items.length === 0) throw new BodyError(400, 'empty body: expected one measurement per line');
    return items;
  }
  if (text.trim() === '') throw new BodyError(400, 'empty body: expected a measurement, an array of measurements or {"measurements": [...]}');
  const deep = jsonDepthProblem(text, maxDepth);
  if (deep) throw new BodyError(400, deep);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new BodyError(400, `malformed JSON: ${(err as Error).message}`);
  }
  let items: unknown[];
  if (Array.isArray(doc)) items = doc;
  else if (doc !== null && typeof doc === 'object' && Array.isArray((doc as { measurements?: unknown }).measurements)) items = (doc as { measurements: unknown[] }).measurements;
  else if (doc !== null && typeof doc === 'object') items = [doc];
  else throw new BodyError(400, 'expected a measurement object, an array of measurements or {"measurements": [...]}');
  if (items.length > maxItems) throw new BodyError(413, `more than ${maxItems} measurements in one request`);
  return items;
}

export interface ValidationOptions {
  catalog: SignalCatalog;
  unknownSignals: 'reject' | 'keep';
  outOfRange: 'reject' | 'flag';
  maxFutureSkewMs: number;
  /** Server clock (ms); injectable for tests. */
  nowMs?: number;
}

export interface ValidationResult {
  valid: Measurement[];
  rejections: Rejection[];
  flags: FlagNote[];
}

/** Earliest accepted timestamp: 2000-01-01T00:00:00Z (anything before is not an epoch time stamp). */
export const MIN_TIMESTAMP_MS = 946_684_800_000;

/** Re-exported for the ingest service and tests: written once in core/time.ts. */
export { formatTs, normalizeTimestamp };

const converters = new Map<string, ((v: number) => number) | string>();
function convertFn(from: string, to: string): ((v: number) => number) | string {
  const key = `${from}\u0000${to}`;
  let fn = converters.get(key);
  if (fn === undefined) {
    fn = converter(from, to);
    if (converters.size > 1024) converters.clear();
    converters.set(key, fn);
  }
  return fn;
}

export function validateMeasurements(items: readonly unknown[], opts: ValidationOptions): ValidationResult {
  const valid: Measurement[] = [];
  const rejections: Rejection[] = [];
  const flags: FlagNote[] = [];
  const now = opts.nowMs ?? Date.now();
  const maxTs = now + opts.maxFutureSkewMs;
  for (let index = 0; index < items.length; index++) {
    const item = items[index];
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      rejections.push({ index, code: 'invalid_measurement', reason: 'a measurement must be an object {signal, value, timestamp}' });
      continue;
    }
    const m = item as { signal?: unknown; value?: unknown; timestamp?: unknown; unit?: unknown };
    if (typeof m.signal !== 'string' || m.signal.trim() === '') {
      rejections.push({ index, code: 'missing_signal', reason: 'signal must be a non-empty string' });
      continue;
    }
    const name = m.signal;
    const def = opts.catalog.resolve(name);
    let signal: string;
    if (def) signal = def.id;
    else {
      const id = normalizeSignalName(name);
      if (opts.unknownSignals === 'reject') {
        rejections.push({ index, signal: name, code: 'unknown_signal', reason: `unknown signal "${name}" (not in the signal catalog)` });
        continue;
      }
      if (!SIGNAL_ID_PATTERN.test(id)) {
        rejections.push({ index, signal: name, code: 'unknown_signal', reason: `unknown signal "${name}" cannot be kept: its id must match ${SIGNAL_ID_PATTERN}` });
        continue;
      }
      signal = id;
    }
    if (typeof m.value !== 'number' || !Number.isFinite(m.value)) {
      rejections.push({ index, signal, code: 'invalid_value', reason: `value must be a finite number, got ${JSON.stringify(m.value) ?? 'nothing'}` });
      continue;
    }
    let value = m.value;
    if (def && m.unit !== undefined && m.unit !== null) {
      if (typeof m.unit !== 'string') {
        rejections.push({ index, signal, code: 'invalid_unit', reason: 'unit must be a string' });
        continue;
      }
      if (!isUnspecifiedUnit(m.unit)) {
        const fn = convertFn(m.unit, def.unit);
        if (typeof fn === 'string') {
          rejections.push({ index, signal, code: 'invalid_unit', reason: `${fn} (${signal} is in ${def.unit})` });
          continue;
        }
        value = fn(value);
      }
    }
    const tsMs = normalizeTimestamp(m.timestamp);
    if (tsMs === undefined) {
      rejections.push({ index, signal, code: 'invalid_timestamp', reason: `timestamp must be epoch seconds or milliseconds, got ${JSON.stringify(m.timestamp) ?? 'nothing'}` });
      continue;
    }
    if (tsMs < MIN_TIMESTAMP_MS) {
      rejections.push({ index, signal, code: 'invalid_timestamp', reason: `timestamp ${m.timestamp as number} is before 2000-01-01` });
      continue;
    }
    if (tsMs > maxTs) {
      rejections.push({ index, signal, code: 'invalid_timestamp', reason: `timestamp ${formatTs(tsMs)} is more than ${opts.maxFutureSkewMs} ms ahead of the server clock` });
      continue;
    }
    let flagged = false;
    if (def && (value < def.min || value > def.max)) {
      const reason = `${value} ${def.unit} is outside the valid range [${def.min}, ${def.max}] of ${signal}`;
      if (opts.outOfRange === 'reject') {
        rejections.push({ index, signal, code: 'out_of_range', reason });
        continue;
      }
      flagged = true;
      flags.push({ index, signal, flag: 'out_of_range', reason });
    }
    valid.push({ index, signal, value, tsMs, flagged, known: def !== undefined });
  }
  return { valid, rejections, flags };
}

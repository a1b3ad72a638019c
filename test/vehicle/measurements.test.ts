/**
 * Ingest input: body decoding (JSON, array, {measurements}, NDJSON; malformed → 400 with the
 * reason) and measurement validation (normalisation, each rejection with its reason, policies).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { defaultCatalog } from '../../src/vehicle/catalog/signals.js';
import { BodyError, decodeBody, normalizeTimestamp, validateMeasurements, type ValidationOptions } from '../../src/vehicle/ingest/measurements.js';

const NOW = 1_750_000_000_000;
const opts = (o: Partial<ValidationOptions> = {}): ValidationOptions => ({
  catalog: defaultCatalog,
  unknownSignals: 'reject',
  outOfRange: 'reject',
  maxFutureSkewMs: 60_000,
  nowMs: NOW,
  ...o,
});

describe('request bodies', () => {
  test('one measurement, an array, {measurements}, NDJSON', () => {
    assert.equal(decodeBody('{"signal":"a","value":1,"timestamp":1}', 'json', 10).length, 1);
    assert.equal(decodeBody('[{"signal":"a"},{"signal":"b"}]', 'json', 10).length, 2);
    assert.equal(decodeBody('{"measurements":[{},{},{}]}', 'json', 10).length, 3);
    assert.equal(decodeBody('{"a":1}\n\n{"b":2}\r\n{"c":3}', 'ndjson', 10).length, 3);
  });

  test('malformed input: 400 with the reason (and the NDJSON line)', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof BodyError);
        return `${e.statusCode} ${e.message}`;
      }
      assert.fail('no error');
    };
    assert.match(err(() => decodeBody('{"signal": "a",', 'json', 10)), /^400 malformed JSON: /);
    assert.match(err(() => decodeBody('{"a":1}\n{"b":\n', 'ndjson', 10)), /^400 malformed NDJSON at line 2: /);
    assert.match(err(() => decodeBody('', 'json', 10)), /^400 empty body/);
    assert.match(err(() => decodeBody('\n\n', 'ndjson', 10)), /^400 empty body/);
    assert.match(err(() => decodeBody('42', 'json', 10)), /^400 expected a measurement object/);
    assert.match(err(() => decodeBody('[1,2,3]', 'json', 2)), /^413 more than 2 measurements/);
    assert.match(err(() => decodeBody('1\n2\n3\n', 'ndjson', 2)), /^413 more than 2/);
  });
});

describe('measurement validation', () => {
  test('timestamps: epoch seconds or ms, normalised to integer ms', () => {
    assert.equal(normalizeTimestamp(1_700_000_000), 1_700_000_000_000);
    assert.equal(normalizeTimestamp(1_700_000_000.1234), 1_700_000_000_123);
    assert.equal(normalizeTimestamp(1_700_000_000_123.6), 1_700_000_000_124);
    assert.equal(normalizeTimestamp('1700000000'), undefined);
    assert.equal(normalizeTimestamp(NaN), undefined);
  });

  test('valid measurements are normalised (signal id, unit, ms)', () => {
    const r = validateMeasurements(
      [
        { signal: 'Vehicle speed', value: 60, timestamp: 1_700_000_000, unit: 'mph' },
        { signal: 'Engine oil temperature', value: 212, timestamp: 1_700_000_000_500, unit: '°F' },
        { signal: 'engaged_gear', value: 3, timestamp: 1_700_000_001_000, unit: ' ' },
        { signal: 'PID 0C', value: 800, timestamp: 1_700_000_001_000 },
      ],
      opts(),
    );
    assert.deepEqual(r.rejections, []);
    assert.deepEqual(
      r.valid.map((m) => [m.signal, Math.round(m.value * 1000) / 1000, m.tsMs, m.flagged, m.known]),
      [
        ['vehicle_speed', 96.561, 1_700_000_000_000, false, true],
        ['engine_oil_temperature', 100, 1_700_000_000_500, false, true],
        ['engaged_gear', 3, 1_700_000_001_000, false, true],
        ['engine_rpm', 800, 1_700_000_001_000, false, true],
      ],
    );
  });

  test('each rejection names its index and reason', () => {
    const r = validateMeasurements(
      [
        'not an object',
        { value: 1, timestamp: 1_700_000_000 },
        { signal: 'warp_drive', value: 1, timestamp: 1_700_000_000 },
        { signal: 'vehicle_speed', value: '12', timestamp: 1_700_000_000 },
        { signal: 'vehicle_speed', value: 12, timestamp: 1_700_000_000, unit: '°C' },
        { signal: 'vehicle_speed', value: 12, timestamp: 'yesterday' },
        { signal: 'vehicle_speed', value: 12, timestamp: 86_400 },
        { signal: 'vehicle_speed', value: 12, timestamp: NOW + 3_600_000 },
        { signal: 'vehicle_speed', value: 400, timestamp: 1_700_000_000 },
        { signal: 'vehicle_speed', value: 12, timestamp: 1_700_000_000 },
      ],
      opts(),
    );
    assert.equal(r.valid.length, 1);
    assert.equal(r.valid[0]!.index, 9);
    assert.deepEqual(
      r.rejections.map((x) => [x.index, x.code]),
      [
        [0, 'invalid_measurement'],
        [1, 'missing_signal'],
        [2, 'unknown_signal'],
        [3, 'invalid_value'],
        [4, 'invalid_unit'],
        [5, 'invalid_timestamp'],
        [6, 'invalid_timestamp'],
        [7, 'invalid_timestamp'],
        [8, 'out_of_range'],
      ],
    );
    assert.match(r.rejections[2]!.reason, /unknown signal "warp_drive"/);
    assert.match(r.rejections[4]!.reason, /cannot be converted to "km\/h"/);
    assert.match(r.rejections[6]!.reason, /before 2000-01-01/);
    assert.match(r.rejections[7]!.reason, /ahead of the server clock/);
    assert.match(r.rejections[8]!.reason, /400 km\/h is outside the valid range \[0, 300\] of vehicle_speed/);
  });

  test('a time stamp beyond what a Date holds (1e20 ms) is rejected with a reason, not an exception', () => {
    const r = validateMeasurements([{ signal: 'vehicle_speed', value: 12, timestamp: 1e20 }], opts());
    assert.equal(r.valid.length, 0);
    assert.equal(r.rejections[0]!.code, 'invalid_timestamp');
    assert.match(r.rejections[0]!.reason, /^timestamp 100000000000000000000 ms since the epoch is more than \d+ ms ahead of the server clock$/);
  });

  test('per config: out-of-range values stored flagged, unknown signals kept', () => {
    const r = validateMeasurements(
      [
        { signal: 'vehicle_speed', value: 400, timestamp: 1_700_000_000 },
        { signal: 'Tyre pressure FL', value: 2.4, timestamp: 1_700_000_000, unit: 'bar' },
        { signal: '%%%', value: 1, timestamp: 1_700_000_000 },
      ],
      opts({ outOfRange: 'flag', unknownSignals: 'keep' }),
    );
    assert.deepEqual(r.valid.map((m) => [m.signal, m.value, m.flagged, m.known]), [
      ['vehicle_speed', 400, true, true],
      ['tyre_pressure_fl', 2.4, false, false],
    ]);
    assert.deepEqual(r.flags.map((f) => [f.index, f.signal, f.flag]), [[0, 'vehicle_speed', 'out_of_range']]);
    assert.deepEqual(r.rejections.map((x) => [x.index, x.code]), [[2, 'unknown_signal']]);
  });
});

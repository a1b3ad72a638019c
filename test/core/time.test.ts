import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochToMs, formatTs, isDateMs, MAX_DATE_MS, normalizeTimestamp, parseDuration, parseTime } from '../../src/core/time.js';

test('epoch seconds and milliseconds are told apart by size', () => {
  assert.equal(epochToMs(1_700_000_000), 1_700_000_000_000);
  assert.equal(epochToMs(1_700_000_000_000), 1_700_000_000_000);
  assert.equal(epochToMs(-5), -5000);
  assert.equal(epochToMs(99_999_999_999), 99_999_999_999_000);
  assert.equal(epochToMs(100_000_000_000), 100_000_000_000);
  assert.equal(normalizeTimestamp(1_700_000_000.1234), 1_700_000_000_123);
  assert.equal(normalizeTimestamp('1700000000'), undefined);
  assert.equal(normalizeTimestamp(Infinity), undefined);
});

test('durations: ms, s, m, h, d', () => {
  assert.deepEqual(['500ms', '30s', '1.5m', '2h', '1d'].map(parseDuration), [500, 30_000, 90_000, 7_200_000, 86_400_000]);
  assert.equal(parseDuration('15'), undefined);
  assert.equal(parseDuration('15w'), undefined);
  assert.equal(parseDuration('-15m'), undefined);
});

test('parseTime: epoch numbers, ISO 8601, relative times only when asked', () => {
  const nowMs = 1_700_000_000_000;
  assert.equal(parseTime('1700000000'), 1_700_000_000_000);
  assert.equal(parseTime('1700000000.5'), 1_700_000_000_500);
  assert.equal(parseTime('2023-11-14T22:13:20Z'), 1_700_000_000_000);
  assert.equal(parseTime('2023-11-14T23:13:20+01:00'), 1_700_000_000_000);
  assert.equal(parseTime('now', { relative: true, nowMs }), nowMs);
  assert.equal(parseTime('-15m', { relative: true, nowMs }), nowMs - 900_000);
  assert.equal(parseTime('now'), undefined);
  assert.equal(parseTime('-15m'), undefined);
  assert.equal(parseTime('+1700000000', { signed: true }), 1_700_000_000_000);
  assert.equal(parseTime('-1', { signed: true }), -1000);
  assert.equal(parseTime('garbage'), undefined);
});

test("parseTime with epoch 'ms': integers are always milliseconds", () => {
  assert.equal(parseTime('1700000000', { epoch: 'ms' }), 1_700_000_000);
  assert.equal(parseTime('2023-11-14T22:13:20Z', { epoch: 'ms' }), 1_700_000_000_000);
});

test('the range of a Date, and time stamps for messages', () => {
  assert.equal(isDateMs(MAX_DATE_MS), true);
  assert.equal(isDateMs(-MAX_DATE_MS - 1), false);
  assert.equal(formatTs(0), '1970-01-01T00:00:00.000Z');
  assert.equal(formatTs(9e15), '9000000000000000 ms since the epoch');
});

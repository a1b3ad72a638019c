/**
 * Aligner: ticks on the cadence, last value carried forward up to the maximum age and explicit
 * missing beyond (gap filling), lateness and late measurements, idle flush, long gaps, restore,
 * and the same vectors whatever the request split (replay speed independence).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FleetAligner, type AlignInput } from '../../src/vehicle/align/aligner.js';
import type { AlignedVector } from '../../src/vehicle/align/vector.js';
import { defaultCatalog } from '../../src/vehicle/catalog/signals.js';
import { vectorsFromLog } from '../../src/vehicle/model/train.js';
import { logMeasurements, readVehicleLog } from '../../src/vehicle/logs/csv-log.js';
import { validateMeasurements } from '../../src/vehicle/ingest/measurements.js';
import { DS1, DS2 } from './helpers.js';

const T0 = 1_700_000_000_000; // a multiple of 1000
const cfg = { cadenceMs: 1000, maxAgeMs: 3000, latenessMs: 1000 };
const m = (signal: string, dt: number, value: number): AlignInput => ({ signal, tsMs: T0 + dt, value });

describe('aligner', () => {
  test('ticks on multiples of the cadence, newest value ≤ tick, emitted once the watermark passes tick + lateness', () => {
    const a = new FleetAligner(cfg);
    let r = a.push('v', [m('speed', 100, 10), m('rpm', 200, 800), m('speed', 900, 11)]);
    assert.equal(r.vectors.length, 0); // watermark T0+900 < tick T0+1000 + lateness
    r = a.push('v', [m('speed', 1500, 12), m('rpm', 2100, 900)]);
    assert.deepEqual(r.vectors.map((v) => [v.ts - T0, v.seq, v.values]), [[1000, 1, { speed: 11, rpm: 800 }]]);
    const v = r.vectors[0]!;
    assert.deepEqual(v.sourceTs, { speed: T0 + 900, rpm: T0 + 200 });
    assert.deepEqual(v.filled, []);
    r = a.push('v', [m('speed', 3100, 13)]);
    assert.deepEqual(r.vectors.map((x) => [x.ts - T0, x.values]), [[2000, { speed: 12, rpm: 800 }]]);
    assert.deepEqual(r.vectors[0]!.filled, ['rpm']); // rpm carried from the previous cadence interval
  });

  test('gap filling: last value carried forward up to maxAge, explicit missing beyond', () => {
    const a = new FleetAligner(cfg);
    a.push('v', [m('speed', 0, 50), m('rpm', 0, 2000)]);
    // rpm keeps coming, speed goes silent (lossy link)
    const r = a.push('v', [1000, 2000, 3000, 4000, 5000].map((dt) => m('rpm', dt, 2000 + dt / 100)));
    const rows = r.vectors.map((v) => [v.ts - T0, v.values.speed, v.missing, v.filled]);
    assert.deepEqual(rows, [
      [0, 50, [], []],
      [1000, 50, [], ['speed']],
      [2000, 50, [], ['speed']],
      [3000, 50, [], ['speed']], // age 3000 = maxAge: still carried
      [4000, null, ['speed'], []], // beyond: missing
    ]);
  });

  test('late measurements do not change emitted vectors, but are carried forward afterwards', () => {
    const a = new FleetAligner(cfg);
    a.push('v', [m('speed', 0, 10)]);
    let r = a.push('v', [m('speed', 2500, 30)]);
    assert.deepEqual(r.vectors.map((v) => [v.ts - T0, v.values.speed]), [
      [0, 10],
      [1000, 10],
    ]);
    r = a.push('v', [m('speed', 800, 99), m('temp', 900, 70)]); // both ≤ last tick (T0+1000): late
    assert.equal(r.late, 2);
    r = a.push('v', [m('speed', 4000, 40)]);
    // tick 2000: the late 99@800 is the newest speed ≤ 2000 (30@2500 is not yet); then 30
    assert.deepEqual(r.vectors.map((v) => [v.ts - T0, v.values]), [
      [2000, { speed: 99, temp: 70 }],
      [3000, { speed: 30, temp: 70 }],
    ]);
  });

  test('a long gap gives at most maxAge/cadence vectors, not one per tick', () => {
    const a = new FleetAligner(cfg);
    a.push('v', [m('speed', 0, 1)]);
    const r = a.push('v', [m('speed', 3_600_000, 2), m('speed', 3_602_000, 3)]);
    assert.deepEqual(r.vectors.map((v) => (v.ts - T0) / 1000), [0, 1, 2, 3, 3600, 3601]);
    assert.deepEqual(r.vectors.map((v) => v.seq), [1, 2, 3, 4, 5, 6]);
  });

  test('idle flush emits the pending ticks of a quiet vehicle; flush() all', () => {
    const a = new FleetAligner(cfg);
    assert.equal(a.push('v', [m('speed', 0, 1), m('speed', 1200, 2)], 1000).vectors.length, 1); // tick 0 (watermark 1200 ≥ 0 + lateness)
    a.push('w', [m('speed', 0, 5)], 5000);
    assert.deepEqual(a.flushIdle(2000, 2500), []); // v quiet for 1.5 s only
    assert.deepEqual(a.flushIdle(2000, 3500).map((v) => [v.vehicleId, v.ts - T0]), [['v', 1000]]);
    assert.deepEqual(a.flushIdle(2000, 3600), []);
    assert.deepEqual(a.flush().map((v) => [v.vehicleId, v.ts - T0]), [['w', 0]]);
    assert.deepEqual(a.evictIdle(2000, 6000), ['v']); // w has been quiet for 1 s only
    assert.equal(a.has('v'), false);
  });

  test('restore resumes a vehicle from its last vector (sequence and carried values)', () => {
    const a = new FleetAligner(cfg);
    a.push('v', [m('speed', 0, 10), m('rpm', 0, 900), m('speed', 2000, 12)]);
    const last = a.flush().at(-1)!;
    const b = new FleetAligner(cfg);
    b.restore(last);
    const r = b.push('v', [m('speed', 3500, 14), m('speed', 5000, 15)]);
    assert.deepEqual(r.vectors.map((v) => [v.ts - T0, v.seq, v.values]), [
      [3000, last.seq + 1, { speed: 12, rpm: 900 }],
      [4000, last.seq + 2, { speed: 14, rpm: null }],
    ]);
  });

  test('the same vectors whatever the request split (replay speed independence)', () => {
    const text = readFileSync(DS2, 'utf8');
    const whole = vectorsFromLog(text, DS2, { alignment: { cadenceMs: 1000, maxAgeMs: 5000 }, catalog: defaultCatalog, baseMs: T0, vehicleId: 'x' }).vectors;
    const ms = validateMeasurements(logMeasurements(readVehicleLog(DS2), T0), { catalog: defaultCatalog, unknownSignals: 'reject', outOfRange: 'reject', maxFutureSkewMs: 1e15, nowMs: 0 }).valid;
    for (const size of [1, 7, 100]) {
      const a = new FleetAligner({ cadenceMs: 1000, maxAgeMs: 5000, latenessMs: 1000 });
      const got: AlignedVector[] = [];
      for (let i = 0; i < ms.length; i += size) got.push(...a.push('x', ms.slice(i, i + size)).vectors);
      got.push(...a.flush());
      assert.deepEqual(got, whole, `batches of ${size}`);
    }
    assert.equal(whole.length, 720);
    assert.ok(whole.every((v, i) => v.seq === i + 1 && v.ts % 1000 === 0));
  });

  test('rebuild from stored measurements: resuming before any vector of a run gives the same vectors as the uninterrupted run', () => {
    const ms = validateMeasurements(logMeasurements(readVehicleLog(DS2), T0), { catalog: defaultCatalog, unknownSignals: 'reject', outOfRange: 'reject', maxFutureSkewMs: 1e15, nowMs: 0 }).valid;
    const c = { cadenceMs: 1000, maxAgeMs: 5000, latenessMs: 1000 };
    const ref = new FleetAligner(c);
    const whole = [...ref.push('x', ms).vectors, ...ref.flush()];
    for (const k of [0, 1, 100, 400, 719]) {
      // the vectors from whole[k] on were never announced: rebuild from the tick before it, with the
      // measurements a store would return from maxAge before that tick on, then everything else arrives
      const failed = whole[k]!;
      const tick = failed.ts - 1000;
      const stored = ms.filter((m) => m.tsMs >= tick - c.maxAgeMs);
      const a = new FleetAligner(c);
      a.rebuild('x', { tick, seq: failed.seq - 1 }, Object.keys(failed.values), stored.filter((m) => m.tsMs <= failed.ts + 20_000));
      const got = [...a.push('x', stored.filter((m) => m.tsMs > failed.ts + 20_000)).vectors, ...a.flush()];
      assert.deepEqual(got, whole.slice(k), `resumed before vector ${k}`);
    }
    // no point (the first vector was never announced): every stored measurement is pending
    const a = new FleetAligner(c);
    a.rebuild('x', undefined, [], ms);
    assert.deepEqual(a.flush(), whole);
  });

  test('the reference logs: every vector within maxAge of each value, few missing', () => {
    for (const file of [DS1, DS2]) {
      const { vectors } = vectorsFromLog(readFileSync(file, 'utf8'), file, { alignment: { cadenceMs: 1000, maxAgeMs: 5000 }, catalog: defaultCatalog, baseMs: T0, vehicleId: 'x' });
      for (const v of vectors) {
        for (const [s, ts] of Object.entries(v.sourceTs)) assert.ok(v.ts - ts >= 0 && v.ts - ts <= 5000, `${s} age`);
        assert.equal(Object.keys(v.values).length, 12);
      }
      const missing = vectors.reduce((n, v) => n + v.missing.length, 0);
      assert.ok(missing <= 12, `${file}: ${missing} missing values`); // only while the first samples arrive
    }
  });
});

/**
 * The aligner at its edges (beside aligner.test.ts): exact boundaries of lateness, maximum
 * age and gap filling, the first tick of a vehicle, out-of-order samples, flagged values,
 * restore/rebuild details, per-vehicle flush, idle flush and eviction at their thresholds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FleetAligner, type AlignInput } from '../../src/vehicle/align/aligner.js';
import type { AlignedVector } from '../../src/vehicle/align/vector.js';

const T0 = 1_700_000_000_000;
const cfg = { cadenceMs: 1000, maxAgeMs: 3000, latenessMs: 1000 };
const m = (signal: string, dt: number, value: number, flagged?: boolean): AlignInput => ({ signal, tsMs: T0 + dt, value, ...(flagged === undefined ? {} : { flagged }) });
const rows = (vs: AlignedVector[]) => vs.map((v) => [v.ts - T0, v.seq, v.values]);

test('the first tick is the first multiple of the cadence at or after the earliest sample; a tick is emitted exactly at tick + lateness', () => {
  const a = new FleetAligner(cfg);
  assert.deepEqual(a.push('v', [m('s', 1, 5)]).vectors, []);
  assert.deepEqual(a.push('v', [m('s', 1999, 6)]).vectors, [], 'watermark 1999 < tick 1000 + lateness 1000');
  assert.deepEqual(rows(a.push('v', [m('s', 2000, 7)]).vectors), [[1000, 1, { s: 5 }]], 'watermark 2000 = tick 1000 + lateness');
  const b = new FleetAligner(cfg);
  assert.deepEqual(rows(b.push('v', [m('s', 0, 1), m('s', 1000, 2)]).vectors), [[0, 1, { s: 1 }]], 'a sample exactly on a tick belongs to it');
});

test('samples of one push out of order are sorted by time stamp; equal time stamps: the later one wins', () => {
  const a = new FleetAligner(cfg);
  const r = a.push('v', [m('s', 900, 9), m('s', 100, 1), m('s', 500, 5), m('s', 500, 6), m('s', 3000, 30)]);
  assert.deepEqual(rows(r.vectors), [
    [1000, 1, { s: 9 }],
    [2000, 2, { s: 9 }],
  ]);
  assert.deepEqual(r.vectors[0]!.sourceTs, { s: T0 + 900 });
  const b = new FleetAligner(cfg);
  const q = b.push('v', [m('s', 500, 5), m('s', 500, 6), m('s', 2000, 0)]);
  assert.deepEqual(rows(q.vectors), [[1000, 1, { s: 6 }]]);
});

test('maximum age and gap filling at their exact boundaries', () => {
  const a = new FleetAligner(cfg);
  const r = a.push('v', [m('s', 0, 1), m('t', 0, 2), m('t', 1000, 3), m('t', 2000, 4), m('t', 3000, 5), m('t', 3001, 6), m('t', 5001, 7)]);
  // s: age 3000 at tick 3000 (= maxAge: kept), 4000 at tick 4000 (missing)
  assert.deepEqual(
    r.vectors.map((v) => [v.ts - T0, v.values.s, v.missing, v.filled]),
    [
      [0, 1, [], []],
      [1000, 1, [], ['s']], // carried from exactly one cadence before: filled
      [2000, 1, [], ['s']],
      [3000, 1, [], ['s']],
      [4000, null, ['s'], []], // t from 3001: within the last cadence interval → not filled
    ],
  );
  assert.deepEqual(r.vectors[1]!.filled, ['s'], 't at exactly the tick is not filled');
  assert.deepEqual(r.vectors[4]!.sourceTs, { t: T0 + 3001 }, 'a missing signal has no source time stamp');
});

test('flagged (out-of-range) values are listed while carried; unflagged by default', () => {
  const a = new FleetAligner(cfg);
  const r = a.push('v', [m('s', 0, 300, true), m('t', 0, 1, false), m('u', 0, 2), m('t', 2500, 3)]);
  assert.deepEqual(r.vectors.map((v) => [v.ts - T0, v.outOfRange]), [
    [0, ['s']],
    [1000, ['s']],
  ]);
});

test('decorate sees every vector before it is returned (and may add flags)', () => {
  const seen: number[] = [];
  const a = new FleetAligner(cfg, (v) => {
    seen.push(v.seq);
    v.flags.push({ rule: 'r', message: `seq ${v.seq}`, signals: [] });
  });
  const r = a.push('v', [m('s', 0, 1), m('s', 2000, 2)]);
  assert.deepEqual(seen, [1, 2]);
  assert.deepEqual(r.vectors.map((v) => v.flags.map((f) => f.message)), [['seq 1'], ['seq 2']]);
  assert.deepEqual(new FleetAligner(cfg).push('v', [m('s', 0, 1), m('s', 2000, 2)]).vectors.map((v) => v.flags), [[], []]);
});

test('late samples: counted, carried only when newer than the carried value', () => {
  const a = new FleetAligner(cfg);
  a.push('v', [m('s', 0, 1), m('s', 600, 6), m('s', 2000, 20)]); // emits ticks 0 and 1000
  let r = a.push('v', [m('s', 1000, 10), m('s', 300, 3), m('new', 999, 9)]);
  assert.equal(r.late, 3);
  r = a.push('v', [m('s', 4000, 40)]);
  // 10@1000 is newer than the carried 6@600: it is carried (until 20@2000 takes over at tick 2000); 3@300 is older: ignored
  assert.deepEqual(rows(r.vectors), [
    [2000, 3, { s: 20, new: 9 }],
    [3000, 4, { s: 20, new: 9 }],
  ]);
  const b = new FleetAligner(cfg);
  b.push('v', [m('s', 0, 1), m('s', 2000, 20)]);
  assert.equal(b.push('v', [m('s', 1000, 10)]).late, 1, 'exactly at the last tick is late');
  assert.equal(b.push('v', [m('s', 1001, 11)]).late, 0, 'after it is not');
});

test('a tick with nothing present is skipped, and the sequence does not advance', () => {
  const a = new FleetAligner({ cadenceMs: 1000, maxAgeMs: 500, latenessMs: 0 });
  const r = a.push('v', [m('s', 0, 1), m('s', 5800, 2), m('s', 7000, 3)]);
  assert.deepEqual(rows(r.vectors), [
    [0, 1, { s: 1 }],
    [6000, 2, { s: 2 }],
    [7000, 3, { s: 3 }],
  ]);
  assert.deepEqual(rows(a.push('v', [m('s', 8100, 4)]).vectors), [], 'tick 8000: the newest value 7000 is 1000 ms old (> maxAge 500): skipped');
  assert.deepEqual(rows(a.push('v', [m('s', 9000, 5)]).vectors), [[9000, 4, { s: 5 }]]);
});

test('a gap: ticks jump to the one before the next sample, never past the limit (samples in the lateness window stay on time)', () => {
  const a = new FleetAligner({ cadenceMs: 1000, maxAgeMs: 1000, latenessMs: 2000 });
  a.push('v', [m('s', 0, 1)]);
  let r = a.push('v', [m('s', 10_500, 2)]); // limit 8500: ticks 0, 1000 emitted, then nothing until the sample
  assert.deepEqual(rows(r.vectors), [
    [0, 1, { s: 1 }],
    [1000, 2, { s: 1 }],
  ]);
  r = a.push('v', [m('s', 9000, 3), m('s', 13_000, 4)]); // 9000 is after the last tick (≤ 8000): not late
  assert.equal(r.late, 0);
  assert.deepEqual(rows(r.vectors), [
    [9000, 3, { s: 3 }],
    [10_000, 4, { s: 3 }],
    [11_000, 5, { s: 2 }],
  ]);
});

test('restore: carried values with their time stamps and flags, missing ones not carried; no-op for a known vehicle', () => {
  const last: AlignedVector = {
    vehicleId: 'v',
    ts: T0 + 5000,
    seq: 7,
    values: { s: 10, t: null, u: 3 },
    sourceTs: { s: T0 + 4500, u: T0 + 3000 },
    missing: ['t'],
    filled: [],
    outOfRange: ['u'],
    flags: [],
  };
  const a = new FleetAligner(cfg);
  a.restore(last);
  assert.equal(a.has('v'), true);
  assert.equal(a.size, 1);
  const r = a.push('v', [m('t', 5500, 1), m('t', 7000, 2)]);
  assert.deepEqual(r.vectors.map((v) => [v.ts - T0, v.seq, v.values, v.outOfRange, v.sourceTs]), [
    [6000, 8, { s: 10, t: 1, u: 3 }, ['u'], { s: T0 + 4500, t: T0 + 5500, u: T0 + 3000 }],
  ]);
  assert.equal(a.push('v', [m('s', 5000, 99)]).late, 1, 'the restored tick is the last one: earlier samples are late');
  a.restore({ ...last, seq: 100 });
  assert.deepEqual(a.flush('v').map((v) => [v.ts - T0, v.seq]), [[7000, 9]], 'restoring a known vehicle changes nothing');
});

test('rebuild without a point: every sample pending; with one: samples at or before it carried (newest wins), replacing any state', () => {
  const a = new FleetAligner(cfg);
  a.push('v', [m('s', 0, 1), m('s', 9000, 2)]);
  a.rebuild('v', undefined, ['s', 'quiet'], [m('s', 500, 5), m('s', 100, 1), m('s', 1200, 12)]);
  assert.deepEqual(rows(a.flush('v')), [[1000, 1, { s: 5, quiet: null }]]);
  const b = new FleetAligner(cfg);
  b.rebuild('v', { tick: T0 + 2000, seq: 4 }, [], [m('s', 1500, 15), m('s', 800, 8), m('s', 2000, 20), m('s', 2500, 25)]);
  assert.equal(b.push('v', [m('s', 1999, 0)]).late, 1, 'the rebuilt point is the last tick');
  assert.deepEqual(rows(b.flush('v')), [], 'the watermark is the newest pending sample (2500): tick 3000 not yet');
  assert.deepEqual(rows(b.push('v', [m('s', 4000, 40)]).vectors), [[3000, 5, { s: 25 }]]);
});

test('flush(id) flushes that vehicle only; flushIdle and evictIdle at their thresholds', () => {
  const a = new FleetAligner(cfg);
  a.push('v', [m('s', 0, 1)], 1000);
  a.push('w', [m('s', 0, 2)], 1000);
  assert.deepEqual(a.flush('v').map((v) => v.vehicleId), ['v']);
  assert.deepEqual(a.flush('nobody'), []);
  assert.deepEqual(a.flush().map((v) => v.vehicleId), ['w']);
  a.push('v', [m('s', 1000, 3)], 2000);
  assert.deepEqual(a.flushIdle(500, 2499), [], 'quiet 499 ms < 500');
  assert.deepEqual(a.flushIdle(500, 2500).map((v) => [v.vehicleId, v.ts - T0]), [['v', 1000]], 'quiet exactly 500 ms');
  assert.deepEqual(a.evictIdle(1000, 2999), ['w'], 'w quiet 1999 ms; v quiet 999 ms');
  assert.deepEqual(a.evictIdle(1000, 3000), ['v'], 'exactly 1000 ms');
  assert.equal(a.size, 0);
  a.push('x', [m('s', 0, 1)], 10);
  a.forget('x');
  assert.equal(a.has('x'), false);
  assert.equal(new FleetAligner(cfg).cadence, 1000);
});

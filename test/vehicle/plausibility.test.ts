/**
 * Plausibility rules: none on the reference logs; each rule fires on crafted vectors and not
 * on the look-alike normal cases (values measured apart, carried-forward samples, engine restarts).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PlausibilityEngine, RULES } from '../../src/vehicle/align/plausibility.js';
import type { AlignedVector } from '../../src/vehicle/align/vector.js';
import { defaultCatalog } from '../../src/vehicle/catalog/signals.js';
import { defaultVehicleConfig } from '../../src/vehicle/config.js';
import { vectorsFromLog } from '../../src/vehicle/model/train.js';
import { DS1, DS2, vector } from './helpers.js';

const T = 1_700_000_000_000;
const engine = () => new PlausibilityEngine(defaultVehicleConfig().plausibility);
const rules = (e: PlausibilityEngine, v: AlignedVector) => {
  e.apply(v);
  return v.flags.map((f) => f.rule);
};
/** A vector whose values were measured at `ts` + per-signal offsets (ms). */
const at = (ts: number, values: Record<string, number>, offsets: Record<string, number> = {}, vehicleId = 'v1') =>
  vector(values, { ts, vehicleId, sourceTs: Object.fromEntries(Object.keys(values).map((k) => [k, ts + (offsets[k] ?? 0)])) });

describe('plausibility rules', () => {
  test('the reference logs raise no flag', () => {
    for (const file of [DS1, DS2]) {
      const e = engine();
      const { vectors } = vectorsFromLog(readFileSync(file, 'utf8'), file, { alignment: { cadenceMs: 1000, maxAgeMs: 5000 }, catalog: defaultCatalog, baseMs: T, vehicleId: 'ref' });
      const flagged = vectors.filter((v) => rules(e, v).length > 0);
      assert.deepEqual(flagged.map((v) => v.flags), [], file);
    }
  });

  test('speed_without_engine: moving with rpm 0, run time 0, or a stuck run-time counter', () => {
    assert.deepEqual(rules(engine(), at(T, { vehicle_speed: 50, engine_rpm: 0 })), ['speed_without_engine']);
    assert.deepEqual(rules(engine(), at(T, { vehicle_speed: 50, engine_rpm: 1500 })), []);
    assert.deepEqual(rules(engine(), at(T, { vehicle_speed: 50, time_since_engine_start: 0 })), ['speed_without_engine']);
    assert.deepEqual(rules(engine(), at(T, { vehicle_speed: 3, engine_rpm: 0 })), []); // not moving (≤ 5 km/h)
    const e = engine();
    const flags: string[][] = [];
    for (let i = 0; i < 8; i++) flags.push(rules(e, at(T + i * 1000, { vehicle_speed: 60, time_since_engine_start: 300 })));
    // the counter stays at 300 s for ≥ 5 s of measurements: stuck (and drifting from the clock)
    assert.deepEqual(flags.slice(0, 5), [[], [], [], [], []]);
    assert.ok(flags[5]!.includes('speed_without_engine'));
  });

  test('torque_at_released_pedal: only with torque measured after the pedal', () => {
    assert.deepEqual(rules(engine(), at(T, { accelerator_pedal_position: 14.5, engine_torque: 300 }, { engine_torque: 100 })), ['torque_at_released_pedal']);
    // torque sampled before the pedal was released is not evidence (the DS2 situation)
    assert.deepEqual(rules(engine(), at(T, { accelerator_pedal_position: 14.5, engine_torque: 300 }, { accelerator_pedal_position: 1300 })), []);
    assert.deepEqual(rules(engine(), at(T, { accelerator_pedal_position: 40, engine_torque: 300 })), []);
    assert.deepEqual(rules(engine(), at(T, { accelerator_pedal_position: 14.5, engine_torque: 60 })), []);
  });

  test('speed_jump: an impossible change of speed between samples', () => {
    const e = engine();
    assert.deepEqual(rules(e, at(T, { vehicle_speed: 0 })), []);
    assert.deepEqual(rules(e, at(T + 1000, { vehicle_speed: 30 })), []); // 30 km/h/s: hard, possible
    assert.deepEqual(rules(e, at(T + 2000, { vehicle_speed: 120 })), ['speed_jump']);
    // a carried-forward value (same source time stamp) is not a new sample
    assert.deepEqual(rules(e, vector({ vehicle_speed: 120 }, { ts: T + 3000, sourceTs: { vehicle_speed: T + 2000 } })), []);
  });

  test('run_time_drift: the run-time counter runs away from the measurement clock', () => {
    const e = engine();
    assert.deepEqual(rules(e, at(T, { time_since_engine_start: 100 })), []);
    assert.deepEqual(rules(e, at(T + 10_000, { time_since_engine_start: 111 })), []); // 1 s drift: fine
    assert.deepEqual(rules(e, at(T + 20_000, { time_since_engine_start: 160 })), ['run_time_drift']); // +40 s
    assert.deepEqual(rules(e, at(T + 21_000, { time_since_engine_start: 161 })), []); // re-anchored
    assert.deepEqual(rules(e, at(T + 22_000, { time_since_engine_start: 2 })), []); // engine restart: a reset, not drift
    assert.deepEqual(rules(e, at(T + 30_000, { time_since_engine_start: 10 })), []);
  });

  test('brake_and_accelerator, fuel_flow_engine_off', () => {
    assert.deepEqual(rules(engine(), at(T, { brake_pressure: 5, accelerator_pedal_position: 80 })), ['brake_and_accelerator']);
    assert.deepEqual(rules(engine(), at(T, { brake_pressure: 17, accelerator_pedal_position: 14.5 })), []); // DS1: braking at rest
    assert.deepEqual(rules(engine(), at(T, { fuel_consumption: 5, engine_rpm: 0 })), ['fuel_flow_engine_off']);
    assert.deepEqual(rules(engine(), at(T, { fuel_consumption: 5, engine_rpm: 900 })), []);
  });

  test('values measured far apart are not compared; disabled engine flags nothing', () => {
    assert.deepEqual(rules(engine(), at(T, { vehicle_speed: 50, engine_rpm: 0 }, { engine_rpm: -4000 })), []);
    const off = new PlausibilityEngine({ ...defaultVehicleConfig().plausibility, enabled: false });
    assert.deepEqual(rules(off, at(T, { vehicle_speed: 50, engine_rpm: 0 })), []);
    assert.equal(RULES.length, 6);
  });
});

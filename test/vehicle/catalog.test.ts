/**
 * Signal catalog (the 12 reference signals by their log names, OBD-II PIDs, ranges, kinds) and
 * unit normalisation (spellings, conversions, incompatible units).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_SIGNALS, defaultCatalog, normalizeSignalName, REFERENCE_SIGNAL_IDS, SignalCatalog } from '../../src/vehicle/catalog/signals.js';
import { converter, lookupUnit } from '../../src/vehicle/catalog/units.js';
import { readVehicleLog } from '../../src/vehicle/logs/csv-log.js';
import { DS1 } from './helpers.js';

const conv = (from: string, to: string, v: number): number => {
  const fn = converter(from, to);
  if (typeof fn === 'string') throw new Error(fn);
  return fn(v);
};

describe('units', () => {
  test('spellings of the same unit, case and spaces', () => {
    assert.equal(lookupUnit(' km/h')?.symbol, 'km/h');
    assert.equal(lookupUnit('KPH')?.symbol, 'km/h');
    assert.equal(lookupUnit(' C')?.symbol, '°C');
    assert.equal(lookupUnit('degF')?.symbol, '°F');
    assert.equal(lookupUnit('MPa')?.dim, 'pressure');
    assert.equal(lookupUnit('furlong'), undefined);
  });

  test('conversions to the catalog unit', () => {
    assert.ok(Math.abs(conv('mph', 'km/h', 60) - 96.56064) < 1e-9);
    assert.ok(Math.abs(conv('m/s', 'km/h', 25) - 90) < 1e-9);
    assert.ok(Math.abs(conv('°F', '°C', 212) - 100) < 1e-9);
    assert.ok(Math.abs(conv('K', '°C', 273.15)) < 1e-9);
    assert.ok(Math.abs(conv('kPa', 'MPa', 1500) - 1.5) < 1e-12);
    assert.ok(Math.abs(conv('bar', 'MPa', 10) - 1) < 1e-12);
    assert.ok(Math.abs(conv('fraction', '%', 0.25) - 25) < 1e-12);
    assert.ok(Math.abs(conv('%', 'fraction', 50) - 0.5) < 1e-12);
    assert.ok(Math.abs(conv('gal/h', 'l/h', 1) - 3.785411784) < 1e-12);
    assert.ok(Math.abs(conv('lb-ft', 'Nm', 100) - 135.58179483) < 1e-6);
    assert.equal(conv('l', 'l', 7), 7);
  });

  test('incompatible or unknown units are explained', () => {
    assert.match(converter('km/h', '°C') as string, /cannot be converted/);
    assert.match(converter('parsec', 'km') as string, /unknown unit "parsec"/);
  });
});

describe('signal catalog', () => {
  test('the 12 reference signals, by the logs\' column names', () => {
    const log = readVehicleLog(DS1);
    const ids = log.signals.map((s) => defaultCatalog.resolve(s.name)?.id);
    assert.deepEqual(ids, [...REFERENCE_SIGNAL_IDS]);
    // the logs' units are the catalog's (or convertible to it)
    log.signals.forEach((s, i) => {
      const def = defaultCatalog.byIdOf(REFERENCE_SIGNAL_IDS[i]!)!;
      if (s.unit !== '') assert.equal(typeof converter(s.unit, def.unit), 'function', `${s.name}: ${s.unit} → ${def.unit}`);
    });
  });

  test('common OBD-II PIDs by name and number', () => {
    assert.equal(defaultCatalog.resolve('engine_rpm')?.pid, '0C');
    assert.equal(defaultCatalog.resolve('0x0C')?.id, 'engine_rpm');
    assert.equal(defaultCatalog.resolve('PID 0D')?.id, 'vehicle_speed');
    assert.equal(defaultCatalog.resolve('01 05')?.id, 'coolant_temperature');
    assert.equal(defaultCatalog.resolve('Engine coolant temperature')?.unit, '°C');
    assert.equal(defaultCatalog.resolve('engine fuel rate')?.id, 'fuel_consumption');
    assert.equal(defaultCatalog.resolve('no such signal'), undefined);
    const pids = BUILTIN_SIGNALS.filter((s) => s.pid).map((s) => s.pid);
    for (const pid of ['04', '05', '0B', '0C', '0D', '0F', '10', '11', '1F', '2F', '33', '42', '46', '5C', '5E', 'A6']) assert.ok(pids.includes(pid), `PID ${pid}`);
    assert.equal(new Set(pids).size, pids.length);
  });

  test('every signal has a unit the unit table knows, a valid range and a kind', () => {
    for (const s of BUILTIN_SIGNALS) {
      assert.ok(lookupUnit(s.unit), `${s.id}: unit ${s.unit}`);
      assert.ok(s.min < s.max, s.id);
      assert.ok(['continuous', 'discrete', 'counter', 'level'].includes(s.kind));
      assert.match(s.id, /^[a-z][a-z0-9_]*$/);
    }
    // counters and fuel level are not model features; speed and gear are
    assert.equal(defaultCatalog.byIdOf('time_since_engine_start')?.feature, false);
    assert.equal(defaultCatalog.byIdOf('fuel_level')?.feature, false);
    assert.equal(defaultCatalog.byIdOf('engaged_gear')?.feature, true);
  });

  test('normalised names and conflicting definitions', () => {
    assert.equal(normalizeSignalName('Engaged gear: raw signal-Bits 0-7'), 'engaged_gear_raw_signal_bits_0_7');
    assert.throws(
      () => new SignalCatalog([...BUILTIN_SIGNALS, { ...BUILTIN_SIGNALS[0]!, id: 'speed2', aliases: ['Vehicle speed'] }]),
      /already names vehicle_speed/,
    );
  });
});

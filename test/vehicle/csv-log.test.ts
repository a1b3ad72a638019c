/**
 * Parser of the reference vehicle log format: both reference logs exactly (signals, units,
 * counts, the stray leading cell), .CSV/CRLF/BOM/quotes, irregular cells, header errors, and the
 * time-ordered measurement list the replay sends.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CsvLogError, logMeasurements, logName, parseVehicleLog, readVehicleLog } from '../../src/vehicle/logs/csv-log.js';
import { DS1, DS1_MEASUREMENTS, DS2, DS2_MEASUREMENTS } from './helpers.js';

const NAMES = [
  'Vehicle speed',
  'Time since engine start',
  'Normed load value',
  'Accelerator pedal position',
  'Engine torque',
  'Oil fill level',
  'Engine oil temperature',
  'Fuel level',
  'Fuel consumption',
  'Brake pressure',
  'Engaged gear: raw signal-Bits 0-7',
  'Efficiency of the SCR catalytic converter',
];
const UNITS = ['km/h', 's', '%', '%', 'Nm', 'mm', 'C', 'l', 'l/h', 'MPa', '', ''];

describe('reference CSV log parser', () => {
  test('DS1: 12 signals with names and units, each with its own time stamps', () => {
    const log = readVehicleLog(DS1);
    assert.deepEqual(log.signals.map((s) => s.name), NAMES);
    assert.deepEqual(log.signals.map((s) => s.unit), UNITS);
    assert.equal(log.rows, 448);
    assert.equal(log.measurements, DS1_MEASUREMENTS);
    assert.deepEqual(log.warnings, []);
    const speed = log.signals[0]!;
    assert.deepEqual(speed.samples[0], { t: 1.02, value: 0 });
    assert.deepEqual(log.signals[5]!.samples[0], { t: 0.1, value: 30.604 }); // oil fill level: its own stamp
    assert.deepEqual(log.signals[11]!.samples.at(-1), { t: 671.29, value: 0.08829 });
  });

  test('DS2: the stray leading cell on line 5 is ignored with a warning, its samples kept', () => {
    const log = readVehicleLog(DS2);
    assert.equal(log.measurements, DS2_MEASUREMENTS);
    assert.equal(log.rows, 481);
    assert.deepEqual(log.warnings, [{ line: 5, column: 1, message: 'ignored a non-empty leading cell "1"' }]);
    assert.deepEqual(log.signals[0]!.samples[2], { t: 3.12, value: 0 });
    assert.deepEqual(log.signals[11]!.samples[0], { t: 0.01, value: 0.42557 });
  });

  test('a .CSV suffix, CRLF line ends, a BOM and quoted cells', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-csv-'));
    try {
      const text = '\uFEFF,STAMP,"Vehicle speed",STAMP,Engine torque,\r\n,, km/h,, Nm,\r\n,0.5,"12",0.6,40.5,\r\n,1.5,13,1.6,41,\r\n';
      const file = join(dir, 'LOG_A.CSV');
      writeFileSync(file, text);
      const log = readVehicleLog(file);
      assert.equal(logName(file), 'LOG_A');
      assert.deepEqual(log.signals.map((s) => [s.name, s.unit, s.samples.length]), [
        ['Vehicle speed', 'km/h', 2],
        ['Engine torque', 'Nm', 2],
      ]);
      copyFileSync(DS1, join(dir, 'DS1.CSV'));
      assert.equal(readVehicleLog(join(dir, 'DS1.CSV')).measurements, DS1_MEASUREMENTS);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('irregular cells are skipped with line and column, the rest is kept', () => {
    const text = [
      ',STAMP,A,STAMP,B,',
      ',,u,,v,',
      ',1,10,1.1,20,',
      ',2,,2.1,21,', // A: stamp without value
      ',,11,3.1,x,', // A: value without stamp; B: not a number
      ',3,12,,,', // B has no sample in this row
      ',-1,13,4.1,22,extra,cells,', // negative stamp; extra cells
      ',2.5,14,5.1,23,', // A goes back in time (kept, warned)
    ].join('\n');
    const log = parseVehicleLog(text, 'x.csv');
    assert.deepEqual(log.signals[0]!.samples.map((s) => s.value), [10, 12, 14]);
    assert.deepEqual(log.signals[1]!.samples.map((s) => s.value), [20, 21, 22, 23]);
    assert.equal(log.measurements, 7);
    const msgs = log.warnings.map((w) => `${w.line}:${w.column}:${w.message}`);
    assert.deepEqual(msgs, [
      '4:2:A: time stamp without a value; skipped',
      '5:2:A: value without a time stamp; skipped',
      '5:5:B: value "x" is not a number; skipped',
      '7:2:A: time stamp "-1" is not a non-negative number; skipped',
      '7:6:ignored 2 cell(s) beyond the header\'s columns',
      '8:2:A: time stamp 2.5 goes back (previous 3)',
    ]);
  });

  test('a file without the units row, and a header without the leading empty cell', () => {
    const log = parseVehicleLog('STAMP,A,STAMP,B\n0.5,1,0.6,2\n1.5,3,1.6,4\n', 'y.csv');
    assert.deepEqual(log.signals.map((s) => [s.name, s.unit, s.samples.length]), [
      ['A', '', 2],
      ['B', '', 2],
    ]);
    assert.equal(log.warnings[0]!.message, 'no units row: units left blank');
  });

  test('headers that are not the format are errors naming the line', () => {
    assert.throws(() => parseVehicleLog('', 'e.csv'), (e: unknown) => e instanceof CsvLogError && /empty file/.test(e.message));
    assert.throws(() => parseVehicleLog('time,speed\n1,2\n', 'e.csv'), /e\.csv:1: the header must start with an empty cell or STAMP/);
    assert.throws(() => parseVehicleLog(',STAMP,A,TIME,B,\n', 'e.csv'), /column 4: expected STAMP, found "TIME"/);
    assert.throws(() => parseVehicleLog(',STAMP,A,STAMP,\n', 'e.csv'), /odd number of cells|has no name/);
    assert.throws(() => parseVehicleLog(',,\n', 'e.csv'), /no STAMP,<signal> pairs/);
  });

  test('logMeasurements: absolute ms time stamps, in time order across signals', () => {
    const log = readVehicleLog(DS2);
    const ms = logMeasurements(log, 1_700_000_000_000);
    assert.equal(ms.length, DS2_MEASUREMENTS);
    for (let i = 1; i < ms.length; i++) assert.ok(ms[i]!.timestamp >= ms[i - 1]!.timestamp);
    assert.deepEqual(ms[0], { signal: 'Efficiency of the SCR catalytic converter', value: 0.42557, timestamp: 1_700_000_000_010 });
    assert.deepEqual(ms[1], { signal: 'Vehicle speed', unit: 'km/h', value: 0, timestamp: 1_700_000_000_100 });
    assert.ok(ms.every((m) => Number.isInteger(m.timestamp)));
  });
});

/**
 * Parser of the reference vehicle log format (SUCCESS6G OBD-II logs, `.csv` or `.CSV`):
 *
 *   row 1: a leading empty cell, then pairs `STAMP,<signal name>`, then a trailing empty cell;
 *   row 2: the units, paired the same way (`,<unit>`; blank for raw signals);
 *   rows 3+: pairs `<seconds since log start>,<value>`: each signal has its own time stamps.
 *
 * Tokenising (quotes, CRLF, BOM) is csv-parse's job; this module maps cells to signals.
 * Irregular cells never abort the parse: they are skipped with a warning naming the line and
 * column (e.g. the stray "1" in the leading cell of one reference row, an empty pair, a value
 * that is not a number). A header that is not in this format is an error.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse } from 'csv-parse/sync';

export interface LogSample {
  /** Seconds since the start of the log. */
  t: number;
  value: number;
}

export interface LogSignal {
  /** 0-based index of the signal (pair) in the file. */
  index: number;
  /** Column name as written in the header (trimmed). */
  name: string;
  /** Unit as written in the units row (trimmed; '' when blank). */
  unit: string;
  samples: LogSample[];
}

export interface LogWarning {
  /** 1-based line of the file. */
  line: number;
  /** 1-based column (cell) when the warning is about one cell. */
  column?: number;
  message: string;
}

export interface VehicleLog {
  source: string;
  signals: LogSignal[];
  /** Data rows (after the header and units rows). */
  rows: number;
  /** Samples across all signals (= what a replay sends). */
  measurements: number;
  warnings: LogWarning[];
}

export class CsvLogError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${source}:${line}: ${reason}`);
    this.name = 'CsvLogError';
  }
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function num(cell: string): number | undefined {
  const s = cell.trim();
  return NUMBER.test(s) ? Number(s) : undefined;
}

interface Row {
  line: number;
  cells: string[];
}

function tokenize(text: string, source: string): Row[] {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true, info: true, relax_quotes: true }) as never;
  } catch (err) {
    throw new CsvLogError(source, (err as { lines?: number }).lines ?? 0, `not a CSV file: ${(err as Error).message}`);
  }
  return records.map((r) => ({ line: r.info.lines, cells: r.record }));
}

export function parseVehicleLog(text: string, source = '(text)'): VehicleLog {
  const rows = tokenize(text, source);
  const warnings: LogWarning[] = [];
  const header = rows[0];
  if (!header) throw new CsvLogError(source, 1, 'empty file');
  // The pairs start after the leading empty cell (tolerate its absence: a header starting with STAMP).
  const start = header.cells[0]?.trim().toUpperCase() === 'STAMP' ? 0 : 1;
  if (start === 1 && header.cells[0]!.trim() !== '') {
    throw new CsvLogError(source, header.line, `the header must start with an empty cell or STAMP, found "${header.cells[0]}"`);
  }
  let end = header.cells.length;
  while (end > start && header.cells[end - 1]!.trim() === '') end--; // trailing empty cell(s)
  if ((end - start) % 2 !== 0) {
    throw new CsvLogError(source, header.line, `the header must be pairs of STAMP,<signal name>; found an odd number of cells (${end - start})`);
  }
  const signals: LogSignal[] = [];
  for (let c = start; c < end; c += 2) {
    const stamp = header.cells[c]!.trim();
    const name = header.cells[c + 1]!.trim();
    if (stamp.toUpperCase() !== 'STAMP') throw new CsvLogError(source, header.line, `column ${c + 1}: expected STAMP, found "${stamp}"`);
    if (name === '') throw new CsvLogError(source, header.line, `column ${c + 2}: the signal after STAMP has no name`);
    signals.push({ index: signals.length, name, unit: '', samples: [] });
  }
  if (signals.length === 0) throw new CsvLogError(source, header.line, 'no STAMP,<signal> pairs in the header');

  let dataFrom = 1;
  const units = rows[1];
  // The units row: its stamp cells are blank. A file without it starts with data straight away.
  if (units && !signals.some((_, i) => num(units.cells[start + 2 * i] ?? '') !== undefined)) {
    signals.forEach((s, i) => (s.unit = (units.cells[start + 2 * i + 1] ?? '').trim()));
    dataFrom = 2;
  } else if (units) {
    warnings.push({ line: units.line, message: 'no units row: units left blank' });
  }

  let measurements = 0;
  const lastT = new Array<number>(signals.length).fill(-Infinity);
  for (const row of rows.slice(dataFrom)) {
    const { cells, line } = row;
    if (start === 1 && cells[0] !== undefined && cells[0].trim() !== '') {
      warnings.push({ line, column: 1, message: `ignored a non-empty leading cell "${cells[0]}"` });
    }
    signals.forEach((sig, i) => {
      const c = start + 2 * i;
      const stampCell = cells[c] ?? '';
      const valueCell = cells[c + 1] ?? '';
      if (stampCell.trim() === '' && valueCell.trim() === '') return; // this signal has no sample in this row
      if (stampCell.trim() === '' || valueCell.trim() === '') {
        warnings.push({ line, column: c + 1, message: `${sig.name}: ${stampCell.trim() === '' ? 'value without a time stamp' : 'time stamp without a value'}; skipped` });
        return;
      }
      const t = num(stampCell);
      const value = num(valueCell);
      if (t === undefined || t < 0) {
        warnings.push({ line, column: c + 1, message: `${sig.name}: time stamp "${stampCell}" is not a non-negative number; skipped` });
        return;
      }
      if (value === undefined) {
        warnings.push({ line, column: c + 2, message: `${sig.name}: value "${valueCell}" is not a number; skipped` });
        return;
      }
      if (t < lastT[i]!) warnings.push({ line, column: c + 1, message: `${sig.name}: time stamp ${t} goes back (previous ${lastT[i]})` });
      lastT[i] = Math.max(lastT[i]!, t);
      sig.samples.push({ t, value });
      measurements++;
    });
    let last = cells.length;
    while (last > 0 && cells[last - 1]!.trim() === '') last--;
    if (last > start + 2 * signals.length) {
      warnings.push({ line, column: start + 2 * signals.length + 1, message: `ignored ${last - start - 2 * signals.length} cell(s) beyond the header's columns` });
    }
  }
  return { source, signals, rows: rows.length - dataFrom, measurements, warnings };
}

export function readVehicleLog(file: string): VehicleLog {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CsvLogError(file, 0, `cannot read: ${(err as Error).message}`);
  }
  return parseVehicleLog(text, file);
}

export interface TimedMeasurement {
  /** Signal name as in the log. */
  signal: string;
  /** Unit as in the log (omitted when blank). */
  unit?: string;
  value: number;
  /** Epoch milliseconds (integer). */
  timestamp: number;
}

/**
 * All samples of a log as measurements on an absolute clock (base + offset, rounded to the
 * millisecond), in time order (ties in column order).
 */
export function logMeasurements(log: VehicleLog, baseMs: number): TimedMeasurement[] {
  const out: Array<TimedMeasurement & { k: number }> = [];
  for (const sig of log.signals) {
    for (const s of sig.samples) {
      const m: TimedMeasurement & { k: number } = { signal: sig.name, value: s.value, timestamp: Math.round(baseMs + s.t * 1000), k: sig.index };
      if (sig.unit !== '') m.unit = sig.unit;
      out.push(m);
    }
  }
  out.sort((a, b) => a.timestamp - b.timestamp || a.k - b.k);
  return out.map(({ k: _k, ...m }) => m);
}

/** The log's name without directory and extension (.csv or .CSV). */
export function logName(file: string): string {
  return basename(file).replace(/\.csv$/i, '');
}

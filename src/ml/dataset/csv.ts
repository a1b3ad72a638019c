/**
 * CSV loading for training data: a header row, then numeric rows. Feature and target columns are
 * chosen by header name (in the order given, which becomes the model's input order). Any missing
 * or non-numeric value raises a DatasetError naming the file, the 1-based line and the column.
 * Parsing (quotes, CRLF, BOM) is done by csv-parse; this module only maps and validates.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import type { Dataset } from './types.js';

/** Error raised for unreadable or invalid CSV data; `line` is 1-based (the header is line 1). */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly column?: string,
  ) {
    super(message);
  }
}

export interface CsvColumns {
  /** Feature column names, in model input order. */
  features: readonly string[];
  /** Target column name. */
  target: string;
}

export interface CsvOptions extends CsvColumns {
  /** Field delimiter (default ','). */
  delimiter?: string;
}

/** Parses CSV text into a Dataset. `source` names the file in error messages. */
export function parseCsvDataset(text: string, options: CsvOptions, source = '<csv>'): Dataset {
  const { features, target } = options;
  if (features.length === 0) throw new DatasetError('no feature columns requested', source);
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, {
      bom: true,
      delimiter: options.delimiter ?? ',',
      info: true,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (err) {
    const e = err as { message?: string; lines?: number };
    throw new DatasetError(`${source}: CSV syntax error: ${e.message ?? String(err)}`, source, e.lines);
  }
  const header = records[0];
  if (!header) throw new DatasetError(`${source}: file is empty (no header row)`, source);
  const names = header.record;
  const indexOf = (col: string): number => {
    const i = names.indexOf(col);
    if (i < 0) {
      throw new DatasetError(
        `${source}:${header.info.lines}: column "${col}" not found in header (have: ${names.join(', ')})`,
        source,
        header.info.lines,
        col,
      );
    }
    return i;
  };
  const featIdx = features.map(indexOf);
  const targetIdx = indexOf(target);
  const cols = features.length;
  const n = records.length - 1;
  const X = new Float64Array(n * cols);
  const y = new Float64Array(n);
  const read = (rec: { record: string[]; info: { lines: number } }, idx: number, col: string): number => {
    const line = rec.info.lines;
    const raw = rec.record[idx];
    if (raw === undefined || raw === '') {
      throw new DatasetError(`${source}:${line}: missing value in column "${col}"`, source, line, col);
    }
    const v = Number(raw);
    if (!Number.isFinite(v)) {
      throw new DatasetError(
        `${source}:${line}: non-numeric value ${JSON.stringify(raw)} in column "${col}"`,
        source,
        line,
        col,
      );
    }
    return v;
  };
  for (let r = 0; r < n; r++) {
    const rec = records[r + 1]!;
    for (let c = 0; c < cols; c++) X[r * cols + c] = read(rec, featIdx[c]!, features[c]!);
    y[r] = read(rec, targetIdx, target);
  }
  if (n === 0) throw new DatasetError(`${source}: no data rows after the header`, source);
  return { featureNames: [...features], targetName: target, rows: n, X, y, source };
}

/** Reads and parses a CSV file into a Dataset. */
export async function loadCsvDataset(file: string, options: CsvOptions): Promise<Dataset> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new DatasetError(`${file}: cannot read: ${(err as Error).message}`, file);
  }
  return parseCsvDataset(text, options, file);
}

/** Serialises a Dataset as CSV text (header = features then target). */
export function datasetToCsv(ds: Dataset, digits = 6): string {
  const cols = ds.featureNames.length;
  const lines = [[...ds.featureNames, ds.targetName].join(',')];
  for (let r = 0; r < ds.rows; r++) {
    const row: string[] = [];
    for (let c = 0; c < cols; c++) row.push(fmt(ds.X[r * cols + c]!, digits));
    row.push(fmt(ds.y[r]!, digits));
    lines.push(row.join(','));
  }
  return lines.join('\n') + '\n';
}

function fmt(v: number, digits: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(digits)));
}

/**
 * Core data types shared by dataset loading, training and export: a dense numeric table with
 * named feature columns (row-major) and one target column.
 */

/** A numeric data set: `X` is row-major, `rows` × `featureNames.length`. */
export interface Dataset {
  readonly featureNames: readonly string[];
  readonly targetName: string;
  readonly rows: number;
  /** Row-major features, length rows × featureNames.length. */
  readonly X: Float64Array;
  /** Target values, length rows. */
  readonly y: Float64Array;
  /** Where the data came from (file path or a label), used in messages and metadata. */
  readonly source?: string;
}

/**
 * Feature input accepted by training and in-process prediction: either an array of rows
 * (each row an array-like of numbers in feature order) or a flat row-major typed array.
 */
export type FeatureInput = ReadonlyArray<ArrayLike<number>> | Float64Array | Float32Array;

/** Per-feature summary statistics. */
export interface ColumnSummary {
  name: string;
  min: number;
  max: number;
  mean: number;
}

/** Copies `X` into a flat row-major Float64Array with `cols` columns, checking shape and finiteness. */
export function toRowMajor(X: FeatureInput, cols: number, what = 'X'): { data: Float64Array; rows: number } {
  if (X instanceof Float64Array || X instanceof Float32Array) {
    if (X.length % cols !== 0) {
      throw new RangeError(`${what}: flat length ${X.length} is not a multiple of ${cols} features`);
    }
    const data = X instanceof Float64Array ? X : Float64Array.from(X);
    return { data, rows: X.length / cols };
  }
  const rows = X.length;
  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = X[r]!;
    if (row.length !== cols) {
      throw new RangeError(`${what}: row ${r} has ${row.length} values, expected ${cols}`);
    }
    for (let c = 0; c < cols; c++) data[r * cols + c] = row[c]!;
  }
  return { data, rows };
}

/** Summarises each column of a row-major matrix. */
export function summarizeColumns(X: Float64Array, names: readonly string[]): ColumnSummary[] {
  const cols = names.length;
  const rows = cols === 0 ? 0 : X.length / cols;
  return names.map((name, c) => {
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (let r = 0; r < rows; r++) {
      const v = X[r * cols + c]!;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    return { name, min, max, mean: rows ? sum / rows : NaN };
  });
}

/**
 * Linear and polynomial regression by ordinary least squares (closed form). The design matrix
 * (monomials of the raw features, scikit-learn PolynomialFeatures order, plus a column of ones for
 * the bias) is column-equilibrated (each column divided by its largest |value|, so that packet
 * sizes squared (~10⁶) and fractions (~1) have comparable scale) and solved with ml-matrix's
 * Householder QR decomposition, which avoids squaring the condition number as the normal
 * equations would; the coefficients are then un-scaled back to raw-feature units.
 * Prediction evaluates the same monomials in float64; the ONNX graph computes them in-graph.
 */
import { Matrix, QrDecomposition } from 'ml-matrix';
import { toRowMajor, type FeatureInput } from '../dataset/types.js';
import { polynomialModelBytes } from '../onnx/graphs.js';
import type { OnnxExportOptions, TrainedModel } from './types.js';

/** Exponent vectors of all monomials of total degree 1..degree, in scikit-learn PolynomialFeatures order. */
export function polynomialTerms(nFeatures: number, degree: number): number[][] {
  const out: number[][] = [];
  const rec = (start: number, left: number, acc: number[]) => {
    if (left === 0) {
      out.push(acc.slice());
      return;
    }
    for (let f = start; f < nFeatures; f++) {
      acc[f]!++;
      rec(f, left - 1, acc);
      acc[f]!--;
    }
  };
  for (let d = 1; d <= degree; d++) rec(0, d, new Array<number>(nFeatures).fill(0));
  return out;
}

/** Human-readable name of a monomial, e.g. `PacketSize_B^2` or `PacketSize_B*Throughput_Percentage`. */
export function termName(exponents: readonly number[], featureNames: readonly string[]): string {
  return exponents
    .map((e, f) => (e === 0 ? '' : e === 1 ? featureNames[f]! : `${featureNames[f]!}^${e}`))
    .filter((s) => s !== '')
    .join('*');
}

function monomial(row: Float64Array, offset: number, exps: readonly number[]): number {
  let v = 1;
  for (let f = 0; f < exps.length; f++) {
    const e = exps[f]!;
    if (e !== 0) v *= e === 1 ? row[offset + f]! : row[offset + f]! ** e;
  }
  return v;
}

export class LinearModel implements TrainedModel {
  readonly seed = 0;
  constructor(
    readonly modelType: 'linear' | 'polynomial',
    readonly featureNames: readonly string[],
    /** Exponent vector per coefficient. */
    readonly terms: ReadonlyArray<readonly number[]>,
    /** Coefficient per term, raw feature units. */
    readonly coefficients: Float64Array,
    readonly intercept: number,
    readonly hyper: Record<string, unknown>,
  ) {}

  /** Coefficients with readable names (bias first as `1`). */
  namedCoefficients(): Array<{ term: string; exponents: number[]; value: number }> {
    return [
      { term: '1', exponents: this.featureNames.map(() => 0), value: this.intercept },
      ...this.terms.map((t, k) => ({
        term: termName(t, this.featureNames),
        exponents: [...t],
        value: this.coefficients[k]!,
      })),
    ];
  }

  predict(batch: FeatureInput): Float64Array {
    const F = this.featureNames.length;
    const { data, rows } = toRowMajor(batch, F, 'batch');
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = this.intercept;
      for (let k = 0; k < this.terms.length; k++) s += this.coefficients[k]! * monomial(data, r * F, this.terms[k]!);
      out[r] = s;
    }
    return out;
  }

  toOnnx(options: OnnxExportOptions = {}): Uint8Array {
    return polynomialModelBytes(
      {
        nFeatures: this.featureNames.length,
        terms: this.terms,
        coefficients: this.coefficients,
        intercept: this.intercept,
      },
      options.graphName ?? `wattflow_${this.modelType}`,
      options,
    );
  }
}

/**
 * Ordinary least squares of y on the given monomials (+ bias when fitIntercept). Throws when the
 * design matrix is rank deficient (e.g. a constant feature, or fewer rows than coefficients).
 */
export function fitLeastSquares(
  X: Float64Array,
  rows: number,
  nFeatures: number,
  y: ArrayLike<number>,
  terms: ReadonlyArray<readonly number[]>,
  fitIntercept: boolean,
): { coefficients: Float64Array; intercept: number } {
  const p = terms.length + (fitIntercept ? 1 : 0);
  if (rows < p) throw new RangeError(`least squares needs at least ${p} rows, got ${rows}`);
  if (y.length !== rows) throw new RangeError(`y has ${y.length} values for ${rows} rows`);
  const A = new Matrix(rows, p);
  for (let r = 0; r < rows; r++) {
    let c = 0;
    if (fitIntercept) A.set(r, c++, 1);
    for (const t of terms) A.set(r, c++, monomial(X, r * nFeatures, t));
  }
  const scale = new Float64Array(p);
  for (let c = 0; c < p; c++) {
    let m = 0;
    for (let r = 0; r < rows; r++) m = Math.max(m, Math.abs(A.get(r, c)));
    if (m === 0) throw new RangeError(`least squares: design column ${c} is all zeros (constant/zero feature?)`);
    scale[c] = m;
    for (let r = 0; r < rows; r++) A.set(r, c, A.get(r, c) / m);
  }
  const b = Matrix.columnVector(Array.from(y));
  const qr = new QrDecomposition(A);
  if (!qr.isFullRank()) {
    throw new RangeError('least squares: design matrix is rank deficient (collinear or constant features)');
  }
  const sol = qr.solve(b);
  const beta = new Float64Array(p);
  for (let c = 0; c < p; c++) beta[c] = sol.get(c, 0) / scale[c]!;
  return fitIntercept
    ? { intercept: beta[0]!, coefficients: beta.slice(1) }
    : { intercept: 0, coefficients: beta };
}

export function trainLinear(
  modelType: 'linear' | 'polynomial',
  X: FeatureInput,
  y: ArrayLike<number>,
  featureNames: readonly string[],
  hyper: { degree?: number; fitIntercept?: boolean } = {},
): LinearModel {
  const F = featureNames.length;
  const { data, rows } = toRowMajor(X, F);
  const degree = modelType === 'linear' ? 1 : (hyper.degree ?? 2);
  if (!Number.isInteger(degree) || degree < 1 || degree > 4) {
    throw new RangeError(`polynomial degree must be an integer in 1..4, got ${degree}`);
  }
  const fitIntercept = hyper.fitIntercept ?? true;
  const terms = polynomialTerms(F, degree);
  const { coefficients, intercept } = fitLeastSquares(data, rows, F, y, terms, fitIntercept);
  const resolved: Record<string, unknown> =
    modelType === 'linear' ? { fitIntercept } : { degree, fitIntercept };
  return new LinearModel(modelType, featureNames, terms, coefficients, intercept, resolved);
}

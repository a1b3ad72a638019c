/**
 * Regression metrics: MAE, MAPE, MSE, R², SMAPE. MAPE and SMAPE are in percent (like the
 * reference's published "1.7 %"), MAE in target units, MSE in target units squared.
 */

export interface RegressionMetrics {
  /** Mean absolute error (target units, W). */
  MAE: number;
  /** Mean absolute percentage error, in percent; rows with a zero true value are skipped. */
  MAPE: number;
  /** Mean squared error (target units squared). */
  MSE: number;
  /** Coefficient of determination (1 - SS_res / SS_tot); NaN when the truth is constant. */
  R2: number;
  /** Symmetric MAPE in percent: mean(2|p - t| / (|t| + |p|)) × 100, 0 where both are 0. */
  SMAPE: number;
}

function check(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  if (yTrue.length !== yPred.length) {
    throw new RangeError(`length mismatch: ${yTrue.length} true values vs ${yPred.length} predictions`);
  }
  if (yTrue.length === 0) throw new RangeError('metrics need at least one value');
  return yTrue.length;
}

export function mae(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(yTrue[i]! - yPred[i]!);
  return s / n;
}

export function mse(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred);
  let s = 0;
  for (let i = 0; i < n; i++) s += (yTrue[i]! - yPred[i]!) ** 2;
  return s / n;
}

export function mape(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred);
  let s = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const t = yTrue[i]!;
    if (t === 0) continue;
    s += Math.abs((t - yPred[i]!) / t);
    k++;
  }
  return k ? (100 * s) / k : NaN;
}

export function smape(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const t = yTrue[i]!;
    const p = yPred[i]!;
    const d = Math.abs(t) + Math.abs(p);
    if (d !== 0) s += (2 * Math.abs(p - t)) / d;
  }
  return (100 * s) / n;
}

export function r2(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = check(yTrue, yPred);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i]!;
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    ssRes += (yTrue[i]! - yPred[i]!) ** 2;
    ssTot += (yTrue[i]! - mean) ** 2;
  }
  return ssTot === 0 ? NaN : 1 - ssRes / ssTot;
}

/** All metrics at once. */
export function regressionMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): RegressionMetrics {
  return {
    MAE: mae(yTrue, yPred),
    MAPE: mape(yTrue, yPred),
    MSE: mse(yTrue, yPred),
    R2: r2(yTrue, yPred),
    SMAPE: smape(yTrue, yPred),
  };
}

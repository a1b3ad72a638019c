/**
 * Multi-layer perceptron regression (ReLU hidden layers, linear output, MSE loss, Adam with
 * cosine learning-rate decay, mini-batches, seeded He initialisation and shuffling).
 *
 * Written here rather than taken from npm because the JS neural-network libraries are either
 * unmaintained (brain.js, synaptic), tied to a heavy runtime (TensorFlow.js) or cannot hand back
 * plain weight matrices to write a MatMul/Add/Relu ONNX graph; the network here is ~3k weights,
 * so straightforward Float64Array loops train ~10k rows in seconds on one core.
 *
 * Input standardisation (per-feature mean/std) and target scaling (mean/std of y) are used during
 * training and then folded into the first and last layer weights, so the exported graph takes raw
 * features and outputs watts. In-process prediction uses those same folded, float32-rounded
 * weights (evaluated in float64), so it matches the ONNX graph to float32 accumulation error.
 */
import { createRng } from '../dataset/rng.js';
import { toRowMajor, type FeatureInput } from '../dataset/types.js';
import { mlpModelBytes, type DenseLayer } from '../onnx/graphs.js';
import type { MlpHyper, OnnxExportOptions, TrainedModel } from './types.js';

export interface ResolvedMlpHyper {
  hiddenLayers: number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  l2: number;
  beta1: number;
  beta2: number;
  patience: number;
  tol: number;
}

export function resolveMlpHyper(h: MlpHyper = {}): ResolvedMlpHyper {
  const r: ResolvedMlpHyper = {
    hiddenLayers: h.hiddenLayers ?? [64, 32, 16, 8],
    epochs: h.epochs ?? 150,
    batchSize: h.batchSize ?? 64,
    learningRate: h.learningRate ?? 0.002,
    l2: h.l2 ?? 1e-5,
    beta1: h.beta1 ?? 0.9,
    beta2: h.beta2 ?? 0.999,
    patience: h.patience ?? 15,
    tol: h.tol ?? 1e-4,
  };
  if (r.hiddenLayers.length === 0 || r.hiddenLayers.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new RangeError(`mlp hiddenLayers must be a non-empty list of positive integers, got [${r.hiddenLayers}]`);
  }
  for (const k of ['epochs', 'batchSize', 'patience'] as const) {
    if (!Number.isInteger(r[k]) || r[k] < 1) throw new RangeError(`mlp hyper ${k} must be a positive integer, got ${r[k]}`);
  }
  if (!(r.learningRate > 0)) throw new RangeError(`mlp learningRate must be > 0, got ${r.learningRate}`);
  if (!(r.l2 >= 0)) throw new RangeError(`mlp l2 must be >= 0, got ${r.l2}`);
  return r;
}

/** Training history, useful to check convergence. */
export interface MlpTrainingInfo {
  epochsRun: number;
  /** Mean squared error on the standardised target, per epoch. */
  lossHistory: number[];
}

export class MlpModel implements TrainedModel {
  readonly modelType = 'mlp' as const;
  constructor(
    readonly featureNames: readonly string[],
    /** Folded layers (raw features in, watts out), weights float32-rounded. */
    readonly layers: readonly DenseLayer[],
    readonly seed: number,
    readonly hyper: Record<string, unknown>,
    readonly training: MlpTrainingInfo,
  ) {}

  predict(batch: FeatureInput): Float64Array {
    const F = this.featureNames.length;
    const { data, rows } = toRowMajor(batch, F, 'batch');
    const out = new Float64Array(rows);
    const widest = Math.max(F, ...this.layers.map((l) => l.outputs));
    let a = new Float64Array(widest);
    let b = new Float64Array(widest);
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < F; f++) a[f] = data[r * F + f]!;
      this.layers.forEach((l, li) => {
        const W = l.weights;
        const relu = li < this.layers.length - 1;
        for (let j = 0; j < l.outputs; j++) b[j] = l.bias[j]!;
        for (let i = 0; i < l.inputs; i++) {
          const v = a[i]!;
          if (v === 0) continue;
          const off = i * l.outputs;
          for (let j = 0; j < l.outputs; j++) b[j]! += v * W[off + j]!;
        }
        if (relu) for (let j = 0; j < l.outputs; j++) if (b[j]! < 0) b[j] = 0;
        const t = a;
        a = b;
        b = t;
      });
      out[r] = a[0]!;
    }
    return out;
  }

  toOnnx(options: OnnxExportOptions = {}): Uint8Array {
    return mlpModelBytes(this.layers, options.graphName ?? 'wattflow_mlp', options);
  }
}

export function trainMlp(
  X: FeatureInput,
  y: ArrayLike<number>,
  featureNames: readonly string[],
  seed: number,
  hyper: MlpHyper = {},
): MlpModel {
  const hp = resolveMlpHyper(hyper);
  const F = featureNames.length;
  const { data, rows: n } = toRowMajor(X, F);
  if (y.length !== n) throw new RangeError(`y has ${y.length} values for ${n} rows`);
  if (n < 2) throw new RangeError('mlp needs at least 2 rows');

  // Standardisation parameters.
  const mu = new Float64Array(F);
  const sd = new Float64Array(F);
  for (let f = 0; f < F; f++) {
    let s = 0;
    for (let r = 0; r < n; r++) s += data[r * F + f]!;
    mu[f] = s / n;
    let v = 0;
    for (let r = 0; r < n; r++) v += (data[r * F + f]! - mu[f]!) ** 2;
    sd[f] = Math.sqrt(v / n) || 1;
  }
  let yMean = 0;
  for (let r = 0; r < n; r++) yMean += y[r]!;
  yMean /= n;
  let yVar = 0;
  for (let r = 0; r < n; r++) yVar += (y[r]! - yMean) ** 2;
  const ySd = Math.sqrt(yVar / n) || 1;
  const Z = new Float64Array(n * F);
  for (let r = 0; r < n; r++) for (let f = 0; f < F; f++) Z[r * F + f] = (data[r * F + f]! - mu[f]!) / sd[f]!;
  const T = new Float64Array(n);
  for (let r = 0; r < n; r++) T[r] = (y[r]! - yMean) / ySd;

  // Parameters.
  const rng = createRng(seed);
  const sizes = [F, ...hp.hiddenLayers, 1];
  const L = sizes.length - 1;
  const W: Float64Array[] = [];
  const B: Float64Array[] = [];
  for (let l = 0; l < L; l++) {
    const fanIn = sizes[l]!;
    const std = Math.sqrt((l < L - 1 ? 2 : 1) / fanIn);
    const w = new Float64Array(fanIn * sizes[l + 1]!);
    for (let k = 0; k < w.length; k++) w[k] = rng.normal() * std;
    W.push(w);
    B.push(new Float64Array(sizes[l + 1]!));
  }
  const gW = W.map((w) => new Float64Array(w.length));
  const gB = B.map((b) => new Float64Array(b.length));
  const mW = W.map((w) => new Float64Array(w.length));
  const vW = W.map((w) => new Float64Array(w.length));
  const mB = B.map((b) => new Float64Array(b.length));
  const vB = B.map((b) => new Float64Array(b.length));

  const bs = Math.min(hp.batchSize, n);
  // act[l]: activations entering layer l (act[0] = inputs), per batch row; act[L] = outputs.
  const act = sizes.map((s) => new Float64Array(bs * s));
  const delta = sizes.map((s) => new Float64Array(bs * s));
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;

  const lossHistory: number[] = [];
  let best = Infinity;
  let sinceBest = 0;
  let step = 0;
  let epoch = 0;
  for (; epoch < hp.epochs; epoch++) {
    rng.shuffle(order);
    const lr = hp.learningRate * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * epoch) / hp.epochs)));
    let epochLoss = 0;
    for (let start = 0; start < n; start += bs) {
      const m = Math.min(bs, n - start);
      // Forward.
      const a0 = act[0]!;
      for (let b = 0; b < m; b++) {
        const r = order[start + b]!;
        for (let f = 0; f < F; f++) a0[b * F + f] = Z[r * F + f]!;
      }
      for (let l = 0; l < L; l++) {
        const nin = sizes[l]!;
        const nout = sizes[l + 1]!;
        const w = W[l]!;
        const bias = B[l]!;
        const ain = act[l]!;
        const aout = act[l + 1]!;
        const relu = l < L - 1;
        for (let b = 0; b < m; b++) {
          const oo = b * nout;
          for (let j = 0; j < nout; j++) aout[oo + j] = bias[j]!;
          for (let i = 0; i < nin; i++) {
            const v = ain[b * nin + i]!;
            if (v === 0) continue;
            const wo = i * nout;
            for (let j = 0; j < nout; j++) aout[oo + j]! += v * w[wo + j]!;
          }
          if (relu) for (let j = 0; j < nout; j++) if (aout[oo + j]! < 0) aout[oo + j] = 0;
        }
      }
      // Loss gradient (MSE / 2, mean over batch).
      const out = act[L]!;
      const dOut = delta[L]!;
      for (let b = 0; b < m; b++) {
        const e = out[b]! - T[order[start + b]!]!;
        epochLoss += e * e;
        dOut[b] = e / m;
      }
      // Backward.
      for (let l = L - 1; l >= 0; l--) {
        const nin = sizes[l]!;
        const nout = sizes[l + 1]!;
        const w = W[l]!;
        const gw = gW[l]!;
        const gb = gB[l]!;
        const ain = act[l]!;
        const dout = delta[l + 1]!;
        const din = delta[l]!;
        gw.fill(0);
        gb.fill(0);
        for (let b = 0; b < m; b++) {
          const oo = b * nout;
          for (let j = 0; j < nout; j++) gb[j]! += dout[oo + j]!;
          for (let i = 0; i < nin; i++) {
            const v = ain[b * nin + i]!;
            if (v === 0) {
              // Inactive ReLU unit (or zero input): no weight gradient, no back-propagated signal.
              if (l > 0) din[b * nin + i] = 0;
              continue;
            }
            const wo = i * nout;
            if (l > 0) {
              // Hidden activations are ReLU outputs, so v > 0 here: derivative 1.
              let s = 0;
              for (let j = 0; j < nout; j++) {
                const d = dout[oo + j]!;
                s += w[wo + j]! * d;
                gw[wo + j]! += v * d;
              }
              din[b * nin + i] = s;
            } else {
              for (let j = 0; j < nout; j++) gw[wo + j]! += v * dout[oo + j]!;
            }
          }
        }
      }
      // Adam update.
      step++;
      const c1 = 1 - hp.beta1 ** step;
      const c2 = 1 - hp.beta2 ** step;
      const update = (p: Float64Array, g: Float64Array, mm: Float64Array, vv: Float64Array, decay: number) => {
        for (let k = 0; k < p.length; k++) {
          const gk = g[k]! + decay * p[k]!;
          mm[k] = hp.beta1 * mm[k]! + (1 - hp.beta1) * gk;
          vv[k] = hp.beta2 * vv[k]! + (1 - hp.beta2) * gk * gk;
          p[k]! -= (lr * (mm[k]! / c1)) / (Math.sqrt(vv[k]! / c2) + 1e-8);
        }
      };
      for (let l = 0; l < L; l++) {
        update(W[l]!, gW[l]!, mW[l]!, vW[l]!, hp.l2);
        update(B[l]!, gB[l]!, mB[l]!, vB[l]!, 0);
      }
    }
    epochLoss /= n;
    lossHistory.push(epochLoss);
    if (!Number.isFinite(epochLoss)) throw new Error(`mlp training diverged at epoch ${epoch} (loss ${epochLoss}); lower learningRate`);
    if (epochLoss < best * (1 - hp.tol)) {
      best = epochLoss;
      sinceBest = 0;
    } else if (++sinceBest >= hp.patience) {
      epoch++;
      break;
    }
  }

  // Fold standardisation into the first layer and target scaling into the last one.
  const layers: DenseLayer[] = [];
  for (let l = 0; l < L; l++) {
    const nin = sizes[l]!;
    const nout = sizes[l + 1]!;
    const w = Float64Array.from(W[l]!);
    const b = Float64Array.from(B[l]!);
    if (l === 0) {
      for (let i = 0; i < nin; i++) {
        for (let j = 0; j < nout; j++) {
          const wij = w[i * nout + j]! / sd[i]!;
          w[i * nout + j] = wij;
          b[j]! -= mu[i]! * wij;
        }
      }
    }
    if (l === L - 1) {
      for (let k = 0; k < w.length; k++) w[k]! *= ySd;
      for (let j = 0; j < nout; j++) b[j] = b[j]! * ySd + yMean;
    }
    layers.push({ inputs: nin, outputs: nout, weights: Float32Array.from(w), bias: Float32Array.from(b) });
  }
  return new MlpModel(featureNames, layers, seed, { ...hp, hiddenLayers: [...hp.hiddenLayers] }, {
    epochsRun: epoch,
    lossHistory,
  });
}

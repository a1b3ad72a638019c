/**
 * Types shared by the trainers: model kinds, hyper-parameters (all optional, with documented
 * defaults) and the in-process TrainedModel contract (predict + toOnnx).
 */
import type { FeatureInput } from '../dataset/types.js';
import type { ModelOptions } from '../onnx/builder.js';

export type ModelType = 'linear' | 'polynomial' | 'rf' | 'mlp';
export const MODEL_TYPES: readonly ModelType[] = ['linear', 'polynomial', 'rf', 'mlp'];

export interface LinearHyper {
  /** Fit an intercept (default true). */
  fitIntercept?: boolean;
}

export interface PolynomialHyper {
  /** Total degree of the monomials (default 2, at most 4). */
  degree?: number;
  /** Fit an intercept / bias term (default true). */
  fitIntercept?: boolean;
}

export interface RandomForestHyper {
  /** Number of trees (default 50). */
  nEstimators?: number;
  /** Maximum depth, root = depth 0 (default 10). */
  maxDepth?: number;
  /** Minimum samples in a leaf (default 5). */
  minSamplesLeaf?: number;
  /** Minimum samples to consider splitting a node (default 2 × minSamplesLeaf). */
  minSamplesSplit?: number;
  /** Features tried per split: a value ≤ 1 is a fraction of the features (1 = all), a larger one a count. Default 1 (all, like scikit-learn's regressor). */
  maxFeatures?: number;
  /** Bootstrap sampling of rows per tree (default true). */
  bootstrap?: boolean;
}

export interface MlpHyper {
  /** Hidden layer sizes (default [64, 32, 16, 8]), ReLU activations. */
  hiddenLayers?: number[];
  /** Passes over the training data (default 150). */
  epochs?: number;
  /** Mini-batch size (default 64). */
  batchSize?: number;
  /** Adam learning rate (default 0.002), decayed by cosine to 5 % of it over the epochs. */
  learningRate?: number;
  /** L2 penalty on weights (default 1e-5). */
  l2?: number;
  /** Adam β1 (default 0.9). */
  beta1?: number;
  /** Adam β2 (default 0.999). */
  beta2?: number;
  /** Stop when the epoch's training loss has not improved by `tol` (relative) for `patience` epochs (defaults 1e-4, 15). */
  patience?: number;
  tol?: number;
}

export interface HyperByType {
  linear: LinearHyper;
  polynomial: PolynomialHyper;
  rf: RandomForestHyper;
  mlp: MlpHyper;
}

export type TrainOptions = {
  [K in ModelType]: {
    modelType: K;
    /** Training features: rows, or flat row-major with featureNames.length columns. */
    X: FeatureInput;
    /** Training targets (W). */
    y: ArrayLike<number>;
    /** Feature names in column order (also the ONNX input column order). */
    featureNames: readonly string[];
    /** Random seed (default 0); ignored by the deterministic closed-form models. */
    seed?: number;
    hyper?: HyperByType[K];
  };
}[ModelType];

/** Options for ONNX export. */
export interface OnnxExportOptions extends ModelOptions {
  /** ONNX graph name (default `wattflow_<modelType>`). */
  graphName?: string;
}

/** An in-process trained model. */
export interface TrainedModel {
  readonly modelType: ModelType;
  readonly featureNames: readonly string[];
  readonly seed: number;
  /** Resolved hyper-parameters (defaults filled in), JSON-serialisable. */
  readonly hyper: Record<string, unknown>;
  /** Predicts a batch (rows or flat row-major); returns one value (W) per row. */
  predict(batch: FeatureInput): Float64Array;
  /** Exports the model as ONNX bytes (input `input` float32 [N,F], output `output` float32 [N,1]). */
  toOnnx(options?: OnnxExportOptions): Uint8Array;
}

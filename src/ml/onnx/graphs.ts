/**
 * ONNX graph layouts for each wattflow model type. Every graph takes `input` float32 [N, F]
 * (raw features in metadata order) and returns `output` float32 [N, 1] in watts.
 *
 *  - linear:      output = input · W[F,1] + b                                   (MatMul, Add)
 *  - polynomial:  columns via Gather, monomials via Mul, Concat → [N,T], then · W[T,1] + b
 *  - mlp:         (MatMul, Add, Relu) × hidden layers, then MatMul, Add; input standardisation
 *                 and target de-scaling are folded into the first / last layer weights
 *  - rf:          one ai.onnx.ml.TreeEnsembleRegressor, BRANCH_LEQ splits, aggregate AVERAGE
 */
import {
  attr,
  buildModel,
  floatTensor,
  int64Tensor,
  INPUT_NAME,
  node,
  ONNX_ML_DOMAIN,
  OUTPUT_NAME,
  type ModelOptions,
} from './builder.js';
import type { NodeProto, TensorProto } from './proto.js';

/**
 * Linear model over monomials of the raw features. `terms[k]` is the exponent vector (length F)
 * of the k-th monomial, `coefficients[k]` its weight. Plain linear regression is terms = identity.
 */
export interface PolynomialGraphParams {
  nFeatures: number;
  terms: ReadonlyArray<readonly number[]>;
  coefficients: ArrayLike<number>;
  intercept: number;
}

function isIdentityTerms(terms: ReadonlyArray<readonly number[]>, nFeatures: number): boolean {
  return (
    terms.length === nFeatures &&
    terms.every((t, k) => t.length === nFeatures && t.every((e, f) => e === (f === k ? 1 : 0)))
  );
}

export function polynomialModelBytes(p: PolynomialGraphParams, name: string, options?: ModelOptions): Uint8Array {
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  const T = p.terms.length;
  if (p.coefficients.length !== T) throw new Error('coefficients / terms length mismatch');
  let features = INPUT_NAME;
  if (!isIdentityTerms(p.terms, p.nFeatures)) {
    // Powers of each feature column, built on demand: pow[f][e] = x_f^e as [N,1].
    const pow = new Map<string, string>();
    const power = (f: number, e: number): string => {
      const key = `${f}^${e}`;
      const have = pow.get(key);
      if (have) return have;
      let out: string;
      if (e === 1) {
        const idx = `col${f}_index`;
        inits.push(int64Tensor(idx, [1], [f]));
        out = `x${f}`;
        nodes.push(node('Gather', [INPUT_NAME, idx], [out], `gather_x${f}`, [attr('axis', { kind: 'int', value: 1 })]));
      } else {
        out = `x${f}_pow${e}`;
        nodes.push(node('Mul', [power(f, e - 1), power(f, 1)], [out], `mul_${out}`));
      }
      pow.set(key, out);
      return out;
    };
    const termNames = p.terms.map((t, k) => {
      let acc: string | undefined;
      t.forEach((e, f) => {
        if (e === 0) return;
        const pw = power(f, e);
        if (acc === undefined) acc = pw;
        else {
          const out = `term${k}_x${f}`;
          nodes.push(node('Mul', [acc, pw], [out], `mul_${out}`));
          acc = out;
        }
      });
      if (acc === undefined) throw new Error('a polynomial term must have a nonzero exponent');
      return acc;
    });
    features = 'poly_features';
    nodes.push(node('Concat', termNames, [features], 'concat_terms', [attr('axis', { kind: 'int', value: 1 })]));
  }
  inits.push(floatTensor('W', [T, 1], p.coefficients));
  inits.push(floatTensor('B', [1], [p.intercept]));
  nodes.push(node('MatMul', [features, 'W'], ['linear'], 'matmul'));
  nodes.push(node('Add', ['linear', 'B'], [OUTPUT_NAME], 'add_bias'));
  return buildModel({ name, nodes, initializers: inits, nFeatures: p.nFeatures, usesMl: false }, options);
}

/** Dense layer, weights row-major [inputs × outputs] (so that x[1×in] · W = y[1×out]). */
export interface DenseLayer {
  inputs: number;
  outputs: number;
  weights: ArrayLike<number>;
  bias: ArrayLike<number>;
}

export function mlpModelBytes(layers: readonly DenseLayer[], name: string, options?: ModelOptions): Uint8Array {
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  let prev = INPUT_NAME;
  layers.forEach((l, i) => {
    const last = i === layers.length - 1;
    inits.push(floatTensor(`W${i}`, [l.inputs, l.outputs], l.weights));
    inits.push(floatTensor(`B${i}`, [l.outputs], l.bias));
    nodes.push(node('MatMul', [prev, `W${i}`], [`mm${i}`], `matmul${i}`));
    const add = last ? OUTPUT_NAME : `pre${i}`;
    nodes.push(node('Add', [`mm${i}`, `B${i}`], [add], `add${i}`));
    if (!last) {
      nodes.push(node('Relu', [add], [`h${i}`], `relu${i}`));
      prev = `h${i}`;
    }
  });
  const nFeatures = layers[0]?.inputs;
  if (nFeatures === undefined || layers[layers.length - 1]!.outputs !== 1) throw new Error('bad MLP layer list');
  return buildModel({ name, nodes, initializers: inits, nFeatures, usesMl: false }, options);
}

/**
 * One regression tree as flat arrays indexed by node id (root = 0). Internal node: x[feature] <=
 * threshold goes to `left`, else `right`. Leaf: left = right = -1, `value` is the prediction.
 */
export interface FlatTree {
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  value: Float32Array;
}

export function treeEnsembleModelBytes(
  trees: readonly FlatTree[],
  nFeatures: number,
  name: string,
  options?: ModelOptions,
): Uint8Array {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: string[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const tTree: number[] = [];
  const tNode: number[] = [];
  const tIds: number[] = [];
  const tWeights: number[] = [];
  trees.forEach((t, ti) => {
    for (let n = 0; n < t.feature.length; n++) {
      const leaf = t.left[n]! < 0;
      treeIds.push(ti);
      nodeIds.push(n);
      featureIds.push(leaf ? 0 : t.feature[n]!);
      modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      values.push(leaf ? 0 : t.threshold[n]!);
      trueIds.push(leaf ? 0 : t.left[n]!);
      falseIds.push(leaf ? 0 : t.right[n]!);
      if (leaf) {
        tTree.push(ti);
        tNode.push(n);
        tIds.push(0);
        tWeights.push(t.value[n]!);
      }
    }
  });
  const ints = (value: number[]) => ({ kind: 'ints' as const, value });
  const ensemble = node(
    'TreeEnsembleRegressor',
    [INPUT_NAME],
    [OUTPUT_NAME],
    'forest',
    [
      attr('aggregate_function', { kind: 'string', value: 'AVERAGE' }),
      attr('n_targets', { kind: 'int', value: 1 }),
      attr('post_transform', { kind: 'string', value: 'NONE' }),
      attr('nodes_treeids', ints(treeIds)),
      attr('nodes_nodeids', ints(nodeIds)),
      attr('nodes_featureids', ints(featureIds)),
      attr('nodes_modes', { kind: 'strings', value: modes }),
      attr('nodes_values', { kind: 'floats', value: values }),
      attr('nodes_truenodeids', ints(trueIds)),
      attr('nodes_falsenodeids', ints(falseIds)),
      attr('target_treeids', ints(tTree)),
      attr('target_nodeids', ints(tNode)),
      attr('target_ids', ints(tIds)),
      attr('target_weights', { kind: 'floats', value: tWeights }),
    ],
    ONNX_ML_DOMAIN,
  );
  return buildModel({ name, nodes: [ensemble], initializers: [], nFeatures, usesMl: true }, options);
}

/**
 * `trainModel`: dispatches to the least-squares, random forest and MLP trainers; every returned
 * model predicts in process and exports itself to ONNX.
 */
import { trainRandomForest, type RandomForestModel } from './forest.js';
import { trainLinear, type LinearModel } from './linear.js';
import { trainMlp, type MlpModel } from './mlp.js';
import type { ModelType, TrainOptions } from './types.js';

export type ModelFor<T extends ModelType> = T extends 'linear' | 'polynomial'
  ? LinearModel
  : T extends 'rf'
    ? RandomForestModel
    : MlpModel;

/** Trains a model of the requested type. Fixed inputs and seed always give the same model. */
export function trainModel<T extends TrainOptions>(options: T): ModelFor<T['modelType']>;
export function trainModel(options: TrainOptions): LinearModel | RandomForestModel | MlpModel {
  const { X, y, featureNames } = options;
  const seed = options.seed ?? 0;
  if (featureNames.length === 0) throw new RangeError('featureNames must not be empty');
  switch (options.modelType) {
    case 'linear':
      return trainLinear('linear', X, y, featureNames, options.hyper);
    case 'polynomial':
      return trainLinear('polynomial', X, y, featureNames, options.hyper);
    case 'rf':
      return trainRandomForest(X, y, featureNames, seed, options.hyper);
    case 'mlp':
      return trainMlp(X, y, featureNames, seed, options.hyper);
    default: {
      const t: never = options;
      throw new RangeError(`unknown modelType ${JSON.stringify((t as { modelType: unknown }).modelType)}`);
    }
  }
}

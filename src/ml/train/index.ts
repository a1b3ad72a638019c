/** Public surface of model training: trainModel, model classes, the end-to-end pipeline. */
export * from './types.js';
export { trainModel, type ModelFor } from './train.js';
export { LinearModel, polynomialTerms, termName, fitLeastSquares } from './linear.js';
export { RandomForestModel, resolveForestHyper, type ResolvedForestHyper } from './forest.js';
export { MlpModel, resolveMlpHyper, type MlpTrainingInfo, type ResolvedMlpHyper } from './mlp.js';
export * from './pipeline.js';

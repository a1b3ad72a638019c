/** Public surface of the dataset module: CSV loading, splitting, metrics, seeded RNG, synthetic data. */
export * from './types.js';
export * from './csv.js';
export * from './split.js';
export * from './metrics.js';
export * from './rng.js';
export * from './synthetic.js';

/** The vehicle pipeline's components, assembled from the configuration (one file per component: components/). */
export * from './components/stores.js';
export * from './components/api.js';
export * from './components/predictor.js';
export * from './components/prediction-sink.js';
export * from './components/up.js';

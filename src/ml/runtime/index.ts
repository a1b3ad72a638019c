/** Public surface of the runtime module: OnnxPowerModel (batched, one-core onnxruntime inference). */
export * from './onnx-power-model.js';

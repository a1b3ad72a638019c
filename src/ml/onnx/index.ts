/** Public surface of the ONNX module: graph writers, metadata (type, schema, props), model validation. */
export * from './builder.js';
export * from './graphs.js';
export * from './metadata.js';
export * from './reader.js';
export { decodeModelSummary, type DecodedModelSummary } from './proto.js';

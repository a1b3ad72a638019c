/** Public surface of the ONNX module: graph writers, metadata (type, schema, props), model validation. */
export * from './builder.js';
export * from './graphs.js';
export * from './metadata.js';
export * from './reader.js';
export {
  AttributeType,
  DataType,
  decodeModelSummary,
  encodeModel,
  type DecodedModelSummary,
  type ModelProto,
  type GraphProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';

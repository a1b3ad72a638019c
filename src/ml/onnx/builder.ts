/**
 * Small helpers to assemble ONNX graphs (tensors, attributes, nodes, value infos) and serialise a
 * complete ModelProto with ir_version 8, opset 17 for ai.onnx and opset 3 for ai.onnx.ml.
 * All float tensors are float32 (raw_data, little-endian), as onnxruntime expects for float graphs.
 */
import {
  AttributeType,
  DataType,
  encodeModel,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';

export const IR_VERSION = 8;
export const ONNX_OPSET = 17;
export const ONNX_ML_OPSET = 3;
export const ONNX_ML_DOMAIN = 'ai.onnx.ml';
export const PRODUCER_NAME = 'wattflow';
/** Bumped when the graph layout changes (it is part of the bytes, hence of the sha256). */
export const PRODUCER_VERSION = '1';
/** Graph input / output names of every wattflow model. */
export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'output';
/** Symbolic batch dimension name. */
export const BATCH_DIM = 'N';

/** float32 initializer from any numbers (rounded to float32). */
export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): TensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== values.length) throw new Error(`tensor ${name}: ${values.length} values for dims [${dims}]`);
  const raw = new Uint8Array(values.length * 4);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i]!, true);
  return { name, dims, data_type: DataType.FLOAT, raw_data: raw };
}

/** int64 initializer. */
export function int64Tensor(name: string, dims: number[], values: readonly number[]): TensorProto {
  return { name, dims, data_type: DataType.INT64, int64_data: [...values] };
}

const utf8 = new TextEncoder();

export type AttrValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: ArrayLike<number> }
  | { kind: 'floats'; value: ArrayLike<number> }
  | { kind: 'strings'; value: readonly string[] };

export function attr(name: string, v: AttrValue): AttributeProto {
  switch (v.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: v.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: v.value };
    case 'string':
      return { name, type: AttributeType.STRING, s: utf8.encode(v.value) };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: Array.from(v.value) };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: Array.from(v.value, (x) => Math.fround(x)) };
    case 'strings':
      return { name, type: AttributeType.STRINGS, strings: v.value.map((s) => utf8.encode(s)) };
  }
}

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attributes: AttributeProto[] = [],
  domain = '',
): NodeProto {
  return { op_type: opType, input: inputs, output: outputs, name, attribute: attributes, domain };
}

/** Tensor value info; a string dim is symbolic (e.g. 'N'), a number is fixed. */
export function tensorValueInfo(name: string, elemType: number, dims: Array<number | string>): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

export interface GraphSpec {
  name: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  /** Number of input features (graph input is float32 [N, nFeatures]). */
  nFeatures: number;
  /** Whether the graph uses ai.onnx.ml operators. */
  usesMl: boolean;
  docString?: string;
}

export interface ModelOptions {
  /** Key/value metadata stored in ModelProto.metadata_props (sorted by key for determinism). */
  metadataProps?: Record<string, string>;
  docString?: string;
  /** ModelProto.model_version (integer, default 1). */
  modelVersion?: number;
}

/** Serialises a graph with the standard wattflow input/output signature into ONNX bytes. */
export function buildModel(spec: GraphSpec, options: ModelOptions = {}): Uint8Array {
  const props = options.metadataProps ?? {};
  const opsets = [{ domain: '', version: ONNX_OPSET }];
  if (spec.usesMl) opsets.push({ domain: ONNX_ML_DOMAIN, version: ONNX_ML_OPSET });
  return encodeModel({
    ir_version: IR_VERSION,
    producer_name: PRODUCER_NAME,
    producer_version: PRODUCER_VERSION,
    domain: 'io.wattflow',
    model_version: options.modelVersion ?? 1,
    doc_string: options.docString ?? '',
    opset_import: opsets,
    metadata_props: Object.keys(props)
      .sort()
      .map((key) => ({ key, value: props[key]! })),
    graph: {
      name: spec.name,
      node: spec.nodes,
      initializer: spec.initializers,
      input: [tensorValueInfo(INPUT_NAME, DataType.FLOAT, [BATCH_DIM, spec.nFeatures])],
      output: [tensorValueInfo(OUTPUT_NAME, DataType.FLOAT, [BATCH_DIM, 1])],
      doc_string: spec.docString ?? '',
    },
  });
}

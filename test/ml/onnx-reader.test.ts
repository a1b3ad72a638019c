/**
 * ONNX validation of arbitrary models: our exports, scikit-learn-like signatures (skl2onnx names,
 * unnamed/None batch dims, [N] output, double precision) and broken models, each rejected with
 * the right OnnxModelError code. Also checks the metadata_props round trip through the header.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DataType,
  encodeModel,
  floatTensor,
  int64Tensor,
  metadataFromProps,
  node,
  OnnxModelError,
  sha256Hex,
  validateOnnxModel,
  type NodeProto,
  type OnnxModelErrorCode,
  type TensorProto,
  type ValueInfoProto,
} from '../../src/ml/onnx/index.js';
import { trainModel } from '../../src/ml/train/index.js';

type DimSpec = number | string | null;
const vi = (name: string, elemType: number, dims: DimSpec[] | undefined): ValueInfoProto =>
  ({
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        ...(dims === undefined
          ? {}
          : { shape: { dim: dims.map((d) => (d === null ? {} : typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } }),
      },
    },
  }) as ValueInfoProto;

function model(opts: {
  nodes: NodeProto[];
  inits?: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  ml?: boolean;
}): Uint8Array {
  return encodeModel({
    ir_version: 8,
    producer_name: 'test',
    producer_version: '0',
    opset_import: [{ domain: '', version: 17 }, ...(opts.ml ? [{ domain: 'ai.onnx.ml', version: 3 }] : [])],
    metadata_props: [],
    graph: { name: 'g', node: opts.nodes, initializer: opts.inits ?? [], input: opts.inputs, output: opts.outputs },
  });
}

/** y = x · [0.001, 20] + 700, with configurable names and shapes. */
function linearLike(
  inDims: DimSpec[] | undefined,
  outDims: DimSpec[] | undefined,
  o: { inName?: string; outName?: string; wRows?: number; bias?: number } = {},
): Uint8Array {
  const inName = o.inName ?? 'input';
  const outName = o.outName ?? 'output';
  const wRows = o.wRows ?? 2;
  return model({
    nodes: [node('MatMul', [inName, 'W'], ['mm'], 'mm'), node('Add', ['mm', 'B'], [outName], 'add')],
    inits: [floatTensor('W', [wRows, 1], wRows === 2 ? [0.001, 20] : new Array<number>(wRows).fill(1)), floatTensor('B', [1], [o.bias ?? 700])],
    inputs: [vi(inName, DataType.FLOAT, inDims)],
    outputs: [vi(outName, DataType.FLOAT, outDims)],
  });
}

async function expectCode(bytes: Uint8Array, code: OnnxModelErrorCode, msg?: RegExp): Promise<void> {
  await assert.rejects(validateOnnxModel(bytes), (err: unknown) => {
    assert.ok(err instanceof OnnxModelError, `expected OnnxModelError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (msg) assert.match(err.message, msg);
    return true;
  });
}

describe('validateOnnxModel: accepted signatures', () => {
  test('our exports: input [N,2] float32, output [N,1], header and metadata props readable', async () => {
    const m = trainModel({
      modelType: 'linear',
      X: [
        [64, 0.1],
        [1500, 0.5],
        [700, 0.9],
      ],
      y: [702, 709, 717],
      featureNames: ['PacketSize_B', 'Throughput_Percentage'],
    });
    const bytes = m.toOnnx({ metadataProps: { name: 'lin', router_type: 'huawei', features: '[{"name":"PacketSize_B","unit":"bytes"}]' } });
    const info = await validateOnnxModel(bytes);
    assert.equal(info.inputName, 'input');
    assert.equal(info.outputName, 'output');
    assert.deepEqual(info.inputShape, ['N', 2]);
    assert.deepEqual(info.outputShape, ['N', 1]);
    assert.equal(info.inputType, 'float32');
    assert.equal(info.irVersion, 8);
    assert.equal(info.producerName, 'wattflow');
    assert.equal(info.sha256, sha256Hex(bytes));
    assert.equal(info.metadataProps.name, 'lin');
    const meta = metadataFromProps(info.metadataProps);
    assert.equal(meta.router_type, 'huawei');
    assert.deepEqual(meta.features, [{ name: 'PacketSize_B', unit: 'bytes' }]);
  });

  test('skl2onnx-style names and batch dims (None, unnamed, -1), [N] output, no declared shapes', async () => {
    for (const batch of ['None', null, -1] as DimSpec[]) {
      const info = await validateOnnxModel(linearLike([batch, 2], [batch, 1], { inName: 'float_input', outName: 'variable' }));
      assert.equal(info.inputName, 'float_input');
      assert.equal(info.outputName, 'variable');
    }
    const flat = model({
      nodes: [
        node('MatMul', ['X', 'W'], ['mm'], 'mm'),
        node('Add', ['mm', 'B'], ['col'], 'add'),
        node('Reshape', ['col', 'shape'], ['y'], 'flatten'),
      ],
      inits: [floatTensor('W', [2, 1], [0.001, 20]), floatTensor('B', [1], [700]), int64Tensor('shape', [1], [-1])],
      inputs: [vi('X', DataType.FLOAT, ['batch', 2])],
      outputs: [vi('y', DataType.FLOAT, ['batch'])],
    });
    assert.deepEqual((await validateOnnxModel(flat)).outputShape, ['batch']);
    await validateOnnxModel(linearLike(undefined, undefined));
    await validateOnnxModel(linearLike(['N', 'F'], ['N', 'one']));
  });

  test('double-precision (float64) models are accepted', async () => {
    const bytes = model({
      nodes: [node('MatMul', ['X', 'W'], ['mm'], 'mm'), node('Add', ['mm', 'B'], ['y'], 'add')],
      inits: [
        { name: 'W', dims: [2, 1], data_type: DataType.DOUBLE, raw_data: new Uint8Array(Float64Array.from([0.001, 20]).buffer) },
        { name: 'B', dims: [1], data_type: DataType.DOUBLE, raw_data: new Uint8Array(Float64Array.from([700]).buffer) },
      ],
      inputs: [vi('X', DataType.DOUBLE, [null, 2])],
      outputs: [vi('y', DataType.DOUBLE, [null, 1])],
    });
    const info = await validateOnnxModel(bytes);
    assert.equal(info.inputType, 'float64');
    assert.equal(info.outputType, 'float64');
  });
});

describe('validateOnnxModel: typed errors', () => {
  test('empty, garbage and truncated bytes', async () => {
    await expectCode(new Uint8Array(0), 'EMPTY');
    await expectCode(new TextEncoder().encode('this is not an onnx model at all'), 'CORRUPT', /cannot load/);
    const good = linearLike(['N', 2], ['N', 1]);
    await expectCode(good.subarray(0, Math.floor(good.length / 2)), 'CORRUPT');
  });

  test('wrong input shapes: 3 features, fixed batch, rank 1', async () => {
    await expectCode(linearLike(['N', 3], ['N', 1], { wRows: 3 }), 'INPUT_SHAPE', /expected \[N, 2\]/);
    await expectCode(linearLike([1, 2], [1, 1]), 'INPUT_SHAPE', /fixed batch dimension/);
    const rank1 = model({
      nodes: [node('Identity', ['x'], ['y'], 'id')],
      inputs: [vi('x', DataType.FLOAT, [2])],
      outputs: [vi('y', DataType.FLOAT, [2])],
    });
    await expectCode(rank1, 'INPUT_SHAPE');
  });

  test('wrong input count and type', async () => {
    const twoOk = model({
      nodes: [node('Add', ['a', 'b'], ['y'], 'add')],
      inputs: [vi('a', DataType.FLOAT, ['N', 2]), vi('b', DataType.FLOAT, ['N', 2])],
      outputs: [vi('y', DataType.FLOAT, ['N', 2])],
    });
    await expectCode(twoOk, 'INPUT_COUNT', /exactly 1 input/);
    const ints = model({
      nodes: [node('Cast', ['x'], ['xf'], 'cast', [{ name: 'to', type: 2, i: DataType.FLOAT }]), node('MatMul', ['xf', 'W'], ['y'], 'mm')],
      inits: [floatTensor('W', [2, 1], [1, 1])],
      inputs: [vi('x', DataType.INT64, ['N', 2])],
      outputs: [vi('y', DataType.FLOAT, ['N', 1])],
    });
    await expectCode(ints, 'INPUT_TYPE', /int64/);
  });

  test('wrong outputs: two outputs, [N,2] output, integer output', async () => {
    const twoOut = model({
      nodes: [node('MatMul', ['input', 'W'], ['y1'], 'mm'), node('Identity', ['y1'], ['y2'], 'id')],
      inits: [floatTensor('W', [2, 1], [1, 1])],
      inputs: [vi('input', DataType.FLOAT, ['N', 2])],
      outputs: [vi('y1', DataType.FLOAT, ['N', 1]), vi('y2', DataType.FLOAT, ['N', 1])],
    });
    await expectCode(twoOut, 'OUTPUT_COUNT');
    const wide = model({
      nodes: [node('Identity', ['input'], ['y'], 'id')],
      inputs: [vi('input', DataType.FLOAT, ['N', 2])],
      outputs: [vi('y', DataType.FLOAT, ['N', 2])],
    });
    await expectCode(wide, 'OUTPUT_SHAPE', /expected \[N\] or \[N, 1\]/);
    const wideUndeclared = model({
      nodes: [node('Identity', ['input'], ['y'], 'id')],
      inputs: [vi('input', DataType.FLOAT, ['N', 2])],
      outputs: [vi('y', DataType.FLOAT, undefined)],
    });
    await expectCode(wideUndeclared, 'OUTPUT_SHAPE');
    const intOut = model({
      nodes: [node('MatMul', ['input', 'W'], ['f'], 'mm'), node('Cast', ['f'], ['y'], 'cast', [{ name: 'to', type: 2, i: DataType.INT64 }])],
      inits: [floatTensor('W', [2, 1], [1, 1])],
      inputs: [vi('input', DataType.FLOAT, ['N', 2])],
      outputs: [vi('y', DataType.INT64, ['N', 1])],
    });
    await expectCode(intOut, 'OUTPUT_TYPE');
  });

  test('smoke prediction failures: shape error at run time, non-finite output', async () => {
    // Declares a dynamic feature dim but multiplies by a 3-row matrix: fails only when run.
    await expectCode(linearLike(['N', 'F'], ['N', 1], { wRows: 3 }), 'SMOKE_FAILED', /smoke prediction/);
    await expectCode(linearLike(['N', 2], ['N', 1], { bias: Number.NaN }), 'SMOKE_FAILED', /non-finite/);
  });
});

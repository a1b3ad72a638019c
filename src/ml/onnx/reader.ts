/**
 * Validation of arbitrary ONNX power models (ours or converted from scikit-learn with skl2onnx):
 * loads the bytes with onnxruntime, checks the signature — exactly one float tensor input of
 * rank 2 whose second dimension is the feature count (2) or symbolic, a dynamic batch dimension,
 * exactly one float tensor output shaped [N], [N,1] or dynamic — and runs a smoke prediction.
 * Every failure is an OnnxModelError with a machine-readable `code`.
 */
import * as ort from 'onnxruntime-node';
import { decodeModelSummary } from './proto.js';
import { sha256Hex } from './metadata.js';

export type OnnxModelErrorCode =
  | 'EMPTY'
  | 'CORRUPT'
  | 'INPUT_COUNT'
  | 'INPUT_TYPE'
  | 'INPUT_SHAPE'
  | 'OUTPUT_COUNT'
  | 'OUTPUT_TYPE'
  | 'OUTPUT_SHAPE'
  | 'SMOKE_FAILED'
  | 'SHA256_MISMATCH'
  | 'FEATURES_MISMATCH'
  | 'BAD_INPUT';

/** A typed error about an ONNX model or a request to it. */
export class OnnxModelError extends Error {
  override readonly name = 'OnnxModelError';
  constructor(
    readonly code: OnnxModelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type Dim = number | string;

export interface OnnxModelInfo {
  inputName: string;
  outputName: string;
  /** Element type of the input ('float32', or 'float64' for double-precision skl2onnx exports). */
  inputType: 'float32' | 'float64';
  outputType: 'float32' | 'float64';
  /** Declared shapes ([] when the model declares none); strings and negative numbers are dynamic. */
  inputShape: Dim[];
  outputShape: Dim[];
  /** Lower-case hex sha256 of the bytes. */
  sha256: string;
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: Array<{ domain: string; version: number }>;
  metadataProps: Record<string, string>;
}

export interface OpenOptions {
  /** Number of input features expected (default 2). */
  nFeatures?: number;
  /** Intra-op threads for the session (default 1: one core). */
  intraOpNumThreads?: number;
  /** Rows (row-major, nFeatures each) for the smoke prediction; default typical power features. */
  smokeRows?: number[][];
}

const isDynamic = (d: Dim): boolean => typeof d === 'string' || d < 0;
const FLOAT_TYPES = new Set(['float32', 'float64']);

/** Default smoke rows: [packet bytes, occupation fraction]. */
const DEFAULT_SMOKE = [
  [64, 0.1],
  [576, 0.5],
  [1500, 0.9],
];

/**
 * Opens an onnxruntime session on `bytes` after validating signature and a smoke run. The caller
 * owns the returned session (release it when done).
 */
export async function openValidatedSession(
  bytes: Uint8Array,
  options: OpenOptions = {},
): Promise<{ session: ort.InferenceSession; info: OnnxModelInfo }> {
  const nFeatures = options.nFeatures ?? 2;
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new OnnxModelError('EMPTY', 'ONNX model bytes are empty');
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Run-time failures are reported through OnnxModelError; keep onnxruntime's own stderr quiet.
      logSeverityLevel: 4,
    });
  } catch (err) {
    throw new OnnxModelError('CORRUPT', `onnxruntime cannot load the model: ${(err as Error).message}`, { cause: err });
  }
  try {
    const info = await checkSession(session, bytes, nFeatures, options.smokeRows);
    return { session, info };
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err;
  }
}

/** Validates an ONNX model and returns its description (the session is released). */
export async function validateOnnxModel(bytes: Uint8Array, options: OpenOptions = {}): Promise<OnnxModelInfo> {
  const { session, info } = await openValidatedSession(bytes, options);
  await session.release();
  return info;
}

function fmtShape(s: readonly Dim[]): string {
  return `[${s.map((d) => (typeof d === 'string' ? d || '?' : d < 0 ? '?' : d)).join(', ')}]`;
}

async function checkSession(
  session: ort.InferenceSession,
  bytes: Uint8Array,
  nFeatures: number,
  smokeRows: number[][] | undefined,
): Promise<OnnxModelInfo> {
  if (session.inputNames.length !== 1) {
    throw new OnnxModelError(
      'INPUT_COUNT',
      `model must have exactly 1 input (a [N, ${nFeatures}] float tensor), has ${session.inputNames.length}: ${session.inputNames.join(', ')}`,
    );
  }
  if (session.outputNames.length !== 1) {
    throw new OnnxModelError(
      'OUTPUT_COUNT',
      `model must have exactly 1 output (power), has ${session.outputNames.length}: ${session.outputNames.join(', ')}`,
    );
  }
  const inMeta = session.inputMetadata[0]!;
  const outMeta = session.outputMetadata[0]!;
  if (!inMeta.isTensor || !FLOAT_TYPES.has(inMeta.type)) {
    const t = inMeta.isTensor ? inMeta.type : 'non-tensor';
    throw new OnnxModelError('INPUT_TYPE', `input "${inMeta.name}" must be a float32 (or float64) tensor, is ${t}`);
  }
  if (!outMeta.isTensor || !FLOAT_TYPES.has(outMeta.type)) {
    const t = outMeta.isTensor ? outMeta.type : 'non-tensor';
    throw new OnnxModelError('OUTPUT_TYPE', `output "${outMeta.name}" must be a float32 (or float64) tensor, is ${t}`);
  }
  const inShape = [...inMeta.shape];
  const outShape = [...outMeta.shape];
  if (inShape.length !== 0) {
    const featDim = inShape[1];
    if (inShape.length !== 2 || featDim === undefined || (!isDynamic(featDim) && featDim !== nFeatures)) {
      throw new OnnxModelError(
        'INPUT_SHAPE',
        `input "${inMeta.name}" has shape ${fmtShape(inShape)}; expected [N, ${nFeatures}] (batch dimension dynamic)`,
      );
    }
    if (!isDynamic(inShape[0]!)) {
      throw new OnnxModelError(
        'INPUT_SHAPE',
        `input "${inMeta.name}" has a fixed batch dimension ${fmtShape(inShape)}; export it with a dynamic batch ` +
          `dimension, e.g. skl2onnx initial_types=[('input', FloatTensorType([None, ${nFeatures}]))]`,
      );
    }
  }
  if (outShape.length !== 0) {
    const ok =
      (outShape.length === 1 && isDynamic(outShape[0]!)) ||
      (outShape.length === 2 && isDynamic(outShape[0]!) && (outShape[1] === 1 || isDynamic(outShape[1]!)));
    if (!ok) {
      throw new OnnxModelError(
        'OUTPUT_SHAPE',
        `output "${outMeta.name}" has shape ${fmtShape(outShape)}; expected [N] or [N, 1]`,
      );
    }
  }
  const inputType = inMeta.type as 'float32' | 'float64';
  // Smoke prediction.
  const rows = smokeRows ?? DEFAULT_SMOKE.map((r) => (nFeatures === 2 ? r : new Array<number>(nFeatures).fill(1)));
  const flat = rows.flat();
  const tensor =
    inputType === 'float32'
      ? new ort.Tensor('float32', Float32Array.from(flat), [rows.length, nFeatures])
      : new ort.Tensor('float64', Float64Array.from(flat), [rows.length, nFeatures]);
  let values: ArrayLike<number>;
  let dims: readonly number[];
  try {
    const res = await session.run({ [inMeta.name]: tensor });
    const out = res[outMeta.name]!;
    values = out.data as ArrayLike<number>;
    dims = out.dims;
  } catch (err) {
    throw new OnnxModelError(
      'SMOKE_FAILED',
      `smoke prediction on a [${rows.length}, ${nFeatures}] float input failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const shapeOk = (dims.length === 1 || (dims.length === 2 && dims[1] === 1)) && dims[0] === rows.length;
  if (!shapeOk || values.length !== rows.length) {
    throw new OnnxModelError(
      'OUTPUT_SHAPE',
      `smoke prediction for ${rows.length} rows returned shape [${dims.join(', ')}]; expected [${rows.length}] or [${rows.length}, 1]`,
    );
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new OnnxModelError('SMOKE_FAILED', `smoke prediction returned a non-finite value (${values[i]}) for row ${i}`);
    }
  }
  let summary: ReturnType<typeof decodeModelSummary> | undefined;
  try {
    summary = decodeModelSummary(bytes);
  } catch {
    summary = undefined; // onnxruntime accepted it; the header is informational only
  }
  return {
    inputName: inMeta.name,
    outputName: outMeta.name,
    inputType,
    outputType: outMeta.type as 'float32' | 'float64',
    inputShape: inShape,
    outputShape: outShape,
    sha256: sha256Hex(bytes),
    irVersion: summary?.irVersion ?? 0,
    producerName: summary?.producerName ?? '',
    producerVersion: summary?.producerVersion ?? '',
    opsets: summary?.opsets ?? [],
    metadataProps: summary?.metadataProps ?? {},
  };
}

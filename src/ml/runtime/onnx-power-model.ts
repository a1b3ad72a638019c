/**
 * OnnxPowerModel: runs a validated ONNX router power model with onnxruntime-node on one core
 * (a single InferenceSession, intraOpNumThreads = 1, reused for every call).
 *
 * - `predictBatch(Float32Array n×2, graph column order)` → Float32Array of n watts, one run.
 * - `predictRows([{ PacketSize_B, Throughput_Percentage }])` maps named features to the graph
 *   order declared by the metadata (and converts a `percent` occupation unit if declared).
 * - `predictWithSensitivities(rows, epsilon)` returns power and both partial derivatives from ONE
 *   runtime call (see there for the finite-difference scheme and step choice).
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import {
  metadataFromProps,
  POWER_FEATURE_SPECS,
  POWER_TARGET_SPEC,
  splitUserMetadata,
  validateModelMetadata,
  type FeatureSpec,
  type ModelMetadata,
} from '../onnx/metadata.js';
import { OnnxModelError, openValidatedSession, type OnnxModelInfo } from '../onnx/reader.js';

/** One set of named power-model inputs, in caller units: bytes and occupation fraction 0..1. */
export interface PowerFeatureRow {
  PacketSize_B: number;
  Throughput_Percentage: number;
}

export type PowerFeatureName = keyof PowerFeatureRow;

/** The reference's finite-difference step (EPSILON). */
export const DEFAULT_EPSILON = 0.01;
/** Default packet-size step, bytes (see predictWithSensitivities). */
export const DEFAULT_PACKET_STEP_B = 1;

export interface SensitivityOptions {
  /** 'forward' (default, 3 rows per input, as the reference) or 'central' (5 rows per input). */
  scheme?: 'forward' | 'central';
  /** Step on PacketSize_B in bytes (default DEFAULT_PACKET_STEP_B = 1). */
  packetStepB?: number;
}

export interface SensitivityResult {
  /** Predicted power at each row, W. */
  power: Float64Array;
  /** ∂power/∂Throughput_Percentage, W per unit occupation fraction. */
  dPower_dThroughput: Float64Array;
  /** ∂power/∂PacketSize_B, W per byte. */
  dPower_dPacketSize: Float64Array;
  scheme: 'forward' | 'central';
  /** Nominal steps used (caller units). */
  steps: { Throughput_Percentage: number; PacketSize_B: number };
}

export interface LoadOptions {
  /** Intra-op threads (default 1 = one core). */
  intraOpNumThreads?: number;
  /** Check metadata.sha256 against the bytes when present (default true). */
  verifySha256?: boolean;
}

/** Multiplier from caller units to the model's declared unit, per feature. */
const UNIT_SCALE: Record<PowerFeatureName, Record<string, number>> = {
  PacketSize_B: { bytes: 1, B: 1 },
  Throughput_Percentage: { fraction: 1, percent: 100, '%': 100 },
};

export class OnnxPowerModel {
  private closed = false;

  private constructor(
    private readonly session: ort.InferenceSession,
    /** Signature and header of the ONNX file. */
    readonly info: OnnxModelInfo,
    /** Metadata in effect (given, else embedded in the ONNX, else defaults). */
    readonly metadata: Partial<ModelMetadata> & { features: FeatureSpec[] },
    /** Graph column of PacketSize_B and Throughput_Percentage. */
    private readonly column: Record<PowerFeatureName, number>,
    /** Caller-unit → model-unit multiplier per feature. */
    private readonly scale: Record<PowerFeatureName, number>,
  ) {}

  /**
   * Loads and validates a model. `meta` (usually the JSON document next to the .onnx) gives the
   * feature order and units; without it the metadata embedded in the ONNX is used, and for a
   * foreign model without any the order [PacketSize_B, Throughput_Percentage] is assumed.
   */
  static async load(
    bytes: Uint8Array,
    meta?: ModelMetadata | Partial<ModelMetadata>,
    options: LoadOptions = {},
  ): Promise<OnnxPowerModel> {
    const { session, info } = await openValidatedSession(bytes, {
      nFeatures: 2,
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
    });
    try {
      const embedded = metadataFromProps(info.metadataProps);
      const merged = { ...embedded, ...(meta ?? {}) };
      const features = merged.features ?? POWER_FEATURE_SPECS.map((f) => ({ ...f }));
      if ((options.verifySha256 ?? true) && merged.sha256 !== undefined && merged.sha256 !== info.sha256) {
        throw new OnnxModelError(
          'SHA256_MISMATCH',
          `metadata sha256 ${merged.sha256} does not match the ONNX bytes (${info.sha256})`,
        );
      }
      const column = {} as Record<PowerFeatureName, number>;
      const scale = {} as Record<PowerFeatureName, number>;
      for (const name of ['PacketSize_B', 'Throughput_Percentage'] as const) {
        const idx = features.findIndex((f) => f.name === name);
        if (idx < 0 || features.length !== 2) {
          throw new OnnxModelError(
            'FEATURES_MISMATCH',
            `a power model needs exactly the features PacketSize_B and Throughput_Percentage, metadata has: ${features
              .map((f) => f.name)
              .join(', ')}`,
          );
        }
        const s = UNIT_SCALE[name][features[idx]!.unit];
        if (s === undefined) {
          throw new OnnxModelError(
            'FEATURES_MISMATCH',
            `unsupported unit "${features[idx]!.unit}" for ${name} (known: ${Object.keys(UNIT_SCALE[name]).join(', ')})`,
          );
        }
        column[name] = idx;
        scale[name] = s;
      }
      return new OnnxPowerModel(session, info, { target: { ...POWER_TARGET_SPEC }, ...merged, features }, column, scale);
    } catch (err) {
      await session.release().catch(() => undefined);
      throw err;
    }
  }

  /** Reads `<model>.onnx` and, if given, its metadata JSON (validated against the schema). */
  static async loadFiles(onnxPath: string, metadataPath?: string, options?: LoadOptions): Promise<OnnxPowerModel> {
    const bytes = new Uint8Array(await readFile(onnxPath));
    const meta = metadataPath ? validateModelMetadata(splitUserMetadata(JSON.parse(await readFile(metadataPath, 'utf8')) as Record<string, unknown>)) : undefined;
    return OnnxPowerModel.load(bytes, meta, options);
  }

  /** Feature names in graph column order. */
  get featureOrder(): string[] {
    return this.metadata.features.map((f) => f.name);
  }

  /**
   * One runtime call on n rows: `features` is row-major n×2 in graph column order and model
   * units. Returns n predictions (W).
   */
  async predictBatch(features: Float32Array): Promise<Float32Array> {
    if (this.closed) throw new OnnxModelError('BAD_INPUT', 'model is closed');
    if (!(features instanceof Float32Array) || features.length % 2 !== 0) {
      throw new OnnxModelError('BAD_INPUT', `features must be a Float32Array of n×2 values, got length ${features.length}`);
    }
    const n = features.length / 2;
    if (n === 0) return new Float32Array(0);
    const input =
      this.info.inputType === 'float32'
        ? new ort.Tensor('float32', features, [n, 2])
        : new ort.Tensor('float64', Float64Array.from(features), [n, 2]);
    const res = await this.session.run({ [this.info.inputName]: input });
    const out = res[this.info.outputName]!;
    const data = out.data;
    if (data.length !== n) {
      throw new OnnxModelError('OUTPUT_SHAPE', `model returned ${data.length} values for ${n} rows`);
    }
    return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
  }

  /** Builds the graph-ordered float32 batch for named rows (caller units). */
  encodeRows(rows: readonly PowerFeatureRow[]): Float32Array {
    const buf = new Float32Array(rows.length * 2);
    rows.forEach((r, i) => this.write(buf, i, r.PacketSize_B, r.Throughput_Percentage));
    return buf;
  }

  /** Predicts power (W) for named rows, one runtime call. */
  async predictRows(rows: readonly PowerFeatureRow[]): Promise<Float32Array> {
    return this.predictBatch(this.encodeRows(rows));
  }

  private write(buf: Float32Array, row: number, packet: number, occupation: number): void {
    if (!Number.isFinite(packet) || !Number.isFinite(occupation)) {
      throw new OnnxModelError('BAD_INPUT', `row ${row}: non-finite feature (PacketSize_B=${packet}, Throughput_Percentage=${occupation})`);
    }
    buf[row * 2 + this.column.PacketSize_B] = packet * this.scale.PacketSize_B;
    buf[row * 2 + this.column.Throughput_Percentage] = occupation * this.scale.Throughput_Percentage;
  }

  /**
   * Power and its partial derivatives by finite differences, in ONE runtime call.
   *
   * Forward scheme (default, as the reference): per input row 3 batch rows
   *   (s, x), (s, x + ε), (s + h, x)
   * and ∂P/∂x ≈ (P(s, x+ε) − P(s, x)) / ε, ∂P/∂s ≈ (P(s+h, x) − P(s, x)) / h.
   * Central scheme: 5 rows per input, (P(·+δ) − P(·−δ)) / 2δ — second-order accurate, so it has
   * no O(δ) bias on curved models (e.g. 20x² has forward bias 20ε W per unit of x) at the cost
   * of 5/3 the batch size.
   *
   * ε = `epsilon` (default 0.01, the reference EPSILON) is the step on Throughput_Percentage.
   * The packet-size step h defaults to 1 byte, not ε: onnxruntime evaluates in float32, whose
   * resolution near 700 W is 6.1e-5 W, while a 0.01-byte change moves power by ~1e-5 W (slope
   * ~1e-3 W/B) — the difference would be pure rounding noise. With h = 1 B the rounding error is
   * ≤ 6e-5 W/B while the truncation error stays negligible for smooth models.
   * Divisions use the step actually represented in float32 (fround(v+h) − fround(v)), not the
   * nominal one. Derivatives are per caller unit (fraction, byte) whatever the model's units.
   */
  async predictWithSensitivities(
    rows: readonly PowerFeatureRow[],
    epsilon: number = DEFAULT_EPSILON,
    options: SensitivityOptions = {},
  ): Promise<SensitivityResult> {
    const scheme = options.scheme ?? 'forward';
    const h = options.packetStepB ?? DEFAULT_PACKET_STEP_B;
    if (!(epsilon > 0) || !(h > 0)) throw new OnnxModelError('BAD_INPUT', `steps must be > 0 (epsilon=${epsilon}, packetStepB=${h})`);
    const k = scheme === 'forward' ? 3 : 5;
    const n = rows.length;
    const buf = new Float32Array(n * k * 2);
    rows.forEach((r, i) => {
      const s = r.PacketSize_B;
      const x = r.Throughput_Percentage;
      const b = i * k;
      this.write(buf, b, s, x);
      this.write(buf, b + 1, s, x + epsilon);
      this.write(buf, b + 2, s + h, x);
      if (k === 5) {
        this.write(buf, b + 3, s, x - epsilon);
        this.write(buf, b + 4, s - h, x);
      }
    });
    const out = await this.predictBatch(buf);
    const cx = this.column.Throughput_Percentage;
    const cs = this.column.PacketSize_B;
    const sx = this.scale.Throughput_Percentage;
    const ss = this.scale.PacketSize_B;
    const power = new Float64Array(n);
    const dx = new Float64Array(n);
    const ds = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const b = i * k;
      power[i] = out[b]!;
      // Effective steps in caller units, from the float32 values actually fed to the model.
      if (k === 3) {
        dx[i] = (out[b + 1]! - out[b]!) / ((buf[(b + 1) * 2 + cx]! - buf[b * 2 + cx]!) / sx);
        ds[i] = (out[b + 2]! - out[b]!) / ((buf[(b + 2) * 2 + cs]! - buf[b * 2 + cs]!) / ss);
      } else {
        dx[i] = (out[b + 1]! - out[b + 3]!) / ((buf[(b + 1) * 2 + cx]! - buf[(b + 3) * 2 + cx]!) / sx);
        ds[i] = (out[b + 2]! - out[b + 4]!) / ((buf[(b + 2) * 2 + cs]! - buf[(b + 4) * 2 + cs]!) / ss);
      }
    }
    return {
      power,
      dPower_dThroughput: dx,
      dPower_dPacketSize: ds,
      scheme,
      steps: { Throughput_Percentage: epsilon, PacketSize_B: h },
    };
  }

  /** Releases the onnxruntime session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}

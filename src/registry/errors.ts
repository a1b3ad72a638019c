/**
 * Errors of the model registry and of model deployment, each with a machine-readable `code` and
 * the HTTP status the REST API answers with, and the counter every refused operation feeds
 * (`wattflow_registry_errors_total{op,code}`).
 */
import { counter } from '../core/metrics.js';
import { OnnxModelError } from '../ml/onnx/reader.js';
import { MetadataError } from '../ml/onnx/metadata.js';

export type RegistryErrorCode =
  | 'NOT_FOUND'
  | 'VERSION_NOT_FOUND'
  | 'MODEL_EXISTS'
  | 'VERSION_EXISTS'
  | 'INVALID'
  | 'INVALID_METADATA'
  | 'INVALID_MODEL'
  | 'TOO_LARGE'
  | 'DEPLOYED'
  | 'HAS_VERSIONS'
  | 'ARTIFACT_MISSING'
  | 'CHECKSUM_MISMATCH'
  | 'UNKNOWN_ROUTER'
  | 'UNKNOWN_ROUTER_TYPE'
  | 'ROUTER_TYPE_MISMATCH'
  | 'NOTHING_TO_ROLL_BACK'
  | 'STORE_FAILED'
  | 'UNAVAILABLE';

const STATUS: Record<RegistryErrorCode, number> = {
  NOT_FOUND: 404,
  VERSION_NOT_FOUND: 404,
  MODEL_EXISTS: 409,
  VERSION_EXISTS: 409,
  INVALID: 400,
  INVALID_METADATA: 422,
  INVALID_MODEL: 422,
  TOO_LARGE: 413,
  DEPLOYED: 409,
  HAS_VERSIONS: 409,
  ARTIFACT_MISSING: 409,
  CHECKSUM_MISMATCH: 409,
  UNKNOWN_ROUTER: 400,
  UNKNOWN_ROUTER_TYPE: 400,
  ROUTER_TYPE_MISMATCH: 409,
  NOTHING_TO_ROLL_BACK: 409,
  STORE_FAILED: 502,
  UNAVAILABLE: 503,
};

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly status: number;
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    /** Finer reason, e.g. the OnnxModelError code (CORRUPT, INPUT_SHAPE, SMOKE_FAILED, …). */
    readonly detail?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = STATUS[code];
  }

  toJSON(): { error: string; code: string; detail?: string } {
    return { error: this.message, code: this.code, ...(this.detail ? { detail: this.detail } : {}) };
  }
}

export const registryErrors = counter<'op' | 'code'>({
  name: 'wattflow_registry_errors_total',
  help: 'Registry operations refused or failed, per operation and error code',
  labelNames: ['op', 'code'],
});

/** Maps ONNX/metadata validation errors to RegistryErrors; others pass through. */
export function asRegistryError(err: unknown): unknown {
  if (err instanceof RegistryError) return err;
  if (err instanceof OnnxModelError) {
    if (err.code === 'SHA256_MISMATCH') return new RegistryError('CHECKSUM_MISMATCH', err.message, err.code, { cause: err });
    return new RegistryError('INVALID_MODEL', `invalid ONNX model (${err.code}): ${err.message}`, err.code, { cause: err });
  }
  if (err instanceof MetadataError) return new RegistryError('INVALID_METADATA', err.message, undefined, { cause: err });
  return err;
}

/** Runs an operation, counting and normalising its failures. */
export async function counted<T>(op: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const e = asRegistryError(err);
    registryErrors.inc({ op, code: e instanceof RegistryError ? e.code : 'INTERNAL' });
    throw e;
  }
}

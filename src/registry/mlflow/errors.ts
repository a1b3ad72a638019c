/**
 * Errors of the MLflow-compatible API: MLflow's `{error_code, message}` answers with MLflow's
 * HTTP statuses (the table of `mlflow/exceptions.py`, codes of `databricks.proto`), and the
 * mapping from the registry's own refusals (src/registry/errors.ts) to them.
 */
import { RegistryError, type RegistryErrorCode } from '../errors.js';

export type MlflowErrorCode =
  | 'RESOURCE_DOES_NOT_EXIST'
  | 'RESOURCE_ALREADY_EXISTS'
  | 'INVALID_PARAMETER_VALUE'
  | 'BAD_REQUEST'
  | 'MALFORMED_REQUEST'
  | 'ENDPOINT_NOT_FOUND'
  | 'RESOURCE_CONFLICT'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'INTERNAL_ERROR'
  | 'DATA_LOSS'
  | 'TEMPORARILY_UNAVAILABLE'
  | 'NOT_IMPLEMENTED';

/** MLflow's HTTP status per error code (mlflow/exceptions.py ERROR_CODE_TO_HTTP_STATUS). */
export const MLFLOW_STATUS: Record<MlflowErrorCode, number> = {
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  RESOURCE_ALREADY_EXISTS: 400,
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  MALFORMED_REQUEST: 400,
  RESOURCE_CONFLICT: 409,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
  INTERNAL_ERROR: 500,
  DATA_LOSS: 500,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
};

export class MlflowError extends Error {
  override readonly name = 'MlflowError';
  readonly status: number;
  constructor(
    readonly code: MlflowErrorCode,
    message: string,
    status?: number,
  ) {
    super(message);
    this.status = status ?? MLFLOW_STATUS[code];
  }

  toJSON(): { error_code: string; message: string } {
    return { error_code: this.code, message: this.message };
  }
}

const FROM_REGISTRY: Record<RegistryErrorCode, MlflowErrorCode> = {
  NOT_FOUND: 'RESOURCE_DOES_NOT_EXIST',
  VERSION_NOT_FOUND: 'RESOURCE_DOES_NOT_EXIST',
  MODEL_EXISTS: 'RESOURCE_ALREADY_EXISTS',
  VERSION_EXISTS: 'RESOURCE_ALREADY_EXISTS',
  INVALID: 'INVALID_PARAMETER_VALUE',
  INVALID_METADATA: 'INVALID_PARAMETER_VALUE',
  INVALID_MODEL: 'INVALID_PARAMETER_VALUE',
  TOO_LARGE: 'INVALID_PARAMETER_VALUE',
  UNKNOWN_ROUTER: 'INVALID_PARAMETER_VALUE',
  UNKNOWN_ROUTER_TYPE: 'INVALID_PARAMETER_VALUE',
  DEPLOYED: 'RESOURCE_CONFLICT',
  HAS_VERSIONS: 'RESOURCE_CONFLICT',
  ROUTER_TYPE_MISMATCH: 'RESOURCE_CONFLICT',
  NOTHING_TO_ROLL_BACK: 'RESOURCE_CONFLICT',
  ARTIFACT_MISSING: 'DATA_LOSS',
  CHECKSUM_MISMATCH: 'DATA_LOSS',
  STORE_FAILED: 'TEMPORARILY_UNAVAILABLE',
  UNAVAILABLE: 'TEMPORARILY_UNAVAILABLE',
};

/** A registry refusal as MLflow's error (message kept, the registry's code appended); others pass through. */
export function asMlflowError(err: unknown): unknown {
  if (err instanceof MlflowError) return err;
  if (err instanceof RegistryError) return new MlflowError(FROM_REGISTRY[err.code], `${err.message} [${err.code}${err.detail ? `/${err.detail}` : ''}]`);
  return err;
}

/** MLflow's message for a missing required field. */
export const missingParam = (name: string): MlflowError =>
  new MlflowError('INVALID_PARAMETER_VALUE', `Missing value for required parameter '${name}'. See the API docs for more information about request parameters.`);

/** MLflow's message for a field of the wrong type. */
export const invalidParam = (name: string, value: unknown, expected: string): MlflowError =>
  new MlflowError('INVALID_PARAMETER_VALUE', `Invalid value ${JSON.stringify(value)?.slice(0, 200)} for parameter '${name}' supplied: ${expected}.`);

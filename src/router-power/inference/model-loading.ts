/**
 * Loading a deployed model on an inference worker: the fetched bytes' sha256 checked against the
 * deployment, the metadata validated, the model loaded and its smoke prediction run; a failure's
 * code, and when to retry it (exponential backoff from `registry.worker.retryMs`, at most 10 min).
 */
import { backoffDelay } from '../../core/backoff.js';
import { sha256Hex, validateModelMetadata } from '../../ml/onnx/metadata.js';
import { OnnxModelError } from '../../ml/onnx/reader.js';
import type { ModelTarget } from '../../registry/control.js';
import { asRegistryError, RegistryError } from '../../registry/errors.js';
import { smokeCheck } from '../../registry/smoke.js';
import { ModelPredictor } from './model-predictor.js';

/** A scope whose desired model could not be loaded. */
export interface LoadFailure {
  /** The deployment record that failed. */
  id: string;
  code: string;
  error: string;
  attempts: number;
  retryAt: number;
}

export interface ModelLoadOptions {
  /** Finite-difference step on occupation (network.epsilon). */
  epsilon?: number;
  maxDelayMs?: number;
  maxBatchRows?: number;
}

/** Identity of a loaded model: a model version with its bytes. */
export const modelKey = (t: ModelTarget) => `${t.model}@${t.version}#${t.sha256}`;

/** The code a load failure is reported and counted with. */
export function loadErrorCode(err: unknown): string {
  const e = asRegistryError(err);
  if (e instanceof RegistryError) return e.detail && e.code === 'INVALID_MODEL' ? e.detail : e.code;
  if (err instanceof OnnxModelError) return err.code;
  return 'LOAD_FAILED';
}

/** Delay before retrying a load that failed `attempts` times (first delay `retryMs`, doubling, at most 10 min). */
export const loadRetryDelayMs = (retryMs: number | undefined, attempts: number): number => backoffDelay({ initialMs: retryMs ?? 30_000, maxMs: 600_000 }, attempts);

/** A predictor of the deployed model in `bytes` (checked, loaded, smoke-tested). */
export async function loadDeployedModel(t: ModelTarget, bytes: Uint8Array, o: ModelLoadOptions): Promise<ModelPredictor> {
  const sha = sha256Hex(bytes);
  if (sha !== t.sha256) {
    throw new RegistryError('CHECKSUM_MISMATCH', `artifact of ${t.model}@${t.version} has sha256 ${sha}, the deployment expects ${t.sha256}`);
  }
  const metadata = validateModelMetadata({ ...t.metadata, name: t.model, version: t.version });
  const p = await ModelPredictor.load(bytes, metadata, { epsilon: o.epsilon, maxDelayMs: o.maxDelayMs, maxBatchRows: o.maxBatchRows });
  try {
    await smokeCheck(p.model, o.epsilon);
  } catch (err) {
    await p.close();
    throw err;
  }
  return p;
}

/**
 * Vehicle models held by the model registry (kind `vehicle-anomaly`, see
 * src/registry/vehicle-kind.ts): `wattflow train-vehicle --register NAME` uploads the
 * artifact, `wattflow vehicle-predictor --model NAME@VERSION|ALIAS` downloads it. The download
 * is checked three ways before the model is used: the registry re-hashes the stored bytes
 * (refuses a corrupt artifact), the bytes must match the sha256 the registry recorded for the
 * version, and the vehicle model loader checks the artifact's own content hash.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_REGISTRY_URL, RegistryClient } from '../../registry/client.js';
import { checkArtifact, IsolationForestModel, ModelFileError, type VehicleModelArtifact } from './anomaly-model.js';

export const VEHICLE_MODEL_KIND = 'vehicle-anomaly';

const REF_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Whether a --model value is a registry reference (NAME@VERSION or NAME@ALIAS) rather than a file. */
export function isRegistryRef(value: string): boolean {
  return REF_RE.test(value);
}

/** The registry URL: the given one, else WATTFLOW_REGISTRY_URL, else http://127.0.0.1:8000. */
export function vehicleRegistryUrl(url?: string): string {
  return url ?? process.env.WATTFLOW_REGISTRY_URL ?? DEFAULT_REGISTRY_URL;
}

export interface RegistryVehicleModel {
  model: IsolationForestModel;
  /** The registry version the reference resolved to. */
  version: string;
  sha256: string;
}

/** Downloads `NAME@VERSION|ALIAS` (or `NAME`: latest) and loads it; throws ModelFileError when anything does not match. */
export async function loadRegistryVehicleModel(ref: string, registryUrl?: string): Promise<RegistryVehicleModel> {
  const at = ref.indexOf('@');
  const name = at < 0 ? ref : ref.slice(0, at);
  const selector = at < 0 ? 'latest' : ref.slice(at + 1);
  const client = new RegistryClient(vehicleRegistryUrl(registryUrl));
  const label = `${name}@${selector} (registry ${client.baseUrl})`;
  let d;
  try {
    if (at < 0) {
      const m = await client.getModel(name);
      if (!m?.latest_version) throw new Error(`model ${name} not found or has no versions`);
      d = await client.download(name, m.latest_version);
    } else d = await client.download(name, selector);
  } catch (err) {
    throw new ModelFileError(label, `cannot download: ${(err as Error).message}`);
  }
  const kind = (d.metadata as { kind?: unknown }).kind;
  if (kind !== VEHICLE_MODEL_KIND) throw new ModelFileError(label, `version ${d.version} is not a vehicle model (kind ${JSON.stringify(kind ?? 'onnx power model')})`);
  const sha = createHash('sha256').update(d.bytes).digest('hex');
  if (sha !== d.metadata.sha256 || (d.sha256 && sha !== d.sha256)) {
    throw new ModelFileError(label, `downloaded bytes have sha256 ${sha}, the registry recorded ${d.metadata.sha256}: refused`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(d.bytes));
  } catch (err) {
    throw new ModelFileError(label, `not valid JSON: ${(err as Error).message}`);
  }
  const artifact: VehicleModelArtifact = checkArtifact(doc, label);
  // the registry version travels with the model: V2 answers name it (model_version), not the content hash
  return { model: new IsolationForestModel(artifact, { name, version: d.version }), version: d.version, sha256: sha };
}

/** Uploads a trained artifact as the next version of NAME (optionally setting an alias). */
export async function registerVehicleModel(
  artifact: VehicleModelArtifact,
  opts: { name: string; registryUrl?: string; alias?: string; source?: string; token?: string },
): Promise<{ version: string; url: string; sha256: string }> {
  const client = new RegistryClient(vehicleRegistryUrl(opts.registryUrl), undefined, opts.token);
  const bytes = new TextEncoder().encode(JSON.stringify(artifact) + '\n');
  const rec = await client.upload(opts.name, bytes, {
    metadata: { kind: VEHICLE_MODEL_KIND },
    ...(opts.alias ? { alias: opts.alias } : {}),
    ...(opts.source ? { source: opts.source } : {}),
  });
  return { version: rec.version, url: client.baseUrl, sha256: rec.sha256 };
}

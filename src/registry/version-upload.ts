/**
 * Uploading a model version: validation (ONNX: metadata naming the features, signature, a smoke
 * run with sensitivities; vehicle models: the vehicle module's validator), then the artifact and
 * its metadata document in the artifact store and the version and model records in the catalog —
 * or nothing, when recording fails.
 */
import type { Logger } from '../core/logger.js';
import {
  METADATA_SCHEMA_VERSION,
  POWER_TARGET_SPEC,
  metadataFromProps,
  sha256Hex,
  splitUserMetadata,
  validateModelMetadata,
  type FeatureSpec,
  type ModelMetadata,
} from '../ml/onnx/metadata.js';
import { decodeModelSummary } from '../ml/onnx/proto.js';
import { OnnxPowerModel } from '../ml/runtime/onnx-power-model.js';
import { artifactKeys, type ArtifactStore } from './artifact-store.js';
import type { ModelCatalog, ModelRecord, VersionRecord } from './catalog.js';
import { RegistryError } from './errors.js';
import { ALIAS_RE, NAME_RE, nextVersion, VERSION_RE } from './refs.js';
import { smokeCheck } from './smoke.js';
import {
  artifactKeysVehicle,
  isVehicleMetadata,
  looksLikeVehicleArtifact,
  vehicleMetadataOf,
  VEHICLE_MODEL_KIND,
  VEHICLE_ROUTER_TYPE,
  type VehicleArtifactValidator,
} from './vehicle-kind.js';

export interface UploadOptions {
  version?: string;
  alias?: string;
  /** A (possibly partial) metadata document; merged over the metadata embedded in the ONNX. */
  metadata?: unknown;
  routerType?: string;
  modelType?: string;
  features?: FeatureSpec[];
  description?: string;
  /** Upload file name (informational). */
  source?: string;
}

export interface VersionUploaderOptions {
  catalog: ModelCatalog;
  artifacts: ArtifactStore;
  logger: Logger;
  now: () => Date;
  maxArtifactBytes?: number;
  /** Accepts vehicle model artifacts (absent: only ONNX power models). */
  vehicleModels?: VehicleArtifactValidator;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Loads the model as a worker would and runs the smoke prediction with sensitivities. */
export async function smokeTest(bytes: Uint8Array, metadata: ModelMetadata): Promise<void> {
  const model = await OnnxPowerModel.load(bytes, metadata);
  try {
    await smokeCheck(model);
  } finally {
    await model.close();
  }
}

export class VersionUploader {
  constructor(private readonly o: VersionUploaderOptions) {}

  /** Validates and stores a version (the caller serialises uploads). */
  async upload(name: string, bytes: Uint8Array, opts: UploadOptions): Promise<VersionRecord> {
    if (!NAME_RE.test(name)) throw new RegistryError('INVALID', `invalid model name "${name}"`);
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new RegistryError('INVALID_MODEL', 'the ONNX file is empty', 'EMPTY');
    const max = this.o.maxArtifactBytes ?? 64 * 1024 * 1024;
    if (bytes.length > max) throw new RegistryError('TOO_LARGE', `the ONNX file has ${bytes.length} bytes, more than the limit ${max}`);
    if (opts.version !== undefined && !VERSION_RE.test(opts.version)) {
      throw new RegistryError('INVALID', `invalid version "${opts.version}" (starts with a digit; letters, digits, . _ -)`);
    }
    if (opts.alias !== undefined && !ALIAS_RE.test(opts.alias)) {
      throw new RegistryError('INVALID', `invalid alias "${opts.alias}" (starts with a letter; letters, digits, _ -)`);
    }
    if (opts.metadata !== undefined && !isObject(opts.metadata)) throw new RegistryError('INVALID_METADATA', 'the metadata document must be a JSON object');
    const vehicle = this.o.vehicleModels;
    if (isVehicleMetadata(opts.metadata) || (vehicle && looksLikeVehicleArtifact(bytes, vehicle.marker))) return this.uploadVehicle(name, bytes, opts);
    return this.uploadOnnx(name, bytes, opts);
  }

  private async uploadOnnx(name: string, bytes: Uint8Array, opts: UploadOptions): Promise<VersionRecord> {
    const sha = sha256Hex(bytes);
    let embedded: Partial<ModelMetadata> = {};
    try {
      embedded = metadataFromProps(decodeModelSummary(bytes).metadataProps);
    } catch (err) {
      throw new RegistryError('INVALID_MODEL', `the file is not an ONNX model: ${(err as Error).message}`, 'CORRUPT', { cause: err });
    }
    // keys the schema does not define (a scikit-learn user's own fields) are kept as user_metadata
    const doc = splitUserMetadata((opts.metadata ?? {}) as Record<string, unknown>) as Partial<ModelMetadata>;
    if (doc.sha256 !== undefined && doc.sha256 !== sha) {
      throw new RegistryError('CHECKSUM_MISMATCH', `the metadata's sha256 ${String(doc.sha256)} does not match the ONNX bytes (${sha})`);
    }
    const model = await this.o.catalog.getModel(name);
    const version = await this.newVersion(name, opts);
    const merged: Partial<ModelMetadata> = { ...embedded, ...doc };
    const features = opts.features ?? merged.features;
    if (!features || features.length === 0) {
      throw new RegistryError(
        'INVALID_METADATA',
        'the metadata must name the features in graph column order (e.g. PacketSize_B:bytes,Throughput_Percentage:fraction): upload a metadata JSON or pass features',
      );
    }
    const routerType = opts.routerType ?? merged.router_type ?? model?.router_type;
    if (!routerType) throw new RegistryError('INVALID_METADATA', 'the router type of the model is unknown: set router_type in the metadata or pass it');
    const candidate = {
      ...merged,
      schema_version: METADATA_SCHEMA_VERSION,
      name,
      version,
      router_type: routerType,
      model_type: opts.modelType ?? merged.model_type ?? 'external',
      features,
      target: merged.target ?? { ...POWER_TARGET_SPEC },
      created_at: merged.created_at ?? this.o.now().toISOString(),
      sha256: sha,
    };
    const metadata = validateModelMetadata(JSON.parse(JSON.stringify(candidate)));
    await smokeTest(bytes, metadata);
    const record = await this.record({ name, version, model, routerType, keys: artifactKeys(name, version), bytes, contentType: 'application/octet-stream', metadata, sha, extra: {}, opts });
    this.o.logger.info({ model: name, version, sha256: sha, size: bytes.length, alias: opts.alias }, 'model version uploaded');
    return record;
  }

  /** A vehicle model version (kind vehicle-anomaly): validated by the vehicle module's validator. */
  private async uploadVehicle(name: string, bytes: Uint8Array, opts: UploadOptions): Promise<VersionRecord> {
    const label = `vehicle model upload for ${name}`;
    if (!this.o.vehicleModels) throw new RegistryError('INVALID_MODEL', `${label}: this registry does not accept vehicle models`, 'CORRUPT');
    const facts = this.o.vehicleModels.validate(bytes, label);
    const sha = sha256Hex(bytes);
    const doc = (opts.metadata ?? {}) as { sha256?: unknown };
    if (doc.sha256 !== undefined && doc.sha256 !== sha) {
      throw new RegistryError('CHECKSUM_MISMATCH', `the metadata's sha256 ${String(doc.sha256)} does not match the artifact bytes (${sha})`);
    }
    const model = await this.o.catalog.getModel(name);
    if (model?.router_type !== undefined && model.router_type !== VEHICLE_ROUTER_TYPE) {
      throw new RegistryError('INVALID', `model ${name} holds power models (router type ${model.router_type}); register the vehicle model under another name`);
    }
    const version = await this.newVersion(name, opts);
    const metadata = vehicleMetadataOf(facts, { name, version, bytes, createdAt: this.o.now().toISOString() });
    const record = await this.record({
      name,
      version,
      model,
      routerType: VEHICLE_ROUTER_TYPE,
      keys: artifactKeysVehicle(name, version),
      bytes,
      contentType: 'application/json',
      metadata,
      sha,
      extra: { kind: VEHICLE_MODEL_KIND },
      opts,
    });
    this.o.logger.info({ model: name, version, kind: VEHICLE_MODEL_KIND, sha256: sha, size: bytes.length, alias: opts.alias }, 'vehicle model version uploaded');
    return record;
  }

  /** The version asked for (refused when taken), else the next free number. */
  private async newVersion(name: string, opts: UploadOptions): Promise<string> {
    const versions = await this.o.catalog.listVersions(name);
    const version = opts.version ?? nextVersion(versions);
    if (versions.some((v) => v.version === version)) throw new RegistryError('VERSION_EXISTS', `model ${name} already has version ${version}`);
    return version;
  }

  /**
   * Stores a validated version: the artifact and its metadata in the artifact store, then the
   * version and model records in the catalog; on a failure to record, the stored objects are
   * removed again so nothing is half-registered.
   */
  private async record(a: {
    name: string;
    version: string;
    model: ModelRecord | undefined;
    routerType: string | undefined;
    keys: ReturnType<typeof artifactKeys>;
    bytes: Uint8Array;
    contentType: string;
    metadata: VersionRecord['metadata'];
    sha: string;
    extra: Partial<VersionRecord>;
    opts: { alias?: string; description?: string; source?: VersionRecord['source'] };
  }): Promise<VersionRecord> {
    const { name, version, keys, bytes, metadata, opts } = a;
    const { artifacts, catalog } = this.o;
    await artifacts.put(keys.onnx, bytes, a.contentType);
    await artifacts.put(keys.metadata, new TextEncoder().encode(JSON.stringify(metadata, null, 2) + '\n'), 'application/json');
    const now = this.o.now().toISOString();
    const record: VersionRecord = {
      model: name,
      version,
      created_at: now,
      model_type: metadata.model_type,
      router_type: metadata.router_type,
      sha256: a.sha,
      size: bytes.length,
      artifact: { ...keys, uri: artifacts.uri(keys.onnx) },
      metadata,
      ...a.extra,
      ...(opts.source ? { source: opts.source } : {}),
    };
    try {
      const m: ModelRecord = a.model ?? { name, router_type: a.routerType, created_at: now, updated_at: now, aliases: {}, ...(opts.description ? { description: opts.description } : {}) };
      await catalog.putVersion(record);
      await catalog.putModel({ ...m, updated_at: now, aliases: opts.alias ? { ...m.aliases, [opts.alias]: version } : m.aliases });
    } catch (err) {
      await catalog.deleteVersion(name, version).catch(() => undefined);
      await Promise.allSettled([artifacts.delete(keys.onnx), artifacts.delete(keys.metadata)]);
      throw new RegistryError('STORE_FAILED', `cannot record ${name}@${version}: ${(err as Error).message}`, undefined, { cause: err });
    }
    return record;
  }
}

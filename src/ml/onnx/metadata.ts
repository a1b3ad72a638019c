/**
 * Model metadata: the JSON document shipped next to every ONNX power model (`<name>.json`), its
 * TypeScript type, its JSON Schema (draft-07) with an ajv validator, the subset embedded in the
 * ONNX file's metadata_props, and the sha256 of the ONNX bytes.
 *
 * `created_at` and `sha256` live only in the JSON document: putting them in the ONNX bytes would
 * make the hash self-referential and would break "same seed → same ONNX sha256".
 */
import { createHash } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { RegressionMetrics } from '../dataset/metrics.js';

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

export const METADATA_SCHEMA_VERSION = 1;

export interface FeatureSpec {
  name: string;
  unit: string;
}

/** The power model's inputs, in graph column order, with units. */
export const POWER_FEATURE_SPECS: readonly FeatureSpec[] = [
  { name: 'PacketSize_B', unit: 'bytes' },
  { name: 'Throughput_Percentage', unit: 'fraction' },
];
export const POWER_TARGET_SPEC = { name: 'power', unit: 'W' } as const;

/** Known units by feature name (used when a CSV header names a known feature). */
export const KNOWN_FEATURE_UNITS: Readonly<Record<string, string>> = {
  PacketSize_B: 'bytes',
  Throughput_Percentage: 'fraction',
};

export type MetadataModelType = 'linear' | 'polynomial' | 'rf' | 'mlp' | 'external';

export interface FeatureSummary {
  name: string;
  min: number;
  max: number;
  mean: number;
}

export interface TrainingDataSummary {
  /** Rows used for fitting. */
  rows: number;
  /** Held-out rows used for `metrics`. */
  test_rows: number;
  /** Where the data came from (file name or label). */
  source?: string;
  /** Per-feature min/max/mean over the training rows, in `features` order. */
  features: FeatureSummary[];
  /** min/max/mean of the target over the training rows. */
  target: { min: number; max: number; mean: number };
}

/** Held-out metrics; MAPE and SMAPE in percent, MAE in W, MSE in W². */
export interface MetadataMetrics extends RegressionMetrics {
  /** Number of held-out rows evaluated. */
  rows: number;
}

export interface ModelMetadata {
  schema_version: 1;
  name: string;
  version: string;
  router_type: string;
  model_type: MetadataModelType;
  /** Graph input columns, in order. */
  features: FeatureSpec[];
  target: { name: string; unit: string };
  training_data?: TrainingDataSummary;
  metrics?: MetadataMetrics;
  hyper_parameters?: Record<string, unknown>;
  seed?: number;
  /** ISO 8601 date-time. */
  created_at: string;
  /** Lower-case hex sha256 of the ONNX file bytes. */
  sha256: string;
  /**
   * Keys of an uploaded metadata document that wattflow does not interpret (e.g. a
   * scikit-learn user's `framework`, `sklearn_version`, `description`): kept as given and
   * returned by the API; see `splitUserMetadata`.
   */
  user_metadata?: Record<string, unknown>;
}

const num = { type: 'number' } as const;
const summary = {
  type: 'object',
  required: ['min', 'max', 'mean'],
  properties: { min: num, max: num, mean: num },
} as const;

/** JSON Schema (draft-07) of ModelMetadata. */
export const MODEL_METADATA_JSON_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://wattflow.io/schemas/model-metadata-1.json',
  title: 'wattflow model metadata',
  type: 'object',
  additionalProperties: false,
  required: ['schema_version', 'name', 'version', 'router_type', 'model_type', 'features', 'target', 'created_at', 'sha256'],
  properties: {
    schema_version: { const: 1 },
    name: { type: 'string', minLength: 1 },
    version: { type: 'string', minLength: 1 },
    router_type: { type: 'string', minLength: 1 },
    model_type: { enum: ['linear', 'polynomial', 'rf', 'mlp', 'external'] },
    features: {
      description: 'Graph input columns, in order',
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'unit'],
        properties: { name: { type: 'string', minLength: 1 }, unit: { type: 'string' } },
      },
    },
    target: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'unit'],
      properties: { name: { type: 'string', minLength: 1 }, unit: { type: 'string' } },
    },
    training_data: {
      type: 'object',
      additionalProperties: false,
      required: ['rows', 'test_rows', 'features', 'target'],
      properties: {
        rows: { type: 'integer', minimum: 0 },
        test_rows: { type: 'integer', minimum: 0 },
        source: { type: 'string' },
        features: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'min', 'max', 'mean'],
            properties: { name: { type: 'string' }, min: num, max: num, mean: num },
          },
        },
        target: summary,
      },
    },
    metrics: {
      description: 'Held-out metrics: MAE (W), MAPE (%), MSE (W^2), R2, SMAPE (%)',
      type: 'object',
      additionalProperties: false,
      required: ['MAE', 'MAPE', 'MSE', 'R2', 'SMAPE', 'rows'],
      properties: {
        MAE: num,
        MAPE: { type: ['number', 'null'] },
        MSE: num,
        R2: { type: ['number', 'null'] },
        SMAPE: num,
        rows: { type: 'integer', minimum: 1 },
      },
    },
    hyper_parameters: { type: 'object' },
    seed: { type: 'integer' },
    created_at: { type: 'string', format: 'date-time' },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    user_metadata: { description: 'Keys of the uploaded document that wattflow does not interpret, kept as given', type: 'object' },
  },
} as const;

/** The top-level keys the metadata schema defines (anything else is user metadata). */
export const METADATA_KEYS: readonly string[] = Object.keys(MODEL_METADATA_JSON_SCHEMA.properties);

/**
 * Splits an uploaded metadata document: the keys the schema defines stay, every other
 * top-level key moves into `user_metadata` (merged over a `user_metadata` object the document
 * already has). Additive: a document with known keys only comes back unchanged.
 */
export function splitUserMetadata(doc: Record<string, unknown>): Record<string, unknown> {
  const known: Record<string, unknown> = {};
  const user: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k === 'user_metadata') continue;
    if (METADATA_KEYS.includes(k)) known[k] = v;
    else user[k] = v;
  }
  const given = doc.user_metadata;
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    // not an object: left for the schema to refuse with its key named
    known.user_metadata = given;
    return known;
  }
  const merged = { ...(given as Record<string, unknown> | undefined), ...user };
  if (Object.keys(merged).length > 0) known.user_metadata = merged;
  return known;
}

/** Raised when a metadata document does not match the schema. */
export class MetadataError extends Error {
  override readonly name = 'MetadataError';
  constructor(
    message: string,
    readonly issues: string[],
  ) {
    super(message);
  }
}

let validator: ValidateFunction | undefined;

type AjvIssue = NonNullable<ValidateFunction['errors']>[number];

/** Where an issue is, in words: `key features/0/unit`, or `the metadata document` at the top. */
function issueWhere(path: string): string {
  return path === '' || path === '/' ? 'the metadata document' : `key "${path.slice(1)}"`;
}

/**
 * One issue as a sentence naming the key and, where the schema lists them, the allowed keys or
 * values: `unknown key "extra" in the metadata document (allowed: schema_version, name, …)`.
 */
export function describeMetadataIssue(e: AjvIssue): string {
  const where = issueWhere(e.instancePath);
  const p = e.params as Record<string, unknown>;
  const parent = e.parentSchema as { properties?: Record<string, unknown>; required?: readonly string[] } | undefined;
  switch (e.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys(parent?.properties ?? {});
      return `unknown key "${String(p.additionalProperty)}" in ${where} (allowed: ${allowed.join(', ')})`;
    }
    case 'required': {
      const required = parent?.required ?? [];
      return `missing key "${String(p.missingProperty)}" in ${where} (required: ${required.join(', ')})`;
    }
    case 'enum':
      return `${where} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(e.data)} (allowed values)`;
    case 'const':
      return `${where} must be ${JSON.stringify(p.allowedValue)}, got ${JSON.stringify(e.data)}`;
    case 'pattern':
      return `${where} must match the pattern ${String(p.pattern)}, got ${JSON.stringify(e.data)}`;
    case 'format':
      return `${where} must be a ${String(p.format)} (e.g. 2025-01-02T03:04:05Z), got ${JSON.stringify(e.data)}`;
    default:
      return `${where} ${e.message ?? 'is invalid'}`;
  }
}

/** Validates an unknown value against the schema; returns it typed or throws MetadataError naming each key at fault. */
export function validateModelMetadata(value: unknown): ModelMetadata {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    addFormats(ajv);
    validator = ajv.compile(MODEL_METADATA_JSON_SCHEMA);
  }
  if (!validator(value)) {
    const issues = (validator.errors ?? []).map(describeMetadataIssue);
    throw new MetadataError(`invalid model metadata: ${issues.join('; ')}`, issues);
  }
  return value as ModelMetadata;
}

/** Lower-case hex sha256 of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The metadata embedded in ONNX metadata_props: every field except created_at and sha256,
 * scalars as strings and structured values as JSON.
 */
export function metadataProps(meta: Omit<ModelMetadata, 'created_at' | 'sha256'>): Record<string, string> {
  const props: Record<string, string> = {
    'wattflow.schema_version': String(meta.schema_version),
    name: meta.name,
    version: meta.version,
    router_type: meta.router_type,
    model_type: meta.model_type,
    features: JSON.stringify(meta.features),
    target: JSON.stringify(meta.target),
  };
  if (meta.training_data) props.training_data = JSON.stringify(meta.training_data);
  if (meta.metrics) props.metrics = JSON.stringify(meta.metrics);
  if (meta.hyper_parameters) props.hyper_parameters = JSON.stringify(meta.hyper_parameters);
  if (meta.seed !== undefined) props.seed = String(meta.seed);
  return props;
}

/** Rebuilds a (partial) metadata object from ONNX metadata_props written by `metadataProps`. */
export function metadataFromProps(props: Record<string, string>): Partial<ModelMetadata> {
  const out: Partial<ModelMetadata> = {};
  const json = <T>(k: string): T | undefined => {
    const v = props[k];
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v) as T;
    } catch {
      return undefined;
    }
  };
  if (props['wattflow.schema_version'] === '1') out.schema_version = 1;
  if (props.name !== undefined) out.name = props.name;
  if (props.version !== undefined) out.version = props.version;
  if (props.router_type !== undefined) out.router_type = props.router_type;
  if (props.model_type !== undefined) out.model_type = props.model_type as MetadataModelType;
  const features = json<FeatureSpec[]>('features');
  if (features) out.features = features;
  const target = json<{ name: string; unit: string }>('target');
  if (target) out.target = target;
  const td = json<TrainingDataSummary>('training_data');
  if (td) out.training_data = td;
  const m = json<MetadataMetrics>('metrics');
  if (m) out.metrics = m;
  const hp = json<Record<string, unknown>>('hyper_parameters');
  if (hp) out.hyper_parameters = hp;
  if (props.seed !== undefined && Number.isInteger(Number(props.seed))) out.seed = Number(props.seed);
  return out;
}

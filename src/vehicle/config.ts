/**
 * The `vehicle` section of the app configuration (JSON schema with defaults), its TypeScript
 * shape, and the environment aliases (REDIS_URL, REDIS_PASSWORD, VEHICLE_API_TOKEN, …), for
 * app-config.ts to register. This module imports nothing from app-config.ts at run time (so
 * app-config.ts can import it); loading the app configuration with this section is
 * load-config.ts.
 */
import type { AppConfig } from '../app-config.js';
import { commaList, loadConfig, validateWithSchema, type EnvAlias, type JsonObject } from '../core/config.js';

const str = (v: string) => v;

const redisSection = {
  type: 'object',
  properties: {
    /** Node-local Redis (redis://host:port/db). Unset: the vehicle-api role uses redis://127.0.0.1:6379; `up` uses the in-process store. */
    url: { type: 'string', pattern: '^rediss?://' },
    password: { type: 'string' },
    /** Prefix of every key (tests and multi-tenant Redis use their own). */
    keyPrefix: { type: 'string', default: 'wattflow:vehicle:' },
    /** Pub/sub channel announcing each new aligned vector. */
    channel: { type: 'string', minLength: 1, default: 'idneo_v2x' },
    /** Raw measurements kept per vehicle and signal: by age (relative to the series' newest timestamp)… */
    retentionHours: { type: 'number', exclusiveMinimum: 0, default: 24 },
    /** …and by count. */
    maxPerSeries: { type: 'integer', minimum: 10, default: 200000 },
    /** Approximate cap of the vector stream read by the predictor in poll mode. */
    vectorStreamMaxLen: { type: 'integer', minimum: 100, default: 100000 },
    connectTimeoutMs: { type: 'integer', minimum: 1, default: 3000 },
    commandTimeoutMs: { type: 'integer', minimum: 1, default: 5000 },
    /** Used only when the node-local Redis is unavailable (off by default: then ingest answers 503). */
    fallbackUrl: { type: 'string', pattern: '^rediss?://' },
  },
  additionalProperties: false,
  default: {},
};

const apiSection = {
  type: 'object',
  properties: {
    /** When set, ingest requires `Authorization: Bearer <token>`. */
    authToken: { type: 'string', minLength: 1 },
    /** Maximum ingest request body (413 beyond). */
    bodyLimitBytes: { type: 'integer', minimum: 1024, default: 8 * 1024 * 1024 },
    maxMeasurementsPerRequest: { type: 'integer', minimum: 1, default: 100000 },
    /** Signals not in the catalog: rejected, or kept (stored raw, not aligned). */
    unknownSignals: { enum: ['reject', 'keep'], default: 'reject' },
    /** Values outside the signal's valid range: rejected, or stored and flagged. */
    outOfRange: { enum: ['reject', 'flag'], default: 'reject' },
    /** Timestamps further in the future than this (vs the server clock) are rejected. */
    maxFutureSkewMs: { type: 'integer', minimum: 0, default: 24 * 3600 * 1000 },
    rateLimit: {
      type: 'object',
      properties: {
        /** Sustained measurements per second per vehicle (0 = no limit). */
        measurementsPerSecond: { type: 'number', minimum: 0, default: 5000 },
        /** Bucket size: a vehicle may send this many at once after being quiet. */
        burst: { type: 'number', minimum: 1, default: 50000 },
      },
      additionalProperties: false,
      default: {},
    },
  },
  additionalProperties: false,
  default: {},
};

const alignmentSection = {
  type: 'object',
  properties: {
    /** Feature-vector cadence (ticks at multiples of it on the data's clock). */
    cadenceMs: { type: 'integer', minimum: 10, default: 1000 },
    /** Last value carried forward up to this age; older → explicit missing. */
    maxAgeMs: { type: 'integer', minimum: 0, default: 5000 },
    /** A tick is emitted once the vehicle's newest timestamp is this far past it. */
    latenessMs: { type: 'integer', minimum: 0, default: 1000 },
    /** A vehicle quiet (wall clock) this long gets its pending ticks emitted. */
    idleFlushMs: { type: 'integer', minimum: 10, default: 3000 },
  },
  additionalProperties: false,
  default: {},
};

const plausibilitySection = {
  type: 'object',
  properties: {
    enabled: { type: 'boolean', default: true },
    /** Pedal position at or below which the pedal counts as released (this car's pedal rests at 14.5 %). */
    pedalRestPct: { type: 'number', default: 15 },
    /** Torque above which "pedal released" is implausible (idle ≈ 45 Nm, creeping ≤ 80 Nm in the reference logs). */
    highTorqueNm: { type: 'number', default: 150 },
    /** Speed above which the vehicle counts as moving. */
    movingKmh: { type: 'number', default: 5 },
    /** Largest plausible change of speed (km/h per s; ≈ 1.1 g at 40). */
    maxAccelKmhPerS: { type: 'number', default: 40 },
    /** Allowed drift between the engine run-time counter and the measurement clock (s). */
    runTimeDriftS: { type: 'number', default: 5 },
    /** Brake pressure (MPa) and pedal position (%) that are implausible together. */
    brakeMPa: { type: 'number', default: 2 },
    brakePedalPct: { type: 'number', default: 50 },
    /** Fuel flow (l/h) implausible with the engine off. */
    fuelFlowLh: { type: 'number', default: 0.3 },
  },
  additionalProperties: false,
  default: {},
};

const inferenceSection = {
  type: 'object',
  properties: {
    /** push: the API forwards each vector to the predictor; pull: the predictor reads Redis. */
    mode: { enum: ['push', 'pull'], default: 'push' },
    /** Node-local predictor endpoint (push mode). */
    url: { type: 'string', format: 'uri', default: 'http://127.0.0.1:8001' },
    /** Used only when the node-local predictor is unavailable (off by default: then ingest answers 503). */
    fallbackUrls: { type: 'array', items: { type: 'string', format: 'uri' }, default: [] },
    timeoutMs: { type: 'integer', minimum: 1, default: 10000 },
    batchSize: { type: 'integer', minimum: 1, default: 256 },
    concurrency: { type: 'integer', minimum: 1, default: 4 },
    /** Vectors waiting for the predictor beyond this → ingest answers 503. */
    maxQueue: { type: 'integer', minimum: 1, default: 100000 },
    /** Probe interval of an unavailable predictor. */
    retryMs: { type: 'integer', minimum: 10, default: 1000 },
    /** Push requests: v2 = Open Inference Protocol infer (POST /v2/models/{name}/versions/{v}/infer); json = POST /v1/vehicle/predict (compatibility). */
    protocol: { enum: ['v2', 'json'], default: 'v2' },
    /** V2 model name to call (default: the model the predictor serves, from GET /v2/models). */
    model: { type: 'string', minLength: 1 },
  },
  additionalProperties: false,
  default: {},
};

const predictorSection = {
  type: 'object',
  properties: {
    /**
     * push: serve the V2 infer and JSON endpoints; pull: consume the vector stream (a stage on the node-local
     * Redis Streams fabric). The former pull modes `subscribe` and `poll` are accepted and mean pull.
     */
    mode: { enum: ['push', 'pull', 'subscribe', 'poll'], default: 'push' },
    /** Pull: longest wait of one blocking read of the vector stream (ms). */
    pollIntervalMs: { type: 'integer', minimum: 1, default: 500 },
    batchSize: { type: 'integer', minimum: 1, default: 500 },
    /** Consumer group on the vector stream (pull mode). */
    group: { type: 'string', minLength: 1, default: 'wattflow-vehicle-predictor' },
    consumer: { type: 'string', minLength: 1 },
  },
  additionalProperties: false,
  default: {},
};

const modelSection = {
  type: 'object',
  properties: {
    /** The deployed vehicle model (artifact written by `wattflow train-vehicle`); default <storage.dir>/vehicle-model.json. */
    path: { type: 'string', minLength: 1 },
    /** Logs (reference CSV format) for the demo model `wattflow up` trains when `path` does not exist. Default: the bundled logs. */
    demoData: { type: 'array', items: { type: 'string' } },
    /** Load the model from the model registry instead of `path`: NAME@VERSION or NAME@ALIAS (sha256 checked). */
    ref: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9][A-Za-z0-9._-]*)?$' },
    /** Registry base URL for `ref` (default registry.url, else http://127.0.0.1:8000). */
    registryUrl: { type: 'string', format: 'uri' },
  },
  additionalProperties: false,
  default: {},
};

export const vehicleSection: JsonObject = {
  type: 'object',
  properties: {
    redis: redisSection,
    api: apiSection,
    alignment: alignmentSection,
    plausibility: plausibilitySection,
    inference: inferenceSection,
    predictor: predictorSection,
    model: modelSection,
  },
  additionalProperties: false,
  default: {},
};

export const vehicleAliases: EnvAlias[] = [
  { env: 'REDIS_URL', path: '/vehicle/redis/url', parse: str },
  { env: 'REDIS_PASSWORD', path: '/vehicle/redis/password', parse: str },
  { env: 'VEHICLE_API_TOKEN', path: '/vehicle/api/authToken', parse: str },
  { env: 'VEHICLE_INFERENCE_URL', path: '/vehicle/inference/url', parse: str },
  { env: 'VEHICLE_INFERENCE_FALLBACK_URLS', path: '/vehicle/inference/fallbackUrls', parse: commaList },
  { env: 'VEHICLE_MODEL', path: '/vehicle/model/path', parse: str },
  { env: 'VEHICLE_PREDICTOR_MODE', path: '/vehicle/predictor/mode', parse: str },
  { env: 'VEHICLE_INFERENCE_PROTOCOL', path: '/vehicle/inference/protocol', parse: str },
  { env: 'VEHICLE_MODEL_REF', path: '/vehicle/model/ref', parse: str },
];

export interface PlausibilityConfig {
  enabled: boolean;
  pedalRestPct: number;
  highTorqueNm: number;
  movingKmh: number;
  maxAccelKmhPerS: number;
  runTimeDriftS: number;
  brakeMPa: number;
  brakePedalPct: number;
  fuelFlowLh: number;
}

export interface AlignmentConfig {
  cadenceMs: number;
  maxAgeMs: number;
  latenessMs: number;
  idleFlushMs: number;
}

export interface VehicleConfig {
  redis: {
    url?: string;
    password?: string;
    keyPrefix: string;
    channel: string;
    retentionHours: number;
    maxPerSeries: number;
    vectorStreamMaxLen: number;
    connectTimeoutMs: number;
    commandTimeoutMs: number;
    fallbackUrl?: string;
  };
  api: {
    authToken?: string;
    bodyLimitBytes: number;
    maxMeasurementsPerRequest: number;
    unknownSignals: 'reject' | 'keep';
    outOfRange: 'reject' | 'flag';
    maxFutureSkewMs: number;
    rateLimit: { measurementsPerSecond: number; burst: number };
  };
  alignment: AlignmentConfig;
  plausibility: PlausibilityConfig;
  inference: {
    mode: 'push' | 'pull';
    url: string;
    fallbackUrls: string[];
    timeoutMs: number;
    batchSize: number;
    concurrency: number;
    maxQueue: number;
    retryMs: number;
    protocol: 'v2' | 'json';
    model?: string;
  };
  predictor: {
    mode: 'push' | 'pull' | 'subscribe' | 'poll';
    pollIntervalMs: number;
    batchSize: number;
    group: string;
    consumer?: string;
  };
  model: { path?: string; demoData?: string[]; ref?: string; registryUrl?: string };
}

export type VehicleAppConfig = AppConfig & { vehicle: VehicleConfig };

/** The defaults of the section (a fresh object each call). */
export function defaultVehicleConfig(): VehicleConfig {
  return validateWithSchema<VehicleConfig>(vehicleSection, {}, '(vehicle defaults)');
}

/**
 * Where the vehicle model artifact is: vehicle.model.path, else vehicle-model.json in the
 * storage directory (undefined when the storage is in memory: the demo model then stays in memory).
 */
export function modelPathOf(cfg: Pick<AppConfig, 'storage'>, v: VehicleConfig): string | undefined {
  if (v.model.path) return v.model.path;
  const dir = cfg.storage.dir.trim();
  if (dir === '' || dir === ':memory:') return undefined;
  return `${dir.replace(/\/+$/, '')}/vehicle-model.json`;
}

/**
 * The vehicle section of an already loaded app config; when the app config was loaded without
 * the section (before it is registered), the section's defaults plus its environment aliases.
 */
export function vehicleConfigOf(cfg: AppConfig, env: NodeJS.ProcessEnv = process.env): VehicleConfig {
  const existing = (cfg as { vehicle?: VehicleConfig }).vehicle;
  if (existing && typeof existing === 'object' && 'alignment' in existing) return existing;
  const loaded = loadConfig<{ vehicle: VehicleConfig }>({
    schema: { type: 'object', properties: { vehicle: vehicleSection }, additionalProperties: true },
    aliases: vehicleAliases,
    env: Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('WATTFLOW__') || k.startsWith('WATTFLOW__vehicle__'))),
  });
  return loaded.vehicle;
}

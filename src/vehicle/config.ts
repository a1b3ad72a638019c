/**
 * The `vehicle` section of the app configuration (TypeBox schema with defaults, and its type),
 * and its environment aliases (REDIS_URL, REDIS_PASSWORD, VEHICLE_API_TOKEN, …). app-config.ts
 * composes it; this module imports nothing above src/core.
 */
import { Type, type Static } from '@sinclair/typebox';
import { commaList, ConfigSection, Enum, loadConfig, validateWithSchema, type EnvAlias, type JsonObject } from '../core/config.js';

const str = (v: string) => v;

const redisSection = ConfigSection({
  /** Node-local Redis (redis://host:port/db). Unset: the vehicle-api role uses redis://127.0.0.1:6379; `up` uses the in-process store. */
  url: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  password: Type.Optional(Type.String()),
  /** Prefix of every key (tests and multi-tenant Redis use their own). */
  keyPrefix: Type.String({ default: 'wattflow:vehicle:' }),
  /** Pub/sub channel announcing each new aligned vector. */
  channel: Type.String({ minLength: 1, default: 'idneo_v2x' }),
  /** Raw measurements kept per vehicle and signal: by age (relative to the series' newest timestamp)… */
  retentionHours: Type.Number({ exclusiveMinimum: 0, default: 24 }),
  /** …and by count. */
  maxPerSeries: Type.Integer({ minimum: 10, default: 200000 }),
  /** Approximate cap of the vector stream (read by the predictor in pull mode) and of its dead-letter stream. */
  vectorStreamMaxLen: Type.Integer({ minimum: 100, default: 100000 }),
  connectTimeoutMs: Type.Integer({ minimum: 1, default: 3000 }),
  commandTimeoutMs: Type.Integer({ minimum: 1, default: 5000 }),
  /** Used only when the node-local Redis is unavailable (off by default: then ingest answers 503). */
  fallbackUrl: Type.Optional(Type.String({ pattern: '^rediss?://' })),
});

const apiSection = ConfigSection({
  /** When set, ingest requires `Authorization: Bearer <token>`. */
  authToken: Type.Optional(Type.String({ minLength: 1 })),
  /** Maximum ingest request body (413 beyond). */
  bodyLimitBytes: Type.Integer({ minimum: 1024, default: 8 * 1024 * 1024 }),
  maxMeasurementsPerRequest: Type.Integer({ minimum: 1, default: 100000 }),
  /** Signals not in the catalog: rejected, or kept (stored raw, not aligned). */
  unknownSignals: Enum(['reject', 'keep'] as const, { default: 'reject' }),
  /** Values outside the signal's valid range: rejected, or stored and flagged. */
  outOfRange: Enum(['reject', 'flag'] as const, { default: 'reject' }),
  /** Timestamps further in the future than this (vs the server clock) are rejected. */
  maxFutureSkewMs: Type.Integer({ minimum: 0, default: 24 * 3600 * 1000 }),
  rateLimit: ConfigSection({
    /** Sustained measurements per second per vehicle (0 = no limit). */
    measurementsPerSecond: Type.Number({ minimum: 0, default: 5000 }),
    /** Bucket size: a vehicle may send this many at once after being quiet. */
    burst: Type.Number({ minimum: 1, default: 50000 }),
  }),
});

const alignmentSection = ConfigSection({
  /** Feature-vector cadence (ticks at multiples of it on the data's clock). */
  cadenceMs: Type.Integer({ minimum: 10, default: 1000 }),
  /** Last value carried forward up to this age; older → explicit missing. */
  maxAgeMs: Type.Integer({ minimum: 0, default: 5000 }),
  /** A tick is emitted once the vehicle's newest timestamp is this far past it. */
  latenessMs: Type.Integer({ minimum: 0, default: 1000 }),
  /** A vehicle quiet (wall clock) this long gets its pending ticks emitted. */
  idleFlushMs: Type.Integer({ minimum: 10, default: 3000 }),
});

const plausibilitySection = ConfigSection({
  enabled: Type.Boolean({ default: true }),
  /** Pedal position at or below which the pedal counts as released (this car's pedal rests at 14.5 %). */
  pedalRestPct: Type.Number({ default: 15 }),
  /** Torque above which "pedal released" is implausible (idle ≈ 45 Nm, creeping ≤ 80 Nm in the reference logs). */
  highTorqueNm: Type.Number({ default: 150 }),
  /** Speed above which the vehicle counts as moving. */
  movingKmh: Type.Number({ default: 5 }),
  /** Largest plausible change of speed (km/h per s; ≈ 1.1 g at 40). */
  maxAccelKmhPerS: Type.Number({ default: 40 }),
  /** Allowed drift between the engine run-time counter and the measurement clock (s). */
  runTimeDriftS: Type.Number({ default: 5 }),
  /** Brake pressure (MPa) and pedal position (%) that are implausible together. */
  brakeMPa: Type.Number({ default: 2 }),
  brakePedalPct: Type.Number({ default: 50 }),
  /** Fuel flow (l/h) implausible with the engine off. */
  fuelFlowLh: Type.Number({ default: 0.3 }),
});

const inferenceSection = ConfigSection({
  /** push: the API forwards each vector to the predictor; pull: the predictor reads Redis. */
  mode: Enum(['push', 'pull'] as const, { default: 'push' }),
  /** Node-local predictor endpoint (push mode). */
  url: Type.String({ format: 'uri', default: 'http://127.0.0.1:8001' }),
  /** Used only when the node-local predictor is unavailable (off by default: then ingest answers 503). */
  fallbackUrls: Type.Array(Type.String({ format: 'uri' }), { default: [] }),
  timeoutMs: Type.Integer({ minimum: 1, default: 10000 }),
  batchSize: Type.Integer({ minimum: 1, default: 256 }),
  concurrency: Type.Integer({ minimum: 1, default: 4 }),
  /** Vectors waiting for the predictor beyond this → ingest answers 503. */
  maxQueue: Type.Integer({ minimum: 1, default: 100000 }),
  /** Probe interval of an unavailable predictor. */
  retryMs: Type.Integer({ minimum: 10, default: 1000 }),
  /** Push requests: v2 = Open Inference Protocol infer (POST /v2/models/{name}/versions/{v}/infer); json = POST /v1/vehicle/predict (compatibility). */
  protocol: Enum(['v2', 'json'] as const, { default: 'v2' }),
  /** V2 model name to call (default: the model the predictor serves, from GET /v2/models). */
  model: Type.Optional(Type.String({ minLength: 1 })),
});

const predictorSection = ConfigSection({
  /**
   * push: serve the V2 infer and JSON endpoints; pull: consume the vector stream (a stage on the node-local
   * Redis Streams fabric). The former pull modes `subscribe` and `poll` are accepted and mean pull.
   */
  mode: Enum(['push', 'pull', 'subscribe', 'poll'] as const, { default: 'push' }),
  /** Pull: longest wait of one blocking read of the vector stream (ms). */
  pollIntervalMs: Type.Integer({ minimum: 1, default: 500 }),
  batchSize: Type.Integer({ minimum: 1, default: 500 }),
  /** Consumer group on the vector stream (pull mode). */
  group: Type.String({ minLength: 1, default: 'wattflow-vehicle-predictor' }),
  /** Consumer names start with it (default: the host name). */
  consumer: Type.Optional(Type.String({ minLength: 1 })),
});

const modelSection = ConfigSection({
  /** The deployed vehicle model (artifact written by `wattflow train-vehicle`); default <storage.dir>/vehicle-model.json. */
  path: Type.Optional(Type.String({ minLength: 1 })),
  /** Logs (reference CSV format) for the demo model `wattflow up` trains when `path` does not exist. Default: the bundled logs. */
  demoData: Type.Optional(Type.Array(Type.String())),
  /** Load the model from the model registry instead of `path`: NAME@VERSION or NAME@ALIAS (sha256 checked). */
  ref: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9][A-Za-z0-9._-]*)?$' })),
  /** Registry base URL for `ref` (default registry.url, else http://127.0.0.1:8000). */
  registryUrl: Type.Optional(Type.String({ format: 'uri' })),
});

export const vehicleSection = ConfigSection({
  redis: redisSection,
  api: apiSection,
  alignment: alignmentSection,
  plausibility: plausibilitySection,
  inference: inferenceSection,
  predictor: predictorSection,
  model: modelSection,
});

export type VehicleConfig = Static<typeof vehicleSection>;
export type PlausibilityConfig = Static<typeof plausibilitySection>;
export type AlignmentConfig = Static<typeof alignmentSection>;

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

/** The defaults of the section (a fresh object each call). */
export function defaultVehicleConfig(): VehicleConfig {
  return validateWithSchema<VehicleConfig>(vehicleSection as unknown as JsonObject, {}, '(vehicle defaults)');
}

/** Model artifact of the standalone roles when neither vehicle.model.path nor a storage directory says where. */
export const DEFAULT_MODEL_PATH = '.wattflow/vehicle-model.json';

/**
 * Where the vehicle model artifact is: vehicle.model.path, else vehicle-model.json in the
 * storage directory (undefined when the storage is in memory: the demo model then stays in memory).
 */
export function modelPathOf(cfg: { storage: { dir: string } }, v: VehicleConfig): string | undefined {
  if (v.model.path) return v.model.path;
  const dir = cfg.storage.dir.trim();
  if (dir === '' || dir === ':memory:') return undefined;
  return `${dir.replace(/\/+$/, '')}/vehicle-model.json`;
}

/**
 * The vehicle section of an already loaded app config; when the config was loaded without the
 * section, the section's defaults plus its environment aliases.
 */
export function vehicleConfigOf(cfg: object, env: NodeJS.ProcessEnv = process.env): VehicleConfig {
  const existing = (cfg as { vehicle?: VehicleConfig }).vehicle;
  if (existing && typeof existing === 'object' && 'alignment' in existing) return existing;
  const loaded = loadConfig<{ vehicle: VehicleConfig }>({
    schema: { type: 'object', properties: { vehicle: vehicleSection }, additionalProperties: true },
    aliases: vehicleAliases,
    env: Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('WATTFLOW__') || k.startsWith('WATTFLOW__vehicle__'))),
  });
  return loaded.vehicle;
}

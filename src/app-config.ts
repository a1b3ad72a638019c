/**
 * The application configuration: one file (JSON or YAML, `--config FILE` or WATTFLOW_CONFIG)
 * with a section per concern, validated against the schema composed here from each module's
 * section schema, plus environment overrides (see core/config.ts). Adding a module's settings
 * = one entry in `sections` and its aliases in `aliases`.
 */
import { authAliases, authSection, type AuthConfig } from './core/auth-config.js';
import { commaList, loadConfig, type EnvAlias, type JsonObject } from './core/config.js';
import { httpAliases, httpSection, type HttpConfig } from './core/http-config.js';
import { logAliases, logSection, type LogConfig } from './core/logger.js';
import { collectorSection, type CollectorConfig } from './collector/config.js';
import { routerPowerAliases, routerPowerSection, type RouterPowerConfig } from './router-power/config.js';
import { storageSection, type StorageConfig } from './storage/config.js';
import type { KafkaSaslSettings, KafkaTlsSettings } from './fabric/kafka/security.js';
import { influxAliases, influxSection, type InfluxConfig } from './sinks/config.js';
import { vehicleAliases, vehicleSection, type VehicleConfig } from './vehicle/config.js';
import { energyAliases, energySection, type EnergyConfig } from './energy/config.js';
import { uiAliases, uiSection, type UiConfig } from './ui/config.js';
import { grpcAliases, grpcSection, type GrpcConfig } from './router-power/inference/grpc-config.js';
import { registryAliases, registrySection, type RegistryConfig } from './registry/config.js';

export type { RegistryConfig, S3Config } from './registry/config.js';

const fabricSection = {
  type: 'object',
  properties: {
    kind: { enum: ['memory', 'kafka'], default: 'memory' },
    /** The in-process bus (kind memory): one memory budget for all topics (src/fabric/memory-fabric.ts). */
    memory: {
      type: 'object',
      properties: {
        /** Most messages held, all topics together; beyond it sources (the producer) wait for lagging consumers. */
        maxMessages: { type: 'integer', minimum: 100, default: 100000 },
        /** Most bytes held (estimated from the JSON text), all topics together. */
        maxBytes: { type: 'integer', minimum: 65536, default: 64 * 1024 * 1024 },
        /** Consumed messages kept per topic (for readAll of recent history) while within the budget. */
        retainConsumed: { type: 'integer', minimum: 0, default: 0 },
      },
      additionalProperties: false,
      default: {},
    },
    kafka: {
      type: 'object',
      properties: {
        brokers: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, default: ['127.0.0.1:9092'] },
        clientId: { type: 'string', default: 'wattflow' },
        /** Partitions of the topics wattflow creates (per-router topics need 1; a topic shared by many routers, more to spread them over a consumer group). */
        partitions: { type: 'integer', minimum: 1, default: 1 },
        /** Consumer group tuning (defaults in src/fabric/kafka-subscription.ts: session 30 s, heartbeat 3 s, rebalance 60 s). */
        consumer: {
          type: 'object',
          properties: {
            /** A member silent this long is removed and its partitions reassigned (how soon a killed worker's routers move). */
            sessionTimeoutMs: { type: 'integer', minimum: 1000 },
            heartbeatIntervalMs: { type: 'integer', minimum: 100 },
            rebalanceTimeoutMs: { type: 'integer', minimum: 1000 },
            maxWaitTimeMs: { type: 'integer', minimum: 1 },
            maxBatchSize: { type: 'integer', minimum: 1 },
            commitIntervalMs: { type: 'integer', minimum: 0 },
          },
          additionalProperties: false,
          default: {},
        },
        /** SASL authentication of every Kafka client (src/fabric/kafka-security.ts); files are read at start. */
        sasl: {
          type: 'object',
          properties: {
            mechanism: { enum: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] },
            username: { type: 'string', minLength: 1 },
            password: { type: 'string', minLength: 1 },
            /** A file holding the password (e.g. a mounted Secret); one trailing newline is ignored. */
            passwordFile: { type: 'string', minLength: 1 },
          },
          required: ['mechanism', 'username'],
          additionalProperties: false,
        },
        /** TLS to the brokers: true (the system's CAs) or the files below (PEM, read at start). */
        tls: {
          type: ['boolean', 'object'],
          properties: {
            caFile: { type: 'string', minLength: 1 },
            /** Client certificate and key, for brokers that require TLS client authentication. */
            certFile: { type: 'string', minLength: 1 },
            keyFile: { type: 'string', minLength: 1 },
            rejectUnauthorized: { type: 'boolean', default: true },
            /** SNI name, also checked against the broker's certificate (default: the broker's host). */
            servername: { type: 'string', minLength: 1 },
          },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
      default: {},
    },
  },
  additionalProperties: false,
  default: {},
};

/** Sections other modules add (vehicle, registry, …) register here. */
export const sections: Record<string, JsonObject> = {
  log: logSection,
  http: httpSection,
  grpc: grpcSection,
  fabric: fabricSection,
  collector: collectorSection,
  network: routerPowerSection,
  influx: influxSection,
  storage: storageSection,
  registry: registrySection,
  vehicle: vehicleSection,
  auth: authSection,
  energy: energySection,
  ui: uiSection,
};

/** true/false/1/0/yes/no (any case); anything else stays a string for the schema to refuse. */
function boolish(raw: string): unknown {
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  return raw;
}

export const aliases: EnvAlias[] = [
  ...logAliases,
  ...httpAliases,
  ...grpcAliases,
  { env: 'KAFKA_BROKERS', path: '/fabric/kafka/brokers', parse: commaList, implies: [{ path: '/fabric/kind', value: 'kafka' }] },
  { env: 'KAFKA_SASL_MECHANISM', path: '/fabric/kafka/sasl/mechanism', parse: (v) => v },
  { env: 'KAFKA_SASL_USERNAME', path: '/fabric/kafka/sasl/username', parse: (v) => v },
  { env: 'KAFKA_SASL_PASSWORD', path: '/fabric/kafka/sasl/password', parse: (v) => v },
  { env: 'KAFKA_SASL_PASSWORD_FILE', path: '/fabric/kafka/sasl/passwordFile', parse: (v) => v },
  // KAFKA_TLS before the KAFKA_TLS_* settings: one of those turns `true` into an object
  { env: 'KAFKA_TLS', path: '/fabric/kafka/tls', parse: boolish },
  { env: 'KAFKA_TLS_CA_FILE', path: '/fabric/kafka/tls/caFile', parse: (v) => v },
  { env: 'KAFKA_TLS_CERT_FILE', path: '/fabric/kafka/tls/certFile', parse: (v) => v },
  { env: 'KAFKA_TLS_KEY_FILE', path: '/fabric/kafka/tls/keyFile', parse: (v) => v },
  { env: 'KAFKA_TLS_REJECT_UNAUTHORIZED', path: '/fabric/kafka/tls/rejectUnauthorized', parse: boolish },
  { env: 'KAFKA_TLS_SERVERNAME', path: '/fabric/kafka/tls/servername', parse: (v) => v },
  ...influxAliases,
  ...routerPowerAliases,
  ...registryAliases,
  ...vehicleAliases,
  ...authAliases,
  ...energyAliases,
  ...uiAliases,
];

export function appSchema(): JsonObject {
  return { type: 'object', properties: sections, additionalProperties: false };
}

export interface AppConfig {
  log: LogConfig;
  http: HttpConfig;
  grpc: GrpcConfig;
  fabric: { kind: 'memory' | 'kafka'; memory: { maxMessages: number; maxBytes: number; retainConsumed: number }; kafka: { brokers: string[]; clientId: string; partitions: number; consumer: Partial<Record<'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'rebalanceTimeoutMs' | 'maxWaitTimeMs' | 'maxBatchSize' | 'commitIntervalMs', number>>; sasl?: KafkaSaslSettings; tls?: boolean | KafkaTlsSettings } };
  collector: CollectorConfig;
  network: RouterPowerConfig;
  influx: InfluxConfig;
  storage: StorageConfig;
  vehicle: VehicleConfig;
  registry: RegistryConfig;
  auth: AuthConfig;
  energy: EnergyConfig;
  ui: UiConfig;
  [section: string]: unknown;
}

export function loadAppConfig(file?: string, overrides?: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): AppConfig {
  return loadConfig<AppConfig>({ file: file ?? env.WATTFLOW_CONFIG, schema: appSchema(), aliases, env, overrides });
}

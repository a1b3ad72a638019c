/**
 * The fabric's configuration: the `fabric` section (which adapter; the in-process bus's memory
 * budget; Kafka brokers, consumer tuning and security) as a TypeBox schema, its type, and its
 * environment aliases. src/app-config.ts composes it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigSection, Enum, commaList, type EnvAlias } from '../core/config.js';

/** fabric.kafka.sasl: SASL authentication of every Kafka client (kafka/security.ts); files are read at start. */
export const kafkaSaslSchema = Type.Object(
  {
    mechanism: Enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']),
    username: Type.String({ minLength: 1 }),
    password: Type.Optional(Type.String({ minLength: 1 })),
    /** A file holding the password (e.g. a mounted Secret); one trailing newline is ignored. */
    passwordFile: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
export type KafkaSaslSettings = Static<typeof kafkaSaslSchema>;
export type KafkaSaslMechanism = KafkaSaslSettings['mechanism'];

/** fabric.kafka.tls when an object (`true`: TLS with the system's CAs). Files are PEM, read at start. */
const kafkaTlsFiles = Type.Object(
  {
    /** The CA(s) that signed the brokers' certificates (instead of the system's). */
    caFile: Type.Optional(Type.String({ minLength: 1 })),
    /** Client certificate and key, for brokers that require TLS client authentication. */
    certFile: Type.Optional(Type.String({ minLength: 1 })),
    keyFile: Type.Optional(Type.String({ minLength: 1 })),
    /** Verify the brokers' certificates. */
    rejectUnauthorized: Type.Optional(Type.Boolean({ default: true })),
    /** SNI name, also checked against the broker's certificate (default: the broker's host). */
    servername: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
export type KafkaTlsSettings = Static<typeof kafkaTlsFiles>;

/** fabric.kafka.tls: true (the system's CAs) or the files (one schema for both: `type: [boolean, object]`). */
const kafkaTlsSchema = Type.Unsafe<boolean | KafkaTlsSettings>({
  type: ['boolean', 'object'],
  properties: kafkaTlsFiles.properties,
  additionalProperties: false,
});

/** Consumer group tuning (defaults in kafka/consumer-tuning.ts: session 30 s, heartbeat 3 s, rebalance 60 s). */
const kafkaConsumerSchema = ConfigSection({
  /** A member silent this long is removed and its partitions reassigned (how soon a killed worker's routers move). */
  sessionTimeoutMs: Type.Optional(Type.Integer({ minimum: 1000 })),
  heartbeatIntervalMs: Type.Optional(Type.Integer({ minimum: 100 })),
  rebalanceTimeoutMs: Type.Optional(Type.Integer({ minimum: 1000 })),
  maxWaitTimeMs: Type.Optional(Type.Integer({ minimum: 1 })),
  maxBatchSize: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Handled batches of a partition whose outputs are still in flight while the next is handled (1: no pipelining). */
  maxPipelinedBatches: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  commitIntervalMs: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const kafkaSection = ConfigSection({
  brokers: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, default: ['127.0.0.1:9092'] }),
  clientId: Type.String({ default: 'wattflow' }),
  /** Partitions of the topics wattflow creates (per-router topics need 1; a topic shared by many routers, more to spread them over a consumer group). */
  partitions: Type.Integer({ minimum: 1, default: 1 }),
  consumer: kafkaConsumerSchema,
  sasl: Type.Optional(kafkaSaslSchema),
  tls: Type.Optional(kafkaTlsSchema),
});
export type KafkaConfig = Static<typeof kafkaSection>;

/** The in-process bus (kind memory): one memory budget for all topics (memory/bus-budget.ts). */
export const memorySection = ConfigSection({
  /** Most messages held, all topics together; beyond it sources (the producer) wait for lagging consumers. */
  maxMessages: Type.Integer({ minimum: 100, default: 100000 }),
  /** Most bytes held (estimated from the JSON text), all topics together. */
  maxBytes: Type.Integer({ minimum: 65536, default: 64 * 1024 * 1024 }),
  /** Consumed messages kept per topic (for readAll of recent history) while within the budget. */
  retainConsumed: Type.Integer({ minimum: 0, default: 0 }),
});
export type MemoryBusConfig = Static<typeof memorySection>;

export const fabricSection = ConfigSection({
  kind: Enum(['memory', 'kafka'], { default: 'memory' }),
  memory: memorySection,
  kafka: kafkaSection,
});
export type FabricConfig = Static<typeof fabricSection>;

/**
 * true/false/1/0/yes/no (any case); anything else stays a string for the schema to refuse.
 * (Stricter than core's envFlag, which also takes on/off and '': the KAFKA_TLS* values accepted stay as they were.)
 */
function boolish(raw: string): unknown {
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  return raw;
}

export const fabricAliases: EnvAlias[] = [
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
];

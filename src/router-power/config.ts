/**
 * The `network` section of the app configuration: the router-power pipeline's experiment file,
 * formulas, polling spread, operator chaining, the producer's outbox, and the names on the
 * broker (the processor's state topic, the stages' and sinks' consumer groups: two pipelines
 * with different names share a broker).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigSection, Enum, type EnvAlias } from '../core/config.js';

/** A Kafka topic or consumer-group name (Kafka's legal topic characters; groups kept to the same). */
const brokerName = (fallback: string) => Type.String({ pattern: '^[A-Za-z0-9._-]+$', minLength: 1, maxLength: 249, default: fallback });

export const routerPowerSection = ConfigSection({
  /** Experiment file (the reference's config.json); default: config/default-experiment.json. */
  experiment: Type.Optional(Type.String()),
  /** Watch the experiment file and apply changes without a restart. */
  watch: Type.Boolean({ default: true }),
  /** Directory of dummy formula files, one per router type (<router_type>.txt, else default.txt). */
  formulaDir: Type.Optional(Type.String()),
  /** Spread each router's polls over the interval at a fixed per-router offset (steady load instead of a burst per tick). */
  spreadPolls: Type.Boolean({ default: false }),
  /** With spreadPolls, offsets on a grid of this many ms: a slot's routers are polled together and published in one request. */
  spreadSlotMs: Type.Integer({ minimum: 1, default: 10 }),
  /** Operator chaining: the processor also predicts and publishes TP and ML together (one Kafka hop fewer); no separate inference stage runs. */
  chainInference: Type.Boolean({ default: false }),
  /**
   * Kafka topic layout (topic-layout.ts): `auto` keeps the experiment's topics below
   * sharedTopicsFrom routers and moves a one-topic-per-router experiment to one topic per stage
   * from there on; `as-configured` always keeps the experiment's names (the reference's
   * TD_<router>…); `shared` always uses sharedTopics.
   */
  topicLayout: Enum(['auto', 'as-configured', 'shared'] as const, { default: 'auto' }),
  /** With topicLayout auto: experiments of at least this many routers share one topic per stage. */
  sharedTopicsFrom: Type.Integer({ minimum: 1, default: 100 }),
  /** The shared topics' names (TD, TP, ML messages). */
  sharedTopics: ConfigSection({
    raw: Type.String({ minLength: 1, default: 'TD' }),
    processed: Type.String({ minLength: 1, default: 'TP' }),
    predictions: Type.String({ minLength: 1, default: 'ML' }),
  }),
  /** Finite-difference step for trained models' sensitivities. */
  epsilon: Type.Number({ exclusiveMinimum: 0, default: 0.01 }),
  /** The producer keeps TD messages the broker refused (down, restarting) and re-sends them in order for up to this long (ms). */
  outboxMaxAgeMs: Type.Integer({ minimum: 1000, default: 300000 }),
  /** …and at most this many of them (the oldest are dropped, counted). */
  outboxMaxMessages: Type.Integer({ minimum: 1, default: 100000 }),
  /** The processor's compacted state topic (last TD message per router). */
  stateTopic: brokerName('wattflow_processor_state'),
  /** Partitions of the state topic when the processor creates it (default: fabric.kafka.partitions when above 1, else 8); an existing topic keeps its count. */
  statePartitions: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
  /** Consumer groups of the processor and inference stages and of the ML sinks. */
  processorGroup: brokerName('wattflow-processor'),
  inferenceGroup: brokerName('wattflow-inference'),
  storeSinkGroup: brokerName('wattflow-store-sink'),
  influxSinkGroup: brokerName('wattflow-influx-sink'),
});
export type RouterPowerConfig = Static<typeof routerPowerSection>;

export const routerPowerAliases: EnvAlias[] = [{ env: 'WATTFLOW_EXPERIMENT', path: '/network/experiment', parse: (v) => v }];

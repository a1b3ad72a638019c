/**
 * The `network` section of the app configuration: the router-power pipeline's experiment file,
 * formulas, polling spread, operator chaining and the producer's outbox.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigSection, Enum, type EnvAlias } from '../core/config.js';

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
  sharedTopicsFrom: Type.Integer({ minimum: 1, default: 200 }),
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
});
export type RouterPowerConfig = Static<typeof routerPowerSection>;

export const routerPowerAliases: EnvAlias[] = [{ env: 'WATTFLOW_EXPERIMENT', path: '/network/experiment', parse: (v) => v }];

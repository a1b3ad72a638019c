/**
 * The Kafka topic layout of an experiment. The reference gives each router its own topics
 * (TD_<router>, TP_<router>, ML_<router>); at a few hundred routers the broker's cost per
 * partition dominates (docs/performance.md, "Topic layout"), so from `sharedTopicsFrom`
 * routers on, `auto` moves an experiment written that way to one topic per stage, keyed by
 * router id. `as-configured` keeps the experiment's names whatever its size; `shared` always shares.
 */
import type { Experiment } from './experiment.js';

export type TopicLayout = 'auto' | 'as-configured' | 'shared';

export interface TopicLayoutConfig {
  topicLayout: TopicLayout;
  sharedTopicsFrom: number;
  sharedTopics: { raw: string; processed: string; predictions: string };
}

export interface LayoutDecision {
  experiment: Experiment;
  /** The experiment's topics were replaced by the shared ones. */
  shared: boolean;
  /** Why they were ('' when they were kept). */
  why: string;
}

/** One topic per router: every router has a TD topic of its own. */
const perRouter = (exp: Experiment): boolean => new Set(exp.routers.map((r) => r.topic)).size === exp.routers.length && exp.routers.length > 1;

export function applyTopicLayout(exp: Experiment, cfg: TopicLayoutConfig): LayoutDecision {
  const n = exp.routers.length;
  const share =
    cfg.topicLayout === 'shared' || (cfg.topicLayout === 'auto' && n >= cfg.sharedTopicsFrom && perRouter(exp));
  if (!share) return { experiment: exp, shared: false, why: '' };
  const { raw, processed, predictions } = cfg.sharedTopics;
  return {
    experiment: {
      ...exp,
      routers: exp.routers.map((r) => ({ ...r, topic: raw })),
      tpTopic: () => processed,
      mlTopic: () => predictions,
    },
    shared: true,
    why:
      cfg.topicLayout === 'shared'
        ? `network.topicLayout is shared: topics ${raw}, ${processed}, ${predictions} keyed by router id`
        : `${n} routers ≥ network.sharedTopicsFrom (${cfg.sharedTopicsFrom}): one topic per stage (${raw}, ${processed}, ${predictions}) keyed by router id instead of one per router; network.topicLayout: as-configured keeps the experiment's names`,
  };
}

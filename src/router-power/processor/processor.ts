/**
 * The processing stage (role `processor`): TD_<router> → TP_<router>. Pairs each TD message
 * with the previous one of the same router (state per router), computes the rates
 * (compute.ts), builds the TP message in the reference layout, and publishes it.
 *
 * State survives consumer-group rebalances and restarts: after handling a message the stage
 * also publishes it, keyed by router, to a compacted state topic (once the batch's outputs are
 * acknowledged: the stage loop's bookkeeping, docs/delivery.md); a member that is assigned a
 * router's topic first rebuilds that router's last message from the state topic, so it never
 * pairs across a gap it did not see and never emits a wrong rate. The state topic is partitioned
 * by router id; a member reads only the state partitions of the routers it is newly assigned
 * (state-partitions.ts; docs/performance.md § "State restore"). A batch delivered again because
 * its outputs failed is paired as the first time (router-states.ts; docs/delivery.md).
 *
 * Chained (`chainInference`), it also predicts each TP message and publishes the ML message with
 * it (operator chaining, as stream processors fuse adjacent operators): one Kafka hop fewer.
 */
import type { Component } from '../../core/component.js';
import type { Logger } from '../../core/logger.js';
import type { Fabric, IncomingMessage, OutgoingMessage } from '../../fabric/fabric.js';
import { stageTopics, type ExperimentSource } from '../experiment.js';
import {
  BYTE_RATE,
  OCCUPATION,
  PACKET_LENGTH,
  PACKET_RATE,
  type InputMlMetric,
  type TdMessage,
  type TpMessage,
} from '../messages.js';
import { hopLatency, messagesDropped } from '../../stage/stage-metrics.js';
import { StageLoop, type StageItem } from '../../stage/stage-loop.js';
import { createBatchPredictor } from '../inference/inference.js';
import type { PredictorResolver } from '../inference/predictor.js';
import { parseTd } from '../validate.js';
import { computeRates, snapshotOf, type Rates } from './compute.js';
import { RouterStates } from './router-states.js';
import { registerStateMetrics, unregisterStateMetrics } from './state-metrics.js';
import { StatePartitions, type TopicPartition } from './state-partitions.js';

export const PROCESSOR_STATE_TOPIC = 'wattflow_processor_state';
export const PROCESSOR_GROUP = 'wattflow-processor';
/** Partitions of a state topic created without `statePartitions` (an existing topic keeps its count). */
export const DEFAULT_STATE_PARTITIONS = 8;

export interface ProcessorOptions {
  fabric: Fabric;
  experiment: ExperimentSource;
  logger: Logger;
  /** Consumer group (default wattflow-processor; `network.processorGroup`). */
  group?: string;
  /** Compacted state topic (default wattflow_processor_state; `network.stateTopic`). */
  stateTopic?: string;
  /** Partitions of the state topic when this stage creates it (default 8; `network.statePartitions`). */
  statePartitions?: number;
  /** Pairs further apart than this many polling intervals are dropped (default 5). */
  maxGapIntervals?: number;
  /**
   * Operator chaining (`network.chainInference`): predict each TP message here too and publish
   * its ML message in the same request as the TP message, one Kafka hop fewer than a separate
   * inference stage (which must then not run). The TP topic is still written.
   */
  chainInference?: PredictorResolver;
}

/** Builds the TP message: the TD fields in reference order plus input_ml_metrics. */
export function buildTp(td: TdMessage, rates: Rates, opts: { includeOriginal: boolean; nowMs: number }): TpMessage {
  // copies the TD's fields in their order (for-in: no intermediate arrays on this hot path)
  const tp: Record<string, unknown> = {};
  for (const key in td) {
    if (key === 'debug_params' || key === 'metrics' || key === 'input_ml_metrics') continue;
    tp[key] = td[key];
  }
  if (td.flag_debug_params && td.debug_params) tp.debug_params = { ...td.debug_params, process_timestamp: String(opts.nowMs) };
  if (opts.includeOriginal && td.metrics) tp.metrics = td.metrics;
  const inputs: InputMlMetric[] = [
    { name: PACKET_RATE, type: 'rate', value: rates.packetsPerSecond },
    { name: PACKET_LENGTH, type: 'length', value: rates.averagePacketLength },
    { name: OCCUPATION, type: 'percentage', value: rates.occupationPercent },
    // extension (additive, after the reference's three): the byte rate in Mbit/s
    { name: BYTE_RATE, type: 'rate', value: rates.mbitPerSecond },
  ];
  tp.input_ml_metrics = inputs;
  return tp as TpMessage;
}

export function createProcessor(opts: ProcessorOptions): Component & { stateSize(): number } {
  const stateTopic = opts.stateTopic ?? PROCESSOR_STATE_TOPIC;
  /** Per router: the counters of its last TD message (what the next pair needs), and before each unsettled one. */
  const states = new RouterStates();
  const log = opts.logger.child({ stage: 'processor' });
  const partitions = new StatePartitions({ fabric: opts.fabric, experiment: opts.experiment, stateTopic });

  /** Newly assigned TD partitions: their routers' last messages from the state partitions holding them. */
  const restoreState = async (topics: string[], parts: TopicPartition[]) => {
    await partitions.learn(topics);
    const routers = partitions.routersOf(parts);
    if (routers.size === 0) return;
    const statePartitions = partitions.stateOf(routers);
    let restored = 0;
    for (const m of await opts.fabric.readAll(stateTopic, { partitions: statePartitions })) {
      if (!routers.has(m.key)) continue;
      const parsed = m.json !== undefined ? parseTd('', m.json) : parseTd(m.value);
      if (parsed.ok) {
        states.restore(m.key, snapshotOf(parsed.message));
        restored++;
      }
    }
    log.info({ routers: routers.size, restored, statePartitions, of: partitions.stateCount }, 'restored per-router state');
  };

  /** One TD message: state and (when the pair is usable) the TP message onto `out`; returns the TP message. */
  const handle = (key: string, td: TdMessage, incoming: IncomingMessage, out: OutgoingMessage[]): TpMessage | undefined => {
    const exp = opts.experiment.current;
    const routerId = key; // the message key, or for an unkeyed (reference) message its topic / node_exporter (StageLoop route)
    const router = opts.experiment.routerById(routerId);
    const dbg = td.flag_debug_params ? td.debug_params : undefined;
    // a redelivered message (its batch's outputs failed) pairs with its predecessor again
    const prev = states.previous(routerId, incoming);
    out.push(incoming.json !== undefined ? { topic: stateTopic, key: routerId, json: incoming.json } : { topic: stateTopic, key: routerId, value: incoming.value });
    const now = Date.now();
    hopLatency.observe({ hop: 'producer_to_processor' }, Math.max(0, now - incoming.timestamp) / 1000);
    const result =
      prev &&
      computeRates(prev, td, {
        maxThroughputMbps: dbg?.max_throughput_mbps ?? router?.maxThroughputMbps ?? exp.maxThroughputMbps,
        pollingIntervalSeconds: dbg?.polling_interval ?? exp.pollingInterval,
        maxGapIntervals: opts.maxGapIntervals,
      });
    // the pair is computed: the router's snapshot now becomes this message's
    states.advance(routerId, td, incoming);
    if (!result) {
      messagesDropped.inc({ stage: 'processor', reason: 'first_message' });
      return;
    }
    if (!result.ok) {
      messagesDropped.inc({ stage: 'processor', reason: result.reason });
      log.debug({ router: routerId, reason: result.reason, detail: result.detail }, 'pair dropped');
      return;
    }
    const includeOriginal = dbg?.flag_original_metrics ?? exp.flagOriginalMetrics;
    const tp = buildTp(td, result.rates, { includeOriginal, nowMs: now });
    out.push({ topic: exp.tpTopic(routerId), key: routerId, json: tp });
    return tp;
  };

  const predict: ((items: Array<StageItem<TpMessage>>, out: OutgoingMessage[]) => Promise<void>) | undefined = opts.chainInference
    ? createBatchPredictor({
        experiment: opts.experiment,
        resolve: opts.chainInference,
        // a TP message that cannot be predicted goes where the inference stage would put it: <TP topic>.dlq
        deadLetter: (tp: IncomingMessage, reason: string): OutgoingMessage => loop.deadLetter({ ...tp, value: JSON.stringify(tp.json) }, reason),
      })
    : undefined;
  /** Chained: the batch's TP messages are predicted together, as the inference stage would. */
  const handleMany = async (items: Array<StageItem<TdMessage>>, out: OutgoingMessage[]) => {
    const produced: Array<StageItem<TpMessage>> = [];
    for (const item of items) {
      try {
        const tp = handle(item.routerId, item.message, item.incoming, out);
        if (!tp) continue;
        const topic = opts.experiment.current.tpTopic(item.routerId);
        const incoming: IncomingMessage = { topic, key: item.routerId, value: '', json: tp, headers: {}, partition: -1, offset: '-1', timestamp: Date.now() };
        produced.push({ routerId: item.routerId, message: tp, incoming });
      } catch (err) {
        out.push(loop.deadLetter(item.incoming, `stage processor failed: ${(err as Error).message}`));
      }
    }
    await predict!(produced, out);
  };

  const loop: StageLoop<TdMessage> = new StageLoop<TdMessage>({
    stage: 'processor',
    group: opts.group ?? PROCESSOR_GROUP,
    fabric: opts.fabric,
    logger: log,
    parse: parseTd,
    route: (m, td) => opts.experiment.routerOf(m.key, m.topic, td.node_exporter),
    ...(predict ? { handleMany } : { handle: (key: string, td: TdMessage, incoming: IncomingMessage, out: OutgoingMessage[]) => void handle(key, td, incoming, out) }),
    internalTopics: new Set([stateTopic]),
    onAssigned: restoreState,
    // only the routers of the partitions taken away (a shared topic's other partitions stay)
    onRevoked: (_topics, parts) => {
      for (const r of partitions.routersOf(parts)) states.delete(r);
    },
    // acknowledged: what each router was before these messages is no longer needed
    onSettled: (routerIds, incoming) => {
      for (let i = 0; i < routerIds.length; i++) states.settled(routerIds[i]!, incoming[i]!);
    },
  });

  let unsubscribe: (() => void) | undefined;
  return {
    name: 'processor',
    stateSize: () => states.size,
    async start() {
      registerStateMetrics(states);
      await opts.fabric.ensureTopics([{ name: stateTopic, compacted: true, partitions: opts.statePartitions ?? DEFAULT_STATE_PARTITIONS }]);
      const exp = opts.experiment.current;
      await loop.ensure(stageTopics(exp, 'TP'));
      await loop.start(stageTopics(exp, 'TD'));
      unsubscribe = opts.experiment.onChange(async (next) => {
        await loop.ensure(stageTopics(next, 'TP'));
        await loop.updateTopics(stageTopics(next, 'TD'));
      });
    },
    async stop() {
      unsubscribe?.();
      await loop.stop();
      unregisterStateMetrics(states);
    },
    ready: () => (loop.running ? true : 'processor not consuming yet'),
  };
}

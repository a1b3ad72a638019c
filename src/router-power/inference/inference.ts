/**
 * The inference stage (role `inference`): TP_<router> → ML_<router>. Takes each batch of TP
 * messages, groups the rows by the router's predictor (router type × model), runs each
 * predictor once per batch (micro-batching: one runtime call for many messages), and
 * publishes the ML messages. A row whose features are unusable (missing, negative, NaN) or
 * whose router has no usable model goes to the dead-letter topic with the reason.
 */
import type { Component } from '../../core/component.js';
import type { Logger } from '../../core/logger.js';
import { histogram } from '../../core/metrics.js';
import type { Fabric, IncomingMessage, OutgoingMessage } from '../../fabric/fabric.js';
import { stageTopics, type ExperimentSource } from '../experiment.js';
import { DEFAULT_MODEL_TYPE, DEFAULT_ROUTER_TYPE } from '../experiment-schema.js';
import type { TpMessage } from '../messages.js';
import { hopLatency } from '../../stage/stage-metrics.js';
import { StageLoop, type StageItem } from '../../stage/stage-loop.js';
import { parseTp } from '../validate.js';
import { buildMl, featuresOf } from './build-ml.js';
import type { PowerFeatures, PowerPrediction, PowerPredictor, PredictorResolver } from './predictor.js';

const predictSeconds = histogram({
  name: 'wattflow_inference_predict_seconds',
  help: 'Duration of one predictor call (a micro-batch)',
  labelNames: ['model_type'] as const,
});

export interface InferenceOptions {
  fabric: Fabric;
  experiment: ExperimentSource;
  logger: Logger;
  resolve: PredictorResolver;
  group?: string;
}

export interface BatchPredictorOptions {
  experiment: ExperimentSource;
  resolve: PredictorResolver;
  /** The dead letter for a TP message that cannot be predicted (unusable features, no model, predictor failure). */
  deadLetter: (incoming: IncomingMessage, reason: string) => OutgoingMessage;
}

/**
 * TP messages → ML messages for one batch: groups the rows by the router's predictor
 * (router type × model) and runs each predictor once (micro-batching). Used by the inference
 * stage and, chained, by the processor (`network.chainInference`).
 */
export function createBatchPredictor(opts: BatchPredictorOptions) {
  return async (items: Array<StageItem<TpMessage>>, out: OutgoingMessage[]): Promise<void> => {
    const exp = opts.experiment.current;
    const groups = new Map<PowerPredictor, Array<{ item: StageItem<TpMessage>; features: PowerFeatures; routerType: string }>>();
    for (const item of items) {
      const router = opts.experiment.routerById(item.routerId);
      const routerType = router?.routerType ?? DEFAULT_ROUTER_TYPE;
      const features = featuresOf(item.message);
      if ('error' in features) {
        out.push(opts.deadLetter(item.incoming, features.error));
        continue;
      }
      let predictor: PowerPredictor;
      try {
        predictor = opts.resolve({ id: item.routerId, routerType, modelType: router?.modelType ?? DEFAULT_MODEL_TYPE });
      } catch (err) {
        out.push(opts.deadLetter(item.incoming, `no model for router ${item.routerId}: ${(err as Error).message}`));
        continue;
      }
      let list = groups.get(predictor);
      if (!list) groups.set(predictor, (list = []));
      list.push({ item, features, routerType });
    }
    for (const [predictor, rows] of groups) {
      const started = performance.now();
      let predictions;
      try {
        predictions = await predictor.predict(rows.map((r) => r.features));
      } catch (err) {
        for (const r of rows) out.push(opts.deadLetter(r.item.incoming, `prediction failed: ${(err as Error).message}`));
        continue;
      }
      const elapsed = performance.now() - started;
      predictSeconds.observe({ model_type: predictor.info.model_type }, elapsed / 1000);
      const now = Date.now();
      rows.forEach((r, i) => {
        const p = predictions[i];
        // a model can overflow on extreme (valid) inputs: an ML message must carry numbers, not null
        const bad = p === undefined ? 'no prediction returned' : nonFinite(p);
        if (bad || p === undefined) {
          out.push(opts.deadLetter(r.item.incoming, `prediction not finite (${bad}) for occupation ${r.features.occupation}, packet length ${r.features.packetLength}`));
          return;
        }
        // ml_metadata.router_type: the model's (what it was made for), not the router's (issue 17;
        // they differ only for a model deployed with --force); the sinks tag the router's own type
        const ml = buildMl(r.item.message, p, { ...predictor.info, router_type: predictor.info.router_type ?? r.routerType, processing_time_ms: elapsed / rows.length }, now);
        out.push({ topic: exp.mlTopic(r.item.routerId), key: r.item.routerId, json: ml });
        hopLatency.observe({ hop: 'processor_to_inference' }, Math.max(0, now - r.item.incoming.timestamp) / 1000);
        const readAt = Number(r.item.message.epoch_timestamp) * 1000;
        if (Number.isFinite(readAt)) hopLatency.observe({ hop: 'end_to_end' }, Math.max(0, now - readAt) / 1000);
      });
    }
  };
}

/** Which part of a prediction is not a finite number (e.g. "power = Infinity"), or undefined. */
function nonFinite(p: PowerPrediction): string | undefined {
  for (const [k, v] of [['power', p.power], ['dPower/dOccupation', p.dPowerDOccupation], ['dPower/dPacketLength', p.dPowerDPacketLength]] as const) {
    if (!Number.isFinite(v)) return `${k} = ${v}`;
  }
  return undefined;
}

export function createInference(opts: InferenceOptions): Component {
  const log = opts.logger.child({ stage: 'inference' });
  const topicsOf = () => stageTopics(opts.experiment.current, 'TP');
  const handleMany = createBatchPredictor({ experiment: opts.experiment, resolve: opts.resolve, deadLetter: (incoming, reason) => loop.deadLetter(incoming, reason) });

  const loop: StageLoop<TpMessage> = new StageLoop<TpMessage>({
    stage: 'inference',
    group: opts.group ?? 'wattflow-inference',
    fabric: opts.fabric,
    logger: log,
    parse: parseTp,
    route: (m, tp) => opts.experiment.routerOf(m.key, m.topic, tp.node_exporter),
    handleMany,
  });

  let unsubscribe: (() => void) | undefined;
  return {
    name: 'inference',
    async start() {
      const exp = opts.experiment.current;
      await loop.ensure(stageTopics(exp, 'ML'));
      await loop.start(topicsOf());
      unsubscribe = opts.experiment.onChange(async (next) => {
        await loop.ensure(stageTopics(next, 'ML'));
        await loop.updateTopics(topicsOf());
      });
    },
    async stop() {
      unsubscribe?.();
      await loop.stop();
    },
    ready: () => (loop.running ? true : 'inference not consuming yet'),
  };
}

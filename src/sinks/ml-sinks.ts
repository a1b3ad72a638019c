/**
 * The two consumers of the predictions (ML_<router> topics of the experiment; the topic list
 * follows experiment changes):
 *  - createMlInfluxSink: each ML message → one `router_power` point in InfluxDB (group
 *    `wattflow-influx-sink`);
 *  - createMlStoreSink: each ML message → one row of series `router/<id>` in the embedded
 *    TimeSeriesStore, with the message itself as the row's doc (group `wattflow-store-sink`).
 * Both map the message the same way (ml-record.ts) and run on the shared StageLoop: invalid
 * messages go to `<topic>.dlq` with the reason; a batch is committed only after its points or
 * rows are durably stored (the writer's promise / the store's transaction), so nothing is lost.
 *
 * InfluxDB failures: unavailable (retries exhausted) → the handler fails and the fabric
 * delivers the batch again; a data error (HTTP 400/422) → the batch's points are re-sent one
 * by one and only the refused messages are dead-lettered, with InfluxDB's error as the reason;
 * any other refusal (401/403/404…: configuration, not data) → the handler fails (redelivery),
 * after a growing pause so a misconfigured sink does not spin.
 */
import { Backoff, sleep } from '../core/backoff.js';
import type { Component } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import { counter } from '../core/metrics.js';
import type { Fabric, OutgoingMessage } from '../fabric/fabric.js';
import { stageTopics, type ExperimentSource } from '../router-power/experiment.js';
import type { MlMessage } from '../router-power/messages.js';
import { StageLoop, type StageItem } from '../stage/stage-loop.js';
import type { TimeSeriesStore, SeriesRow } from '../storage/types.js';
import type { Point } from './influx/line-protocol.js';
import { InfluxWriteError, type InfluxWriter } from './influx/writer.js';
import { ML_MEASUREMENT, mlRecord, parseMl } from './ml-record.js';

export const INFLUX_SINK_GROUP = 'wattflow-influx-sink';
export const STORE_SINK_GROUP = 'wattflow-store-sink';

/** The store series of a router. */
export const routerSeriesName = (routerId: string): string => `router/${routerId}`;

const recordsStored = counter({
  name: 'wattflow_sink_records_total',
  help: 'Messages stored by a sink (InfluxDB points, store rows)',
  labelNames: ['sink'] as const,
});

interface SinkBase {
  fabric: Fabric;
  experiment: ExperimentSource;
  logger: Logger;
  group?: string;
}

function predictionTopics(experiment: ExperimentSource): string[] {
  return stageTopics(experiment.current, 'ML');
}

/** The consumer of the ML topics a sink runs on: ML messages parsed, routed to their router, handled in batches. */
function mlSinkLoop(
  opts: SinkBase,
  stage: string,
  group: string,
  logger: Logger,
  handleMany: (items: Array<StageItem<MlMessage>>, out: OutgoingMessage[]) => Promise<void>,
): StageLoop<MlMessage> {
  return new StageLoop<MlMessage>({
    stage,
    group: opts.group ?? group,
    fabric: opts.fabric,
    logger,
    parse: parseMl,
    route: (m, ml) => opts.experiment.routerOf(m.key, m.topic, ml.node_exporter),
    handleMany,
  });
}

function sinkComponent(name: string, loop: StageLoop<MlMessage>, experiment: ExperimentSource, onStop?: () => Promise<void>): Component {
  let unsubscribe: (() => void) | undefined;
  return {
    name,
    async start() {
      await loop.start(predictionTopics(experiment));
      unsubscribe = experiment.onChange(async () => {
        await loop.updateTopics(predictionTopics(experiment));
      });
    },
    async stop() {
      unsubscribe?.();
      await loop.stop();
      await onStop?.();
    },
    ready: () => (loop.running ? true : `${name} not consuming yet`),
  };
}

export interface MlInfluxSinkOptions extends SinkBase {
  writer: InfluxWriter;
  /** Longest pause before a failed batch is handed back for redelivery (ms, default 30 s). */
  maxPauseMs?: number;
}

export function createMlInfluxSink(opts: MlInfluxSinkOptions): Component {
  const stage = 'influx-sink';
  const log = opts.logger.child({ stage });
  // pauses 0.5 s, 1 s, 2 s … up to maxPauseMs (and at most 500 × 2^10 ms)
  const pauses = new Backoff({ initialMs: 500, maxMs: Math.min(opts.maxPauseMs ?? 30_000, 500 * 2 ** 10) });

  const toPoint = (item: StageItem<MlMessage>, out: OutgoingMessage[]): Point | undefined => {
    const rec = mlRecord(item.routerId, item.message, opts.experiment.routerById(item.routerId));
    if ('error' in rec) {
      out.push(loop.deadLetter(item.incoming, rec.error));
      return undefined;
    }
    return { measurement: ML_MEASUREMENT, tags: rec.tags, fields: rec.fields, timestampMs: rec.tsMs };
  };

  const handleMany = async (items: Array<StageItem<MlMessage>>, out: OutgoingMessage[]) => {
    const pending: Array<{ item: StageItem<MlMessage>; point: Point }> = [];
    for (const item of items) {
      const point = toPoint(item, out);
      if (point) pending.push({ item, point });
    }
    if (pending.length === 0) return;
    try {
      await opts.writer.write(
        pending.map((p) => p.point),
        { immediate: true },
      );
      pauses.reset();
      recordsStored.inc({ sink: stage }, pending.length);
    } catch (err) {
      if (!(err instanceof InfluxWriteError) || err.kind !== 'rejected' || (err.status !== 400 && err.status !== 422)) {
        const pause = pauses.next();
        log.error({ err: (err as Error).message, pauseMs: pause }, 'InfluxDB write failed; the batch will be delivered again');
        await sleep(pause);
        throw err;
      }
      // A data error: find the refused messages by writing them one at a time.
      let stored = 0;
      for (const { item, point } of pending) {
        try {
          await opts.writer.write([point], { immediate: true });
          stored++;
        } catch (one) {
          if (one instanceof InfluxWriteError && one.kind === 'rejected' && (one.status === 400 || one.status === 422))
            out.push(loop.deadLetter(item.incoming, `InfluxDB refused the point: ${one.message}`));
          else throw one;
        }
      }
      pauses.reset();
      if (stored) recordsStored.inc({ sink: stage }, stored);
    }
  };

  const loop = mlSinkLoop(opts, stage, INFLUX_SINK_GROUP, log, handleMany);
  // The writer may be shared (vehicle pipeline): flush, do not close.
  return sinkComponent('ml-influx-sink', loop, opts.experiment, () => opts.writer.flush());
}

export interface MlStoreSinkOptions extends SinkBase {
  store: TimeSeriesStore;
}

export function createMlStoreSink(opts: MlStoreSinkOptions): Component {
  const stage = 'store-sink';
  const log = opts.logger.child({ stage });

  const handleMany = async (items: Array<StageItem<MlMessage>>, out: OutgoingMessage[]) => {
    const rows: SeriesRow[] = [];
    for (const item of items) {
      const rec = mlRecord(item.routerId, item.message, opts.experiment.routerById(item.routerId));
      if ('error' in rec) {
        out.push(loop.deadLetter(item.incoming, rec.error));
        continue;
      }
      rows.push({ series: routerSeriesName(item.routerId), tsMs: rec.tsMs, fields: rec.fields, tags: rec.tags, doc: item.incoming.value });
    }
    if (rows.length === 0) return;
    await opts.store.append(rows); // throws → the batch is delivered again
    recordsStored.inc({ sink: stage }, rows.length);
  };

  const loop = mlSinkLoop(opts, stage, STORE_SINK_GROUP, log, handleMany);
  return sinkComponent('ml-store-sink', loop, opts.experiment);
}

/**
 * Pull mode of the predictor: a stage on the node-local fabric (the vector stream on Redis
 * Streams, vector-stream.ts) through the shared stage loop, like the processor on Kafka —
 * each entry validated (an invalid one goes to the dead-letter stream with the reason and is
 * acknowledged), the valid vectors of a batch scored and written, then acknowledged; a sink
 * failure fails the batch, which is delivered again (at-least-once; re-writing a point is
 * idempotent).
 */
import type { Logger } from '../../core/logger.js';
import type { Fabric } from '../../fabric/fabric.js';
import { StageLoop } from '../../stage/stage-loop.js';
import { parseVector } from '../align/vector-check.js';
import type { AlignedVector } from '../align/vector.js';
import { deadLetteredTotal } from '../metrics.js';
import type { VehiclePredictor } from './predictor.js';

export interface PullStageOptions {
  fabric: Fabric & { available?(): true | string };
  topic: string;
  group: string;
  predictor: VehiclePredictor;
  logger: Logger;
}

/** The stage's message parser: a vector (the same check as the push endpoints'), or why not. */
export function parseStreamVector(text: string): { ok: true; message: AlignedVector } | { ok: false; reason: string } {
  const parsed = parseVector(text);
  if ('vector' in parsed) return { ok: true, message: parsed.vector };
  deadLetteredTotal.inc({ source: 'stream' });
  return { ok: false, reason: parsed.error };
}

export class VehiclePullStage {
  private readonly loop: StageLoop<AlignedVector>;
  private started = false;

  constructor(private readonly o: PullStageOptions) {
    this.loop = new StageLoop<AlignedVector>({
      stage: 'vehicle-predictor',
      group: o.group,
      fabric: o.fabric,
      logger: o.logger,
      parse: parseStreamVector,
      // the stage loop accounts the batch's CPU time and vectors to the stage
      handleMany: async (items) => void (await o.predictor.scoreAndWrite(items.map((i) => i.message))),
    });
  }

  ready(): true | string {
    if (!this.started) return 'vehicle predictor (pull) not started';
    return this.o.fabric.available?.() ?? true;
  }

  async start(): Promise<void> {
    await this.loop.start([this.o.topic]);
    this.started = true;
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    this.started = false;
  }
}

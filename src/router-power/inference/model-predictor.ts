/**
 * ModelPredictor: a trained ONNX power model behind the inference stage's PowerPredictor
 * interface. Power and both variation rates come from ONE onnxruntime call per micro-batch
 * (OnnxPowerModel.predictWithSensitivities: forward finite differences, step EPSILON =
 * `network.epsilon` on the occupation fraction; the packet-length step is 1 byte, see
 * docs/models.md for why not ε in float32).
 *
 * Micro-batching (group commit): predict() calls queue their rows; when the runtime is idle
 * the queue is flushed on the next event-loop turn (so concurrent callers — e.g. the Kafka
 * partitions of several routers — share one call, and a lone caller waits ~0); while a call is
 * running, rows queue and go with the next one as soon as it finishes, and a row never waits
 * longer than `maxDelayMs` (default 2 ms) before a call is started for it, nor does a call
 * exceed `maxBatchRows` rows. Each caller gets its own slice of the results.
 *
 * Lifecycle: the deployment watcher swaps predictors atomically between messages; the old one
 * is `retire()`d and its onnxruntime session released once its in-flight calls settled.
 */
import { counter, histogram } from '../../core/metrics.js';
import type { ModelMetadata } from '../../ml/onnx/metadata.js';
import { DEFAULT_EPSILON, OnnxPowerModel, type PowerFeatureRow } from '../../ml/runtime/onnx-power-model.js';
import type { ModelInfo, PowerFeatures, PowerPrediction, PowerPredictor } from './predictor.js';

const batchRows = histogram({
  name: 'wattflow_model_microbatch_rows',
  help: 'Input rows per onnxruntime call of a deployed model (micro-batch size)',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
});
const batchWait = histogram({
  name: 'wattflow_model_microbatch_wait_seconds',
  help: 'Time the oldest row of a micro-batch waited before its runtime call started',
});
const predictionsTotal = counter<'model' | 'version'>({
  name: 'wattflow_model_predictions_total',
  help: 'Rows predicted by deployed models, per model and version',
  labelNames: ['model', 'version'],
});

export interface ModelPredictorOptions {
  /** Finite-difference step on the occupation fraction (network.epsilon). */
  epsilon?: number;
  /** Longest a row waits to share a runtime call (ms, default 2; 0 = next event-loop turn). */
  maxDelayMs?: number;
  /** Most input rows per runtime call (default 4096). */
  maxBatchRows?: number;
}

interface Pending {
  rows: PowerFeatures[];
  resolve: (p: PowerPrediction[]) => void;
  reject: (err: unknown) => void;
}

export class ModelPredictor implements PowerPredictor {
  readonly info: ModelInfo;
  readonly loadedAt = new Date();
  private queue: Pending[] = [];
  private queuedRows = 0;
  private queuedSince = 0;
  private running = 0;
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private retired = false;
  private closed: Promise<void> | undefined;
  private readonly epsilon: number;
  private readonly maxDelayMs: number;
  private readonly maxBatchRows: number;

  constructor(
    readonly model: OnnxPowerModel,
    readonly metadata: ModelMetadata,
    opts: ModelPredictorOptions = {},
  ) {
    this.info = { model_type: metadata.model_type, model: metadata.name, version: metadata.version, router_type: metadata.router_type };
    this.epsilon = opts.epsilon ?? DEFAULT_EPSILON;
    this.maxDelayMs = opts.maxDelayMs ?? 2;
    this.maxBatchRows = opts.maxBatchRows ?? 4096;
  }

  get sha256(): string {
    return this.metadata.sha256;
  }

  predict(rows: PowerFeatures[]): Promise<PowerPrediction[]> {
    if (rows.length === 0) return Promise.resolve([]);
    if (this.closed) return Promise.reject(new Error(`model ${this.info.model}@${this.info.version} was unloaded`));
    return new Promise<PowerPrediction[]>((resolve, reject) => {
      if (this.queue.length === 0) this.queuedSince = performance.now();
      this.queue.push({ rows, resolve, reject });
      this.queuedRows += rows.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.queue.length === 0) return;
    if (this.queuedRows >= this.maxBatchRows) {
      this.flush();
      return;
    }
    if (this.running === 0) {
      // Idle: go on the next turn, collecting whatever else is submitted in this one.
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        this.flush();
      });
      return;
    }
    // Busy: ride on the next call when the current one finishes, at most maxDelayMs from now.
    if (!this.timer) {
      const waited = performance.now() - this.queuedSince;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, Math.max(0, this.maxDelayMs - waited));
    }
  }

  private flush(): void {
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0) {
      const take: Pending[] = [];
      let n = 0;
      while (this.queue.length > 0 && (n === 0 || n + this.queue[0]!.rows.length <= this.maxBatchRows)) {
        const p = this.queue.shift()!;
        take.push(p);
        n += p.rows.length;
      }
      this.queuedRows -= n;
      batchWait.observe((performance.now() - this.queuedSince) / 1000);
      this.queuedSince = performance.now();
      void this.run(take, n);
    }
  }

  private async run(batch: Pending[], n: number): Promise<void> {
    this.running++;
    this.inFlight++;
    try {
      const rows: PowerFeatureRow[] = new Array(n);
      let i = 0;
      for (const p of batch) for (const r of p.rows) rows[i++] = { PacketSize_B: r.packetLength, Throughput_Percentage: r.occupation };
      const s = await this.model.predictWithSensitivities(rows, this.epsilon);
      batchRows.observe(n);
      predictionsTotal.inc({ model: this.info.model, version: this.info.version }, n);
      let off = 0;
      for (const p of batch) {
        const out: PowerPrediction[] = new Array(p.rows.length);
        for (let j = 0; j < p.rows.length; j++, off++) {
          out[j] = { power: s.power[off]!, dPowerDOccupation: s.dPower_dThroughput[off]!, dPowerDPacketLength: s.dPower_dPacketSize[off]! };
        }
        p.resolve(out);
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.running--;
      this.inFlight--;
      if (this.queue.length > 0) this.flush();
      else if (this.retired && this.inFlight === 0) void this.close();
    }
  }

  /**
   * Direct runtime access (KServe requests) counted as in flight so that a retire waits for it.
   */
  async use<T>(fn: (model: OnnxPowerModel) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error(`model ${this.info.model}@${this.info.version} was unloaded`);
    this.inFlight++;
    try {
      return await fn(this.model);
    } finally {
      this.inFlight--;
      if (this.retired && this.inFlight === 0 && this.queue.length === 0) void this.close();
    }
  }

  /** No longer assigned: release the session once queued and in-flight work is done. */
  retire(): void {
    this.retired = true;
    if (this.inFlight === 0 && this.queue.length === 0) void this.close();
  }

  get isRetired(): boolean {
    return this.retired;
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      if (this.immediate) clearImmediate(this.immediate);
      if (this.timer) clearTimeout(this.timer);
      for (const p of this.queue) p.reject(new Error(`model ${this.info.model}@${this.info.version} was unloaded`));
      this.queue = [];
      await this.model.close().catch(() => undefined);
    })();
    return this.closed;
  }

  /** Loads bytes with their metadata (validation + smoke run by OnnxPowerModel.load). */
  static async load(bytes: Uint8Array, metadata: ModelMetadata, opts: ModelPredictorOptions = {}): Promise<ModelPredictor> {
    const model = await OnnxPowerModel.load(bytes, metadata);
    return new ModelPredictor(model, metadata, opts);
  }
}

/**
 * The consume → validate → transform → publish loop shared by the pipeline stages (processor:
 * TD→TP, inference: TP→ML, the vehicle predictor's pull mode). For each batch it parses and
 * validates every message (invalid ones go to `<topic>.dlq` with the reason and are counted),
 * lets the stage produce its output messages and hands them all to the fabric's publisher.
 * The batch is then handled: the fabric may hand out the next one while these outputs are in
 * flight (pipelining), and commits the batch only once they are acknowledged (at-least-once;
 * fabric.ts HandledBatch). The topic list follows the experiment (reloadable).
 */
import type { Fabric, HandledBatch, IncomingMessage, OutgoingMessage, Subscription } from '../fabric/fabric.js';
import { dlqTopic } from '../fabric/fabric.js';
import type { Logger } from '../core/logger.js';
import { countStageMessages, trackStage } from '../energy/stage-cpu.js';
import { consumerLag, deadLettered, messagesIn, messagesOut } from './stage-metrics.js';
import { BOOKKEEPING_LINGER_MS, Bookkeeping } from './bookkeeping.js';
import type { MessageParser } from './message-parser.js';

export interface StageItem<In> {
  routerId: string;
  message: In;
  incoming: IncomingMessage;
}

export interface StageLoopOptions<In> {
  stage: string;
  group: string;
  fabric: Fabric;
  logger: Logger;
  parse: MessageParser<In>;
  /**
   * The router of a message whose key is empty (the reference writes unkeyed records): see
   * ExperimentSource.routerOf. Without it such a message has router id ''.
   */
  route?: (incoming: IncomingMessage, message: In) => string;
  /** Turns one valid message into output messages (pushed onto `out`). */
  handle?: (routerId: string, message: In, incoming: IncomingMessage, out: OutgoingMessage[]) => void | Promise<void>;
  /** Alternative to `handle`: all valid messages of a batch at once (micro-batching). */
  handleMany?: (items: Array<StageItem<In>>, out: OutgoingMessage[]) => Promise<void>;
  /**
   * Topics the stage writes for its own bookkeeping (the processor's state): not counted as
   * output, and published only after the batch's outputs are acknowledged (bookkeeping.ts).
   */
  internalTopics?: ReadonlySet<string>;
  /** The topics of the partitions assigned (and the partitions themselves). */
  onAssigned?: (topics: string[], partitions: Array<{ topic: string; partition: number }>) => Promise<void> | void;
  onRevoked?: (topics: string[], partitions: Array<{ topic: string; partition: number }>) => Promise<void> | void;
  /**
   * A batch's outputs and records are acknowledged: state kept to handle its valid messages again is no
   * longer needed (their router ids and the messages as received, index for index). Not called
   * for a batch whose outputs failed: it is delivered again. (Two arrays, not the StageItems: the
   * parsed messages must not live until the acknowledgement, which would promote them.)
   */
  onSettled?: (routerIds: readonly string[], incoming: readonly IncomingMessage[]) => void;
}

export interface DeadLetter {
  stage: string;
  reason: string;
  topic: string;
  partition: number;
  offset: string;
  key: string;
  received_at: string;
  value: string;
}

export class StageLoop<In> {
  private sub: Subscription | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  private ensured = new Set<string>();
  /** The bookkeeping records (internalTopics) go out after the outputs they stand for. */
  private readonly bookkeeping: Bookkeeping;

  constructor(private readonly o: StageLoopOptions<In>) {
    // where the next batch is handed out only once this one has settled, the records could
    // never travel with its outputs, so they do not wait for them
    this.bookkeeping = new Bookkeeping(o.fabric, o.fabric.pipelinesBatches ? BOOKKEEPING_LINGER_MS : 0);
  }

  get running(): boolean {
    return this.sub !== undefined;
  }

  async ensure(topics: string[]): Promise<void> {
    const missing = topics.filter((t) => !this.ensured.has(t));
    if (missing.length === 0) return;
    await this.o.fabric.ensureTopics(missing.map((name) => ({ name })));
    for (const t of missing) this.ensured.add(t);
  }

  async start(topics: string[]): Promise<void> {
    await this.ensure(topics);
    this.sub = await this.o.fabric.subscribe({
      group: this.o.group,
      topics,
      // CPU time charged to the stage (wattflow up splits its energy by it: src/energy/stage-cpu.ts)
      handler: (batch) => trackStage(this.o.stage, () => this.handleBatch(batch)),
      onAssigned: (parts) => this.o.onAssigned?.(parts.map((p) => p.topic), parts),
      onRevoked: (parts) => this.o.onRevoked?.(parts.map((p) => p.topic), parts),
    });
    this.lagTimer = setInterval(() => {
      void this.sub
        ?.lag()
        .then((lag) => consumerLag.set({ stage: this.o.stage }, lag))
        .catch(() => undefined);
    }, 5000);
    this.lagTimer.unref();
  }

  async updateTopics(topics: string[]): Promise<void> {
    await this.ensure(topics);
    await this.sub?.updateTopics(topics);
  }

  private async handleBatch(batch: IncomingMessage[]): Promise<HandledBatch | undefined> {
    const out: OutgoingMessage[] = [];
    const valid: Array<StageItem<In>> = [];
    messagesIn.inc({ stage: this.o.stage }, batch.length);
    countStageMessages(this.o.stage, batch.length);
    for (const msg of batch) {
      // the in-process bus hands over the published object: validate it without a JSON parse
      const parsed = msg.json !== undefined ? this.o.parse('', msg.json) : this.o.parse(msg.value);
      if (!parsed.ok) out.push(this.deadLetter(msg, parsed.reason));
      else {
        const routerId = msg.key !== '' || !this.o.route ? msg.key : this.o.route(msg, parsed.message);
        valid.push({ routerId, message: parsed.message, incoming: msg });
      }
    }
    if (this.o.handleMany) {
      await this.o.handleMany(valid, out);
    } else if (this.o.handle) {
      for (const item of valid) {
        try {
          const pending = this.o.handle(item.routerId, item.message, item.incoming, out);
          if (pending) await pending; // (a synchronous handler costs no microtask per message)
        } catch (err) {
          // the message goes to its dead-letter topic and the batch commits: a message that always
          // fails must not be redelivered forever
          out.push(this.deadLetter(item.incoming, `stage ${this.o.stage} failed: ${err instanceof Error ? err.message : String(err)}`));
        }
      }
    }
    const onSettled = this.o.onSettled;
    const routerIds = onSettled && valid.map((v) => v.routerId);
    const incoming = onSettled && valid.map((v) => v.incoming);
    if (out.length === 0) {
      if (onSettled) onSettled(routerIds!, incoming!);
      return undefined;
    }
    // dead-letter topics are created when first needed (most never are)
    const dlqs = new Set<string>();
    for (const m of out) if (m.topic.endsWith('.dlq')) dlqs.add(m.topic);
    if (dlqs.size > 0) await this.ensure([...dlqs]);
    const internal = this.o.internalTopics;
    const bookkeeping = internal ? out.filter((m) => internal.has(m.topic)) : [];
    const outputs = bookkeeping.length > 0 ? out.filter((m) => !internal!.has(m.topic)) : out;
    let produced = 0;
    for (const m of outputs) if (!dlqs.has(m.topic)) produced++;
    // the outputs are handed to the publisher now (so a topic's publishes keep the batches'
    // order), with earlier batches' records that wait for them; this batch's own records follow
    // their acknowledgement, and the fabric commits the batch once those are acknowledged too
    const acked = this.bookkeeping.publish(outputs);
    const written = this.bookkeeping.after(acked, bookkeeping);
    const settled = written.then(() => {
      if (produced) messagesOut.inc({ stage: this.o.stage }, produced);
      if (onSettled) onSettled(routerIds!, incoming!);
    });
    return { settled };
  }

  deadLetter(msg: IncomingMessage, reason: string): OutgoingMessage {
    deadLettered.inc({ stage: this.o.stage });
    this.o.logger.warn({ topic: msg.topic, offset: msg.offset, key: msg.key, reason }, 'message sent to dead-letter topic');
    const letter: DeadLetter = {
      stage: this.o.stage,
      reason,
      topic: msg.topic,
      partition: msg.partition,
      offset: msg.offset,
      key: msg.key,
      received_at: new Date().toISOString(),
      value: msg.value,
    };
    return { topic: dlqTopic(msg.topic), key: msg.key, value: JSON.stringify(letter) };
  }

  async stop(): Promise<void> {
    if (this.lagTimer) clearInterval(this.lagTimer);
    const sub = this.sub;
    this.sub = undefined;
    await sub?.close();
  }
}

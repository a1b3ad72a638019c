/**
 * A stage's bookkeeping records (the processor's state) go to the broker only after the outputs
 * they stand for: a batch's records are handed over once its outputs and every earlier batch's
 * are acknowledged, in batch order, so a state record on the broker never stands for a message
 * whose output is missing (a new owner restoring it would never write that output). They travel
 * with the next batch's outputs, in one request as before, or alone after `lingerMs` when no
 * batch follows (on a fabric that pipelines batches; the others wait for a batch's records before
 * they hand out the next, so there they go at once).
 * docs/delivery.md § "The processor's state record goes out after its outputs".
 */
import type { Fabric, OutgoingMessage } from '../fabric/fabric.js';

/** Longest a batch's bookkeeping waits for the next batch's outputs before it is sent alone (ms). */
export const BOOKKEEPING_LINGER_MS = 20;

const SETTLED: Promise<void> = Promise.resolve();

export class Bookkeeping {
  /** The last batch's records handed over (or SETTLED): the next batch's wait for it. */
  private tail: Promise<void> = SETTLED;
  /** Records handed over, waiting for the next outputs (or the linger), and their batches' waiters. */
  private waiting: OutgoingMessage[] = [];
  private waiters: Array<(sent: Promise<void>) => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly fabric: Fabric,
    private readonly lingerMs = BOOKKEEPING_LINGER_MS,
  ) {}

  /** Publishes a batch's outputs, with the records waiting to go out (one request). */
  publish(outputs: OutgoingMessage[]): Promise<void> {
    if (this.waiting.length > 0) return this.flush(outputs);
    return outputs.length > 0 ? this.fabric.publishBatch(outputs) : SETTLED;
  }

  /**
   * A batch's records, handed over once `acked` (its outputs) and the earlier batches' records
   * are; resolves when they are acknowledged. A batch behind one that failed fails too and is
   * delivered again with it; once the failure is known, the next batch starts a new chain.
   */
  after(acked: Promise<void>, records: OutgoingMessage[]): Promise<void> {
    if (records.length === 0 && this.tail === SETTLED) return acked;
    let written: Promise<void> = SETTLED;
    const handedOver = Promise.all([acked, this.tail]).then(() => {
      if (records.length > 0) written = this.enqueue(records);
    });
    this.tail = handedOver;
    handedOver.catch(() => {
      if (this.tail === handedOver) this.tail = SETTLED;
    });
    return handedOver.then(() => written);
  }

  private enqueue(records: OutgoingMessage[]): Promise<void> {
    for (const r of records) this.waiting.push(r);
    if (this.lingerMs <= 0) return this.flush([]);
    this.timer ??= setTimeout(() => void this.flush([]), this.lingerMs);
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private flush(outputs: OutgoingMessage[]): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const messages = outputs.length > 0 ? outputs.concat(this.waiting) : this.waiting;
    const waiters = this.waiters;
    this.waiting = [];
    this.waiters = [];
    const sent = this.fabric.publishBatch(messages);
    for (const resolve of waiters) resolve(sent);
    return sent;
  }
}

/**
 * The Kafka fabric's publishing side: one idempotent producer (acks = all) behind a FIFO queue.
 *
 * Why a queue: @platformatic/kafka's idempotent producer reads a partition's sequence number
 * when it builds a request but advances it only when the response arrives. Two sends to one
 * partition in flight at once therefore carry the same sequence number. The broker takes the
 * second for a retry of the first and acknowledges it WITHOUT writing it (silent loss), and
 * from then on the client's sequence is ahead of the broker's, so every later send fails with
 * OUT_OF_ORDER_SEQUENCE_NUMBER. The fabric's partition workers publish concurrently, so sends
 * are strictly one at a time here; publishes that queue up meanwhile go out together in the next
 * request (fewer requests, same order).
 *
 * After any failed send the producer is replaced (new producer id, sequences from zero): a
 * failure can leave the library's sequence state out of step with the broker (it does not count
 * partitions that were written when another partition of the same request failed). Because of
 * that reset, the producer's retries can be finite (the library makes them unlimited for
 * idempotent producers), so an unwritable topic fails its publish instead of stalling the queue.
 * A failed publish may have been partly written; the caller's retry then duplicates that part
 * (at-least-once).
 */
import { Producer, ProduceAcks, compatibilityPartitioner, stringSerializers } from '@platformatic/kafka';
import type { Logger } from '../core/logger.js';
import { type OutgoingMessage, encodeValue } from './fabric.js';
import type { KafkaClientOptions } from './kafka-subscription.js';

interface Prepared {
  topic: string;
  key: string;
  value: string;
  headers?: Record<string, string>;
  bytes: number;
}

interface Pending {
  messages: Prepared[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface KafkaPublisherOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  client: KafkaClientOptions;
  /** Largest produce request (bytes); a publish above it goes out in several requests. */
  maxSendBytes: number;
  /** Produce attempts before a publish fails (then the producer is replaced). */
  retries: number;
  onPublished: (topic: string, n: number) => void;
  onFailed: (topic: string) => void;
}

/** Per-record overhead estimate (record and batch headers) for the request size limit. */
const RECORD_OVERHEAD = 70;

export class KafkaPublisher {
  private producer: Producer<string, string, string, string>;
  private readonly queue: Pending[] = [];
  private sending = false;
  private idleWaiters: Array<() => void> = [];
  private generation = 0;

  constructor(private readonly o: KafkaPublisherOptions) {
    this.producer = this.createProducer();
  }

  private createProducer(): Producer<string, string, string, string> {
    const p = new Producer<string, string, string, string>({
      ...this.o.client,
      retries: this.o.retries,
      clientId: `${this.o.clientId}-producer`,
      bootstrapBrokers: this.o.brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      serializers: stringSerializers,
      partitioner: compatibilityPartitioner,
      autocreateTopics: true,
    });
    p.on('error', (err: Error) => this.o.logger.error({ err }, 'producer error'));
    this.generation++;
    return p;
  }

  /** Resolves once every message is acknowledged by all in-sync replicas. */
  publish(messages: OutgoingMessage[]): Promise<void> {
    const prepared: Prepared[] = [];
    let bytes = 0;
    for (const m of messages) {
      const value = encodeValue(m);
      let size = RECORD_OVERHEAD + Buffer.byteLength(m.key) + Buffer.byteLength(value);
      if (m.headers) for (const [k, v] of Object.entries(m.headers)) size += Buffer.byteLength(k) + Buffer.byteLength(v) + 8;
      if (size > this.o.maxSendBytes) {
        return Promise.reject(new Error(`message for ${m.topic} (key ${m.key}) is ${size} bytes, above the ${this.o.maxSendBytes}-byte request limit`));
      }
      prepared.push({ topic: m.topic, key: m.key, value, headers: m.headers, bytes: size });
      bytes += size;
    }
    if (prepared.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ messages: prepared, bytes, resolve, reject });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const first = this.queue.shift()!;
        if (first.bytes > this.o.maxSendBytes) {
          await this.sendAlone(first);
          continue;
        }
        // Merge the publishes waiting behind it, as long as the request stays under the limit.
        const group = [first];
        let bytes = first.bytes;
        while (this.queue.length > 0 && bytes + this.queue[0]!.bytes <= this.o.maxSendBytes) {
          const next = this.queue.shift()!;
          group.push(next);
          bytes += next.bytes;
        }
        try {
          await this.send(group.flatMap((g) => g.messages));
          for (const g of group) this.done(g);
        } catch (err) {
          await this.reset(err);
          if (group.length === 1) this.failed(group[0]!, err);
          else {
            // Isolate: one publisher's bad message must not fail the others.
            for (const g of group) await this.sendAlone(g);
          }
        }
      }
    } finally {
      this.sending = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** One publish on its own, in requests under the size limit, in order. */
  private async sendAlone(p: Pending): Promise<void> {
    try {
      let chunk: Prepared[] = [];
      let bytes = 0;
      for (const m of p.messages) {
        if (chunk.length > 0 && bytes + m.bytes > this.o.maxSendBytes) {
          await this.send(chunk);
          chunk = [];
          bytes = 0;
        }
        chunk.push(m);
        bytes += m.bytes;
      }
      await this.send(chunk);
      this.done(p);
    } catch (err) {
      await this.reset(err);
      this.failed(p, err);
    }
  }

  private async send(messages: Prepared[]): Promise<void> {
    await this.producer.send({
      messages: messages.map((m) => ({ topic: m.topic, key: m.key, value: m.value, headers: m.headers })),
    });
  }

  private done(p: Pending): void {
    const perTopic = new Map<string, number>();
    for (const m of p.messages) perTopic.set(m.topic, (perTopic.get(m.topic) ?? 0) + 1);
    for (const [topic, n] of perTopic) this.o.onPublished(topic, n);
    p.resolve();
  }

  private failed(p: Pending, err: unknown): void {
    for (const topic of new Set(p.messages.map((m) => m.topic))) this.o.onFailed(topic);
    p.reject(err);
  }

  /** Replaces the producer after a failed send (its sequence state may be out of step). */
  private async reset(err: unknown): Promise<void> {
    this.o.logger.warn({ err, generation: this.generation }, 'publish failed; replacing the idempotent producer');
    const old = this.producer;
    this.producer = this.createProducer();
    await new Promise<void>((resolve) => old.close(true, () => resolve()));
  }

  /** Waits until every queued publish is settled. */
  idle(): Promise<void> {
    if (!this.sending && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  async close(): Promise<void> {
    await this.idle();
    await this.producer.close().catch(() => undefined);
  }
}

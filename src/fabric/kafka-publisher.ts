/**
 * The Kafka fabric's publishing side: one idempotent producer (acks = all) behind a FIFO queue;
 * requests in flight at once share no topic, a topic's publishes keep their order (a failed
 * publish fails those queued behind it on its topics), and after a failed send the producer is
 * replaced. Why (a client sequence-number hazard): docs/delivery.md.
 */
import { Producer, ProduceAcks, compatibilityPartitioner, stringSerializers } from '@platformatic/kafka';
import { cutBatches, FlushCoalescer, IdleWaiters } from '../core/batcher.js';
import type { Logger } from '../core/logger.js';
import { type OutgoingMessage, encodeValue } from './fabric.js';
import type { KafkaClientOptions } from './kafka/client-options.js';

interface Prepared {
  topic: string;
  key: string;
  value: string;
  headers?: Record<string, string>;
  bytes: number;
}

interface Pending {
  messages: Prepared[];
  topics: string[];
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
  /** Turns an authentication/TLS failure into an error naming the settings (kafka-security.ts). */
  explainError?: (err: unknown) => unknown;
}

/** Per-record overhead estimate (record and batch headers) for the request size limit. */
const RECORD_OVERHEAD = 70;
/** Produce requests (of disjoint topics) in flight at once. */
const MAX_IN_FLIGHT = 4;

export class KafkaPublisher {
  private producer: Producer<string, string, string, string>;
  private queue: Pending[] = [];
  private inflight = 0;
  /** Topics of the requests in flight (with how many requests hold each). */
  private readonly busyTopics = new Map<string, number>();
  /** Requests in flight per producer; a replaced producer is closed when its count drops to 0. */
  private readonly producerLoad = new Map<Producer<string, string, string, string>, number>();
  private readonly idleWaiters = new IdleWaiters();
  private generation = 0;
  /** Publishes of one event-loop turn go out together (see scheduleDrain). */
  private readonly drainSoon = new FlushCoalescer(() => this.drain(), 'turn');

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
    p.on('error', (err: Error) => this.o.logger.error({ err: this.o.explainError ? this.o.explainError(err) : err }, 'producer error'));
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
    const topics = [...new Set(prepared.map((m) => m.topic))];
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ messages: prepared, topics, bytes, resolve, reject });
      this.scheduleDrain();
    });
  }

  /**
   * Publishes of one event-loop turn go out together: the queue is drained once the turn's
   * callbacks have run (setImmediate), not on each publish. Callers that publish one message
   * each from many callbacks of one turn (the producer's routers of one poll slot, the stages'
   * concurrent batches) then cost one request instead of one each, for no added wait beyond
   * the current turn.
   */
  private scheduleDrain(): void {
    this.drainSoon.request();
  }

  /**
   * Starts requests while fewer than MAX_IN_FLIGHT run: each takes, in queue order, the queued
   * publishes whose topics are neither in flight nor in an earlier publish left waiting (so a
   * topic's publishes go out in order), as many as fit under the size limit.
   */
  private drain(): void {
    while (this.inflight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const blocked = new Set(this.busyTopics.keys());
      const group: Pending[] = [];
      const rest: Pending[] = [];
      let bytes = 0;
      for (const p of this.queue) {
        const free = !p.topics.some((t) => blocked.has(t));
        const fits = group.length === 0 || (group[0]!.bytes <= this.o.maxSendBytes && bytes + p.bytes <= this.o.maxSendBytes);
        if (free && fits) {
          group.push(p);
          bytes += p.bytes;
        } else {
          rest.push(p);
          for (const t of p.topics) blocked.add(t);
        }
      }
      if (group.length === 0) return;
      this.queue = rest;
      const topics = new Set(group.flatMap((g) => g.topics));
      for (const t of topics) this.busyTopics.set(t, (this.busyTopics.get(t) ?? 0) + 1);
      this.inflight++;
      void this.sendGroup(group).finally(() => {
        for (const t of topics) {
          const n = (this.busyTopics.get(t) ?? 1) - 1;
          if (n > 0) this.busyTopics.set(t, n);
          else this.busyTopics.delete(t);
        }
        this.inflight--;
        this.drain();
        if (this.inflight === 0 && this.queue.length === 0) this.idleWaiters.release();
      });
    }
  }

  private async sendGroup(group: Pending[]): Promise<void> {
    if (group.length === 1 && group[0]!.bytes > this.o.maxSendBytes) {
      await this.sendAlone(group[0]!);
      return;
    }
    try {
      await this.send(group.flatMap((g) => g.messages));
      for (const g of group) this.done(g);
    } catch (err) {
      if (group.length === 1) this.failed(group[0]!, err);
      else {
        // Isolate: one publisher's bad message must not fail the others — but those behind a
        // failed one on a topic fail with it (see failed()).
        const failedTopics = new Set<string>();
        for (const g of group) {
          const behind = g.topics.find((t) => failedTopics.has(t));
          if (behind !== undefined) this.failedBehind(g, behind, failedTopics);
          else if (!(await this.sendAlone(g))) for (const t of g.topics) failedTopics.add(t);
        }
        // what was queued meanwhile behind any of them (their topics were busy until now)
        this.failQueuedBehind(failedTopics);
      }
    }
  }

  /** One publish on its own, in requests under the size limit, in order; false if it failed. */
  private async sendAlone(p: Pending): Promise<boolean> {
    try {
      for (const chunk of cutBatches(p.messages, { maxBytes: this.o.maxSendBytes }, (m) => m.bytes)) await this.send(chunk);
      this.done(p);
      return true;
    } catch (err) {
      this.failed(p, err);
      return false;
    }
  }

  /** One produce request; a failure replaces the producer (unless already replaced) and rethrows. */
  private async send(messages: Prepared[]): Promise<void> {
    const producer = this.producer;
    this.producerLoad.set(producer, (this.producerLoad.get(producer) ?? 0) + 1);
    try {
      await producer.send({
        messages: messages.map((m) => ({ topic: m.topic, key: m.key, value: m.value, headers: m.headers })),
      });
    } catch (err) {
      if (producer === this.producer) this.reset(err);
      throw err;
    } finally {
      const n = (this.producerLoad.get(producer) ?? 1) - 1;
      if (n > 0) this.producerLoad.set(producer, n);
      else {
        this.producerLoad.delete(producer);
        if (producer !== this.producer) producer.close(true, () => undefined);
      }
    }
  }

  private done(p: Pending): void {
    const perTopic = new Map<string, number>();
    for (const m of p.messages) perTopic.set(m.topic, (perTopic.get(m.topic) ?? 0) + 1);
    for (const [topic, n] of perTopic) this.o.onPublished(topic, n);
    p.resolve();
  }

  /**
   * A failed publish also fails the queued publishes behind it that share a topic with it
   * (transitively): none of them may be written before it is, or its caller's retry would land
   * after them. A topic's order then holds across failures; the callers retry in their order.
   */
  private failed(p: Pending, err: unknown): void {
    for (const topic of p.topics) this.o.onFailed(topic);
    p.reject(this.o.explainError ? this.o.explainError(err) : err);
    this.failQueuedBehind(new Set(p.topics));
  }

  /** Fails the queued publishes that share a topic with `failedTopics`, transitively (in queue order). */
  private failQueuedBehind(failedTopics: Set<string>): void {
    if (failedTopics.size === 0) return;
    const rest: Pending[] = [];
    for (const q of this.queue) {
      const behind = q.topics.find((t) => failedTopics.has(t));
      if (behind === undefined) rest.push(q);
      else this.failedBehind(q, behind, failedTopics);
    }
    this.queue = rest;
  }

  /** `q` is not sent: an earlier publish to `topic` failed. Its topics now block those behind it too. */
  private failedBehind(q: Pending, topic: string, failedTopics: Set<string>): void {
    for (const t of q.topics) {
      failedTopics.add(t);
      this.o.onFailed(t);
    }
    q.reject(new Error(`not sent: an earlier publish to ${topic} failed (a topic's publishes keep their order)`));
  }

  /**
   * Replaces the producer after a failed send (its sequence state may be out of step); the old
   * one is closed by send() once its last request in flight has settled.
   */
  private reset(err: unknown): void {
    this.o.logger.warn({ err: this.o.explainError ? this.o.explainError(err) : err, generation: this.generation }, 'publish failed; replacing the idempotent producer');
    this.producer = this.createProducer();
  }

  /** Waits until every queued publish is settled. */
  idle(): Promise<void> {
    if (this.inflight === 0 && this.queue.length === 0 && !this.drainSoon.scheduled) return Promise.resolve();
    return this.idleWaiters.wait().then(() => undefined);
  }

  async close(): Promise<void> {
    await this.idle();
    await this.producer.close().catch(() => undefined);
  }
}

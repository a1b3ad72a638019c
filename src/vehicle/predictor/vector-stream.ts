/**
 * The vehicle vector stream as a topic of the node-local fabric (Redis Streams): the entry
 * shapes are the Vehicle API's contract (docs/vehicle.md, Redis layout), so this module gives
 * the adapter their codecs — `<p>vectors` entries carry the vector JSON in field `v`; its dead
 * letters (`<p>vectors.dlq` in fabric terms) are the `<p>vectors:dead` stream with fields `v`
 * (the text as received) and `reason`.
 */
import type { Logger } from '../../core/logger.js';
import { dlqTopic, type OutgoingMessage } from '../../fabric/fabric.js';
import { field, idOfOffset, type StreamCodec } from '../../fabric/redis-streams/codec.js';
import { RedisStreamsFabric } from '../../fabric/redis-streams/redis-streams-fabric.js';
import type { DeadLetter } from '../../stage/stage-loop.js';
import { RedisKeys } from '../store/redis-keys.js';

/** `<p>vectors` entries: the vector JSON in field `v`, no key. */
const vectorCodec: StreamCodec = {
  decode(_id, fields) {
    const value = field(fields, 'v');
    return value === undefined ? { error: 'entry without a vector field (v)' } : { key: '', value, headers: {} };
  },
  encode: (m: OutgoingMessage) => ['v', m.value ?? JSON.stringify(m.json)],
};

/** `<p>vectors:dead` entries: the stage's dead letter as fields `v` and `reason` (naming the stream entry). */
const deadVectorCodec: StreamCodec = {
  decode(_id, fields) {
    const value = field(fields, 'v');
    return value === undefined ? { error: 'entry without a vector field (v)' } : { key: '', value, headers: { reason: field(fields, 'reason') ?? '' } };
  },
  encode(m) {
    const letter = JSON.parse(m.value ?? JSON.stringify(m.json)) as DeadLetter;
    return ['v', letter.value, 'reason', `invalid vector in stream entry ${idOfOffset(letter.offset)}: ${letter.reason}`];
  },
};

export interface VectorStreamOptions {
  url: string;
  password?: string;
  keyPrefix: string;
  vectorStreamMaxLen: number;
  connectTimeoutMs: number;
  /** Consumer names start with it (vehicle.predictor.consumer; default the host name). */
  consumer?: string;
  batchSize: number;
  /** Longest wait of one blocking read (vehicle.predictor.pollIntervalMs). */
  blockMs: number;
  logger: Logger;
}

/** The vector stream's topic name (= its stream key). */
export const vectorTopic = (keyPrefix: string): string => new RedisKeys(keyPrefix).vectors();

/** The node-local fabric the pull-mode predictor consumes: Redis Streams with the vehicle codecs. */
export function createVectorFabric(o: VectorStreamOptions): RedisStreamsFabric {
  const keys = new RedisKeys(o.keyPrefix);
  const topic = keys.vectors();
  return new RedisStreamsFabric({
    url: o.url,
    ...(o.password !== undefined ? { password: o.password } : {}),
    logger: o.logger,
    maxLen: o.vectorStreamMaxLen,
    metaPrefix: `${o.keyPrefix}fabric:`,
    ...(o.consumer ? { consumerPrefix: o.consumer } : {}),
    connectTimeoutMs: o.connectTimeoutMs,
    consumer: { batchSize: o.batchSize, blockMs: o.blockMs },
    topics: {
      [topic]: { codec: vectorCodec },
      [dlqTopic(topic)]: { stream: keys.deadVectors(), codec: deadVectorCodec },
    },
  });
}

/**
 * The Redis Streams fabric in the fabric contract (fabric-contract.test.ts) and its own tests:
 * each "process" a separate RedisStreamsFabric (its own connections) on the real Redis
 * (REDIS_URL; skipped without it, a failure under CI=true). Short leases and block times so
 * hand-overs take well under a second; every key of a run starts with its run id and is deleted
 * at the end.
 */
import { Redis } from 'ioredis';
import { createLogger } from '../../src/core/logger.js';
import type { Fabric } from '../../src/fabric/fabric.js';
import { RedisStreamsFabric, type RedisStreamsFabricOptions } from '../../src/fabric/redis-streams/redis-streams-fabric.js';
import { service } from '../helpers/services.js';

export const REDIS_STREAMS_TEST_TUNING = { batchSize: 500, blockMs: 200, claimIdleMs: 1_500, retryInitialMs: 30, retryMaxMs: 300 };

export function redisStreamsHarness(runId: string, extra: Partial<RedisStreamsFabricOptions> = {}) {
  const redis = service('REDIS_URL', 'Redis server');
  const opened: Fabric[] = [];
  let n = 0;
  return {
    name: 'redis-streams' as const,
    skip: redis.skip,
    patience: 15_000,
    quiet: 800,
    async setup() {},
    async open(): Promise<RedisStreamsFabric> {
      const f = new RedisStreamsFabric({
        url: redis.value,
        logger: createLogger({ format: 'json' }),
        metaPrefix: `${runId}:meta:`,
        consumerPrefix: `${runId}-p${++n}`,
        consumer: REDIS_STREAMS_TEST_TUNING,
        ...extra,
      });
      opened.push(f);
      return f;
    },
    async dispose() {
      await Promise.allSettled(opened.map((f) => f.close()));
      const r = new Redis(redis.value);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', `${runId}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await r.del(...keys);
        } while (cursor !== '0');
      } finally {
        r.disconnect();
      }
    },
  };
}

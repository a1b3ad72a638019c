/**
 * The Redis Streams fabric beyond the shared contract (fabric-contract.test.ts): entries a
 * killed consumer left pending are re-delivered to the next member once its lease lapsed;
 * entries delivered by a read whose reply was lost (the connection dropped) are delivered all
 * the same, in order; entries that are not messages, and invalid messages a stage rejects, end
 * in `<topic>.dlq`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/core/logger.js';
import type { IncomingMessage } from '../../src/fabric/fabric.js';
import { RedisStreamsFabric } from '../../src/fabric/redis-streams/redis-streams-fabric.js';
import { StageLoop } from '../../src/stage/stage-loop.js';
import { redisStreamsHarness, REDIS_STREAMS_TEST_TUNING } from './redis-streams-harness.js';
import { waitFor } from '../helpers/wait-for.js';
import { CutProxy } from '../helpers/cut-proxy.js';

const runId = `wfrs-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const h = redisStreamsHarness(runId);


describe('redis streams fabric', { skip: h.skip }, () => {
  after(() => h.dispose());

  it("re-delivers a killed consumer's pending entries to the next member (after its lease lapsed)", async () => {
    const topic = `${runId}.killed`;
    const group = `${runId}.g1`;
    const p1 = await h.open();
    await p1.publishBatch(['a', 'b', 'c'].map((value) => ({ topic, key: 'k', value })));
    let received = 0;
    let bury!: (err: Error) => void;
    const dead = new Promise<void>((_, reject) => (bury = reject));
    await p1.subscribe({
      group,
      topics: [topic],
      handler: async (batch) => {
        received += batch.length;
        await dead; // does not finish: killed while holding the batch
      },
    });
    await waitFor(() => received === 3, h.patience, 'the batch in hand');
    // "kill": its connections drop without a goodbye (no release, no ack, no leave)
    const killedAt = Date.now();
    p1.redis.disconnect(false);
    for (const c of (p1 as unknown as { subscriptions: Set<{ reader: Redis }> }).subscriptions) c.reader.disconnect(false);
    const p2 = await h.open();
    const got: IncomingMessage[] = [];
    const sub2 = await p2.subscribe({ group, topics: [topic], handler: async (b) => void got.push(...b) });
    await waitFor(() => got.length >= 3, h.patience, 'the 3 entries again');
    assert.deepEqual(got.map((m) => m.value), ['a', 'b', 'c']);
    assert.ok(Date.now() - killedAt >= REDIS_STREAMS_TEST_TUNING.claimIdleMs * 0.9, 'taken over only once the lease lapsed');
    await waitFor(async () => (await sub2.lag()) === 0, h.patience, 'acknowledged');
    const r = new Redis(process.env.REDIS_URL!);
    const pending = (await r.xpending(topic, group)) as [number, ...unknown[]];
    r.disconnect();
    assert.equal(pending[0], 0, 'nothing pending');
    await sub2.close();
    bury(new Error('killed')); // lets the dead process's loop end (the harness closes it)
  });

  it('a read whose reply is lost (Redis delivered the entries, the connection dropped) is read again from the pending entries: every entry delivered, in order', async () => {
    const topic = `${runId}.lost-reply`;
    const group = `${runId}.g4`;
    const mark = `lost-${randomBytes(4).toString('hex')}`;
    const target = new URL(process.env.REDIS_URL!);
    const proxy = await CutProxy.start(target.hostname, Number(target.port || 6379));
    const writer = await h.open();
    // the consumer reaches Redis through the proxy, which drops the reply of the read that returns the entries
    const f = new RedisStreamsFabric({
      url: `redis://127.0.0.1:${proxy.port}`,
      logger: createLogger({ format: 'json' }),
      metaPrefix: `${runId}:meta:`,
      consumerPrefix: `${runId}-lost`,
      consumer: REDIS_STREAMS_TEST_TUNING,
    });
    const got: string[] = [];
    const sub = await f.subscribe({ group, topics: [topic], handler: async (b) => void got.push(...b.map((m) => m.value)) });
    try {
      proxy.cutReplyContaining(mark);
      await writer.publishBatch(['a', 'b', 'c'].map((x) => ({ topic, key: 'k', value: `${mark}-${x}` })));
      await waitFor(() => proxy.cuts === 1, h.patience, 'the reply with the entries cut');
      await writer.publish({ topic, key: 'k', value: `${mark}-d` });
      await waitFor(() => got.length >= 4, h.patience, () => `the 4 entries (got ${JSON.stringify(got)})`);
      assert.deepEqual(got, ['a', 'b', 'c', 'd'].map((x) => `${mark}-${x}`));
      await waitFor(async () => (await sub.lag()) === 0, h.patience, 'acknowledged');
      const r = new Redis(process.env.REDIS_URL!);
      const pending = (await r.xpending(topic, group)) as [number, ...unknown[]];
      r.disconnect();
      assert.equal(pending[0], 0, 'nothing pending');
    } finally {
      await sub.close();
      await f.close();
      await proxy.close();
    }
  });

  it('entries that are not messages go to <topic>.dlq and are acknowledged; the others are delivered', async () => {
    const topic = `${runId}.poison`;
    const f = await h.open();
    const r = new Redis(process.env.REDIS_URL!);
    await f.publish({ topic, key: 'k', value: 'ok-1' });
    await r.xadd(topic, '*', 'something', 'else');
    await f.publish({ topic, key: 'k', value: 'ok-2' });
    const got: string[] = [];
    const sub = await f.subscribe({ group: `${runId}.g2`, topics: [topic], handler: async (b) => void got.push(...b.map((m) => m.value)) });
    await waitFor(() => got.length >= 2, h.patience, '2 messages');
    assert.deepEqual(got, ['ok-1', 'ok-2']);
    const letters = await f.readAll(`${topic}.dlq`);
    assert.equal(letters.length, 1);
    const letter = JSON.parse(letters[0]!.value) as { reason: string; topic: string; value: string };
    assert.match(letter.reason, /without a value field/);
    assert.equal(letter.topic, topic);
    assert.deepEqual(JSON.parse(letter.value), ['something', 'else']);
    await waitFor(async () => (await sub.lag()) === 0, h.patience, 'lag 0');
    r.disconnect();
    await sub.close();
  });

  it('a stage on the fabric dead-letters invalid messages to <topic>.dlq and publishes the rest', async () => {
    const topic = `${runId}.stage-in`;
    const out = `${runId}.stage-out`;
    const f = await h.open();
    const loop = new StageLoop<{ n: number }>({
      stage: 'test-stage',
      group: `${runId}.g3`,
      fabric: f,
      logger: createLogger({ format: 'json' }),
      parse: (text, obj) => {
        const v = (obj ?? JSON.parse(text)) as { n?: unknown };
        return typeof v.n === 'number' ? { ok: true, message: { n: v.n } } : { ok: false, reason: 'n must be a number' };
      },
      handle: (key, m, _in, o) => void o.push({ topic: out, key, value: JSON.stringify({ n: m.n * 2 }) }),
    });
    await loop.start([topic]);
    await f.publishBatch([
      { topic, key: 'r1', value: '{"n":1}' },
      { topic, key: 'r1', value: '{"n":"x"}' },
      { topic, key: 'r1', value: '{"n":3}' },
    ]);
    await waitFor(async () => (await f.readAll(out)).length === 2 && (await f.readAll(`${topic}.dlq`)).length === 1, h.patience, '2 outputs and 1 dead letter');
    assert.deepEqual((await f.readAll(out)).map((m) => m.value), ['{"n":2}', '{"n":6}']);
    const [letter] = await f.readAll(`${topic}.dlq`);
    assert.equal((JSON.parse(letter!.value) as { reason: string }).reason, 'n must be a number');
    await loop.stop();
  });
});

/**
 * The shared stage loop on the in-process bus: invalid messages and handlers that throw go to
 * `<topic>.dlq` (counted exactly), the batch commits, output and input are counted, messages
 * without a key are routed, topics are created once, and the lag gauge follows the group.
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import type { Fabric, OutgoingMessage, TopicSpec } from '../../src/fabric/fabric.js';
import { StageLoop, type DeadLetter, type StageItem } from '../../src/stage/stage-loop.js';
import { consumerLag, deadLettered, messagesIn, messagesOut } from '../../src/stage/stage-metrics.js';
import { stageAccount } from '../../src/energy/stage-cpu.js';
import { silentLogger } from '../../src/core/logger.js';
import { waitFor } from '../helpers/wait-for.js';
import { captureLogger, LEVEL } from '../helpers/capture-logger.js';
import { counterOf, parseNumbered, throwingHandlerScenario, type Numbered } from './throwing-handler.js';

const values = async (bus: Fabric, topic: string) => (await bus.readAll(topic)).map((m) => m.value);
const letters = async (bus: Fabric, topic: string) => (await bus.readAll(`${topic}.dlq`)).map((m) => JSON.parse(m.value) as DeadLetter);

test('a handler that throws: the message goes to <topic>.dlq with the reason, counted; the batch commits', async () => {
  const bus = new MemoryFabric();
  await throwingHandlerScenario(bus, { stage: 'mem-throwing', input: 'in', output: 'out', group: 'g' }, 5000);
  await bus.close();
});

test('invalid messages go to <topic>.dlq with the parser reason, counted once each; valid ones are handled in order', async () => {
  const bus = new MemoryFabric();
  const stage = 'st-invalid';
  const dead0 = await counterOf(deadLettered, stage);
  const in0 = await counterOf(messagesIn, stage);
  const handled0 = stageAccount(stage).messages;
  const seen: number[] = [];
  const loop = new StageLoop<Numbered>({
    stage,
    group: 'g',
    fabric: bus,
    logger: silentLogger(),
    parse: parseNumbered,
    handle: (key, m, _in, out) => {
      seen.push(m.n);
      out.push({ topic: 'out', key, value: String(m.n) });
    },
  });
  await bus.publishBatch([
    { topic: 'in', key: 'a', value: '{"n":1}' },
    { topic: 'in', key: 'b', value: '{oops' },
    { topic: 'in', key: 'c', json: { m: 1 } },
    { topic: 'in', key: 'd', json: { n: 4 } },
  ]);
  await loop.start(['in']);
  await waitFor(async () => (await values(bus, 'out')).length === 2, 5000, 'two outputs');
  const dl = await letters(bus, 'in');
  assert.deepEqual(
    dl.map((l) => [l.stage, l.reason, l.key, l.offset, l.topic]),
    [
      [stage, 'not JSON', 'b', '1', 'in'],
      [stage, 'n missing', 'c', '2', 'in'],
    ],
  );
  assert.equal(dl[0]!.value, '{oops', 'the dead letter carries the message as received');
  assert.deepEqual(seen, [1, 4]);
  assert.deepEqual(await values(bus, 'out'), ['1', '4']);
  assert.equal((await counterOf(deadLettered, stage)) - dead0, 2);
  assert.equal((await counterOf(messagesIn, stage)) - in0, 4, 'every consumed message counted in');
  assert.equal(stageAccount(stage).messages - handled0, 4, 'the stage energy account counts the messages');
  await loop.stop();
  await bus.close();
});

test('handleMany gets the valid messages of a batch at once, routed; unkeyed messages are routed by the stage, keyed ones keep their key', async () => {
  const bus = new MemoryFabric();
  const batches: Array<Array<StageItem<Numbered>>> = [];
  const routed: string[] = [];
  const loop = new StageLoop<Numbered>({
    stage: 'st-many',
    group: 'g',
    fabric: bus,
    logger: silentLogger(),
    parse: parseNumbered,
    route: (incoming, m) => (routed.push(incoming.key), `router-${m.n}`),
    handleMany: async (items, out) => {
      batches.push(items);
      for (const it of items) out.push({ topic: 'out', key: it.routerId, value: String(it.message.n) });
    },
  });
  await bus.publishBatch([
    { topic: 'in', key: '', value: '{"n":1}' },
    { topic: 'in', key: 'r9', value: '{"n":2}' },
    { topic: 'in', key: 'x', value: 'bad' },
  ]);
  await loop.start(['in']);
  await waitFor(async () => (await values(bus, 'out')).length === 2, 5000, 'two outputs');
  assert.equal(batches.length, 1, 'one call for the batch');
  assert.deepEqual(batches[0]!.map((i) => [i.routerId, i.message.n, i.incoming.offset]), [
    ['router-1', 1, '0'],
    ['r9', 2, '1'],
  ]);
  assert.deepEqual(routed, [''], 'route() only for the unkeyed message');
  assert.deepEqual((await bus.readAll('out')).map((m) => m.key), ['router-1', 'r9']);
  assert.equal((await letters(bus, 'in')).length, 1);
  await loop.stop();
  await bus.close();
});

test('without route() an unkeyed message has router id ""', async () => {
  const bus = new MemoryFabric();
  const ids: string[] = [];
  const loop = new StageLoop<Numbered>({ stage: 'st-noroute', group: 'g', fabric: bus, logger: silentLogger(), parse: parseNumbered, handle: (id) => void ids.push(id) });
  await bus.publish({ topic: 'in', key: '', value: '{"n":1}' });
  await loop.start(['in']);
  await waitFor(() => ids.length === 1, 5000, 'the message handled');
  assert.deepEqual(ids, ['']);
  await loop.stop();
  await bus.close();
});

test('handleMany that rejects: the batch is delivered again (the sinks rely on it), nothing is dead-lettered', async () => {
  const bus = new MemoryFabric({ retryDelayMs: 10 });
  const stage = 'st-retry';
  const dead0 = await counterOf(deadLettered, stage);
  let calls = 0;
  const loop = new StageLoop<Numbered>({
    stage,
    group: 'g',
    fabric: bus,
    logger: silentLogger(),
    parse: parseNumbered,
    handleMany: async (items, out) => {
      if (++calls < 3) throw new Error('sink down');
      for (const it of items) out.push({ topic: 'out', key: it.routerId, value: String(it.message.n) });
    },
  });
  await bus.publish({ topic: 'in', key: 'a', value: '{"n":7}' });
  await loop.start(['in']);
  await waitFor(async () => (await values(bus, 'out')).length === 1, 5000, 'the output after two failures');
  assert.equal(calls, 3);
  assert.deepEqual(await values(bus, 'out'), ['7']);
  assert.equal((await counterOf(deadLettered, stage)) - dead0, 0);
  assert.deepEqual(await bus.readAll('in.dlq'), []);
  await loop.stop();
  await bus.close();
});

test('outputs on internal topics are published but not counted as output; dead-letter topics are created when first needed', async () => {
  const bus = new MemoryFabric();
  const created: string[][] = [];
  const spy = Object.assign(Object.create(bus) as Fabric, {
    ensureTopics: async (topics: TopicSpec[]) => {
      created.push(topics.map((t) => t.name));
      await bus.ensureTopics(topics);
    },
  });
  const stage = 'st-internal';
  const out0 = await counterOf(messagesOut, stage);
  const loop = new StageLoop<Numbered>({
    stage,
    group: 'g',
    fabric: spy,
    logger: silentLogger(),
    parse: parseNumbered,
    internalTopics: new Set(['state']),
    handle: (key, m, _in, out: OutgoingMessage[]) => {
      out.push({ topic: 'state', key, value: String(m.n) }, { topic: 'out', key, value: String(m.n) });
    },
  });
  await loop.ensure(['out', 'state']);
  await loop.ensure(['out', 'state', 'other']);
  await loop.start(['in']);
  await bus.publish({ topic: 'in', key: 'a', value: '{"n":1}' });
  await waitFor(async () => (await values(bus, 'out')).length === 1, 5000, 'the output');
  assert.deepEqual(await values(bus, 'state'), ['1']);
  assert.equal((await counterOf(messagesOut, stage)) - out0, 1, 'only the output topic counts');
  await bus.publish({ topic: 'in', key: 'b', value: 'bad' });
  await waitFor(async () => (await bus.readAll('in.dlq')).length === 1, 5000, 'the dead letter');
  await bus.publish({ topic: 'in', key: 'c', value: 'bad too' });
  await waitFor(async () => (await bus.readAll('in.dlq')).length === 2, 5000, 'the second dead letter');
  assert.deepEqual(created, [['out', 'state'], ['other'], ['in'], ['in.dlq']], 'each topic ensured once');
  assert.equal((await counterOf(messagesOut, stage)) - out0, 1, 'dead letters are not output');
  await loop.stop();
  await bus.close();
});

test('a batch with nothing to publish publishes nothing', async () => {
  const bus = new MemoryFabric();
  let published = 0;
  const spy = Object.assign(Object.create(bus) as Fabric, {
    publishBatch: async (ms: OutgoingMessage[]) => {
      published++;
      await bus.publishBatch(ms);
    },
  });
  let handled = 0;
  const settled: string[] = [];
  const loop = new StageLoop<Numbered>({
    stage: 'st-empty',
    group: 'g',
    fabric: spy,
    logger: silentLogger(),
    parse: parseNumbered,
    handle: () => void handled++,
    onSettled: (routers, incoming) => settled.push(...incoming.map((m, i) => `${routers[i]} ${m.value}`)),
  });
  await loop.start(['in']);
  await bus.publish({ topic: 'in', key: 'a', value: '{"n":1}' });
  await waitFor(() => handled === 1, 5000, 'the message handled');
  await loop.stop();
  assert.equal(published, 0);
  assert.deepEqual(settled, ['a {"n":1}'], 'nothing to acknowledge: settled at once (router id, message as received)');
  await bus.close();
});

test('updateTopics: the stage follows a new topic list (the new topic created and consumed, the old one left)', async () => {
  const bus = new MemoryFabric();
  const seen: string[] = [];
  const loop = new StageLoop<Numbered>({ stage: 'st-update', group: 'g', fabric: bus, logger: silentLogger(), parse: parseNumbered, handle: (_k, m, inc) => void seen.push(`${inc.topic}:${m.n}`) });
  await loop.start(['a']);
  await bus.publish({ topic: 'a', key: 'k', value: '{"n":1}' });
  await waitFor(() => seen.length === 1, 5000, 'the message on a');
  await loop.updateTopics(['b']);
  await bus.publish({ topic: 'b', key: 'k', value: '{"n":2}' });
  await bus.publish({ topic: 'a', key: 'k', value: '{"n":3}' });
  await waitFor(() => seen.length === 2, 5000, 'the message on b');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(seen, ['a:1', 'b:2']);
  await loop.stop();
  await bus.close();
});

test('running is true between start and stop; the lag gauge is refreshed every 5 s; onAssigned/onRevoked get the topics', async () => {
  const bus = new MemoryFabric();
  const events: string[] = [];
  let release!: () => void;
  const blocked = new Promise<void>((r) => (release = r));
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const loop = new StageLoop<Numbered>({
      stage: 'st-lag',
      group: 'g',
      fabric: bus,
      logger: silentLogger(),
      parse: parseNumbered,
      handle: () => blocked,
      onAssigned: (t) => void events.push(`assigned ${t.join(',')}`),
      onRevoked: (t) => void events.push(`revoked ${t.join(',')}`),
    });
    assert.equal(loop.running, false);
    await bus.publishBatch([1, 2, 3].map((n) => ({ topic: 'in', key: 'k', value: JSON.stringify({ n }) })));
    await loop.start(['in']);
    assert.equal(loop.running, true);
    assert.deepEqual(events, ['assigned in']);
    const lag = async () => (await consumerLag.get()).values.find((v) => v.labels.stage === 'st-lag')?.value;
    assert.equal(await lag(), undefined, 'not measured before 5 s');
    mock.timers.tick(5000);
    assert.equal(await waitFor(lag, 2000, 'the lag gauge'), 3, 'three messages not yet committed');
    release();
    await waitFor(async () => (await loop['sub']!.lag()) === 0, 5000, 'the batch committed');
    mock.timers.tick(5000);
    await waitFor(async () => (await lag()) === 0, 2000, 'the lag gauge back to 0');
    await loop.stop();
    assert.equal(loop.running, false);
    assert.deepEqual(events, ['assigned in', 'revoked in']);
    consumerLag.set({ stage: 'st-lag' }, 42);
    mock.timers.tick(20_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(await lag(), 42, 'no refresh after stop');
  } finally {
    mock.timers.reset();
    await bus.close();
  }
});

test('deadLetter(): the letter names the stage, reason, origin and message; written to <topic>.dlq under the same key', async () => {
  const stage = 'st-letter';
  const dead0 = await counterOf(deadLettered, stage);
  const loop = new StageLoop<Numbered>({ stage, group: 'g', fabric: new MemoryFabric(), logger: silentLogger(), parse: parseNumbered });
  const before = Date.now();
  const out = loop.deadLetter({ topic: 'TD_r1', key: 'r1', value: 'raw', headers: {}, partition: 3, offset: '17', timestamp: 0 }, 'why');
  assert.equal(out.topic, 'TD_r1.dlq');
  assert.equal(out.key, 'r1');
  const letter = JSON.parse(out.value!) as DeadLetter;
  const at = Date.parse(letter.received_at);
  assert.ok(at >= before - 1 && at <= Date.now() + 1, `received_at is now (${letter.received_at})`);
  assert.deepEqual({ ...letter, received_at: '' }, { stage, reason: 'why', topic: 'TD_r1', partition: 3, offset: '17', key: 'r1', received_at: '', value: 'raw' });
  assert.equal((await counterOf(deadLettered, stage)) - dead0, 1);
});

test('a stage without handlers consumes and commits, publishing nothing and dead-lettering nothing', async () => {
  const bus = new MemoryFabric();
  const loop = new StageLoop<Numbered>({ stage: 'st-none', group: 'g', fabric: bus, logger: silentLogger(), parse: parseNumbered });
  await bus.publishBatch([1, 2].map((n) => ({ topic: 'in', key: 'k', value: JSON.stringify({ n }) })));
  await loop.start(['in']);
  await waitFor(async () => (await loop['sub']!.lag()) === 0, 5000, 'the batch committed');
  assert.deepEqual(await bus.readAll('in.dlq'), []);
  assert.equal((await messagesOut.get()).values.find((v) => v.labels.stage === 'st-none'), undefined, 'no output series for a stage that published nothing');
  await loop.stop();
  await bus.close();
});

test('a stage that only dead-letters has no output series (not even 0)', async () => {
  const bus = new MemoryFabric();
  const loop = new StageLoop<Numbered>({ stage: 'st-only-dead', group: 'g', fabric: bus, logger: silentLogger(), parse: parseNumbered, handle: () => undefined });
  await bus.publish({ topic: 'in', key: 'k', value: 'bad' });
  await loop.start(['in']);
  await waitFor(async () => (await bus.readAll('in.dlq')).length === 1, 5000, 'the dead letter');
  assert.equal((await messagesOut.get()).values.find((v) => v.labels.stage === 'st-only-dead'), undefined);
  await loop.stop();
  await bus.close();
});

test('a dead letter is logged as a warning with where it came from and why', async () => {
  const { logger, lines } = captureLogger();
  const loop = new StageLoop<Numbered>({ stage: 'st-log', group: 'g', fabric: new MemoryFabric(), logger, parse: parseNumbered });
  loop.deadLetter({ topic: 'TD_r1', key: 'r1', value: 'raw', headers: {}, partition: 0, offset: '5', timestamp: 0 }, 'why');
  assert.deepEqual(lines, [{ level: LEVEL.warn, topic: 'TD_r1', offset: '5', key: 'r1', reason: 'why', msg: 'message sent to dead-letter topic' }]);
});

test('before start: updateTopics only ensures the topics, stop does nothing; the lag timer does not keep the process alive', async () => {
  const bus = new MemoryFabric();
  const loop = new StageLoop<Numbered>({ stage: 'st-idle', group: 'g', fabric: bus, logger: silentLogger(), parse: parseNumbered });
  await loop.updateTopics(['x']);
  await loop.stop();
  assert.equal(loop.running, false);
  await loop.start(['x']);
  assert.equal(loop['lagTimer']!.hasRef(), false);
  await loop.stop();
  await bus.close();
});

test('a failing lag query is ignored (no unhandled rejection, the gauge keeps its value)', async () => {
  const bus = new MemoryFabric();
  const failingLag = Object.assign(Object.create(bus) as Fabric, {
    subscribe: async (o: Parameters<Fabric['subscribe']>[0]) => {
      const sub = await bus.subscribe(o);
      return { ...sub, updateTopics: sub.updateTopics, close: sub.close, lag: () => Promise.reject(new Error('broker gone')) };
    },
  });
  const rejections: unknown[] = [];
  const onRejection = (err: unknown) => void rejections.push(err);
  process.on('unhandledRejection', onRejection);
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const loop = new StageLoop<Numbered>({ stage: 'st-lag-fails', group: 'g', fabric: failingLag, logger: silentLogger(), parse: parseNumbered });
    consumerLag.set({ stage: 'st-lag-fails' }, 7);
    await loop.start(['in']);
    mock.timers.tick(5000);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(rejections, []);
    assert.equal((await consumerLag.get()).values.find((v) => v.labels.stage === 'st-lag-fails')?.value, 7);
    await loop.stop();
  } finally {
    mock.timers.reset();
    process.off('unhandledRejection', onRejection);
    await bus.close();
  }
});

test('outputs that fail to publish: the batch is delivered again and its outputs counted only once acknowledged', async () => {
  const bus = new MemoryFabric();
  const stage = 'st-publish-fails';
  const out0 = await counterOf(messagesOut, stage);
  let failures = 1;
  // the bus refuses the first publish of the stage's outputs (a broker refusing a produce)
  const flaky: Fabric = Object.assign(Object.create(bus) as Fabric, {
    publishBatch: (ms: OutgoingMessage[]) => (ms.some((m) => m.topic === 'out') && failures-- > 0 ? Promise.reject(new Error('refused')) : bus.publishBatch(ms)),
  });
  const handled: number[] = [];
  const settled: Array<[string[], string[]]> = [];
  const loop = new StageLoop<Numbered>({
    stage,
    group: 'g',
    fabric: flaky,
    logger: silentLogger(),
    parse: parseNumbered,
    handle: (key, m, _in, out) => {
      handled.push(m.n);
      out.push({ topic: 'out', key, value: String(m.n) });
    },
    // what the stage hears of its batches: only the acknowledged attempt, with the outputs already there
    onSettled: (routers, incoming) => void values(bus, 'out').then((outs) => settled.push([routers.map((r, i) => `${r} ${incoming[i]!.value}`), outs])),
  });
  await bus.publishBatch([{ topic: 'in', key: 'a', value: '{"n":1}' }]);
  await loop.start(['in']);
  await waitFor(async () => (await values(bus, 'out')).length === 1, 5000, 'the output once the retry succeeded');
  assert.deepEqual(handled, [1, 1], 'handled again after its outputs failed');
  assert.deepEqual(await values(bus, 'out'), ['1']);
  assert.equal((await counterOf(messagesOut, stage)) - out0, 1, 'the refused attempt is not counted as output');
  await waitFor(() => settled.length === 1, 5000, 'onSettled');
  assert.deepEqual(settled, [[['a {"n":1}'], ['1']]], 'onSettled once, for the acknowledged attempt only');
  await loop.stop();
  await bus.close();
});

/**
 * The stage loop's bookkeeping records (the processor's state) reach the bus only after the
 * outputs they stand for, in batch order, with the next batch's outputs or alone after the
 * linger; a failure stops the chain behind it (src/stage/bookkeeping.ts). On the in-process bus,
 * whose publishes are recorded and, where a test says so, held or failed.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Fabric, OutgoingMessage, PublishOptions } from '../../src/fabric/fabric.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { Bookkeeping } from '../../src/stage/bookkeeping.js';
import { overriding } from '../helpers/overriding.js';

const out = (id: string): OutgoingMessage => ({ topic: 'TP', key: id, value: id });
const state = (id: string): OutgoingMessage => ({ topic: 'state', key: id, value: id });

/** A publish the test settles: `release()` lets it through to the bus, `fail()` rejects it. */
interface Held {
  keys: string[];
  release(): void;
  fail(): void;
}

/** The buses of the tests, closed after each. */
const buses: MemoryFabric[] = [];

/** The bus with every publish recorded (topic:key of each message, in order); a publish whose first message is in `hold` waits for the test. */
function recordingBus(hold: Set<string> = new Set()) {
  const bus = new MemoryFabric();
  buses.push(bus); // closed after the test
  const calls: string[][] = [];
  const held = new Map<string, Held>();
  const fabric = overriding<Fabric>(bus, {
    publishBatch: async (messages: OutgoingMessage[], options?: PublishOptions) => {
      const keys = messages.map((m) => `${m.topic}:${m.key}`);
      calls.push(keys);
      const first = keys[0]!;
      if (hold.has(first)) {
        await new Promise<void>((resolve, reject) => held.set(first, { keys, release: resolve, fail: () => reject(new Error(`publish of ${first} failed (injected)`)) }));
      }
      return bus.publishBatch(messages, options);
    },
  });
  return { bus, fabric, calls, held };
}

const tick = () => new Promise((r) => setImmediate(r));
afterEach(async () => {
  for (const b of buses.splice(0)) await b.close();
});

describe('bookkeeping: records after their outputs', () => {
  it("waits for the batch's outputs to be acknowledged, then goes alone after the linger when no batch follows", async () => {
    const { bus, fabric, calls, held } = recordingBus(new Set(['TP:a']));
    const bk = new Bookkeeping(fabric, 30);
    const written = bk.after(bk.publish([out('a')]), [state('a')]);
    await tick();
    assert.deepEqual(calls, [['TP:a']], 'only the output is published while it is in flight');
    held.get('TP:a')!.release();
    const t0 = performance.now();
    await written;
    assert.deepEqual(calls, [['TP:a'], ['state:a']], 'the record went alone');
    assert.ok(performance.now() - t0 >= 25, 'after the linger');
    assert.deepEqual((await bus.readAll('state')).map((m) => m.key), ['a']);
  });

  it("travels with the next batch's outputs, in one publish", async () => {
    const { fabric, calls } = recordingBus();
    const bk = new Bookkeeping(fabric, 10_000);
    const first = bk.after(bk.publish([out('a')]), [state('a')]);
    await tick();
    await tick();
    const second = bk.after(bk.publish([out('b')]), [state('b')]);
    await first;
    assert.deepEqual(calls.slice(0, 2), [['TP:a'], ['TP:b', 'state:a']], "batch a's record went with batch b's output");
    // batch b's record waits for the next outputs (or the linger): a third batch carries it
    await tick();
    void bk.after(bk.publish([out('c')]), []);
    await second;
    assert.deepEqual(calls[2], ['TP:c', 'state:b']);
  });

  it("keeps the batches' order: a later batch acknowledged first waits for the earlier one's records", async () => {
    const { fabric, calls, held } = recordingBus(new Set(['TP:a']));
    const bk = new Bookkeeping(fabric, 5);
    const first = bk.after(bk.publish([out('a')]), [state('a')]);
    const second = bk.after(bk.publish([out('b')]), [state('b')]);
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(calls, [['TP:a'], ['TP:b']], "b's output is acknowledged, its record still waits for a's output");
    held.get('TP:a')!.release();
    await Promise.all([first, second]);
    assert.deepEqual(calls.slice(2), [['state:a', 'state:b']], 'then both records, in batch order');
  });

  it('a failed output fails its batch and the ones chained behind it, writes none of their records, and the next batch starts again', async () => {
    const { bus, fabric, calls, held } = recordingBus(new Set(['TP:a']));
    const bk = new Bookkeeping(fabric, 5);
    const first = bk.after(bk.publish([out('a')]), [state('a')]);
    const second = bk.after(bk.publish([out('b')]), [state('b')]);
    await tick();
    held.get('TP:a')!.fail();
    await assert.rejects(first, /publish of TP:a failed/);
    await assert.rejects(second, /publish of TP:a failed/, 'the batch behind it fails too (it is delivered again)');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await bus.readAll('state')).length, 0, 'no record of either batch on the bus');
    // the redelivered batch, once the failure is known
    await bk.after(bk.publish([out('a2')]), [state('a2')]);
    assert.deepEqual((await bus.readAll('state')).map((m) => m.key), ['a2']);
    assert.deepEqual(calls.at(-1), ['state:a2']);
  });

  it('with no linger (a fabric that does not pipeline) the records go as soon as their outputs are acknowledged', async () => {
    const { bus, fabric, calls } = recordingBus();
    const bk = new Bookkeeping(fabric, 0);
    await bk.after(bk.publish([out('a')]), [state('a')]);
    assert.deepEqual(calls, [['TP:a'], ['state:a']]);
    assert.deepEqual((await bus.readAll('state')).map((m) => m.key), ['a']);
  });

  it('with no linger the records are handed over in the turn of the acknowledgement, before any timer', async () => {
    const { fabric, calls } = recordingBus();
    const bk = new Bookkeeping(fabric, 0);
    const acked = bk.publish([out('a')]);
    const written = bk.after(acked, [state('a')]);
    await acked;
    for (let i = 0; i < 5; i++) await Promise.resolve();
    assert.deepEqual(calls, [['TP:a'], ['state:a']], 'no timer between the acknowledgement and the records');
    await written;
  });

  it('a batch of records only sends no empty request for its outputs', async () => {
    const { fabric, calls } = recordingBus();
    const bk = new Bookkeeping(fabric, 0);
    await bk.after(bk.publish([]), [state('a')]);
    assert.deepEqual(calls, [['state:a']]);
  });

  it('a batch without records behind pending ones settles once theirs are handed over, without waiting for the linger', async () => {
    const { fabric, calls, held } = recordingBus(new Set(['TP:a']));
    const bk = new Bookkeeping(fabric, 10_000);
    const first = bk.after(bk.publish([out('a')]), [state('a')]);
    const second = bk.after(bk.publish([out('b')]), []);
    await tick();
    held.get('TP:a')!.release();
    const late = new Promise((r) => setTimeout(() => r('late'), 500));
    assert.notEqual(await Promise.race([second.then(() => 'settled'), late]), 'late', "settled before the linger, with a's records still waiting");
    // the third batch's outputs carry a's records
    await bk.after(bk.publish([out('c')]), []);
    await first;
    assert.deepEqual(calls.at(-1), ['TP:c', 'state:a']);
  });
});

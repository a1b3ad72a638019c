import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cutBatches, FlushCoalescer, IdleWaiters, OnceTimer } from '../../src/core/batcher.js';

test('cutBatches keeps order and cuts by item count', () => {
  assert.deepEqual(cutBatches([1, 2, 3, 4, 5], { maxItems: 2 }), [[1, 2], [3, 4], [5]]);
  assert.deepEqual(cutBatches([], { maxItems: 2 }), []);
  assert.deepEqual(cutBatches([1, 2, 3], {}), [[1, 2, 3]]);
});

test('cutBatches cuts by bytes; an item above maxBytes goes alone', () => {
  const size = (s: string) => s.length;
  assert.deepEqual(cutBatches(['aa', 'bb', 'c', 'dddddd', 'e'], { maxBytes: 4 }, size), [['aa', 'bb'], ['c'], ['dddddd'], ['e']]);
  // exactly at the limit stays together; both limits apply
  assert.deepEqual(cutBatches(['a', 'b', 'c'], { maxBytes: 3, maxItems: 2 }, size), [['a', 'b'], ['c']]);
});

test('FlushCoalescer runs once per turn however often requested', async () => {
  let runs = 0;
  const c = new FlushCoalescer(() => runs++, 'turn');
  c.request();
  c.request();
  assert.equal(c.scheduled, true);
  await Promise.resolve();
  assert.equal(runs, 0, 'a turn flush does not run in a microtask');
  await new Promise((r) => setImmediate(r));
  assert.equal(runs, 1);
  assert.equal(c.scheduled, false);
  c.request();
  await new Promise((r) => setImmediate(r));
  assert.equal(runs, 2);
});

test('FlushCoalescer microtask mode runs before the next turn', async () => {
  let runs = 0;
  const c = new FlushCoalescer(() => runs++, 'microtask');
  c.request();
  c.request();
  await Promise.resolve();
  assert.equal(runs, 1);
});

test('OnceTimer arms once, fires once, fires now or clears', async () => {
  let fired = 0;
  const t = new OnceTimer(() => fired++);
  assert.equal(t.arm(5), true);
  assert.equal(t.arm(1), false, 'already armed');
  assert.equal(t.armed, true);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fired, 1);
  assert.equal(t.armed, false);
  t.arm(10_000);
  assert.equal(t.fireNow(), true);
  assert.equal(fired, 2);
  assert.equal(t.fireNow(), false);
  t.arm(5);
  t.clear();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fired, 2);
});

test('IdleWaiters: release resolves true, a timeout false', async () => {
  const w = new IdleWaiters();
  const a = w.wait();
  const b = w.wait(10_000);
  const c = new IdleWaiters().wait(5);
  assert.equal(w.size, 2);
  w.release();
  assert.deepEqual(await Promise.all([a, b, c]), [true, true, false]);
  assert.equal(w.size, 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, backoffDelay, sleep } from '../../src/core/backoff.js';

test('backoffDelay doubles from initialMs and stops at maxMs', () => {
  const p = { initialMs: 200, maxMs: 1000 };
  assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffDelay(p, a)), [200, 400, 800, 1000, 1000]);
  assert.equal(backoffDelay({ ...p, factor: 3 }, 2), 600);
});

test('jitter keeps the delay in [d/2, d] and Retry-After is a capped floor', () => {
  const p = { initialMs: 400, maxMs: 10_000, jitter: true };
  assert.equal(backoffDelay(p, 1, { random: () => 0 }), 200);
  assert.equal(backoffDelay(p, 1, { random: () => 1 }), 400);
  assert.equal(backoffDelay({ initialMs: 100, maxMs: 1000 }, 1, { retryAfterMs: 5000 }), 1000);
  assert.equal(backoffDelay({ initialMs: 100, maxMs: 1000 }, 1, { retryAfterMs: 5000, retryAfterMaxMs: 3000 }), 3000);
  assert.equal(backoffDelay({ initialMs: 100, maxMs: 1000 }, 1, { retryAfterMs: 50 }), 100);
});

test('Backoff counts failures and reset starts over', () => {
  const b = new Backoff({ initialMs: 10, maxMs: 100 });
  assert.deepEqual([b.next(), b.next(), b.next()], [10, 20, 40]);
  assert.equal(b.attempts, 3);
  b.reset();
  assert.equal(b.next(), 10);
});

test('sleep resolves early when aborted', async () => {
  const ac = new AbortController();
  const t0 = process.hrtime.bigint();
  const p = sleep(60_000, ac.signal);
  ac.abort();
  await p;
  assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 30_000, 'an aborted sleep must not wait its full delay');
  await sleep(1, ac.signal); // already aborted: resolves
});

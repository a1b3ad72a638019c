import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retry, retryDelay, RetryTimer, type Attempt, type RetryPolicy } from '../../src/core/retry.js';

const policy: RetryPolicy = { initialMs: 1, maxMs: 4, maxRetries: 3 };

test('retry returns the first done value and reports each retry with its delay', async () => {
  const seen: Array<[string, number, number]> = [];
  let calls = 0;
  const v = await retry<string>(
    policy,
    async (n) => {
      calls++;
      return n < 2 ? { done: false, reason: `fail ${n}` } : { done: true, value: 'ok' };
    },
    { onRetry: (reason, n, d) => seen.push([reason, n, d]), onExhausted: () => 'exhausted' },
  );
  assert.equal(v, 'ok');
  assert.equal(calls, 3);
  assert.deepEqual(seen, [['fail 0', 1, 1], ['fail 1', 2, 2]]);
});

test('retry gives up after maxRetries retries: onExhausted gets the last reason and the attempts made', async () => {
  let calls = 0;
  const v = await retry<string>(policy, async () => ({ done: false, reason: `r${calls++}` }), {
    onExhausted: (reason, attempts) => `${reason}/${attempts}`,
  });
  assert.equal(v, 'r3/4');
  assert.equal(calls, 4);
});

test('retry: "again" retries at once but counts as an attempt', async () => {
  const steps: Array<Attempt<string>> = [{ done: false, again: true }, { done: false, reason: 'x' }];
  const retries: number[] = [];
  const v = await retry<string>({ ...policy, maxRetries: 1 }, async (n) => steps[n] ?? { done: true, value: 'never' }, {
    onRetry: (_r, n) => retries.push(n),
    onExhausted: (reason, attempts) => `${reason}/${attempts}`,
  });
  assert.equal(v, 'x/2');
  assert.deepEqual(retries, []);
});

test('retryDelay: exponential with jitter, Retry-After a floor capped by retryAfterMaxMs', () => {
  const p: RetryPolicy = { initialMs: 200, maxMs: 30_000, jitter: true, maxRetries: 5, retryAfterMaxMs: 60_000, random: () => 1 };
  assert.equal(retryDelay(p, 1), 200);
  assert.equal(retryDelay(p, 3), 800);
  assert.equal(retryDelay({ ...p, random: () => 0 }, 3), 400);
  assert.equal(retryDelay(p, 1, 45_000), 45_000);
  assert.equal(retryDelay(p, 1, 600_000), 60_000);
});

test('retry stops waiting when aborted', async () => {
  const ac = new AbortController();
  const t0 = Date.now();
  setTimeout(() => ac.abort(), 10);
  const v = await retry<string>({ initialMs: 60_000, maxMs: 60_000, maxRetries: Infinity }, async () => ({ done: false, reason: 'down' }), {
    onExhausted: (_r, attempts) => `gave up after ${attempts}`,
    signal: ac.signal,
  });
  assert.equal(v, 'gave up after 2');
  assert.ok(Date.now() - t0 < 5_000);
});

test('RetryTimer: delay grows with failures, one timer at a time, reset on success', async () => {
  let fired = 0;
  const t = new RetryTimer({ initialMs: 5, maxMs: 40 }, () => fired++);
  t.failed();
  t.failed(); // counted, but the timer armed by the first failure stands
  assert.equal(t.attempts, 2);
  assert.equal(t.waiting, true);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(fired, 1);
  assert.equal(t.waiting, false);
  t.failed();
  t.now();
  assert.equal(fired, 2);
  t.succeeded();
  assert.equal(t.attempts, 0);
  t.failed();
  t.cancel();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fired, 2);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FixedRateScheduler } from '../../src/core/scheduler.js';

test('ticks fall at start + k × interval without drift, even when a tick handler is slow', async () => {
  const ticks: number[] = [];
  const s = new FixedRateScheduler(40, (t) => {
    ticks.push(t);
    const busyUntil = Date.now() + 15; // a slow handler must not push later ticks
    while (Date.now() < busyUntil);
  });
  s.start();
  await new Promise((r) => setTimeout(r, 430));
  s.stop();
  // a tick the loaded machine made late is skipped (next test), so count the skipped ones too
  assert.ok(ticks.length + s.skipped >= 9, `${ticks.length} ticks, ${s.skipped} skipped`);
  assert.ok(ticks.length >= 5, `${ticks.length} ticks`);
  for (let i = 1; i < ticks.length; i++) {
    assert.ok(ticks[i]! > ticks[i - 1]!, 'scheduled times increase');
    assert.equal((ticks[i]! - ticks[0]!) % 40, 0, 'scheduled times are exact multiples of the interval (no drift)');
  }
});

test('ticks missed while the event loop was blocked are skipped, not bunched', async () => {
  const ticks: number[] = [];
  const s = new FixedRateScheduler(20, (t) => ticks.push(t));
  s.start();
  await new Promise((r) => setTimeout(r, 5));
  const until = Date.now() + 110;
  while (Date.now() < until); // block ~5 ticks
  await new Promise((r) => setTimeout(r, 50));
  s.stop();
  assert.ok(s.skipped >= 3, `skipped ${s.skipped}`);
  for (let i = 1; i < ticks.length; i++) assert.equal((ticks[i]! - ticks[0]!) % 20, 0);
});

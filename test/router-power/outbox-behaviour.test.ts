/**
 * The producer outbox in detail (beside outbox.test.ts): the backoff schedule, what is logged
 * and counted at each step, request sizes, the size and age bounds at their edges, messages
 * sent during a request or after close(), and the lane table pruned when large; then what the
 * mutants of `npm run mutation -- outbox` showed untested (docs/mutation-testing.md): a send in
 * the turn of a failure, lanes emptied by the size bound, the oldest message logged whichever
 * lane holds it, pruning with messages waiting, and close()'s timing under mocked timers.
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import type { Fabric, OutgoingMessage, PublishOptions } from '../../src/fabric/fabric.js';
import { Outbox } from '../../src/router-power/producer/outbox.js';
import { silentLogger } from '../../src/core/logger.js';
import { registry } from '../../src/core/metrics.js';
import { captureLogger, LEVEL } from '../helpers/capture-logger.js';
import { waitFor } from '../helpers/wait-for.js';

const metric = async (name: string, labels = ''): Promise<number> => {
  const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(await registry.metrics());
  return Number(m?.[1] ?? 0);
};
const size = () => metric('wattflow_producer_outbox_messages');
const queued = () => metric('wattflow_producer_outbox_queued_total');
const droppedBy = (reason: string) => metric('wattflow_producer_outbox_dropped_total', `{reason="${reason}"}`);
const msg = (key: string, value: string): OutgoingMessage => ({ topic: 'TD', key, value });
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** A fabric whose publishBatch fails while `down`, records every request, and can be held (in flight) until released. */
class ScriptedFabric {
  down = false;
  hold = false;
  readonly requests: Array<{ at: number; values: string[]; options?: PublishOptions }> = [];
  private releases: Array<() => void> = [];
  readonly bus = new MemoryFabric();
  fabric(): Fabric {
    return Object.assign(Object.create(this.bus) as Fabric, {
      publishBatch: async (ms: OutgoingMessage[], options?: PublishOptions) => {
        // recorded before anything can throw: a malformed request (e.g. a hole in the batch) shows in `requests`
        this.requests.push({ at: Date.now(), values: ms.map((m) => String((m as OutgoingMessage | undefined)?.value)), options });
        if (this.hold) await new Promise<void>((r) => this.releases.push(r));
        if (this.down) throw new Error(this.error);
        await this.bus.publishBatch(ms);
      },
    });
  }
  error = 'broker not available';
  release(): void {
    for (const r of this.releases.splice(0)) r();
  }
  async published(): Promise<string[]> {
    return (await this.bus.readAll('TD')).map((m) => m.value);
  }
}

/**
 * A fabric whose requests the test answers one at a time: `calls[i].ok()` publishes on the bus
 * and resolves, `calls[i].fail()` rejects at once (the outbox's handler runs in the next
 * microtask). With `autoAccept`, requests are accepted as they come (to fill the lane table).
 */
class ManualFabric {
  readonly bus = new MemoryFabric();
  readonly calls: Array<{ values: string[]; ok: () => Promise<void>; fail: (message?: string) => void }> = [];
  autoAccept = false;
  fabric(): Fabric {
    return Object.assign(Object.create(this.bus) as Fabric, {
      publishBatch: (ms: OutgoingMessage[]) => {
        if (this.autoAccept) return this.bus.publishBatch(ms);
        return new Promise<void>((resolve, reject) => {
          this.calls.push({
            values: ms.map((m) => String((m as OutgoingMessage | undefined)?.value)),
            ok: async () => {
              await this.bus.publishBatch(ms);
              resolve();
            },
            fail: (message = 'broker not available') => reject(new Error(message)),
          });
        });
      },
    });
  }
  values(): string[][] {
    return this.calls.map((c) => c.values);
  }
  async published(topic = 'TD'): Promise<string[]> {
    return (await this.bus.readAll(topic)).map((m) => m.value);
  }
}

test('backoff after failures: initial delay doubling up to the maximum (defaults 200 ms → 5 s), reset by a success', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  try {
    const f = new ScriptedFabric();
    f.down = true;
    const outbox = new Outbox({ fabric: f.fabric(), logger: silentLogger() });
    outbox.send(msg('r1', 'a'));
    await settle();
    for (let t = 0; t < 20_000; t += 100) {
      mock.timers.tick(100);
      await settle();
    }
    const offsets = f.requests.map((r) => r.at - 1_000_000);
    assert.deepEqual(offsets.slice(0, 8), [0, 200, 600, 1400, 3000, 6200, 11200, 16200]);
    // a success resets the backoff: the next failure waits the initial delay again
    f.down = false;
    mock.timers.tick(5000);
    await settle();
    assert.equal(outbox.pending, 0);
    f.down = true;
    const n = f.requests.length;
    outbox.send(msg('r1', 'b'));
    await settle();
    const failedAt = f.requests[n]!.at;
    mock.timers.tick(199);
    await settle();
    assert.equal(f.requests.length, n + 1, 'no retry before 200 ms');
    mock.timers.tick(1);
    await settle();
    assert.equal(f.requests.length, n + 2);
    assert.equal(f.requests[n + 1]!.at - failedAt, 200);
    f.down = false;
    mock.timers.tick(400);
    await settle();
    await outbox.close();
  } finally {
    mock.timers.reset();
  }
});

test('custom backoff bounds; nothing is sent while the backoff waits, new messages queue behind (counted as queued)', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  try {
    const f = new ScriptedFabric();
    f.down = true;
    const q0 = await queued();
    const outbox = new Outbox({ fabric: f.fabric(), logger: silentLogger(), retryInitialMs: 50, retryMaxMs: 120 });
    outbox.send(msg('r1', '1'));
    await settle();
    assert.equal((await queued()) - q0, 0, 'the first message did not have to wait');
    outbox.send(msg('r1', '2'));
    outbox.send(msg('r2', '3'));
    await settle();
    assert.equal(f.requests.length, 1, 'no request while the backoff waits');
    assert.equal((await queued()) - q0, 2, 'messages sent during the backoff are counted as queued');
    assert.equal(await size(), 3);
    for (let t = 0; t < 600; t += 10) {
      mock.timers.tick(10);
      await settle();
    }
    assert.deepEqual(f.requests.map((r) => r.at), [0, 50, 150, 270, 390, 510]);
    assert.deepEqual(f.requests[1]!.values, ['1', '2', '3']);
    f.down = false;
    mock.timers.tick(120);
    await settle();
    assert.deepEqual(await f.published(), ['1', '2', '3']);
    assert.equal(await size(), 0);
    await outbox.close();
  } finally {
    mock.timers.reset();
  }
});

test('requests carry at most batchSize messages, oldest first, and ask the bus to wait for capacity', async () => {
  const f = new ScriptedFabric();
  const outbox = new Outbox({ fabric: f.fabric(), logger: silentLogger(), batchSize: 2 });
  for (const [k, v] of [['r1', '1'], ['r2', '2'], ['r3', '3'], ['r4', '4'], ['r5', '5']] as const) outbox.send(msg(k, v));
  await waitFor(() => outbox.pending === 0, 2000, 'drained');
  assert.deepEqual(f.requests.map((r) => r.values), [['1', '2'], ['3', '4'], ['5']]);
  assert.ok(f.requests.every((r) => r.options?.waitForCapacity === true));
  const big = new ScriptedFabric();
  const defaults = new Outbox({ fabric: big.fabric(), logger: silentLogger() });
  for (let i = 0; i < 2500; i++) defaults.send(msg(`r${i}`, String(i)));
  await waitFor(() => defaults.pending === 0, 5000, 'drained');
  assert.deepEqual(big.requests.map((r) => r.values.length), [1000, 1000, 500], 'default batchSize 1,000');
  await outbox.close();
  await defaults.close();
});

test('a message sent while its lane has a request in flight waits for it (counted as queued), then follows in order', async () => {
  const f = new ScriptedFabric();
  f.hold = true;
  const q0 = await queued();
  const outbox = new Outbox({ fabric: f.fabric(), logger: silentLogger() });
  outbox.send(msg('r1', '1'));
  await waitFor(() => f.requests.length === 1, 1000, 'the first request');
  outbox.send(msg('r1', '2')); // lane busy
  outbox.send(msg('r2', '3')); // another lane: goes at once
  await waitFor(() => f.requests.length === 2, 1000, 'the second request');
  assert.deepEqual(f.requests[1]!.values, ['3']);
  assert.equal((await queued()) - q0, 1, 'only the message behind a busy lane is counted');
  f.hold = false;
  f.release();
  await waitFor(() => outbox.pending === 0, 2000, 'drained');
  assert.deepEqual(f.requests.map((r) => r.values), [['1'], ['3'], ['2']]);
  assert.deepEqual(await f.published(), ['1', '3', '2']);
  await outbox.close();
});

test('over the bound while the other messages are in flight or behind them: nothing to drop, nothing lost', async () => {
  const f = new ScriptedFabric();
  f.hold = true;
  const full0 = await droppedBy('full');
  const outbox = new Outbox({ fabric: f.fabric(), logger: silentLogger(), maxMessages: 1 });
  outbox.send(msg('r1', '1'));
  await waitFor(() => f.requests.length === 1, 1000, 'the request in flight');
  outbox.send(msg('r1', '2')); // over the bound, but the only other message is in flight and '2' waits behind it (its lane is busy)
  assert.equal(outbox.pending, 2);
  assert.equal((await droppedBy('full')) - full0, 0, 'no waiting message to drop');
  f.hold = false;
  f.release();
  await waitFor(() => outbox.pending === 0, 2000, 'drained');
  assert.deepEqual(await f.published(), ['1', '2']);
  await outbox.close();
});

test('the size bound is inclusive: maxMessages waiting are all kept', async () => {
  const f = new ScriptedFabric();
  f.down = true;
  const full0 = await droppedBy('full');
  const outbox = new Outbox({ fabric: f.fabric(), logger: silentLogger(), maxMessages: 3, retryInitialMs: 10, retryMaxMs: 10 });
  for (const v of ['1', '2', '3']) outbox.send(msg('r1', v));
  assert.equal(outbox.pending, 3);
  assert.equal(await size(), 3);
  assert.equal((await droppedBy('full')) - full0, 0);
  f.down = false;
  await waitFor(() => outbox.pending === 0, 2000, 'drained');
  assert.deepEqual(await f.published(), ['1', '2', '3']);
  await outbox.close();
});

test('expiry: messages older than maxAgeMs are dropped at the next attempt (counted, logged with the oldest), younger ones kept', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 10_000 });
  try {
    const f = new ScriptedFabric();
    f.down = true;
    const { logger, lines } = captureLogger();
    const expired0 = await droppedBy('expired');
    const outbox = new Outbox({ fabric: f.fabric(), logger, maxAgeMs: 1000, retryInitialMs: 600, retryMaxMs: 600 });
    outbox.send(msg('r1', 'old1'));
    outbox.send(msg('r2', 'old2'));
    await settle();
    mock.timers.tick(600); // attempt at 600 ms: nothing older than 1000 ms yet
    await settle();
    assert.equal(outbox.pending, 2);
    mock.timers.tick(300);
    outbox.send(msg('r1', 'young'));
    mock.timers.tick(300); // attempt at 1200 ms: old1 and old2 are 1200 ms old, young 300 ms
    await settle();
    assert.equal(outbox.pending, 1);
    assert.equal((await droppedBy('expired')) - expired0, 2);
    assert.equal(await size(), 1);
    const gaveUp = lines.filter((l) => l.msg === 'outbox gave up TD messages');
    assert.deepEqual(gaveUp, [{ level: LEVEL.error, dropped: 2, reason: 'expired', oldest: new Date(10_000).toISOString(), topic: 'TD', msg: 'outbox gave up TD messages' }]);
    f.down = false;
    mock.timers.tick(600);
    await settle();
    assert.deepEqual(await f.published(), ['young']);
    await outbox.close(0);

    // exactly maxAgeMs old is not expired
    const g = new ScriptedFabric();
    g.down = true;
    const edge = new Outbox({ fabric: g.fabric(), logger: silentLogger(), maxAgeMs: 1000, retryInitialMs: 1000, retryMaxMs: 1000 });
    edge.send(msg('r1', 'edge'));
    await settle();
    g.down = false;
    mock.timers.tick(1000);
    await settle();
    assert.deepEqual(await g.published(), ['edge']);
    await edge.close(0);
  } finally {
    mock.timers.reset();
  }
});

test('logs: one warning per distinct error while failing, one info when the broker accepts again', async () => {
  const f = new ScriptedFabric();
  f.down = true;
  const { logger, lines } = captureLogger();
  const outbox = new Outbox({ fabric: f.fabric(), logger, retryInitialMs: 5, retryMaxMs: 5 });
  outbox.send(msg('r1', '1'));
  await waitFor(() => f.requests.length >= 3, 2000, 'three failed attempts');
  f.error = 'leader moved';
  const n = f.requests.length;
  await waitFor(() => f.requests.length >= n + 2, 2000, 'two more failed attempts');
  f.down = false;
  await waitFor(() => outbox.pending === 0, 2000, 'drained');
  outbox.send(msg('r1', '2'));
  await waitFor(() => outbox.pending === 0, 2000, 'drained again');
  assert.deepEqual(
    lines.map(({ level, msg: m, err, waiting, sent }) => ({ level, msg: m, err, waiting, sent })),
    [
      { level: LEVEL.warn, msg: 'publish failed: TD messages wait in the outbox and are re-sent in order', err: 'broker not available', waiting: 1, sent: undefined },
      { level: LEVEL.warn, msg: 'publish failed: TD messages wait in the outbox and are re-sent in order', err: 'leader moved', waiting: 1, sent: undefined },
      { level: LEVEL.info, msg: 'outbox: the broker accepts TD messages again', err: undefined, waiting: 0, sent: 1 },
    ],
  );
  await outbox.close();
});

test('onSent gets the messages of each accepted request; without it nothing breaks', async () => {
  const f = new ScriptedFabric();
  const sent: string[][] = [];
  const outbox = new Outbox({ fabric: f.fabric(), logger: silentLogger(), onSent: (ms) => sent.push(ms.map((m) => String(m.value))) });
  outbox.send(msg('r1', '1'));
  outbox.send(msg('r2', '2'));
  await waitFor(() => outbox.pending === 0, 2000, 'drained');
  assert.deepEqual(sent, [['1', '2']]);
  await outbox.close();
});

test('close(): nothing waiting returns at once; after close a send is dropped (counted, logged) and no retry is scheduled', async () => {
  const f = new ScriptedFabric();
  const { logger, lines } = captureLogger();
  const shutdown0 = await droppedBy('shutdown');
  const outbox = new Outbox({ fabric: f.fabric(), logger });
  await outbox.close();
  outbox.send(msg('r1', 'late'));
  assert.equal(outbox.pending, 0);
  assert.equal((await droppedBy('shutdown')) - shutdown0, 1);
  assert.deepEqual(lines, [{ level: LEVEL.error, topic: 'TD', key: 'r1', msg: 'outbox closed: TD message dropped' }]);
  assert.deepEqual(f.requests, []);

  // a request that fails after close() gave up on it schedules no retry (backoff)
  const g = new ScriptedFabric();
  g.down = true;
  g.hold = true;
  const stuck = new Outbox({ fabric: g.fabric(), logger: silentLogger(), retryInitialMs: 10, retryMaxMs: 10 });
  stuck.send(msg('r1', 'x'));
  await waitFor(() => g.requests.length === 1, 1000, 'the request in flight');
  const closing = stuck.close(50);
  await new Promise((r) => setTimeout(r, 80));
  g.release();
  await closing;
  assert.equal(stuck['retry'].waiting, false, 'no backoff left armed by the failure after close()');
  await new Promise((r) => setTimeout(r, 60));
  // nothing is sent once close() has given up: what was left is counted as dropped, never also published
  assert.equal(g.requests.length, 1, `${g.requests.length} attempts`);
  assert.equal(stuck.pending, 0);
});

test('close() drops what is left with the oldest message logged', async () => {
  mock.timers.enable({ apis: ['Date'], now: 5_000 });
  try {
    const f = new ScriptedFabric();
    f.down = true;
    const { logger, lines } = captureLogger();
    const shutdown0 = await droppedBy('shutdown');
    const outbox = new Outbox({ fabric: f.fabric(), logger, retryInitialMs: 60_000, retryMaxMs: 60_000 });
    outbox.send(msg('r2', 'a'));
    mock.timers.setTime(6_000);
    outbox.send(msg('r1', 'b'));
    outbox.send(msg('r2', 'c'));
    await settle();
    mock.timers.setTime(7_000);
    await outbox.close(0);
    assert.equal((await droppedBy('shutdown')) - shutdown0, 3);
    assert.equal(outbox.pending, 0);
    assert.equal(await size(), 0);
    assert.deepEqual(lines.filter((l) => l.reason === 'shutdown'), [{ level: LEVEL.error, dropped: 3, reason: 'shutdown', oldest: new Date(5_000).toISOString(), topic: 'TD', msg: 'outbox gave up TD messages' }]);
  } finally {
    mock.timers.reset();
  }
});

test('the lane table is pruned once it holds 10,000 lanes (idle lanes forgotten, busy ones kept)', async () => {
  const f = new ScriptedFabric();
  const outbox = new Outbox({ fabric: f.fabric(), logger: silentLogger() });
  for (let i = 0; i < 9_999; i++) outbox.send(msg(`r${i}`, String(i)));
  await waitFor(() => outbox.pending === 0, 5000, 'drained');
  assert.equal(outbox['lanes'].size, 9_999, 'below 10,000 lanes nothing is pruned');
  outbox.send(msg('r-last', 'x'));
  await waitFor(() => outbox.pending === 0, 5000, 'drained');
  assert.equal(outbox['lanes'].size, 0, 'at 10,000 the idle lanes are forgotten');
  await outbox.close();
});

test('a message sent in the same turn as a failure (before its handler ran) waits for the backoff with the failed one', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  try {
    const f = new ManualFabric();
    const outbox = new Outbox({ fabric: f.fabric(), logger: silentLogger(), retryInitialMs: 100, retryMaxMs: 100 });
    outbox.send(msg('r1', 'a'));
    await settle();
    f.calls[0]!.fail(); // the outbox learns it in the next microtask, before the flush this send asks for
    outbox.send(msg('r2', 'b'));
    await settle();
    assert.deepEqual(f.values(), [['a']], 'nothing sent while the backoff waits');
    mock.timers.tick(100);
    await settle();
    assert.deepEqual(f.values(), [['a'], ['a', 'b']]);
    await f.calls[1]!.ok();
    await settle();
    assert.equal(outbox.pending, 0);
    assert.deepEqual(await f.published(), ['a', 'b']);
    await outbox.close(0);
  } finally {
    mock.timers.reset();
  }
});

test('pruning the lane table keeps a lane whose messages wait: a later message of that lane still waits for its request', async () => {
  const f = new ManualFabric();
  f.autoAccept = true;
  const outbox = new Outbox({ fabric: f.fabric(), logger: silentLogger(), retryInitialMs: 1, retryMaxMs: 1 });
  for (let i = 0; i < 9_999; i++) outbox.send(msg(`r${i}`, String(i)));
  await waitFor(() => outbox.pending === 0, 5000, 'drained');
  f.autoAccept = false;
  const x = (value: string): OutgoingMessage => ({ topic: 'TDX', key: 'rX', value });
  outbox.send(x('a')); // the 10,000th lane
  await waitFor(() => f.calls.length === 1, 1000, 'the request');
  f.calls[0]!.fail(); // its completion prunes the table: the 9,999 idle empty lanes go; rX, where 'a' waits, stays
  await waitFor(() => f.calls.length === 2, 1000, 'the retry');
  outbox.send(x('b')); // rX has a request in flight: 'b' waits behind it
  await settle();
  assert.deepEqual(f.values(), [['a'], ['a']], 'no second request for the lane while one is in flight');
  await f.calls[1]!.ok();
  await waitFor(() => f.calls.length === 3, 1000, "'b' sent after 'a' was accepted");
  assert.deepEqual(f.calls[2]!.values, ['b']);
  await f.calls[2]!.ok();
  await waitFor(() => outbox.pending === 0, 1000, 'drained');
  assert.deepEqual(await f.published('TDX'), ['a', 'b']);
  await outbox.close();
});

test('lanes emptied by the size bound are skipped by the next drop and the next attempt; the rest go out in order', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  try {
    const f = new ManualFabric();
    const full0 = await droppedBy('full');
    const outbox = new Outbox({ fabric: f.fabric(), logger: silentLogger(), maxMessages: 3, retryInitialMs: 1000, retryMaxMs: 1000 });
    outbox.send(msg('r1', 'a'));
    await settle();
    outbox.send(msg('r2', 'b'));
    await settle();
    assert.deepEqual(f.values(), [['a'], ['b']]);
    f.calls[1]!.fail();
    await settle();
    f.calls[0]!.fail(); // r2, then r1, wait for the backoff
    await settle();
    outbox.send(msg('r2', 'b2'));
    outbox.send(msg('r3', 'c')); // 4 > 3: 'a', the oldest, is dropped and r1 left empty
    outbox.send(msg('r4', 'd')); // 4 > 3 again: 'b' is dropped (r1, empty, is passed over)
    assert.equal(outbox.pending, 3);
    assert.equal((await droppedBy('full')) - full0, 2);
    mock.timers.tick(1000); // the retry (r1, still empty, is passed over)
    await settle();
    assert.deepEqual(f.values().slice(2), [['b2', 'c', 'd']]);
    await f.calls[2]!.ok();
    await settle();
    assert.equal(outbox.pending, 0);
    assert.deepEqual(await f.published(), ['b2', 'c', 'd']);
    await outbox.close(0);
  } finally {
    mock.timers.reset();
  }
});

test('expiry logs the oldest expired message, whichever lane holds it', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  try {
    const f = new ManualFabric();
    const { logger, lines } = captureLogger();
    const expired0 = await droppedBy('expired');
    const outbox = new Outbox({ fabric: f.fabric(), logger, maxAgeMs: 500, retryInitialMs: 1000, retryMaxMs: 1000 });
    outbox.send({ topic: 'TD_r1', key: 'r1', value: 'a' }); // t = 0, in flight
    await settle();
    mock.timers.tick(50);
    outbox.send(msg('r0', 'z')); // t = 50
    await settle();
    f.calls[1]!.fail(); // backoff until t = 1050
    await settle();
    mock.timers.tick(50);
    outbox.send(msg('r2', 'b')); // t = 100, waits
    f.calls[0]!.fail(); // r1 waits again, after r0 and r2
    await settle();
    mock.timers.tick(50);
    outbox.send(msg('r3', 'c')); // t = 150, waits after r1
    mock.timers.tick(900); // t = 1050: the retry; all four are older than 500 ms
    await settle();
    assert.equal(outbox.pending, 0);
    assert.equal((await droppedBy('expired')) - expired0, 4);
    assert.deepEqual(
      lines.filter((l) => l.msg === 'outbox gave up TD messages'),
      [{ level: LEVEL.error, dropped: 4, reason: 'expired', oldest: new Date(0).toISOString(), topic: 'TD_r1', msg: 'outbox gave up TD messages' }],
    );
    assert.equal(f.calls.length, 2, 'nothing left to send');
    await outbox.close(0);
  } finally {
    mock.timers.reset();
  }
});

test('close(): the oldest message logged is found in any lane; lanes already emptied are skipped', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1000 });
  try {
    const f = new ManualFabric();
    const { logger, lines } = captureLogger();
    const shutdown0 = await droppedBy('shutdown');
    const outbox = new Outbox({ fabric: f.fabric(), logger, retryInitialMs: 60_000, retryMaxMs: 60_000 });
    outbox.send(msg('r1', 'a')); // t = 1000
    await settle();
    await f.calls[0]!.ok(); // r1 delivered: its lane stays, empty
    await settle();
    mock.timers.setTime(2000);
    outbox.send({ topic: 'TD_r2', key: 'r2', value: 'b' });
    await settle();
    mock.timers.setTime(2500);
    outbox.send(msg('r3', 'z'));
    await settle();
    await f.calls[2]!.ok(); // r3 delivered: an empty lane after r2's
    f.calls[1]!.fail(); // 'b' waits for the backoff
    await settle();
    mock.timers.setTime(3000);
    outbox.send(msg('r1', 'c')); // waits behind the backoff, in the first lane
    await settle();
    await outbox.close(0);
    assert.equal((await droppedBy('shutdown')) - shutdown0, 2);
    assert.equal(outbox.pending, 0);
    assert.deepEqual(
      lines.filter((l) => l.reason === 'shutdown'),
      [{ level: LEVEL.error, dropped: 2, reason: 'shutdown', oldest: new Date(2000).toISOString(), topic: 'TD_r2', msg: 'outbox gave up TD messages' }],
    );
  } finally {
    mock.timers.reset();
  }
});

test('close(): returns once everything is delivered (not at its deadline), and by its deadline while the broker refuses', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  try {
    const f = new ManualFabric();
    const outbox = new Outbox({ fabric: f.fabric(), logger: silentLogger() });
    outbox.send(msg('r1', 'a'));
    await settle();
    let closed = false;
    const closing = outbox.close(10_000).then(() => (closed = true));
    await settle();
    for (let t = 0; t < 30; t++) {
      mock.timers.tick(1);
      await settle();
    }
    await f.calls[0]!.ok(); // t = 30
    await settle();
    for (let t = 0; t < 19; t++) {
      mock.timers.tick(1);
      await settle();
    }
    assert.equal(closed, false, 'close() waited for the request in flight, then pauses 20 ms before looking again');
    mock.timers.tick(1);
    await settle();
    assert.equal(closed, true, 'close() returned after the pause that followed the acceptance, not at its deadline');
    await closing;
    assert.deepEqual(await f.published(), ['a']);

    const g = new ScriptedFabric();
    g.down = true;
    const stuck = new Outbox({ fabric: g.fabric(), logger: silentLogger(), retryInitialMs: 60_000, retryMaxMs: 60_000 });
    const t0 = Date.now();
    stuck.send(msg('r1', 'b'));
    await settle();
    let done = false;
    const closing2 = stuck.close(50).then(() => (done = true));
    await settle();
    let at = 0;
    while (!done && at < 200) {
      mock.timers.tick(1);
      at++;
      await settle();
    }
    assert.equal(at, 50, 'close(50) returned at its deadline');
    await closing2;
    assert.equal(stuck.pending, 0);
    assert.deepEqual(g.requests.map((r) => r.at - t0), [0, 0, 20, 40], 'an attempt at once, then one every 20 ms (not after the 60 s backoff)');
  } finally {
    mock.timers.reset();
  }
});

test('close(): a request still in flight at the deadline is waited for; accepted then, its messages are not counted as dropped', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  try {
    const f = new ManualFabric();
    const shutdown0 = await droppedBy('shutdown');
    const outbox = new Outbox({ fabric: f.fabric(), logger: silentLogger() });
    outbox.send(msg('r1', 'a'));
    await settle();
    let done = false;
    const closing = outbox.close(50).then(() => (done = true));
    for (let t = 0; t < 100; t++) {
      mock.timers.tick(1);
      await settle();
    }
    assert.equal(done, false, 'close() waits for the request in flight');
    outbox.send(msg('r1', 'late')); // past the deadline the outbox is closed, even while close() waits
    assert.equal(outbox.pending, 1);
    await f.calls[0]!.ok();
    await closing;
    assert.equal(outbox.pending, 0);
    assert.equal((await droppedBy('shutdown')) - shutdown0, 1, "only 'late' is counted");
    assert.deepEqual(await f.published(), ['a']);
    assert.equal(f.calls.length, 1);
  } finally {
    mock.timers.reset();
  }
});

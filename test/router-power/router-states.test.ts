import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countersOf } from '../../src/router-power/processor/compute.js';
import { RouterStates } from '../../src/router-power/processor/router-states.js';
import { td } from './helpers.js';

const at = (offset: number, partition = 0, topic = 'TD') => ({ topic, partition, offset: String(offset) });
const poll = (t: number) => td(t, [{ device: 'eth0', bytes: t * 1000, packets: t * 10 }]);
const timeOf = (s: RouterStates, at0: ReturnType<typeof at>) => s.previous('r1', at0)?.epoch_timestamp;

test('router states: each message pairs with the one before it; settled messages are forgotten', () => {
  const s = new RouterStates();
  assert.equal(s.previous('r1', at(0)), undefined, 'no state before the first message');
  s.advance('r1', poll(1), at(0));
  assert.equal(timeOf(s, at(1)), '1');
  s.advance('r1', poll(2), at(1));
  s.settled('r1', at(0));
  s.settled('r1', at(1));
  assert.equal(timeOf(s, at(2)), '2');
  // delivered again after both settled: nothing to roll back to (its outputs were acknowledged)
  assert.equal(timeOf(s, at(1)), '2');
  assert.equal(s.size, 1);
});

test('router states: a redelivered message rolls back to before the earliest unsettled message at or after it', () => {
  const s = new RouterStates();
  s.advance('r1', poll(1), at(0));
  s.settled('r1', at(0));
  s.advance('r1', poll(2), at(1)); // fails
  s.advance('r1', poll(3), at(2)); // in flight behind it
  assert.equal(timeOf(s, at(1)), '1', 'offset 1 again: back to poll 1');
  s.advance('r1', poll(2), at(1));
  assert.equal(timeOf(s, at(2)), '2', 'offset 2 again after the rollback dropped its entry: pairs with poll 2');
});

test('router states: rolling back past the first message forgets the router; other partitions and topics are not redeliveries', () => {
  const s = new RouterStates();
  s.advance('r1', poll(1), at(5));
  assert.equal(s.snapshots, 1);
  assert.equal(s.previous('r1', at(5, 1)), s.previous('r1', at(5, 0, 'other')), 'same offset elsewhere: no rollback');
  assert.equal(timeOf(s, at(6)), '1');
  assert.equal(s.previous('r1', at(5)), undefined, 'its first message again: no state, as the first time');
  assert.equal(s.snapshots, 0, 'and no snapshot held');
});

test('router states: a settled message leaves its snapshot as the spare the next one is written into (no allocation)', () => {
  const s = new RouterStates();
  s.advance('r1', poll(1), at(0));
  const first = s.previous('r1', at(1))!;
  s.advance('r1', poll(2), at(1));
  const second = s.previous('r1', at(2))!;
  assert.notEqual(second, first, 'poll 1 is kept while poll 2 is unsettled');
  s.settled('r1', at(1));
  s.advance('r1', poll(3), at(2));
  const third = s.previous('r1', at(3))!;
  assert.equal(third, first, "poll 3 is written into poll 1's snapshot");
  assert.deepEqual(
    countersOf(third).map(([, v]) => v),
    [3000, 30],
  );
  assert.deepEqual(
    countersOf(second).map(([, v]) => v),
    [2000, 20],
    'the snapshot a rollback would need is untouched',
  );
});

test('router states: restored state has nothing unsettled; delete forgets the router', () => {
  const s = new RouterStates();
  s.advance('r1', poll(1), at(0));
  s.advance('r1', poll(2), at(1));
  s.restore('r1', s.previous('r1', at(2))!);
  assert.equal(timeOf(s, at(1)), '2', 'restored: no rollback to before it');
  s.delete('r1');
  assert.equal(s.size, 0);
  assert.equal(s.previous('r1', at(9)), undefined);
});

test('router states: a message without an offset (an in-process hand-over: -1) is never taken for a redelivery', () => {
  for (const offset of ['-1', '', 'x']) {
    const s = new RouterStates();
    s.advance('r1', poll(1), { topic: 'TD', partition: -1, offset });
    s.advance('r1', poll(2), { topic: 'TD', partition: -1, offset });
    assert.equal(s.previous('r1', { topic: 'TD', partition: -1, offset })?.epoch_timestamp, '2', `offset '${offset}'`);
  }
});

test('router states: settling keeps exactly the others unsettled; a settle of an unknown router or offset changes nothing', () => {
  const s = new RouterStates();
  s.settled('nobody', at(0));
  s.advance('r1', poll(1), at(0));
  s.settled('r1', at(7)); // never handled
  assert.equal(s.unsettledMessages, 1);
  s.advance('r1', poll(2), at(1));
  s.advance('r1', poll(3), at(2));
  s.settled('r1', at(0)); // the oldest first: the later two stay
  assert.equal(s.unsettledMessages, 2);
  assert.equal(timeOf(s, at(2)), '2', 'offset 2 again: back to poll 2, its own entry kept');
  s.settled('r1', at(1));
  assert.equal(s.unsettledMessages, 0, 'offset 2 was dropped by the rollback, offset 1 settled');
});

test('router states: a late settle of a batch handled before a restore does not touch what came after', () => {
  const s = new RouterStates();
  s.advance('r1', poll(1), at(0));
  s.advance('r1', poll(2), at(1));
  const restored = s.previous('r1', at(2))!;
  s.restore('r1', restored);
  s.advance('r1', poll(3), at(5));
  s.settled('r1', at(1)); // the old batch's outputs acknowledged after the restore
  assert.equal(s.unsettledMessages, 1, "offset 5 is still unsettled");
  assert.equal(s.previous('r1', at(5)), restored, 'offset 5 again: back to the restored state');
});

test('router states: messages without an offset leave nothing unsettled; settling the first of one leaves its spare', () => {
  const s = new RouterStates();
  for (let k = 1; k <= 3; k++) s.advance('r1', poll(k), { topic: 'TD', partition: -1, offset: '-1' });
  assert.equal(s.unsettledMessages, 0);
  const t = new RouterStates();
  t.advance('r1', poll(1), at(0));
  const first = t.previous('r1', at(1))!;
  t.advance('r1', poll(2), at(1));
  t.settled('r1', at(0)); // index 0: its "before" was nothing, so no spare yet
  t.settled('r1', at(1)); // index 0 again: poll 1's snapshot becomes the spare
  assert.equal(t.unsettledMessages, 0);
  t.advance('r1', poll(3), at(2));
  assert.equal(t.previous('r1', at(3)), first, "poll 3 is written into poll 1's snapshot");
});

test('router states: without a spare the next snapshot shares the slot map of the previous one (no map to build)', () => {
  const s = new RouterStates();
  s.advance('r1', poll(1), at(0));
  const first = s.previous('r1', at(9))!;
  s.settled('r1', at(0)); // its "before" was nothing: no spare
  s.advance('r1', poll(2), at(1)); // no spare: a new snapshot shaped like poll 1's
  const second = s.previous('r1', at(9))!;
  assert.notEqual(second, first);
  assert.equal(second.slots, first.slots, 'the slot map is shared');
  assert.deepEqual(countersOf(first).map(([, v]) => v), [1000, 10], 'poll 1 untouched');
  assert.deepEqual(countersOf(second).map(([, v]) => v), [2000, 20]);
});

test('router states: an entry written again after a settle is the one a redelivery finds', () => {
  const s = new RouterStates();
  s.advance('r1', poll(1), at(0));
  s.settled('r1', at(0));
  s.advance('r1', poll(2), at(1));
  s.advance('r1', poll(3), at(2));
  s.settled('r1', at(1));
  s.advance('r1', poll(4), at(3));
  assert.equal(timeOf(s, at(3)), '3', 'offset 3 again: back to poll 3');
  assert.equal(timeOf(s, at(2)), '2', 'offset 2 again: back to poll 2');
});

test('router states: the snapshots held are bounded: current, at most 4 spares, one per unsettled message; a rollback lets go of the rest', () => {
  const s = new RouterStates();
  for (let k = 0; k < 10; k++) s.advance('r1', poll(k + 1), at(k));
  assert.equal(s.snapshots, 1 + 9, 'current and the "before" of the 9 unsettled messages after the first');
  for (let k = 0; k < 10; k++) s.settled('r1', at(k));
  assert.equal(s.snapshots, 1 + 4, 'all settled: current and 4 spares');
  for (let k = 10; k < 16; k++) s.advance('r1', poll(k + 1), at(k));
  assert.equal(s.unsettledMessages, 6);
  assert.equal(timeOf(s, at(10)), '10', 'offset 10 again: back to poll 10');
  assert.equal(s.unsettledMessages, 0);
  assert.equal(s.snapshots, 1, 'the rolled-back entries no longer hold snapshots');
});

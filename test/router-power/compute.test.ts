import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeRates, countersOf, snapshotOf } from '../../src/router-power/processor/compute.js';
import type { TdMessage } from '../../src/router-power/messages.js';
import { td } from './helpers.js';

const params = { maxThroughputMbps: 100, pollingIntervalSeconds: 5 };

test('one interface: 100 Mbit/s at 1200 B/packet over 5 s', () => {
  const r = computeRates(td(1000, [{ device: 'eth2', bytes: 0, packets: 0 }]), td(1005, [{ device: 'eth2', bytes: 62_500_000, packets: 52_083 }]), params);
  assert.equal(r.ok, true);
  if (!r.ok) return;
  assert.ok(Math.abs(r.rates.mbitPerSecond - 100) < 1e-9);
  assert.ok(Math.abs(r.rates.occupationPercent - 100) < 1e-9);
  assert.ok(Math.abs(r.rates.packetsPerSecond - 52_083 / 5) < 1e-9);
  assert.ok(Math.abs(r.rates.averagePacketLength - 62_500_000 / 52_083) < 1e-9);
});

test('several interfaces are summed; packet length is over all interfaces', () => {
  const prev = td(0, [
    { device: 'eth2', bytes: 1000, packets: 10 },
    { device: 'eth3', bytes: 5000, packets: 50 },
  ]);
  const cur = td(2, [
    { device: 'eth2', bytes: 3000, packets: 20 },
    { device: 'eth3', bytes: 11000, packets: 60 },
  ]);
  const r = computeRates(prev, cur, params);
  assert.ok(r.ok);
  if (!r.ok) return;
  // Δbytes = 2000 + 6000 = 8000 over 2 s; Δpackets = 10 + 10 = 20
  assert.equal(r.rates.bytesPerSecond, 4000);
  assert.equal(r.rates.packetsPerSecond, 10);
  assert.equal(r.rates.averagePacketLength, 400);
  assert.equal(r.rates.mbitPerSecond, 0.032);
  assert.ok(Math.abs(r.rates.occupationPercent - 0.032) < 1e-12);
});

test('interfaces and metrics are matched by name and device, not by position', () => {
  const prev = td(0, [
    { device: 'eth2', bytes: 100, packets: 1 },
    { device: 'eth3', bytes: 1_000_000, packets: 1000 },
  ]);
  const cur = td(
    1,
    [
      { device: 'eth2', bytes: 200, packets: 2 },
      { device: 'eth3', bytes: 1_000_900, packets: 1001 },
    ],
    { reorder: true },
  );
  const r = computeRates(prev, cur, params);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.rates.bytesPerSecond, 1000);
  assert.equal(r.rates.packetsPerSecond, 2);
});

test('a decrease of ANY counter drops the pair (not only the last value)', () => {
  const prev = td(0, [
    { device: 'eth2', bytes: 5000, packets: 50 },
    { device: 'eth3', bytes: 100, packets: 1 },
  ]);
  const cur = td(1, [
    { device: 'eth2', bytes: 10, packets: 1 }, // reset on the first interface
    { device: 'eth3', bytes: 200, packets: 2 },
  ]);
  const r = computeRates(prev, cur, params);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.reason, 'counter_decreased');
  assert.match(r.detail, /eth2/);
});

test('a gap longer than 5 polling intervals drops the pair; exactly 5 is kept', () => {
  const a = td(0, [{ device: 'eth2', bytes: 0, packets: 0 }]);
  const far = computeRates(a, td(25.001, [{ device: 'eth2', bytes: 10, packets: 1 }]), params);
  assert.equal(far.ok, false);
  if (!far.ok) assert.equal(far.reason, 'gap_too_long');
  const edge = computeRates(a, td(25, [{ device: 'eth2', bytes: 10, packets: 1 }]), params);
  assert.equal(edge.ok, true);
});

test('zero packets in the interval gives packet length 0, never NaN', () => {
  const r = computeRates(td(0, [{ device: 'eth2', bytes: 7, packets: 3 }]), td(5, [{ device: 'eth2', bytes: 7, packets: 3 }]), params);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.rates.averagePacketLength, 0);
  assert.equal(r.rates.packetsPerSecond, 0);
  assert.equal(r.rates.occupationPercent, 0);
});

test('time not advancing, missing counters and non-numeric values are dropped with a reason', () => {
  const a = td(10, [{ device: 'eth2', bytes: 0, packets: 0 }]);
  const same = computeRates(a, td(10, [{ device: 'eth2', bytes: 1, packets: 1 }]), params);
  assert.ok(!same.ok && same.reason === 'time_not_advancing');
  const missing = computeRates(a, td(11, [{ device: 'eth9', bytes: 1, packets: 1 }], { interfaces: ['eth2'] }), params);
  assert.ok(!missing.ok && missing.reason === 'missing_counter');
  const nan = td(11, [{ device: 'eth2', bytes: 1, packets: 1 }]);
  nan.metrics![0]!.values[0]!.value = 'NaN';
  const invalid = computeRates(a, nan, params);
  assert.ok(!invalid.ok && invalid.reason === 'invalid_counter');
});

test('the processor keeps a counter snapshot per router: rates from it equal rates from the whole previous message', () => {
  const cases: Array<[TdMessage, TdMessage]> = [
    [td(0, [{ device: 'eth2', bytes: 0, packets: 0 }]), td(5, [{ device: 'eth2', bytes: 62_500_000, packets: 52_083 }])],
    [
      td(0, [
        { device: 'eth2', bytes: 100, packets: 1 },
        { device: 'eth3', bytes: 1_000_000, packets: 1000 },
      ]),
      td(1, [{ device: 'eth2', bytes: 200, packets: 2 }, { device: 'eth3', bytes: 1_000_900, packets: 1001 }], { reorder: true }),
    ],
    [td(0, [{ device: 'eth2', bytes: 500, packets: 5 }]), td(1, [{ device: 'eth2', bytes: 400, packets: 6 }])], // reset
    [td(0, [{ device: 'eth2', bytes: 7, packets: 3 }]), td(5, [{ device: 'eth2', bytes: 7, packets: 3 }])], // no packets
    [td(0, [{ device: 'eth2', bytes: 0, packets: 0 }]), td(26, [{ device: 'eth2', bytes: 1, packets: 1 }])], // gap
    [td(0, [{ device: 'eth9', bytes: 0, packets: 0 }], { interfaces: ['eth2'] }), td(1, [{ device: 'eth2', bytes: 1, packets: 1 }])], // missing before
  ];
  const nan = td(0, [{ device: 'eth2', bytes: 1, packets: 1 }]);
  nan.metrics![0]!.values[0]!.value = 'NaN';
  cases.push([nan, td(1, [{ device: 'eth2', bytes: 2, packets: 2 }])]);
  for (const [prev, cur] of cases) {
    const snap = snapshotOf(prev);
    assert.equal(snap.epoch_timestamp, prev.epoch_timestamp);
    assert.deepEqual(computeRates(snap, cur, params), computeRates(prev, cur, params));
  }
  // only the two receive counters are kept, one per device
  const snap = snapshotOf(cases[1]![0]);
  assert.deepEqual(countersOf(snap).map(([, v]) => v).sort((a, b) => a - b), [1, 100, 1000, 1_000_000]);
});

test('occupation is relative to max_throughput_mbps (1000 and 40 Mbit/s links), the byte rate is not', () => {
  // 62.5 MB in 5 s = 100 Mbit/s on every link
  const prev = td(1000, [{ device: 'eth2', bytes: 0, packets: 0 }]);
  const cur = td(1005, [{ device: 'eth2', bytes: 62_500_000, packets: 52_083 }]);
  for (const [maxThroughputMbps, occupation] of [
    [1000, 10],
    [40, 250],
  ] as const) {
    const r = computeRates(prev, cur, { maxThroughputMbps, pollingIntervalSeconds: 5 });
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.ok(Math.abs(r.rates.mbitPerSecond - 100) < 1e-9, `byte rate on a ${maxThroughputMbps} Mbit/s link`);
    assert.ok(Math.abs(r.rates.occupationPercent - occupation) < 1e-9, `occupation on a ${maxThroughputMbps} Mbit/s link: ${r.rates.occupationPercent}`);
  }
});

test('a reset of the packet counter alone drops the pair (bytes still increasing)', () => {
  const r = computeRates(td(0, [{ device: 'eth2', bytes: 1000, packets: 500 }]), td(5, [{ device: 'eth2', bytes: 9000, packets: 3 }]), params);
  assert.deepEqual(r, { ok: false, reason: 'counter_decreased', detail: 'node_network_receive_packets_total{device="eth2"} went from 500 to 3' });
});

test('a reset of the byte counter alone drops the pair (packets still increasing)', () => {
  const r = computeRates(td(0, [{ device: 'eth2', bytes: 9000, packets: 5 }]), td(5, [{ device: 'eth2', bytes: 10, packets: 50 }]), params);
  assert.deepEqual(r, { ok: false, reason: 'counter_decreased', detail: 'node_network_receive_bytes_total{device="eth2"} went from 9000 to 10' });
});

test('every drop says why, exactly (reason and detail)', () => {
  const a = td(10, [{ device: 'eth2', bytes: 0, packets: 0 }]);
  const at = (t: number | string, ifaces = [{ device: 'eth2', bytes: 5, packets: 1 }]) => ({ ...td(0, ifaces), epoch_timestamp: String(t) });
  assert.deepEqual(computeRates(at('x'), a, params), { ok: false, reason: 'invalid_timestamp', detail: 'epoch_timestamp not a number (x, 10)' });
  assert.deepEqual(computeRates(a, at('soon'), params), { ok: false, reason: 'invalid_timestamp', detail: 'epoch_timestamp not a number (10, soon)' });
  assert.deepEqual(computeRates(a, at('Infinity'), params), { ok: false, reason: 'invalid_timestamp', detail: 'epoch_timestamp not a number (10, Infinity)' });
  assert.deepEqual(computeRates(a, at(10), params), { ok: false, reason: 'time_not_advancing', detail: 't_now - t_prev = 0 s' });
  assert.deepEqual(computeRates(a, at(9), params), { ok: false, reason: 'time_not_advancing', detail: 't_now - t_prev = -1 s' });
  assert.deepEqual(computeRates(a, at(35.5), params), { ok: false, reason: 'gap_too_long', detail: 'gap 25.500 s > 25 s' });
  assert.deepEqual(computeRates(a, at(20.5), { ...params, maxGapIntervals: 2 }), { ok: false, reason: 'gap_too_long', detail: 'gap 10.500 s > 10 s' });
  assert.equal(computeRates(a, at(20), { ...params, maxGapIntervals: 2 }).ok, true, 'exactly maxGapIntervals × polling interval is kept');
  const noEth2Before = td(10, [{ device: 'eth3', bytes: 0, packets: 0 }]);
  assert.deepEqual(computeRates(noEth2Before, at(11), params), { ok: false, reason: 'missing_counter', detail: 'node_network_receive_bytes_total{device="eth2"} missing in the previous message' });
  assert.deepEqual(computeRates(snapshotOf(noEth2Before), at(11), params), { ok: false, reason: 'missing_counter', detail: 'node_network_receive_bytes_total{device="eth2"} missing in the previous message' });
  const noPacketsNow = at(11);
  noPacketsNow.metrics = noPacketsNow.metrics!.filter((f) => f.name !== 'node_network_receive_packets_total');
  assert.deepEqual(computeRates(a, noPacketsNow, params), { ok: false, reason: 'missing_counter', detail: 'node_network_receive_packets_total{device="eth2"} missing in the current message' });
  const noMetrics = { ...at(11), metrics: undefined };
  assert.deepEqual(computeRates(a, noMetrics, params), { ok: false, reason: 'missing_counter', detail: 'node_network_receive_bytes_total{device="eth2"} missing in the current message' });
});

test('a counter that is not a finite number, before or now, drops the pair', () => {
  const withValue = (t: number, bytes: string) => {
    const m = td(t, [{ device: 'eth2', bytes: 0, packets: 0 }]);
    m.metrics![0]!.values[0]!.value = bytes;
    return m;
  };
  const invalid = { ok: false, reason: 'invalid_counter', detail: 'node_network_receive_bytes_total{device="eth2"} is not a finite number' };
  const good = (t: number) => td(t, [{ device: 'eth2', bytes: 10, packets: 1 }]);
  assert.deepEqual(computeRates(withValue(0, 'NaN'), good(1), params), invalid);
  assert.deepEqual(computeRates(snapshotOf(withValue(0, 'NaN')), good(1), params), invalid);
  assert.deepEqual(computeRates(withValue(0, 'Inf'), good(1), params), invalid);
  assert.deepEqual(computeRates(good(0), withValue(1, '+Inf'), params), invalid);
  assert.deepEqual(computeRates(good(0), withValue(1, 'abc'), params), invalid);
});

test('exact rates: interval, bytes/s, packets/s, Mbit/s, packet length, occupation', () => {
  const r = computeRates(td(100, [{ device: 'eth2', bytes: 1000, packets: 10 }]), td(104, [{ device: 'eth2', bytes: 9000, packets: 11 }]), params);
  assert.deepEqual(r, {
    ok: true,
    rates: { intervalSeconds: 4, packetsPerSecond: 0.25, bytesPerSecond: 2000, mbitPerSecond: 0.016, averagePacketLength: 8000, occupationPercent: 0.016 },
  });
});

test('counters are read by metric name and the `device` label only: other labels, families and devices do not count', () => {
  const prev = td(0, [{ device: 'eth2', bytes: 0, packets: 1 }]);
  const cur = td(1, [{ device: 'eth2', bytes: 12_500_000, packets: 3 }]);
  // decoys before the real values: another label carrying the device name, another device, another family
  cur.metrics![0]!.values.unshift({ labels: [{ name: 'interface', value: 'eth2' }], value: '999999' }, { labels: [{ name: 'device', value: 'eth9' }], value: '888888' });
  cur.metrics!.unshift({ name: 'node_network_transmit_bytes_total', description: '', type: 'counter', values: [{ labels: [{ name: 'device', value: 'eth2' }], value: '777777' }] });
  // a second family of the same name and a second value of the same device come after: the first wins
  cur.metrics!.push({ name: 'node_network_receive_bytes_total', description: '', type: 'counter', values: [{ labels: [{ name: 'device', value: 'eth2' }], value: '1' }] });
  cur.metrics![1]!.values.push({ labels: [{ name: 'device', value: 'eth2' }], value: '2' });
  const expected = { ok: true, rates: { intervalSeconds: 1, packetsPerSecond: 2, bytesPerSecond: 12_500_000, mbitPerSecond: 100, averagePacketLength: 6_250_000, occupationPercent: 100 } };
  assert.deepEqual(computeRates(prev, cur, params), expected);
  // the same message as the previous one (through its snapshot) against a later one
  const later = td(2, [{ device: 'eth2', bytes: 25_000_000, packets: 5 }]);
  assert.deepEqual(computeRates(snapshotOf(cur), later, params), computeRates(cur, later, params));
  assert.deepEqual(computeRates(snapshotOf(cur), later, params), { ok: true, rates: { ...expected.rates } });
  // the snapshot keeps exactly the receive counters of each device, first value wins
  assert.deepEqual(
    countersOf(snapshotOf(cur)).sort(),
    [
      ['node_network_receive_bytes_total\u0000eth2', 12_500_000],
      ['node_network_receive_bytes_total\u0000eth9', 888888],
      ['node_network_receive_packets_total\u0000eth2', 3],
    ],
  );
  assert.deepEqual(countersOf(snapshotOf({ ...cur, metrics: undefined })), []);
});

test('packet length over a single packet is its size (not 0)', () => {
  const r = computeRates(td(0, [{ device: 'eth2', bytes: 0, packets: 0 }]), td(1, [{ device: 'eth2', bytes: 1500, packets: 1 }]), params);
  assert.ok(r.ok);
  if (r.ok) assert.equal(r.rates.averagePacketLength, 1500);
});

test('a counter value with more labels than `device` is still found by its device', () => {
  const withLabels = (t: number, bytes: number) => {
    const m = td(t, [{ device: 'eth2', bytes, packets: bytes }]);
    for (const f of m.metrics!) for (const v of f.values) v.labels.push({ name: 'duplex', value: 'full' });
    return m;
  };
  const r = computeRates(withLabels(0, 0), withLabels(1, 100), params);
  assert.ok(r.ok, JSON.stringify(r));
  if (r.ok) assert.equal(r.rates.bytesPerSecond, 100);
});

test("a router's snapshot is overwritten in place by its next message when the counters are the same, and the rates stay those of the messages", () => {
  const m0 = td(0, [{ device: 'eth2', bytes: 100, packets: 1 }, { device: 'eth3', bytes: 200, packets: 2 }]);
  const m1 = td(1, [{ device: 'eth2', bytes: 1100, packets: 11 }, { device: 'eth3', bytes: 2200, packets: 22 }]);
  const m2 = td(2, [{ device: 'eth2', bytes: 3100, packets: 31 }, { device: 'eth3', bytes: 5200, packets: 52 }]);
  const s0 = snapshotOf(m0);
  const s1 = snapshotOf(m1, s0);
  assert.equal(s1, s0, 'the same object, overwritten');
  assert.equal(s1.epoch_timestamp, m1.epoch_timestamp);
  assert.deepEqual(countersOf(s1), countersOf(snapshotOf(m1)), 'the values of a fresh snapshot of m1');
  assert.deepEqual(computeRates(s1, m2, params), computeRates(m1, m2, params));
  // a repeated sample within one message: the first still wins when overwriting
  const repeated = td(3, [{ device: 'eth2', bytes: 4000, packets: 40 }, { device: 'eth3', bytes: 6000, packets: 60 }]);
  repeated.metrics![0]!.values.push({ labels: [{ name: 'device', value: 'eth2' }], value: '9' });
  assert.deepEqual(countersOf(snapshotOf(repeated, snapshotOf(m2))), countersOf(snapshotOf(repeated)));
  // a repeat does not stand in for a counter that is missing: eth3's packets gone, eth2's bytes twice
  const holed = td(4, [{ device: 'eth2', bytes: 5000, packets: 50 }, { device: 'eth3', bytes: 7000, packets: 70 }]);
  holed.metrics![1]!.values.pop();
  holed.metrics![0]!.values.push({ labels: [{ name: 'device', value: 'eth2' }], value: '9' });
  assert.deepEqual(countersOf(snapshotOf(holed, snapshotOf(m2))), countersOf(snapshotOf(holed)));
});

test('a snapshot is rebuilt when the next message has other counters (a device added or gone)', () => {
  const m0 = td(0, [{ device: 'eth2', bytes: 100, packets: 1 }]);
  const added = td(1, [{ device: 'eth2', bytes: 200, packets: 2 }, { device: 'eth4', bytes: 50, packets: 5 }]);
  const s0 = snapshotOf(m0);
  const s1 = snapshotOf(added, s0);
  assert.notEqual(s1, s0);
  assert.deepEqual(countersOf(s1), countersOf(snapshotOf(added)));
  const gone = td(2, [{ device: 'eth4', bytes: 90, packets: 9 }]);
  const s2 = snapshotOf(gone, s1);
  assert.notEqual(s2, s1);
  assert.deepEqual(countersOf(s2), [['node_network_receive_bytes_total\u0000eth4', 90], ['node_network_receive_packets_total\u0000eth4', 9]]);
  assert.deepEqual(computeRates(s2, td(3, [{ device: 'eth4', bytes: 190, packets: 19 }]), params), computeRates(gone, td(3, [{ device: 'eth4', bytes: 190, packets: 19 }]), params));
});

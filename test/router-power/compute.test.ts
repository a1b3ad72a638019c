import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeRates, snapshotOf } from '../../src/router-power/processor/compute.js';
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
  assert.deepEqual([...snap.counters.values()].sort((a, b) => a - b), [1, 100, 1000, 1_000_000]);
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

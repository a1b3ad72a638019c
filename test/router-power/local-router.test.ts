/**
 * The demo's router `local` (issue 17: it showed 155 % occupation — loopback measured against
 * the experiment's 100 Mbit/s): loopback is left out when a link saw traffic, the limit is the
 * links' node_network_speed_bytes when the exporter reports it for each, else the experiment's,
 * and the plan says which limit it used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localRouterPlan } from '../../src/router-power/demo-experiment.js';
import type { MetricFamilyJson } from '../../src/collector/metric-family-json.js';

const fam = (name: string, values: Record<string, string>): MetricFamilyJson => ({
  name,
  description: '',
  type: name.endsWith('_total') ? 'counter' : 'gauge',
  values: Object.entries(values).map(([device, value]) => ({ labels: [{ name: 'device', value: device }], value })),
});

test('links with a reported speed: occupation against their speed, loopback left out', () => {
  const plan = localRouterPlan(
    [fam('node_network_receive_bytes_total', { eth0: '6.02e+08', lo: '1.38e+09', ifb0: '0' }), fam('node_network_speed_bytes', { eth0: '1.25e+08' })],
    100,
  )!;
  assert.deepEqual(plan.interfaces, ['eth0']);
  assert.equal(plan.maxThroughputMbps, 1000);
  assert.equal(plan.limit, '1000 Mbit/s from node_network_speed_bytes of eth0; lo left out: loopback is not a link');
});

test('a speed the exporter reports as unknown (-1 Mbit/s) or not at all: the experiment\'s limit, and why', () => {
  const unknown = localRouterPlan([fam('node_network_receive_bytes_total', { eth0: '6.02e+08', lo: '5' }), fam('node_network_speed_bytes', { eth0: '-125000' })], 100)!;
  assert.deepEqual(unknown.interfaces, ['eth0']);
  assert.equal(unknown.maxThroughputMbps, undefined);
  assert.equal(unknown.limit, "100 Mbit/s, the experiment's max_throughput_mbps (no usable node_network_speed_bytes: eth0 reports -125000 (unknown)); lo left out: loopback is not a link");
  const partial = localRouterPlan([fam('node_network_receive_bytes_total', { eth0: '1', eth1: '2' }), fam('node_network_speed_bytes', { eth0: '1.25e+08' })], 100)!;
  assert.equal(partial.maxThroughputMbps, undefined, 'every interface must report a speed');
  assert.match(partial.limit, /eth1 reports none/);
});

test('only loopback saw traffic: it stays (something to show), against the experiment\'s limit; no traffic: no router', () => {
  const lo = localRouterPlan([fam('node_network_receive_bytes_total', { lo: '7', eth0: '0' })], 100)!;
  assert.deepEqual(lo.interfaces, ['lo']);
  assert.match(lo.limit, /^100 Mbit\/s, the experiment's max_throughput_mbps \(no usable node_network_speed_bytes: lo reports none\)$/);
  assert.equal(localRouterPlan([fam('node_network_receive_bytes_total', { eth0: '0' })], 100), undefined);
});

/**
 * The capacity the processor divides by, at each level of precedence: a message's own
 * debug_params.max_throughput_mbps (only when flag_debug_params) over the router's
 * max_throughput_mbps over the experiment's — each level with its own value, so ignoring a
 * level changes the occupation seen. The same traffic (100 Mbit/s) on every router.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { ExperimentSource, normalizeExperiment } from '../../src/router-power/experiment.js';
import { createProcessor } from '../../src/router-power/processor/processor.js';
import { OCCUPATION, BYTE_RATE, type DebugParams, type TdMessage, type TpMessage } from '../../src/router-power/messages.js';
import { silentLogger } from '../../src/core/logger.js';
import { messagesDropped } from '../../src/stage/stage-metrics.js';
import { td } from './helpers.js';
import { waitFor } from '../helpers/wait-for.js';

const router = (id: string, extra: Record<string, unknown> = {}) => ({ [id]: { topic: 'TD', interfaces: ['eth2'], test_metrics: true, router_type: 'huawei', model_type: 'dummy', ...extra } });

const experiment = normalizeExperiment(
  {
    experiment_id: 'throughput',
    flag_original_metrics: false,
    flag_debug_params: false,
    max_throughput_mbps: 40, // experiment level
    polling_interval: 5,
    multiplier: 1,
    topics: { processed: 'TP', predictions: 'ML' },
    routers: [router('own', { max_throughput_mbps: 1000 }), router('inherits')],
  },
  'throughput-test',
);

const debugParams = (maxThroughputMbps: number, pollingInterval = 5): DebugParams => ({
  flag_original_metrics: false,
  max_throughput_mbps: maxThroughputMbps,
  unit: 'bytes',
  polling_interval: pollingInterval,
  test_metrics: false,
  multiplier: 1,
  collector_timestamp: '0',
});

/** Two TD messages of a router 5 s apart carrying 100 Mbit/s; `debug` sets debug_params (and whether they count). */
function pair(key: string, debug?: { params: DebugParams; flag: boolean }): TdMessage[] {
  return [td(1000, [{ device: 'eth2', bytes: 0, packets: 0 }]), td(1005, [{ device: 'eth2', bytes: 62_500_000, packets: 52_083 }])].map((m) => ({
    ...m,
    node_exporter: `${key}:9100`,
    ...(debug ? { flag_debug_params: debug.flag, debug_params: debug.params } : {}),
  }));
}

test('occupation uses debug_params, else the router, else the experiment max_throughput_mbps (100 Mbit/s of traffic each)', async () => {
  const fabric = new MemoryFabric();
  const processor = createProcessor({ fabric, experiment: new ExperimentSource(experiment), logger: silentLogger() });
  await processor.start!();
  const cases: Array<{ key: string; debug?: { params: DebugParams; flag: boolean }; occupation: number; why: string }> = [
    { key: 'own', occupation: 10, why: "the router's own 1000 Mbit/s" },
    { key: 'inherits', occupation: 250, why: "the experiment's 40 Mbit/s (router has none)" },
    { key: 'unknown', occupation: 250, why: "the experiment's 40 Mbit/s (router not in the experiment)" },
    { key: 'own', debug: { params: debugParams(250), flag: true }, occupation: 40, why: 'debug_params 250 Mbit/s over the router' },
    { key: 'inherits', debug: { params: debugParams(500), flag: true }, occupation: 20, why: 'debug_params 500 Mbit/s over the experiment' },
    { key: 'own', debug: { params: debugParams(250), flag: false }, occupation: 10, why: 'debug_params ignored when flag_debug_params is false' },
  ];
  const got: Array<{ key: string; occupation: number; mbps: number }> = [];
  for (const c of cases) {
    const before = (await fabric.readAll('TP')).length;
    for (const m of pair(c.key, c.debug)) await fabric.publish({ topic: 'TD', key: c.key, value: JSON.stringify(m) });
    const tp = await waitFor(async () => {
      const all = await fabric.readAll('TP');
      return all.length > before ? all[before]! : undefined;
    }, 5000, `the TP message of ${c.key} (${c.why})`);
    const msg = JSON.parse(tp.value) as TpMessage;
    got.push({ key: tp.key, occupation: msg.input_ml_metrics.find((x) => x.name === OCCUPATION)!.value, mbps: msg.input_ml_metrics.find((x) => x.name === BYTE_RATE)!.value });
    // the next pair starts over (its first message is not paired with this router's last one)
    await fabric.publish({ topic: 'TD', key: c.key, value: JSON.stringify({ ...pair(c.key)[0], epoch_timestamp: '0' }) });
  }
  for (const [i, c] of cases.entries()) {
    assert.equal(got[i]!.key, c.key);
    assert.ok(Math.abs(got[i]!.mbps - 100) < 1e-9, `${c.why}: 100 Mbit/s of traffic (got ${got[i]!.mbps})`);
    assert.ok(Math.abs(got[i]!.occupation - c.occupation) < 1e-9, `${c.why}: occupation ${c.occupation} % (got ${got[i]!.occupation})`);
  }
  await processor.stop!();
  await fabric.close();
});

test('a router without its own max_throughput_mbps takes the experiment value; its own value wins', () => {
  assert.deepEqual(
    experiment.routers.map((r) => [r.id, r.maxThroughputMbps]),
    [
      ['own', 1000],
      ['inherits', 40],
    ],
  );
  assert.equal(experiment.maxThroughputMbps, 40);
});

test('debug_params.polling_interval sets the longest gap kept (over the experiment polling_interval)', async () => {
  const fabric = new MemoryFabric();
  const processor = createProcessor({ fabric, experiment: new ExperimentSource(experiment), logger: silentLogger() });
  const gapDrops = async () => (await messagesDropped.get()).values.find((v) => v.labels.stage === 'processor' && v.labels.reason === 'gap_too_long')?.value ?? 0;
  const gapDrops0 = await gapDrops();
  await processor.start!();
  // 5 s apart: within 5 × 5 s (experiment) but beyond 5 × 0.5 s (debug_params)
  for (const m of pair('own', { params: debugParams(1000, 0.5), flag: true })) await fabric.publish({ topic: 'TD', key: 'own', value: JSON.stringify(m) });
  for (const m of pair('inherits', { params: debugParams(40, 0.5), flag: false })) await fabric.publish({ topic: 'TD', key: 'inherits', value: JSON.stringify(m) });
  const tp = await waitFor(async () => {
    const all = await fabric.readAll('TP');
    return all.length > 0 && all;
  }, 5000, 'a TP message');
  await waitFor(async () => (await gapDrops()) === gapDrops0 + 1, 5000, 'the pair of "own" dropped as a gap');
  assert.deepEqual(
    (await fabric.readAll('TP')).map((m) => m.key),
    ['inherits'],
    'the pair of "own" is a gap too long for its debug_params polling interval; "inherits" ignores its unflagged debug_params',
  );
  assert.equal(tp[0]!.key, 'inherits');
  await processor.stop!();
  await fabric.close();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { normalizeExperiment, loadExperiment } from '../../src/router-power/experiment.js';
import { ConfigError } from '../../src/core/config.js';
import { formatGoFloat, epochSeconds, type TdMessage, type TpMessage, type MlMessage } from '../../src/router-power/messages.js';
import { buildTd } from '../../src/router-power/producer/build-td.js';
import { loadTestMetrics, testPeriodFamilies } from '../../src/router-power/producer/test-metrics.js';
import { testMetricsPoller } from '../../src/router-power/producer/sources.js';
import { buildTp } from '../../src/router-power/processor/processor.js';
import { buildMl } from '../../src/router-power/inference/build-ml.js';

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/across/${name}`, import.meta.url), 'utf8')) as T;
const refExperiment = () => loadExperiment(new URL('../../config/across-config.json', import.meta.url).pathname);

test('the reference config.json is accepted although it has no router_type (defaults apply)', () => {
  const exp = refExperiment();
  assert.equal(exp.routers.length, 7);
  assert.deepEqual(exp.routers[0], {
    id: 'r1',
    topic: 'TD_r1',
    interfaces: ['eth2', 'eth3'],
    testMetrics: false,
    routerType: 'huawei',
    modelType: 'dummy',
    source: 'collector',
    collectorUrl: 'http://node-exporter-collector-service:8000/metrics/r1_9100.json',
    exporterUrl: 'http://r1:9100',
    maxThroughputMbps: 100,
  });
  assert.equal(exp.tpTopic('r1'), 'TP_r1');
  assert.equal(exp.mlTopic('r1'), 'ML_r1');
});

test('an invalid experiment names the JSON path and the reason', () => {
  const raw = JSON.parse(readFileSync(new URL('../../config/across-config.json', import.meta.url), 'utf8'));
  raw.routers[2].r3.interfaces = 'eth1';
  assert.throws(
    () => normalizeExperiment(raw, 'exp.json'),
    (err: unknown) => err instanceof ConfigError && err.path === '/routers/2/r3/interfaces' && /array/.test(err.reason) && /exp\.json/.test(err.message),
  );
  const dup = JSON.parse(readFileSync(new URL('../../config/across-config.json', import.meta.url), 'utf8'));
  dup.routers.push({ r1: dup.routers[0].r1 });
  assert.throws(() => normalizeExperiment(dup, 'exp.json'), /listed twice/);
});

test('counter values are formatted like the Prometheus Go client', () => {
  assert.equal(formatGoFloat(62_500_000), '6.25e+07');
  assert.equal(formatGoFloat(2_434_326_851), '2.434326851e+09');
  assert.equal(formatGoFloat(52_083), '52083');
  assert.equal(formatGoFloat(999_999), '999999');
  assert.equal(formatGoFloat(0), '0');
  assert.equal(formatGoFloat(0.00001), '1e-05');
  assert.equal(epochSeconds(1745233635217), '1745233635.217');
  assert.equal(epochSeconds(1745233635000), '1745233635.0');
});

test('test metrics wrap around to period_0 after the last period', async () => {
  const exp = refExperiment();
  const r1 = { ...exp.routers[0]!, testMetrics: true, source: 'test_metrics' as const };
  const periods = loadTestMetrics(exp.testMetricsDir, 'r1');
  assert.equal(periods.length, 21);
  const poll = testMetricsPoller(() => exp);
  const seen: number[] = [];
  for (let i = 0; i < periods.length + 2; i++) {
    const res = await poll(r1, 1000 * i);
    const bytes = res.families[0]!.values.reduce((s, v) => s + Number(v.value), 0);
    seen.push(bytes);
  }
  assert.equal(seen[0], periods[0]!.bytes);
  assert.equal(seen[20], periods[20]!.bytes);
  assert.equal(seen[21], periods[0]!.bytes, 'wraps to period_0');
  assert.ok(seen[21]! < seen[20]!, 'the wrap looks like a counter reset');
  // split evenly over the two interfaces
  const fams = testPeriodFamilies(periods[1]!, ['eth2', 'eth3']);
  assert.deepEqual(fams[0]!.values.map((v) => v.value), ['6.25e+07', '6.25e+07']);
});

test('TD message has the reference fields, order and types', () => {
  const ref = fixture<TdMessage>('input_metrics.json');
  const exp = refExperiment();
  const router = { ...exp.routers[0]!, interfaces: ['eth2'] };
  const td = buildTd({ router, experiment: exp, nodeExporter: 'r1:9100', readAtMs: 1745233635217, collectedAtMs: 1745233635230, families: ref.metrics! });
  assert.deepEqual(Object.keys(td), Object.keys(ref));
  assert.deepEqual(Object.keys(td.debug_params!), Object.keys(ref.debug_params!));
  assert.deepEqual(td.metrics, ref.metrics);
  assert.equal(typeof td.epoch_timestamp, 'string');
  assert.equal(td.debug_params!.unit, 'bytes');
  const quiet = buildTd({ router, experiment: { ...exp, flagDebugParams: false }, nodeExporter: 'r1:9100', readAtMs: 1, collectedAtMs: 2, families: ref.metrics! });
  assert.equal('debug_params' in quiet, false);
  assert.equal(quiet.flag_debug_params, false);
});

test('TP and ML messages keep the reference layout and shapes', () => {
  const refTp = fixture<TpMessage>('input_ml_metrics.json');
  const refMl = fixture<MlMessage>('output_ml_metrics.json');
  const td = fixture<TdMessage>('input_metrics.json');
  const rates = { intervalSeconds: 5, packetsPerSecond: 301.9, bytesPerSecond: 442_000, mbitPerSecond: 3.536, averagePacketLength: 1464, occupationPercent: 3.536 };
  const tp = buildTp(td, rates, { includeOriginal: true, nowMs: 1745233724580 });
  assert.deepEqual(Object.keys(tp), Object.keys(refTp));
  assert.deepEqual(Object.keys(tp.debug_params!), Object.keys(refTp.debug_params!));
  assert.equal(tp.debug_params!.process_timestamp, '1745233724580');
  assert.deepEqual(
    tp.input_ml_metrics.slice(0, 3).map((m) => [m.name, m.type]),
    refTp.input_ml_metrics.map((m) => [m.name, m.type]),
  );
  assert.equal(tp.input_ml_metrics[3]!.name, 'node_network_receive_bytes_total_rate');
  const noOriginal = buildTp(td, rates, { includeOriginal: false, nowMs: 1 });
  assert.equal('metrics' in noOriginal, false);

  const ml = buildMl(tp, { power: 698.8288, dPowerDOccupation: 0, dPowerDPacketLength: -0.0008 }, { model_type: 'dummy', model: 'dummy:huawei', version: 'x', router_type: 'huawei', processing_time_ms: 0.01 }, 1745233803505);
  assert.deepEqual(Object.keys(ml).filter((k) => k !== 'ml_metadata'), Object.keys(refMl));
  assert.deepEqual(Object.keys(ml.debug_params!), Object.keys(refMl.debug_params!));
  assert.deepEqual(ml.output_ml_metrics, refMl.output_ml_metrics);
  assert.ok(Array.isArray(ml.output_ml_metrics[0]!.value) && typeof ml.output_ml_metrics[2]!.value === 'number');
});

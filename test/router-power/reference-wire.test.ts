/**
 * Each stage is a drop-in replacement for the reference's (issue 17): fed the messages the
 * reference's own code wrote on the wire (test/fixtures/across/wire/: the Flink job's TD inputs
 * and TP outputs, ml.py's TP inputs and ML outputs — unkeyed, the reference's metric and JSON
 * key order), the processor, inference and both sinks route every message to its router by
 * topic / node_exporter, and their outputs equal the reference's.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { silentLogger } from '../../src/core/logger.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { ExperimentSource, normalizeExperiment } from '../../src/router-power/experiment.js';
import type { MlMessage, TdMessage, TpMessage } from '../../src/router-power/messages.js';
import { createProcessor } from '../../src/router-power/processor/processor.js';
import { createInference } from '../../src/router-power/inference/inference.js';
import { DummyPredictors } from '../../src/router-power/inference/dummy-predictor.js';
import { InfluxWriter } from '../../src/sinks/influx/writer.js';
import { createMlInfluxSink, createMlStoreSink } from '../../src/sinks/ml-sinks.js';
import { MemoryStore } from '../../src/storage/index.js';
import { influxConfig, respond, startStub, waitFor } from '../sinks/influx-helpers.js';

const logger = silentLogger();
const lines = (name: string): string[] =>
  readFileSync(new URL(`../fixtures/across/wire/${name}`, import.meta.url), 'utf8').split('\n').filter((l) => l !== '');
const TD = lines('td-input.ndjson');
const TP_FLINK = lines('tp-from-flink.ndjson');
const TP_IN = lines('tp-input.ndjson');
const ML_PY = lines('ml-from-ml-py.ndjson');
const ROUTER = 'refbench1';

/** The experiment a user replacing one stage would run: the reference's router, or it beside others on shared topics. */
function experiment(shared = false): ExperimentSource {
  const router = (id: string, iface: string[]) => ({
    [id]: {
      collector_url: `http://collector:8000/metrics/${id}_9100.json`,
      topic: shared ? 'TD' : `TD_${id}`,
      interfaces: iface,
      test_metrics: false,
      router_type: 'huawei',
    },
  });
  return new ExperimentSource(
    normalizeExperiment(
      {
        experiment_id: '1',
        flag_original_metrics: true,
        flag_debug_params: true,
        max_throughput_mbps: 100,
        polling_interval: 5,
        multiplier: 2000,
        ...(shared ? { topics: { processed: 'TP', predictions: 'ML' } } : {}),
        routers: shared ? [router('r1', ['eth0']), router(ROUTER, ['eth2', 'eth3']), router('r9', ['eth1'])] : [router(ROUTER, ['eth2', 'eth3'])],
      },
      'test',
    ),
  );
}

/** Relative difference (0 when equal). */
const rel = (a: number, b: number): number => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));
const byName = (ms: Array<{ name: string; value: number | number[] }>) => new Map(ms.map((m) => [m.name, Array.isArray(m.value) ? m.value[0]! : m.value]));

async function readN(fabric: MemoryFabric, topic: string, n: number) {
  return waitFor(async () => {
    const msgs = await fabric.readAll(topic);
    return msgs.length >= n ? msgs : undefined;
  }, 10_000, `${n} messages on ${topic}`);
}

describe('stages fed the reference\'s own wire messages (unkeyed)', () => {
  for (const shared of [false, true]) {
    const td = shared ? 'TD' : `TD_${ROUTER}`;
    const tp = shared ? 'TP' : `TP_${ROUTER}`;
    const ml = shared ? 'ML' : `ML_${ROUTER}`;
    const how = shared ? 'shared topics: routed by node_exporter' : 'a topic per router: routed by topic';

    test(`processor: the Flink job's TD inputs → its TP outputs to 4e-16 (${how})`, async () => {
      const fabric = new MemoryFabric();
      const processor = createProcessor({ fabric, experiment: experiment(shared), logger });
      await processor.start!();
      // exactly the recorded text, without a key, as the reference's producer writes it
      for (const v of TD) await fabric.publish({ topic: td, key: '', value: v });
      const out = await readN(fabric, tp, TD.length - 1);
      assert.equal(out.length, TD.length - 1);
      const flink = new Map(TP_FLINK.map((l) => JSON.parse(l) as TpMessage).map((m) => [m.epoch_timestamp, m]));
      let worst = 0;
      for (const m of out) {
        assert.equal(m.key, ROUTER, 'keyed by the router the message came from');
        const ours = JSON.parse(m.value) as TpMessage;
        const ref = flink.get(ours.epoch_timestamp)!;
        assert.ok(ref, `a Flink output for ${ours.epoch_timestamp}`);
        const a = byName(ours.input_ml_metrics);
        const b = byName(ref.input_ml_metrics);
        assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), 'the same four input metrics');
        for (const [name, v] of b) worst = Math.max(worst, rel(a.get(name)!, v));
        // every other field as the reference writes it (process_timestamp is the processing time)
        const strip = (x: TpMessage) => {
          const { input_ml_metrics: _i, debug_params, ...rest } = x;
          const { process_timestamp: _p, ...dbg } = debug_params!;
          return { ...rest, debug_params: dbg };
        };
        assert.deepEqual(strip(ours), strip(ref));
      }
      assert.ok(worst <= 4e-16, `largest relative difference ${worst}`);
      assert.deepEqual(await fabric.readAll(`${td}.dlq`), []);
      await processor.stop!();
      await fabric.close();
    });

    test(`inference: ml.py's TP inputs → its ML outputs, on the router's topic with its router type (${how})`, async () => {
      const fabric = new MemoryFabric();
      const exp = experiment(shared);
      const dummies = new DummyPredictors();
      const inference = createInference({ fabric, experiment: exp, logger, resolve: (r) => dummies.get(r.routerType) });
      await inference.start!();
      for (const v of TP_IN) await fabric.publish({ topic: tp, key: '', value: v });
      const out = await readN(fabric, ml, TP_IN.length);
      assert.deepEqual(await fabric.readAll('ML_'), [], 'nothing on a topic named after an empty key');
      const py = new Map(ML_PY.map((l) => JSON.parse(l) as MlMessage).map((m) => [m.epoch_timestamp, m]));
      for (const m of out) {
        assert.equal(m.key, ROUTER);
        const ours = JSON.parse(m.value) as MlMessage & { ml_metadata: { router_type: string } };
        const ref = py.get(ours.epoch_timestamp)!;
        const a = byName(ours.output_ml_metrics);
        for (const [name, v] of byName(ref.output_ml_metrics)) assert.ok(rel(a.get(name)!, v) <= 4e-16, `${name}: ${a.get(name)} vs ${v}`);
        // the same shapes: power and dz/dx one-element lists, dz/dy a number
        assert.deepEqual(ours.output_ml_metrics.map((o) => Array.isArray(o.value)), ref.output_ml_metrics.map((o) => Array.isArray(o.value)));
        assert.equal(ours.ml_metadata.router_type, 'huawei', "the router's type from the experiment, not the default of an unknown router");
        // the reference's key order is kept; wattflow's extension comes last
        assert.deepEqual(Object.keys(ours), [...Object.keys(ref), 'ml_metadata']);
        assert.deepEqual(Object.keys(ours.debug_params!), Object.keys(ref.debug_params!));
        assert.deepEqual(ours.input_ml_metrics, ref.input_ml_metrics, 'input metrics passed through in the Flink order');
      }
      await inference.stop!();
      await fabric.close();
    });

    test(`sinks: ml.py's ML outputs → store rows and InfluxDB points of the router (${how})`, async () => {
      const fabric = new MemoryFabric();
      const exp = experiment(shared);
      const store = new MemoryStore({ retentionHours: 24 * 365 * 100 });
      const influx = await startStub((req, res) => respond(res, 204));
      const writer = new InfluxWriter(influxConfig(influx.url, { createDatabase: false }), logger);
      const sinks = [createMlStoreSink({ fabric, experiment: exp, store, logger }), createMlInfluxSink({ fabric, experiment: exp, writer, logger })];
      try {
        for (const s of sinks) await s.start!();
        for (const v of ML_PY) await fabric.publish({ topic: ml, key: '', value: v });
        const rows = await waitFor(async () => {
          const r = await store.range(`router/${ROUTER}`, 'power', 0, Date.now());
          return r.length === ML_PY.length ? r : undefined;
        }, 10_000, 'store rows');
        const expected = ML_PY.map((l) => JSON.parse(l) as MlMessage).map((m) => (m.output_ml_metrics[0]!.value as number[])[0]!);
        assert.deepEqual(rows.map((r) => r.value).sort(), [...expected].sort());
        const latest = (await store.latest(`router/${ROUTER}`))!;
        assert.deepEqual(latest.tags, { router: ROUTER, experiment_id: '1', router_type: 'huawei', model: 'dummy' });
        assert.deepEqual((await store.listSeries('router/')).map((s) => s.series), [`router/${ROUTER}`]);
        const body = await waitFor(() => {
          const b = influx.requests.filter((r) => r.url.startsWith('/write')).map((r) => r.body).join('\n');
          return b.split('\n').filter((l) => l.startsWith('router_power')).length === ML_PY.length ? b : undefined;
        }, 10_000, 'InfluxDB points');
        for (const line of body.split('\n').filter((l) => l.startsWith('router_power'))) assert.match(line, new RegExp(`^router_power,.*router=${ROUTER}[, ]`));
        assert.deepEqual(await fabric.readAll(`${ml}.dlq`), []);
      } finally {
        for (const s of sinks) await s.stop!();
        await writer.close();
        await influx.close();
        await store.close();
        await fabric.close();
      }
    });
  }

  test('routing rules: the key wins; else the only router of the topic; else node_exporter (exporter, then id); else its host', () => {
    const one = experiment(false);
    assert.equal(one.routerOf('r7', 'TD_refbench1', 'x:9100'), 'r7');
    assert.equal(one.routerOf('', 'TD_refbench1', 'other:9100'), ROUTER);
    assert.equal(one.routerOf('', 'TP_refbench1', undefined), ROUTER);
    assert.equal(one.routerOf('', 'ML_refbench1', 'x'), ROUTER);
    const shared = experiment(true);
    assert.equal(shared.routerOf('', 'TD', 'refbench1:9100'), ROUTER);
    assert.equal(shared.routerOf('', 'TP', 'r9:9100'), 'r9');
    assert.equal(shared.routerOf('', 'ML', 'r1:9300'), 'r1', 'not its exporter, but its id');
    assert.equal(shared.routerOf('', 'ML', 'edge-7:9100'), 'edge-7', 'a router the experiment does not list: its host');
  });
});

test('the TD and TP fixtures are what the reference wrote (unkeyed recordings, byte rate first, Flink key order)', () => {
  const tpRef = JSON.parse(TP_FLINK[0]!) as TpMessage;
  assert.equal(tpRef.input_ml_metrics[0]!.name, 'node_network_receive_bytes_total_rate');
  assert.deepEqual(Object.keys(tpRef).slice(0, 3), ['interfaces', 'node_exporter', 'experiment_id']);
  assert.equal((JSON.parse(TD[0]!) as TdMessage).node_exporter, 'refbench1:9100');
});

/**
 * The ML sinks on the in-process MemoryFabric, with ML messages built from the reference
 * fixture: rows in the store (memory and SQLite), points in the real InfluxDB (INFLUX_URL),
 * dead letters for invalid messages, topics following the experiment, redelivery while
 * InfluxDB is unavailable, and only the refused messages dead-lettered on a data error.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/logger.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { ExperimentSource, normalizeExperiment, type RawExperiment } from '../../src/router-power/experiment.js';
import type { MlMessage } from '../../src/router-power/messages.js';
import type { DeadLetter } from '../../src/stage/stage-loop.js';
import { InfluxWriter } from '../../src/sinks/influx/writer.js';
import { createMlInfluxSink, createMlStoreSink } from '../../src/sinks/ml-sinks.js';
import { mlRecord, parseMl } from '../../src/sinks/ml-record.js';
import { MemoryStore, SqliteStore, type TimeSeriesStore } from '../../src/storage/index.js';
import { service } from '../helpers/services.js';
import { forward, influxAdmin, influxConfig, influxRows, respond, startStub, uniqueDb, waitFor } from './influx-helpers.js';

const logger = silentLogger();
const fixture = JSON.parse(readFileSync(new URL('../fixtures/across/output_ml_metrics.json', import.meta.url), 'utf8')) as MlMessage;
const T0 = Date.now() - 60_000; // recent: within the store's retention

function rawExperiment(routers: Array<[string, string, string]>): RawExperiment {
  return {
    experiment_id: 'exp-7',
    flag_original_metrics: true,
    flag_debug_params: true,
    max_throughput_mbps: 100,
    polling_interval: 5,
    multiplier: 2000,
    topics: { processed: 'TP_{router}', predictions: 'ML_{router}' },
    routers: routers.map(([id, routerType, modelType]) => ({
      [id]: { topic: `TD_${id}`, interfaces: ['eth2'], test_metrics: true, router_type: routerType, model_type: modelType },
    })),
  };
}

const experimentOf = (routers: Array<[string, string, string]>) => normalizeExperiment(rawExperiment(routers), 'test');

/** The fixture as router `id`'s i-th ML message (5 s apart), optionally with ml_metadata / byte rate. */
function mlMessage(id: string, i: number, opts: { meta?: boolean; byteRate?: number } = {}): MlMessage {
  const m = structuredClone(fixture) as MlMessage & { ml_metadata?: unknown };
  m.node_exporter = `${id}:9100`;
  m.experiment_id = 'exp-7';
  m.epoch_timestamp = String((T0 + i * 5000 + 0.4) / 1000);
  m.output_ml_metrics[0]!.value = [700 + i];
  if (opts.byteRate !== undefined) m.input_ml_metrics.push({ name: 'node_network_receive_bytes_total_rate', type: 'rate', value: opts.byteRate });
  if (opts.meta) m.ml_metadata = { model_type: 'rf', model: 'rf-huawei-v3', version: '3', router_type: 'huawei-ne40', processing_time_ms: 0.2 };
  return m;
}

const publish = (fabric: MemoryFabric, id: string, value: unknown) =>
  fabric.publish({ topic: `ML_${id}`, key: id, value: typeof value === 'string' ? value : JSON.stringify(value) });

async function deadLetters(fabric: MemoryFabric, topic: string): Promise<DeadLetter[]> {
  return (await fabric.readAll(`${topic}.dlq`)).map((m) => JSON.parse(m.value) as DeadLetter);
}

describe('ML record mapping', () => {
  test('fixture → fields, tags and ms time; array or scalar outputs; fallbacks for tags', () => {
    const parsed = parseMl(JSON.stringify(fixture));
    assert.ok(parsed.ok);
    const exp = experimentOf([['r1', 'cisco', 'linear']]);
    const rec = mlRecord('r1', parsed.message, exp.routers[0]);
    assert.deepEqual(rec, {
      tsMs: 1745233815582.5063,
      tags: { router: 'r1', experiment_id: '1', router_type: 'cisco', model: 'linear' },
      fields: {
        power: 698.8288,
        occupation: 0.003811188890163414,
        packet_length: 1464,
        packet_rate: 650.8177749595993,
        power_rate_occupation: 0,
        power_rate_packet_length: -0.0008,
      },
    });
    const noRouter = mlRecord('rz', parsed.message);
    assert.ok(!('error' in noRouter));
    assert.deepEqual([noRouter.tags.router_type, noRouter.tags.model], ['huawei', 'dummy']);
    const withMeta = mlRecord('r1', mlMessage('r1', 0, { meta: true, byteRate: 7.5 }), exp.routers[0]);
    assert.ok(!('error' in withMeta));
    assert.deepEqual([withMeta.tags.router_type, withMeta.tags.model, withMeta.fields.byte_rate_mbps], ['huawei-ne40', 'rf-huawei-v3', 7.5]);
  });

  test('invalid messages: reasons', () => {
    const notJson = parseMl('{');
    assert.ok(!notJson.ok && /not JSON/.test(notJson.reason));
    const noOutputs = structuredClone(fixture) as Partial<MlMessage>;
    delete noOutputs.output_ml_metrics;
    const r = parseMl(JSON.stringify(noOutputs));
    assert.ok(!r.ok && /output_ml_metrics.*required/.test(r.reason), !r.ok ? r.reason : '');
    const noPower = structuredClone(fixture);
    noPower.output_ml_metrics = noPower.output_ml_metrics.slice(1);
    assert.match((mlRecord('r1', noPower) as { error: string }).error, /power_consumption_wats missing/);
    const badTime = { ...structuredClone(fixture), epoch_timestamp: 'soon' };
    assert.ok(!parseMl(JSON.stringify(badTime)).ok);
  });
});

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const stores: Array<[string, () => TimeSeriesStore]> = [
  ['memory', () => new MemoryStore({ retentionHours: 24 })],
  [
    'sqlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'wattflow-sink-'));
      dirs.push(dir);
      return new SqliteStore({ dir, retentionHours: 24 });
    },
  ],
];

for (const [kind, makeStore] of stores) {
  describe(`ML store sink (${kind} store)`, () => {
    test('ML messages → series router/<id> with fields, tags and the message as doc; invalid → DLQ', async () => {
      const fabric = new MemoryFabric();
      const experiment = new ExperimentSource(experimentOf([['r1', 'huawei', 'dummy'], ['r2', 'cisco', 'linear']]));
      const store = makeStore();
      const sink = createMlStoreSink({ fabric, experiment, store, logger });
      await sink.start!();
      assert.equal(sink.ready!(), true);
      const sent: string[] = [];
      for (let i = 0; i < 5; i++) {
        const v = JSON.stringify(mlMessage('r1', i, { meta: i === 4, byteRate: 7 + i }));
        sent.push(v);
        await publish(fabric, 'r1', v);
      }
      for (let i = 0; i < 3; i++) await publish(fabric, 'r2', mlMessage('r2', i));
      await publish(fabric, 'r1', 'not json');
      const noPower = mlMessage('r1', 9);
      noPower.output_ml_metrics = noPower.output_ml_metrics.slice(1);
      await publish(fabric, 'r1', noPower);

      const latest = await waitFor(async () => {
        const l = await store.latest('router/r2');
        return l && (await store.range('router/r1', 'power', 0, Date.now())).length === 5 && l.fields.power === 702 ? l : undefined;
      }, 10_000, 'rows in the store');
      assert.deepEqual(latest.tags, { router: 'r2', experiment_id: 'exp-7', router_type: 'cisco', model: 'linear' });
      const r1 = (await store.latest('router/r1'))!;
      assert.equal(r1.doc, sent[4], 'doc = the ML message exactly as consumed');
      assert.equal(r1.tsMs, Math.round(T0 + 4 * 5000 + 0.4));
      assert.deepEqual(r1.tags, { router: 'r1', experiment_id: 'exp-7', router_type: 'huawei-ne40', model: 'rf-huawei-v3' });
      assert.deepEqual(r1.fields, {
        power: 704,
        occupation: 0.003811188890163414,
        packet_length: 1464,
        packet_rate: 650.8177749595993,
        byte_rate_mbps: 11,
        power_rate_occupation: 0,
        power_rate_packet_length: -0.0008,
      });
      assert.deepEqual(
        (await store.range('router/r1', 'byte_rate_mbps', 0, Date.now())).map((p) => p.value),
        [7, 8, 9, 10, 11],
      );
      const dlq = await waitFor(async () => {
        const d = await deadLetters(fabric, 'ML_r1');
        return d.length === 2 ? d : undefined;
      }, 5000, 'dead letters');
      assert.match(dlq[0]!.reason, /not JSON/);
      assert.match(dlq[1]!.reason, /power_consumption_wats missing/);
      assert.equal(dlq[0]!.stage, 'store-sink');
      assert.deepEqual(
        (await store.listSeries('router/')).map((s) => s.series),
        ['router/r1', 'router/r2'],
      );

      // The experiment gains a router: its topic is consumed too.
      await experiment.set(experimentOf([['r1', 'huawei', 'dummy'], ['r2', 'cisco', 'linear'], ['r3', 'juniper', 'dummy']]));
      await publish(fabric, 'r3', mlMessage('r3', 0));
      const r3 = await waitFor(() => store.latest('router/r3'), 5000, 'router r3');
      assert.equal(r3.tags.router_type, 'juniper');

      await sink.stop!();
      await store.close();
      await fabric.close();
    });
  });
}

const influx = service('INFLUX_URL', 'InfluxDB');

describe('ML InfluxDB sink (real InfluxDB)', { skip: influx.skip }, () => {
  const url = influx.value;
  const db = uniqueDb('sink');
  after(async () => {
    if (url) await influxAdmin(url, `DROP DATABASE "${db}"`);
  });

  test('ML messages → router_power points: fields, tags and times as queried back; invalid → DLQ', async () => {
    const fabric = new MemoryFabric();
    const experiment = new ExperimentSource(experimentOf([['r1', 'huawei', 'dummy'], ['r2', 'cisco', 'linear']]));
    const writer = new InfluxWriter(influxConfig(url, { database: db, flushIntervalMs: 1000 }), logger);
    const sink = createMlInfluxSink({ fabric, experiment, writer, logger });
    await sink.start!();
    for (let i = 0; i < 20; i++) await publish(fabric, 'r1', mlMessage('r1', i, { meta: i % 2 === 0, byteRate: 7.25 }));
    for (let i = 0; i < 10; i++) await publish(fabric, 'r2', mlMessage('r2', i));
    await publish(fabric, 'r2', '{"node_exporter":"r2:9100"}');
    const started = Date.now();
    await waitFor(async () => {
      const c = await influxRows(url, db, 'SELECT COUNT(power) FROM router_power').catch(() => []);
      return c[0]?.count === 30 || undefined;
    }, 15_000, '30 points in InfluxDB');
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5000, `immediate writes, not the 1 s linger per batch (${elapsed} ms)`);

    const r1 = await influxRows(url, db, `SELECT * FROM router_power WHERE router = 'r1' ORDER BY time LIMIT 2`);
    assert.deepEqual(r1[0], {
      time: Math.round(T0 + 0.4),
      byte_rate_mbps: 7.25,
      experiment_id: 'exp-7',
      model: 'rf-huawei-v3',
      occupation: 0.003811188890163414,
      packet_length: 1464,
      packet_rate: 650.8177749595993,
      power: 700,
      power_rate_occupation: 0,
      power_rate_packet_length: -0.0008,
      router: 'r1',
      router_type: 'huawei-ne40',
    });
    assert.equal(r1[1]!.time, Math.round(T0 + 5000 + 0.4));
    assert.deepEqual([r1[1]!.router_type, r1[1]!.model, r1[1]!.power], ['huawei', 'dummy', 701], 'fallback to the router config');
    const r2 = await influxRows(url, db, `SELECT LAST(power), router_type, model FROM router_power WHERE router = 'r2'`);
    assert.deepEqual([r2[0]!.last, r2[0]!.router_type, r2[0]!.model], [709, 'cisco', 'linear']);
    const r2ByteRate = await influxRows(url, db, `SELECT COUNT(byte_rate_mbps) FROM router_power WHERE router = 'r2'`);
    assert.equal(r2ByteRate.length, 0, 'no byte rate field when the TP message had none');
    const dlq = await waitFor(async () => {
      const d = await deadLetters(fabric, 'ML_r2');
      return d.length === 1 ? d : undefined;
    }, 5000, 'dead letter');
    assert.equal(dlq[0]!.stage, 'influx-sink');
    assert.match(dlq[0]!.reason, /invalid ML message/);
    await sink.stop!();
    await writer.close();
    await fabric.close();
  });

  test('InfluxDB unavailable: the batch is delivered again until written (nothing lost, nothing dead-lettered)', async () => {
    const proxy = await startStub((req, res, i) => (i < 3 ? respond(res, 503, '{"error":"down"}') : forward(url, req, res)));
    const fabric = new MemoryFabric({ retryDelayMs: 20 });
    const experiment = new ExperimentSource(experimentOf([['u1', 'huawei', 'dummy']]));
    const writer = new InfluxWriter(influxConfig(proxy.url, { database: db, createDatabase: false, maxRetries: 0 }), logger);
    const sink = createMlInfluxSink({ fabric, experiment, writer, logger, maxPauseMs: 20 });
    try {
      await sink.start!();
      for (let i = 0; i < 5; i++) await publish(fabric, 'u1', mlMessage('u1', i));
      await waitFor(async () => {
        const c = await influxRows(url, db, `SELECT COUNT(power) FROM router_power WHERE router = 'u1'`);
        return c[0]?.count === 5 || undefined;
      }, 15_000, 'points after redelivery');
      assert.ok(proxy.requests.length >= 4, `${proxy.requests.length} requests`);
      assert.deepEqual(await deadLetters(fabric, 'ML_u1'), []);
    } finally {
      await sink.stop!();
      await writer.close();
      await fabric.close();
      await proxy.close();
    }
  });

  test('a data error (field type conflict) dead-letters only the refused messages', async () => {
    // byte_rate_mbps becomes a string field in this shard: messages carrying it are refused.
    const db = uniqueDb('conflict');
    await influxAdmin(url, `CREATE DATABASE "${db}"`);
    const res = await fetch(`${url.replace(/\/$/, '')}/write?db=${db}&precision=ms`, {
      method: 'POST',
      body: `router_power,router=other byte_rate_mbps="text" ${Math.round(T0)}`,
    });
    assert.equal(res.status, 204);
    const fabric = new MemoryFabric();
    const experiment = new ExperimentSource(experimentOf([['c1', 'huawei', 'dummy']]));
    const writer = new InfluxWriter(influxConfig(url, { database: db }), logger);
    const sink = createMlInfluxSink({ fabric, experiment, writer, logger });
    await sink.start!();
    const batch = [0, 1, 2, 3, 4, 5].map((i) => JSON.stringify(mlMessage('c1', i, i % 3 === 1 ? { byteRate: 5 } : {})));
    await fabric.publishBatch(batch.map((value) => ({ topic: 'ML_c1', key: 'c1', value })));
    const dlq = await waitFor(async () => {
      const d = await deadLetters(fabric, 'ML_c1');
      return d.length === 2 ? d : undefined;
    }, 10_000, 'two dead letters');
    assert.deepEqual(
      dlq.map((d) => d.value),
      [batch[1], batch[4]],
    );
    assert.match(dlq[0]!.reason, /InfluxDB refused the point: .*field type conflict/);
    const rows = await influxRows(url, db, `SELECT power FROM router_power WHERE router = 'c1' ORDER BY time`);
    assert.deepEqual(
      rows.map((r) => r.power),
      [700, 702, 703, 705],
    );
    await sink.stop!();
    await writer.close();
    await fabric.close();
    await influxAdmin(url, `DROP DATABASE "${db}"`);
  });
});

/**
 * End to end, on both fabric adapters: the real node exporter → collector → producer →
 * processor → inference → ML topic and InfluxDB. The ML values are recomputed here,
 * independently, from the raw counters the exporter reported (carried in the TD messages and
 * checked against direct scrapes of the exporter).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAppConfig } from '../../src/app-config.js';
import { createCollector } from '../../src/collector/collector.js';
import type { Component } from '../../src/core/component.js';
import { startComponents } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import { ExperimentSource, normalizeExperiment } from '../../src/router-power/experiment.js';
import type { MlMessage, TdMessage } from '../../src/router-power/messages.js';
import { createFabric, fabricComponent } from '../../src/roles/common.js';
import { networkComponents } from '../../src/roles/network.js';
import { service } from '../helpers/services.js';
import { deleteKafkaTopics, poll } from './helpers.js';

const exporter = service('NODE_EXPORTER_URL', 'Prometheus node exporter');
const influx = service('INFLUX_URL', 'InfluxDB');
const kafka = service('KAFKA_BROKERS', 'Kafka broker');

function loBytes(text: string, metric: string): number {
  const m = new RegExp(`^${metric}\\{[^}]*device="lo"[^}]*\\}\\s+(\\S+)`, 'm').exec(text);
  if (!m) throw new Error(`${metric}{device="lo"} not in the exporter's output`);
  return Number(m[1]);
}

async function runPipeline(kind: 'memory' | 'kafka') {
  const run = randomUUID().slice(0, 8);
  const routerId = `local_${kind}_${run}`;
  const database = `wattflow_e2e_${run}`;
  const exporterTarget = new URL(exporter.value).host;
  const cfg = loadAppConfig(undefined, {
    '/http/port': 0,
    '/fabric/kind': kind,
    // the test reads the TD and ML history back (readAll): keep consumed messages on the in-process bus
    '/fabric/memory/retainConsumed': 1000,
    '/fabric/kafka/brokers': kind === 'kafka' ? kafka.value.split(',') : ['127.0.0.1:9092'],
    '/influx/url': influx.value,
    '/influx/database': database,
    '/influx/flushIntervalMs': 100,
    '/storage/dir': mkdtempSync(join(tmpdir(), 'wattflow-e2e-')),
    '/collector/allowTargets': [exporterTarget],
  }, {});
  const logger = silentLogger();
  // the collector first, on its own port, so the experiment can name its URL
  const collector = await startComponents([createCollector(cfg.collector)], { host: '127.0.0.1', port: 0, logger });
  const raw = {
    experiment_id: `e2e-${run}`,
    flag_original_metrics: true,
    flag_debug_params: true,
    max_throughput_mbps: 1000,
    polling_interval: 1,
    multiplier: 1,
    topics: { processed: `TP_{router}`, predictions: `ML_{router}` },
    routers: [
      {
        [routerId]: {
          collector_url: `${collector.url}/metrics/${exporterTarget.replace(':', '_')}.json`,
          topic: `TD_${routerId}`,
          interfaces: ['lo'],
          test_metrics: false,
        },
      },
    ],
  };
  const experiment = new ExperimentSource(normalizeExperiment(raw, 'e2e'));
  const fabric = await createFabric(cfg, logger);
  const before = loBytes(await (await fetch(`${exporter.value}/metrics`)).text(), 'node_network_receive_bytes_total');
  const components: Component[] = [
    fabricComponent(fabric),
    ...(await networkComponents(cfg, logger, fabric, experiment, { api: true, influx: true, inference: true, processor: true, producer: true })),
  ];
  const app = await startComponents(components, { host: '127.0.0.1', port: 0, logger });
  try {
    // a few polls' worth of predictions
    const ml = await poll(async () => {
      const msgs = await fabric.readAll(`ML_${routerId}`);
      return msgs.length >= 3 ? msgs : undefined;
    }, 30_000);
    const after = loBytes(await (await fetch(`${exporter.value}/metrics`)).text(), 'node_network_receive_bytes_total');
    const tds = (await fabric.readAll(`TD_${routerId}`)).map((m) => JSON.parse(m.value) as TdMessage);
    const tdAt = new Map(tds.map((td) => [td.epoch_timestamp, td]));
    const counter = (td: TdMessage, name: string) => Number(td.metrics!.find((m) => m.name === name)!.values.find((v) => v.labels.some((l) => l.value === 'lo'))!.value);
    for (const td of tds) {
      const b = counter(td, 'node_network_receive_bytes_total');
      assert.ok(b >= before && b <= after, `TD counter ${b} lies between direct scrapes ${before} and ${after}`);
    }
    for (const m of ml) {
      const msg = JSON.parse(m.value) as MlMessage;
      assert.equal(m.key, routerId);
      const cur = tdAt.get(msg.epoch_timestamp)!;
      assert.ok(cur, 'every ML message comes from a TD message');
      const prev = tds[tds.indexOf(cur) - 1]!;
      const dt = Number(cur.epoch_timestamp) - Number(prev.epoch_timestamp);
      const dBytes = counter(cur, 'node_network_receive_bytes_total') - counter(prev, 'node_network_receive_bytes_total');
      const dPackets = counter(cur, 'node_network_receive_packets_total') - counter(prev, 'node_network_receive_packets_total');
      const occupation = ((dBytes / dt) * 8) / 1e9 * 100;
      const length = dPackets > 0 ? dBytes / dPackets : 0;
      const get = (name: string) => msg.input_ml_metrics.find((x) => x.name === name)!.value;
      const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
      assert.ok(close(get('node_network_router_capacity_occupation'), occupation));
      assert.ok(close(get('node_network_average_received_packet_length'), length));
      assert.ok(close(get('node_network_receive_packets_total_rate'), dPackets / dt));
      const x = occupation / 100;
      const power = (msg.output_ml_metrics[0]!.value as number[])[0]!;
      assert.ok(close(power, 700 + 20 * x * x - 0.0008 * length), `power ${power}`);
    }
    // the InfluxDB sink wrote the same predictions
    const points = await poll(async () => {
      const q = new URL('/query', influx.value);
      q.searchParams.set('db', database);
      q.searchParams.set('q', `SELECT power, occupation, packet_length FROM router_power WHERE router = '${routerId}'`);
      const body = (await (await fetch(q)).json()) as { results: Array<{ series?: Array<{ values: Array<[string, number, number, number]> }> }> };
      const values = body.results[0]?.series?.[0]?.values ?? [];
      return values.length >= ml.length ? values : undefined;
    }, 15_000);
    const powers = new Set(ml.map((m) => ((JSON.parse(m.value) as MlMessage).output_ml_metrics[0]!.value as number[])[0]));
    for (const [, power] of points.slice(0, ml.length)) assert.ok(powers.has(power), `InfluxDB power ${power} is one of the ML messages'`);
    // and the API shows the router
    const api = (await (await fetch(`${app.url}/api/routers/${routerId}/latest`)).json()) as MlMessage;
    assert.equal(api.experiment_id, `e2e-${run}`);
    await fetch(new URL(`/query?q=${encodeURIComponent(`DROP DATABASE "${database}"`)}`, influx.value), { method: 'POST' });
  } finally {
    await app.stop();
    await collector.stop();
    if (kind === 'kafka') await deleteKafkaTopics(kafka.value, routerId);
  }
}

describe('network pipeline end to end', { skip: exporter.skip || influx.skip }, () => {
  test('in-process bus: exporter → collector → producer → processor → inference → ML topic, InfluxDB, API', async () => {
    await runPipeline('memory');
  });
  test('Kafka: the same stages on the real broker', { skip: kafka.skip }, async () => {
    await runPipeline('kafka');
  });
});

/**
 * Two processor processes in one consumer group on the real broker share the routers; when
 * one stops (SIGTERM) or is killed (SIGKILL: no commit, no leave — the group notices after the
 * session timeout), the other takes its routers over — restoring each router's last message
 * from the compacted state topic and receiving again what the first had not committed — so no
 * router is lost, no interval is missing and no rate is wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaFabric } from '../../src/fabric/kafka/kafka-fabric.js';
import { silentLogger } from '../../src/core/logger.js';
import type { TpMessage } from '../../src/router-power/messages.js';
import { service } from '../helpers/services.js';
import { deleteKafkaTopics, poll, runCli } from './helpers.js';

const kafka = service('KAFKA_BROKERS', 'Kafka broker');

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`two processor processes share routers; ${signal === 'SIGTERM' ? 'stopping' : 'killing (SIGKILL)'} one hands them over with no lost router and no wrong rate`, { skip: kafka.skip, timeout: 180_000 }, async () => {
    const run = randomUUID().slice(0, 8);
    const routers = ['a', 'b', 'c', 'd'].map((x) => `h${x}_${run}`);
    const dir = mkdtempSync(join(tmpdir(), 'wattflow-handover-'));
    const experimentFile = join(dir, 'experiment.json');
    writeFileSync(
      experimentFile,
      JSON.stringify({
        experiment_id: `handover-${run}`,
        flag_original_metrics: false,
        flag_debug_params: false,
        max_throughput_mbps: 100,
        polling_interval: 1,
        multiplier: 1,
        routers: routers.map((id) => ({ [id]: { topic: `TD_${id}`, interfaces: ['eth2'], test_metrics: true } })),
      }),
    );
    const fabric = await createKafkaFabric({ brokers: kafka.value.split(','), clientId: `handover-test-${run}`, logger: silentLogger() });
    await fabric.ensureTopics(routers.flatMap((id) => [{ name: `TD_${id}` }, { name: `TP_${id}` }]));
    // a short session: a killed member's routers move after ~6 s instead of the default 30 s
    const env = { KAFKA_BROKERS: kafka.value, WATTFLOW_LOG_LEVEL: 'info', WATTFLOW__fabric__kafka__consumer__sessionTimeoutMs: '6000', WATTFLOW__fabric__kafka__consumer__heartbeatIntervalMs: '1000' };
    const a = runCli(['processor', '--experiment', experimentFile, '--port', '0'], env);
    const b = runCli(['processor', '--experiment', experimentFile, '--port', '0'], env);
    // 1 Mbit/s at 500 B/packet: bytes += 125,000 and packets += 250 per 1 s poll
    const publish = async (from: number, to: number) => {
      const base = 1_700_000_000;
      for (let k = from; k < to; k++) {
        await fabric.publishBatch(
          routers.map((id) => ({
            topic: `TD_${id}`,
            key: id,
            json: {
              node_exporter: `${id}:9100`,
              epoch_timestamp: `${base + k}.0`,
              experiment_id: `handover-${run}`,
              interfaces: ['eth2'],
              flag_debug_params: false,
              metrics: [
                { name: 'node_network_receive_bytes_total', description: '', type: 'counter', values: [{ labels: [{ name: 'device', value: 'eth2' }], value: String(125_000 * (k + 1)) }] },
                { name: 'node_network_receive_packets_total', description: '', type: 'counter', values: [{ labels: [{ name: 'device', value: 'eth2' }], value: String(250 * (k + 1)) }] },
              ],
            },
          })),
        );
      }
    };
    // distinct pairs per router (at-least-once: a redelivered message may be processed twice)
    const tpCounts = async () =>
      Promise.all(routers.map(async (id) => new Set((await fabric.readAll(`TP_${id}`)).map((m) => (JSON.parse(m.value) as TpMessage).epoch_timestamp)).size));
    try {
      const [, urlA] = await a.waitFor(/"url":"(http:\/\/[^"]+)","msg":"listening"/, 30_000);
      await b.waitFor(/"msg":"listening"/, 30_000);
      await publish(0, 5);
      await poll(async () => ((await tpCounts()).every((n) => n >= 4) ? true : undefined), 60_000, 250);
      const inA = Number(/wattflow_messages_in_total\{stage="processor"\} (\d+)/.exec(await (await fetch(`${urlA}/metrics`)).text())?.[1] ?? 0);
      assert.ok(inA > 0, `process A handled some of the routers (${inA} messages)`);
      if (signal === 'SIGTERM') assert.equal(await a.stop(), 0, 'A stops gracefully');
      else {
        a.child.kill('SIGKILL');
        await a.exited;
      }
      await publish(5, 10);
      let last: number[] = [];
      const counts = await poll(async () => {
        last = await tpCounts();
        return last.every((n) => n >= 9) ? last : undefined;
      }, 90_000, 250).catch((err: Error) => {
        throw new Error(`${err.message}; TP counts ${JSON.stringify(last)}; B's log:\n${b.output().slice(-3000)}`);
      });
      assert.deepEqual(counts, routers.map(() => 9), '10 polls → 9 pairs per router: nothing lost at the hand-over');
      for (const id of routers) {
        for (const m of await fabric.readAll(`TP_${id}`)) {
          const tp = JSON.parse(m.value) as TpMessage;
          const get = (name: string) => tp.input_ml_metrics.find((x) => x.name === name)!.value;
          assert.ok(Math.abs(get('node_network_receive_bytes_total_rate') - 1) < 1e-9, `${id}: 1 Mbit/s`);
          assert.ok(Math.abs(get('node_network_average_received_packet_length') - 500) < 1e-9);
          assert.ok(Math.abs(get('node_network_router_capacity_occupation') - 1) < 1e-9);
        }
      }
      assert.match(b.output(), /restored per-router state/);
    } finally {
      await a.stop();
      await b.stop();
      await fabric.close();
      await deleteKafkaTopics(kafka.value, `_${run}`);
    }
  });
}

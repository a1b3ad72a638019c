/**
 * A Kafka broker restart in the middle of the network pipeline loses nothing. A private broker
 * (scripts/services/kafka.sh on ports of its own and a scratch state directory, so the shared
 * broker the other tests use is never touched) carries producer → processor → inference for
 * two routers polled every 0.5 s; the broker is stopped for several seconds and started again.
 * Afterwards every router has a TD message for every tick of the run (the producer's outbox
 * kept the ones refused during the outage, in order), and every TD after the first has its ML
 * message with the rates of that interval (the consumers re-joined and resumed from their
 * committed offsets). A second test makes the outage outlast the processor's publish retries
 * while it holds outputs: the failed batch is delivered again once the broker is back and paired
 * as the first time (no TP message lost; docs/delivery.md). Needs Java and the Kafka install that
 * scripts/services/ caches (present wherever KAFKA_BROKERS comes from start-all.sh).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAppConfig } from '../../src/app-config.js';
import type { Component } from '../../src/core/component.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import { registry } from '../../src/core/metrics.js';
import type { Fabric } from '../../src/fabric/fabric.js';
import { ExperimentSource, normalizeExperiment } from '../../src/router-power/experiment.js';
import type { MlMessage, TdMessage } from '../../src/router-power/messages.js';
import { createFabric, fabricComponent } from '../../src/roles/common.js';
import { createKafkaFabric } from '../../src/fabric/kafka/kafka-fabric.js';
import { createProcessor } from '../../src/router-power/processor/processor.js';
import { networkComponents } from '../../src/roles/network.js';
import { overriding } from '../helpers/overriding.js';
import { freePort } from '../helpers/ports.js';
import { service } from '../helpers/services.js';
import { ROOT } from './helpers.js';
import { waitFor } from '../helpers/wait-for.js';

const kafka = service('KAFKA_BROKERS', 'Kafka broker (its install, cached by scripts/services/kafka.sh)');
const INTERVAL_S = 0.5;
const ROUTERS = ['ra', 'rb'];
/** test-metrics counters: 50 Mbit/s at 1000 B/packet per interval, never wrapping during the test */
const BYTES_PER_INTERVAL = 3_125_000;
const PACKETS_PER_INTERVAL = 3_125;

let stateDir = '';
let env: NodeJS.ProcessEnv = {};
let brokers = '';

/** Runs scripts/services/kafka.sh (start|stop) for the private broker; resolves when it exits 0. */
function kafkaSh(action: 'start' | 'stop'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['scripts/services/kafka.sh', action], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kafka.sh ${action} exited ${code}:\n${err.slice(-3000)}`))));
  });
}

/** Resolves with the error code of a TCP connection attempt to the broker's port ('connected' when it is accepted). */
function connectOutcome(hostPort: string): Promise<string> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const socket = connect({ host: host!, port: Number(port) });
    socket.setTimeout(2000, () => (socket.destroy(), resolve('timeout')));
    socket.once('connect', () => (socket.destroy(), resolve('connected')));
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** TD messages the producer's outbox had to hold (a publish failed, or earlier ones waited). */
const outboxQueued = async () => Number(/^wattflow_producer_outbox_queued_total (\d+)/m.exec(await registry.metrics())?.[1] ?? 0);

describe('network pipeline across a Kafka broker restart', { skip: kafka.skip, timeout: 240_000 }, () => {
  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'wattflow-private-kafka-'));
    const [port, controllerPort] = [await freePort(), await freePort()];
    env = { ...process.env, WATTFLOW_SERVICES_DIR: stateDir, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controllerPort), KAFKA_HEAP: '-Xms256m -Xmx768m', KAFKA_FRESH_DATA: '' };
    brokers = `127.0.0.1:${port}`;
    await kafkaSh('start');
  });
  after(async () => {
    if (!stateDir) return;
    await kafkaSh('stop').catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  });

  test('broker stopped for seconds, then back: a TD message for every tick, an ML message for every interval, the right rates', async () => {
    const metricsDir = mkdtempSync(join(tmpdir(), 'wattflow-restart-tm-'));
    const periods: Record<string, { total_bytes: string; total_packets: string }> = {};
    for (let k = 0; k < 600; k++) periods[`period_${k}`] = { total_bytes: String(BYTES_PER_INTERVAL * (k + 1)), total_packets: String(PACKETS_PER_INTERVAL * (k + 1)) };
    for (const r of ROUTERS) writeFileSync(join(metricsDir, `test_metrics_${r}.json`), JSON.stringify(periods));
    const raw = {
      experiment_id: 'broker-restart',
      flag_original_metrics: false,
      flag_debug_params: false,
      max_throughput_mbps: 100,
      polling_interval: INTERVAL_S,
      multiplier: 1,
      test_metrics_dir: metricsDir,
      routers: ROUTERS.map((r) => ({ [r]: { topic: `TD_${r}`, interfaces: ['eth2'], test_metrics: true } })),
    };
    const cfg = loadAppConfig(undefined, {
      '/http/port': 0,
      '/fabric/kind': 'kafka',
      '/fabric/kafka/brokers': [brokers],
      '/storage/dir': mkdtempSync(join(tmpdir(), 'wattflow-restart-')),
    }, {});
    const logger = silentLogger();
    const experiment = new ExperimentSource(normalizeExperiment(raw, 'broker-restart'));
    const fabric: Fabric = await createFabric(cfg, logger);
    const reader: Fabric = await createFabric(cfg, logger); // for the checks: the pipeline's fabric closes with it
    const components: Component[] = [
      fabricComponent(fabric),
      ...(await networkComponents(cfg, logger, fabric, experiment, { api: false, influx: false, inference: true, processor: true, producer: true })),
    ];
    let app: RunningApp | undefined = await startComponents(components, { host: '127.0.0.1', port: 0, logger });
    const readMl = async (r: string) => (await reader.readAll(`ML_${r}`)).map((m) => JSON.parse(m.value) as MlMessage);
    const waitMl = async (n: number, ms: number) => {
      let counts: number[] = [];
      await waitFor(async () => (counts = await Promise.all(ROUTERS.map(async (r) => (await readMl(r)).length))).every((c) => c >= n), ms, () => `${n} ML messages per router (have ${counts.join(', ')})`, { intervalMs: 250 });
    };
    try {
      await waitMl(3, 60_000); // the pipeline runs
      const queuedBefore = await outboxQueued();
      await kafkaSh('stop'); // exits non-zero when it finds no broker to stop
      // the outage is real: the broker's port refuses connections, and the producer's publishes fail
      assert.equal(await connectOutcome(brokers), 'ECONNREFUSED', `broker ${brokers} still accepts connections after kafka.sh stop`);
      await new Promise((res) => setTimeout(res, 4000)); // polls go on; their TD messages wait in the outbox
      const queuedDuringOutage = (await outboxQueued()) - queuedBefore;
      assert.ok(queuedDuringOutage >= ROUTERS.length * 4, `the outbox held the TD messages of the outage (${queuedDuringOutage} queued in 4 s at ${INTERVAL_S} s per poll)`);
      assert.equal(await connectOutcome(brokers), 'ECONNREFUSED', 'the broker stayed down for the whole window');
      await kafkaSh('start');
      await new Promise((res) => setTimeout(res, 3000));
      await app.stop(); // the producer delivers what waits, the stages finish and commit
      app = undefined;

      for (const r of ROUTERS) {
        const tds = (await reader.readAll(`TD_${r}`)).map((m) => JSON.parse(m.value) as TdMessage);
        const ticks = [...new Set(tds.map((td) => Number(td.epoch_timestamp)))].sort((a, b) => a - b);
        assert.ok(ticks.length >= 20, `${r}: ${ticks.length} ticks: ${ticks.join(" ")}`);
        for (let i = 1; i < ticks.length; i++) {
          assert.ok(Math.abs(ticks[i]! - ticks[i - 1]! - INTERVAL_S) < 1e-6, `${r}: no tick missing between ${ticks[i - 1]} and ${ticks[i]}`);
        }
        const ml = await readMl(r);
        const byTick = new Map<number, MlMessage>();
        for (const m of ml) {
          const t = Number(m.epoch_timestamp);
          const seen = byTick.get(t);
          if (seen) assert.deepEqual(m.input_ml_metrics, seen.input_ml_metrics, `${r}: a redelivered interval (${t}) has the same values`);
          byTick.set(t, m);
        }
        const missing = ticks.slice(1).filter((t) => !byTick.has(t));
        assert.deepEqual(missing, [], `${r}: every interval after the first has its ML message`);
        for (const m of byTick.values()) {
          const get = (name: string) => m.input_ml_metrics.find((x) => x.name === name)!.value as number;
          assert.ok(Math.abs(get('node_network_router_capacity_occupation') - 50) < 1e-9, `${r}: occupation ${get('node_network_router_capacity_occupation')} at ${m.epoch_timestamp}`);
          assert.ok(Math.abs(get('node_network_average_received_packet_length') - 1000) < 1e-9);
        }
      }
    } finally {
      await app?.stop();
      await reader.close();
    }
  });

  test("a processor publish the broker's outage makes fail (its retries used up) is handled again once it is back: no pair lost, none paired with itself", async () => {
    const logger = silentLogger();
    const consumer = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 6_000, maxWaitTimeMs: 100, retryInitialMs: 200, retryMaxMs: 1_000 };
    // the processor's publisher gives up after 2 retries (≈ 0.3 s) instead of ≈ 13 s: the outage below outlasts them
    const base = createKafkaFabric({ brokers: [brokers], clientId: 'redeliver', logger, client: { retries: 2 }, consumer });
    const reader = createKafkaFabric({ brokers: [brokers], clientId: 'redeliver-reader', logger });
    const td = (k: number) => ({
      node_exporter: 'rx:9100',
      epoch_timestamp: `${1_700_000_000 + k}.0`,
      experiment_id: 'redeliver',
      interfaces: ['eth2'],
      flag_debug_params: false,
      metrics: [
        { name: 'node_network_receive_bytes_total', description: '', type: 'counter', values: [{ labels: [{ name: 'device', value: 'eth2' }], value: String((125_000 * k * (k + 1)) / 2) }] },
        { name: 'node_network_receive_packets_total', description: '', type: 'counter', values: [{ labels: [{ name: 'device', value: 'eth2' }], value: String(250 * k) }] },
      ],
    });
    const raw = {
      experiment_id: 'redeliver',
      flag_original_metrics: false,
      flag_debug_params: false,
      max_throughput_mbps: 100,
      polling_interval: 1,
      multiplier: 1,
      topics: { processed: 'RD_TP_{router}', predictions: 'RD_ML_{router}' },
      routers: [{ rx: { topic: 'RD_TD_rx', interfaces: ['eth2'], test_metrics: true } }],
    };
    // poll 3's outputs are held until the broker is down, then go to the real publisher
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    const fabric = overriding<Fabric>(base, {
      publishBatch: async (messages: Parameters<Fabric['publishBatch']>[0]) => {
        if (!held && messages.some((m) => m.topic === 'RD_TP_rx' && (m.json as { epoch_timestamp?: string }).epoch_timestamp === `${1_700_000_003}.0`)) {
          held = true;
          await released;
        }
        return base.publishBatch(messages);
      },
    });
    const metric = async (re: RegExp) => Number(re.exec(await registry.metrics())?.[1] ?? 0);
    const failures = () => metric(/^wattflow_kafka_publish_failures_total\{topic="RD_TP_rx"\} (\d+)/m);
    const selfPaired = () => metric(/^wattflow_messages_dropped_total\{stage="processor",reason="time_not_advancing"\} (\d+)/m);
    const processor = createProcessor({ fabric, experiment: new ExperimentSource(normalizeExperiment(raw, 'redeliver')), logger, group: 'redeliver-processor', stateTopic: 'redeliver_state', statePartitions: 1 });
    const tpPairs = async () => (await reader.readAll('RD_TP_rx')).map((m) => Number((JSON.parse(m.value) as TdMessage).epoch_timestamp) - 1_700_000_000);
    await processor.start!();
    try {
      const [failed0, selfPaired0] = [await failures(), await selfPaired()];
      for (let k = 1; k <= 3; k++) await reader.publish({ topic: 'RD_TD_rx', key: 'rx', json: td(k) });
      await waitFor(() => held, 30_000, "poll 3's outputs handed to the publisher");
      await kafkaSh('stop');
      assert.equal(await connectOutcome(brokers), 'ECONNREFUSED', 'the broker is down');
      release();
      await waitFor(async () => (await failures()) > failed0, 15_000, 'the publish of poll 3 failed (retries used up)', { intervalMs: 100 });
      await kafkaSh('start');
      for (let k = 4; k <= 5; k++) await reader.publish({ topic: 'RD_TD_rx', key: 'rx', json: td(k) });
      const pairs = await waitFor(async () => {
        const got = await tpPairs().catch(() => []);
        return new Set(got).size >= 4 ? got : undefined;
      }, 60_000, 'TP messages of the pairs 2 to 5', { intervalMs: 250 });
      assert.deepEqual([...new Set(pairs)].sort((a, b) => a - b), [2, 3, 4, 5], "every pair's TP message, poll 3's included");
      assert.deepEqual(pairs.filter((k, i) => pairs.indexOf(k) === i), [2, 3, 4, 5], 'in order on the topic');
      assert.equal((await selfPaired()) - selfPaired0, 0, 'no message delivered again was paired with itself');
    } finally {
      release();
      await processor.stop!();
      await Promise.allSettled([base.close(), reader.close()]);
    }
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryFabric } from '../../src/fabric/memory-fabric.js';
import { ExperimentSource, normalizeExperiment, BUNDLED_TEST_METRICS_DIR } from '../../src/network/experiment.js';
import { createProducer } from '../../src/network/producer/producer.js';
import type { TdMessage } from '../../src/network/messages.js';
import { silentLogger } from '../../src/core/logger.js';
import { registry } from '../../src/core/metrics.js';

test('a slow or dead router never delays the others; its overruns and errors are counted', async () => {
  // a "router" whose collector answers after 2 s, and one that refuses connections
  const slow = createServer((_req, res) => setTimeout(() => res.end('{}'), 2000));
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  const slowPort = (slow.address() as AddressInfo).port;
  const raw = {
    experiment_id: 'slow',
    flag_original_metrics: false,
    flag_debug_params: false,
    max_throughput_mbps: 100,
    polling_interval: 0.2,
    multiplier: 1,
    test_metrics_dir: BUNDLED_TEST_METRICS_DIR,
    routers: [
      { r1: { topic: 'TD_r1', interfaces: ['eth2'], test_metrics: true } },
      { slowpoke: { topic: 'TD_slowpoke', interfaces: ['eth2'], test_metrics: false, collector_url: `http://127.0.0.1:${slowPort}/metrics/slowpoke_9100.json` } },
      { dead: { topic: 'TD_dead', interfaces: ['eth2'], test_metrics: false, collector_url: 'http://127.0.0.1:1/metrics/dead_9100.json' } },
    ],
  };
  const source = new ExperimentSource(normalizeExperiment(raw, 'slow'));
  const fabric = new MemoryFabric();
  const producer = createProducer({ fabric, experiment: source, logger: silentLogger(), timeoutMs: 5000 });
  await producer.start!();
  await new Promise((r) => setTimeout(r, 1500));
  await producer.stop!();
  slow.close();
  slow.closeAllConnections();
  const r1 = (await fabric.readAll('TD_r1')).map((m) => m.json as TdMessage);
  assert.ok(r1.length >= 7, `r1 polled ${r1.length} times in 1.5 s at 0.2 s`);
  for (let i = 1; i < r1.length; i++) {
    const gap = Number(r1[i]!.epoch_timestamp) - Number(r1[i - 1]!.epoch_timestamp);
    assert.ok(Math.abs(gap - 0.2) < 1e-6, `r1 on schedule (gap ${gap})`);
  }
  assert.equal((await fabric.readAll('TD_slowpoke')).length, 0);
  assert.equal((await fabric.readAll('TD_dead')).length, 0);
  const metrics = await registry.metrics();
  const overruns = Number(/wattflow_producer_polls_total\{source="collector",result="overrun"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  const errors = Number(/wattflow_producer_polls_total\{source="collector",result="error"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  assert.ok(overruns >= 5, `the slow router skipped ticks while its poll was in flight (${overruns})`);
  assert.ok(errors >= 5, `the dead router's failures are counted (${errors})`);
});

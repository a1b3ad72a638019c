/**
 * The live hub routes an unkeyed ML message (the reference's stages write none) the way the
 * sinks do (ExperimentSource.routerOf): by its topic when one router uses it, else by its
 * node_exporter — not under the empty key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAppConfig } from '../../src/app-config.js';
import { silentLogger } from '../../src/core/logger.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { ExperimentSource, normalizeExperiment } from '../../src/router-power/experiment.js';
import { createUi } from '../../src/ui/index.js';
import { waitFor } from '../helpers/wait-for.js';

const ml = (host: string, power: number) => ({
  experiment_id: 'wire',
  node_exporter: `${host}:9100`,
  epoch_timestamp: String(Date.now() / 1000),
  ml_timestamp: String(Date.now() / 1000),
  input_ml_metrics: [
    { name: 'node_network_router_capacity_occupation', type: 'GAUGE', value: 50 },
    { name: 'node_network_average_received_packet_length', type: 'GAUGE', value: 1000 },
  ],
  output_ml_metrics: [{ name: 'node_network_power_consumption_wats', type: 'GAUGE', value: [power, 20, -0.0008] }],
});

test('an unkeyed ML message is shown under its router (by topic, or by node_exporter on a shared topic)', async () => {
  const experiment = new ExperimentSource(
    normalizeExperiment(
      {
        experiment_id: 'wire',
        flag_original_metrics: false,
        flag_debug_params: false,
        max_throughput_mbps: 100,
        polling_interval: 1,
        multiplier: 1,
        routers: [
          { r1: { topic: 'TD_r1', interfaces: ['eth0'], test_metrics: true } },
          { r2: { topic: 'TD_r2', interfaces: ['eth0'], test_metrics: true } },
        ],
      },
      'inline',
    ),
  );
  const fabric = new MemoryFabric({ retainMessages: 0 });
  const cfg = loadAppConfig(undefined, { '/energy/enabled': false }, {});
  const ui = createUi({ cfg, logger: silentLogger(), experiment, fabric, role: 'test' });
  await ui.hub.start();
  try {
    await fabric.publish({ topic: 'ML_r2', key: '', json: ml('r2', 704.5) });
    const power = (id: string) => ui.hub.routerStates().find((r) => r.id === id)?.state?.power;
    assert.equal(await waitFor(() => power('r2'), 5000, 'the power of r2'), 704.5);
    assert.equal(power('r1'), undefined);
    assert.equal(ui.hub.routerStates().some((r) => r.id === ''), false, 'no router under the empty key');
  } finally {
    await ui.hub.stop?.();
    await fabric.close();
  }
});

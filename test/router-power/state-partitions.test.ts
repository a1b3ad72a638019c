/**
 * Which routers an assignment owns and which state partitions hold them (state-partitions.ts),
 * on the in-process bus with the partition counts a Kafka broker would report.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { partitionOf } from '../../src/fabric/partitioner.js';
import { ExperimentSource, normalizeExperiment } from '../../src/router-power/experiment.js';
import { StatePartitions } from '../../src/router-power/processor/state-partitions.js';

const routers = Array.from({ length: 30 }, (_, i) => `r${i}`);
const experiment = new ExperimentSource(
  normalizeExperiment(
    {
      experiment_id: 'x',
      flag_original_metrics: false,
      flag_debug_params: false,
      max_throughput_mbps: 100,
      polling_interval: 1,
      multiplier: 1,
      // r0…r19 share TD; r20…r29 have a topic each
      routers: routers.map((id, i) => ({ [id]: { topic: i < 20 ? 'TD' : `TD_${id}`, interfaces: ['eth2'], test_metrics: true } })),
    },
    'test',
  ),
);

/** The bus, but reporting these partition counts (as Kafka's metadata would). */
function fabricWith(counts: Record<string, number>) {
  const bus = new MemoryFabric();
  return Object.assign(Object.create(bus) as MemoryFabric, {
    partitionsOf: async (topics: readonly string[]) => new Map(topics.filter((t) => counts[t]).map((t) => [t, counts[t]!])),
  });
}

test('a shared topic of 8 partitions: the assigned partitions own the routers the partitioner puts there; co-partitioned state', async () => {
  const sp = new StatePartitions({ fabric: fabricWith({ TD: 8, state: 8 }), experiment, stateTopic: 'state' });
  await sp.learn(['TD']);
  const owned = sp.routersOf([{ topic: 'TD', partition: 2 }, { topic: 'TD', partition: 5 }]);
  assert.deepEqual([...owned].sort(), routers.slice(0, 20).filter((id) => [2, 5].includes(partitionOf(id, 8))).sort());
  assert.deepEqual(sp.stateOf(owned), [...new Set([...owned].map((id) => partitionOf(id, 8)))].sort());
  assert.ok(sp.stateOf(owned).every((p) => p === 2 || p === 5), 'same counts: TD partition p ↔ state partition p');
  // every partition: every router of the topic
  assert.equal(sp.routersOf(Array.from({ length: 8 }, (_, partition) => ({ topic: 'TD', partition }))).size, 20);
});

test('per-router topics (1 partition): the topic’s router; a state topic of another count is computed from the ids', async () => {
  const sp = new StatePartitions({ fabric: fabricWith({ TD_r21: 1, TD_r22: 1, state: 3 }), experiment, stateTopic: 'state' });
  await sp.learn(['TD_r21', 'TD_r22']);
  const owned = sp.routersOf([{ topic: 'TD_r21', partition: 0 }, { topic: 'TD_r22', partition: 0 }]);
  assert.deepEqual([...owned], ['r21', 'r22']);
  assert.equal(sp.stateCount, 3);
  assert.deepEqual(sp.stateOf(owned), [...new Set([partitionOf('r21', 3), partitionOf('r22', 3)])].sort());
});

test('an old 1-partition state topic (or one not there yet): partition 0', async () => {
  const sp = new StatePartitions({ fabric: fabricWith({ TD: 8 }), experiment, stateTopic: 'state' });
  await sp.learn(['TD']);
  assert.equal(sp.stateCount, 1);
  assert.deepEqual(sp.stateOf(routers), [0]);
  const bus = new StatePartitions({ fabric: new MemoryFabric(), experiment, stateTopic: 'state' });
  await bus.learn(['TD']);
  assert.deepEqual([...bus.routersOf([{ topic: 'TD', partition: 0 }])].sort(), routers.slice(0, 20).sort(), 'the in-process bus: one partition, all its routers');
  assert.deepEqual(bus.stateOf(routers), [0]);
  assert.equal(bus.routersOf([{ topic: 'unknown', partition: 0 }]).size, 0);
});

/**
 * The processor's partitioned state on the real broker (KAFKA_BROKERS; skipped without it, a
 * failure under CI=true): a processor reads only the state partitions of the routers it owns and
 * restores exactly their last messages; on a shared TD topic two members split the partitions and
 * each restores its own; two pipelines with their own state topic and group names do not
 * interfere; a 1-partition state topic left by an older version keeps working.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { silentLogger } from '../../src/core/logger.js';
import type { Fabric, IncomingMessage, ReadAllOptions } from '../../src/fabric/fabric.js';
import { createKafkaFabric, type KafkaFabric } from '../../src/fabric/kafka/kafka-fabric.js';
import { partitionOf } from '../../src/fabric/partitioner.js';
import type { TpMessage } from '../../src/router-power/messages.js';
import { createProcessor } from '../../src/router-power/processor/processor.js';
import { deleteKafkaRun } from '../helpers/kafka-cleanup.js';
import { overriding } from '../helpers/overriding.js';
import { runExperiment } from './helpers.js';
import { service } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const kafka = service('KAFKA_BROKERS', 'Kafka broker');
const brokers = kafka.value.split(',').map((b) => b.trim()).filter(Boolean);
const run = `wfstate-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const PATIENCE = 45_000;
const BASE = 1_700_000_000;

const fabrics: KafkaFabric[] = [];
function openFabric(): KafkaFabric {
  const f = createKafkaFabric({
    brokers,
    clientId: `${run}-c${fabrics.length}`,
    logger: silentLogger(),
    consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 6_000, maxWaitTimeMs: 200, retryInitialMs: 50, retryMaxMs: 400 },
  });
  fabrics.push(f);
  return f;
}

interface Read {
  topic: string;
  partitions: number[] | undefined;
  keys: string[];
}

/** The fabric with its readAll calls recorded (topic, partitions asked for, keys returned); the rest goes to `f` itself. */
function spied(f: Fabric): { fabric: Fabric; reads: Read[] } {
  const reads: Read[] = [];
  const readAll = async (topic: string, options?: ReadAllOptions): Promise<IncomingMessage[]> => {
    const got = await f.readAll(topic, options);
    reads.push({ topic, partitions: options?.partitions ? [...options.partitions] : undefined, keys: got.map((m) => m.key) });
    return got;
  };
  return { fabric: overriding(f, { readAll }), reads };
}

const experiment = (name: string, routers: string[], tdTopic: (id: string) => string) => runExperiment(run, name, routers, tdTopic);

/** Poll k of a router at 1 Mbit/s, 500 B/packet (bytes += 125,000 and packets += 250 a second). */
function td(id: string, k: number, at = BASE + k): Record<string, unknown> {
  const counter = (name: string, value: number) => ({ name, description: '', type: 'counter', values: [{ labels: [{ name: 'device', value: 'eth2' }], value: String(value) }] });
  return {
    node_exporter: `${id}:9100`,
    epoch_timestamp: `${at}.0`,
    experiment_id: run,
    interfaces: ['eth2'],
    flag_debug_params: false,
    metrics: [counter('node_network_receive_bytes_total', 125_000 * (k + 1)), counter('node_network_receive_packets_total', 250 * (k + 1))],
  };
}

/**
 * The state a processor would have left: per router an old record (far in the past: pairing with
 * it would be dropped as a gap) and then its last message, poll 1.
 */
async function seedState(f: Fabric, stateTopic: string, routers: string[]): Promise<void> {
  await f.publishBatch(routers.map((id) => ({ topic: stateTopic, key: id, json: td(id, 0, BASE - 1000) })));
  await f.publishBatch(routers.map((id) => ({ topic: stateTopic, key: id, json: td(id, 1) })));
}

/** Every TP message of a router's topic, once there are `n`. */
const tpOf = (f: Fabric, topic: string, n: number) =>
  waitFor(async () => {
    const msgs = await f.readAll(topic);
    return msgs.length >= n ? msgs : undefined;
  }, PATIENCE, `${n} TP messages on ${topic}`);

const mbps = (m: IncomingMessage) => (JSON.parse(m.value) as TpMessage).input_ml_metrics.find((x) => x.name === 'node_network_receive_bytes_total_rate')!.value;

const routerIds = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}_${run}`);

describe('processor state on Kafka: partitioned, restored per owned partition', { skip: kafka.skip, timeout: 240_000 }, () => {
  after(async () => {
    await Promise.allSettled(fabrics.map((f) => f.close()));
    await deleteKafkaRun(brokers, run);
  });

  it('a processor owning 5 of 40 routers reads only their state partitions and restores exactly their last messages', async () => {
    const base = openFabric();
    const stateTopic = `${run}.a.state`;
    const all = routerIds(40, 'a');
    const owned = all.slice(0, 5);
    await base.ensureTopics([{ name: stateTopic, compacted: true, partitions: 8 }]);
    await seedState(base, stateTopic, all);
    const { fabric, reads } = spied(base);
    const p = createProcessor({ fabric, experiment: experiment('a', owned, (id) => `${run}.TD_${id}`), logger: silentLogger(), group: `${run}.a.g`, stateTopic, statePartitions: 8 });
    await p.start!();
    try {
      await waitFor(() => p.stateSize() === owned.length, PATIENCE, 'the owned routers restored');
      const stateReads = reads.filter((r) => r.topic === stateTopic);
      const needed = new Set(owned.map((id) => partitionOf(id, 8)));
      const read = new Set(stateReads.flatMap((r) => r.partitions ?? [0, 1, 2, 3, 4, 5, 6, 7]));
      assert.deepEqual([...read].sort(), [...needed].sort(), 'exactly the state partitions of the owned routers');
      assert.ok(needed.size < 8, `the 5 routers leave some of the 8 partitions unread (${needed.size} read)`);
      // what came back: the latest record of every router in those partitions, no other
      const fetched = stateReads.flatMap((r) => r.keys);
      assert.deepEqual(fetched.sort(), all.filter((id) => needed.has(partitionOf(id, 8))).sort());
      assert.ok(fetched.length < all.length, `${fetched.length} of ${all.length} records fetched`);
      // the restored message is each router's last (poll 1): poll 2 pairs with it at 1 Mbit/s
      // (paired with the old record, the 1000 s gap would drop the pair)
      await base.publishBatch(owned.map((id) => ({ topic: `${run}.TD_${id}`, key: id, json: td(id, 2) })));
      for (const id of owned) {
        const [tp] = await tpOf(base, `${run}.a.TP_${id}`, 1);
        assert.ok(Math.abs(mbps(tp!) - 1) < 1e-9, `${id}: 1 Mbit/s from the restored poll 1`);
      }
    } finally {
      await p.stop!();
    }
  });

  it('a shared TD topic of 8 partitions: two members split it, each restores only its partitions, a revoke drops only the moved routers', async () => {
    const base = openFabric();
    const stateTopic = `${run}.s.state`;
    const tdTopic = `${run}.s.TD`;
    const routers = routerIds(40, 's');
    await base.ensureTopics([{ name: tdTopic, partitions: 8 }, { name: stateTopic, compacted: true, partitions: 8 }]);
    await seedState(base, stateTopic, routers);
    const source = () => experiment('s', routers, () => tdTopic);
    const a = spied(openFabric());
    const b = spied(openFabric());
    const group = `${run}.s.g`;
    const pa = createProcessor({ fabric: a.fabric, experiment: source(), logger: silentLogger(), group, stateTopic, statePartitions: 8 });
    const pb = createProcessor({ fabric: b.fabric, experiment: source(), logger: silentLogger(), group, stateTopic, statePartitions: 8 });
    await pa.start!();
    try {
      await waitFor(() => pa.stateSize() === routers.length, PATIENCE, 'A owns and restored all 40');
      await pb.start!();
      await waitFor(() => pb.stateSize() > 0 && pa.stateSize() + pb.stateSize() === routers.length, PATIENCE, 'A and B split the routers');
      // B read the state partitions equal to the TD partitions it got (the counts match: co-partitioned)
      const bRead = b.reads.filter((r) => r.topic === stateTopic);
      const bParts = new Set(bRead.flatMap((r) => r.partitions!));
      const bRouters = routers.filter((id) => bParts.has(partitionOf(id, 8)));
      assert.equal(pb.stateSize(), bRouters.length, 'B restored exactly the routers of its partitions');
      assert.ok(bParts.size < 8);
      assert.deepEqual(bRead.flatMap((r) => r.keys).sort(), bRouters.sort(), 'B fetched only its routers’ records');
      // A kept the routers of the partitions it still owns: the two sets add up to all 40
      assert.equal(pa.stateSize(), routers.length - bRouters.length);
      // every router pairs its next poll with the restored/kept one: 40 right rates, none dropped
      await base.publishBatch(routers.map((id) => ({ topic: tdTopic, key: id, json: td(id, 2) })));
      for (const id of routers) {
        const [tp] = await tpOf(base, `${run}.s.TP_${id}`, 1);
        assert.ok(Math.abs(mbps(tp!) - 1) < 1e-9, id);
      }
      // B leaves: A takes its partitions back, restoring their routers
      const aReadsBefore = a.reads.length;
      await pb.stop!();
      await waitFor(() => pa.stateSize() === routers.length, PATIENCE, 'A owns all 40 again');
      const back = new Set(a.reads.slice(aReadsBefore).filter((r) => r.topic === stateTopic).flatMap((r) => r.partitions!));
      assert.deepEqual([...back].sort(), [...bParts].sort(), 'A read back just the partitions B had');
    } finally {
      await pb.stop!();
      await pa.stop!();
    }
  });

  it('two pipelines with their own state topic and group names on one broker do not interfere', async () => {
    const base = openFabric();
    const routers = routerIds(3, 'p');
    const tdTopic = (id: string) => `${run}.p.TD_${id}`;
    const names = [1, 2].map((i) => ({ pipeline: `p${i}`, stateTopic: `${run}.p${i}.state`, group: `${run}.p${i}.processor` }));
    const procs = names.map((n) =>
      createProcessor({ fabric: openFabric(), experiment: experiment(n.pipeline, routers, tdTopic), logger: silentLogger(), group: n.group, stateTopic: n.stateTopic, statePartitions: n.pipeline === 'p1' ? 4 : 2 }),
    );
    for (const p of procs) await p.start!();
    try {
      for (let k = 0; k < 4; k++) await base.publishBatch(routers.map((id) => ({ topic: tdTopic(id), key: id, json: td(id, k) })));
      // each pipeline (its own group) sees every message: 4 polls → 3 pairs per router, in its own TP topics
      for (const n of names) {
        for (const id of routers) {
          const tps = await tpOf(base, `${run}.${n.pipeline}.TP_${id}`, 3);
          assert.equal(new Set(tps.map((m) => (JSON.parse(m.value) as TpMessage).epoch_timestamp)).size, 3, `${n.pipeline} ${id}`);
          assert.ok(tps.every((m) => Math.abs(mbps(m) - 1) < 1e-9));
        }
      }
      // each state topic is its own, with its configured partitions, holding each router's last poll
      const counts = await base.partitionsOf(names.map((n) => n.stateTopic));
      assert.deepEqual(names.map((n) => counts.get(n.stateTopic)), [4, 2]);
      for (const n of names) {
        const state = await base.readAll(n.stateTopic);
        assert.deepEqual(state.map((m) => m.key).sort(), [...routers].sort());
        assert.ok(state.every((m) => (m.value.includes(`"epoch_timestamp":"${BASE + 3}.0"`))), `${n.stateTopic}: the last poll per router`);
      }
      const admin = new Admin({ clientId: `${run}-groups`, bootstrapBrokers: brokers });
      try {
        const groups = new Set((await admin.listGroups()).keys());
        for (const n of names) assert.ok(groups.has(n.group), `group ${n.group} in use`);
      } finally {
        await admin.close();
      }
    } finally {
      for (const p of procs) await p.stop!();
    }
  });

  it('upgrade: a 1-partition state topic from an older version is used as it is (read, written, restored)', async () => {
    const base = openFabric();
    const stateTopic = `${run}.u.state`;
    const routers = routerIds(6, 'u');
    await base.ensureTopics([{ name: stateTopic, compacted: true, partitions: 1 }]);
    await seedState(base, stateTopic, routers);
    const { fabric, reads } = spied(base);
    const source = experiment('u', routers, (id) => `${run}.TD_${id}`);
    let p = createProcessor({ fabric, experiment: source, logger: silentLogger(), group: `${run}.u.g`, stateTopic, statePartitions: 8 });
    await p.start!();
    try {
      await waitFor(() => p.stateSize() === routers.length, PATIENCE, 'restored from the 1-partition topic');
      assert.equal((await base.partitionsOf([stateTopic])).get(stateTopic), 1, 'the existing topic keeps its one partition');
      assert.ok(reads.filter((r) => r.topic === stateTopic).every((r) => r.partitions?.join() === '0'));
      await base.publishBatch(routers.map((id) => ({ topic: `${run}.TD_${id}`, key: id, json: td(id, 2) })));
      for (const id of routers) assert.ok(Math.abs(mbps((await tpOf(base, `${run}.u.TP_${id}`, 1))[0]!) - 1) < 1e-9);
      // a restart (new process) restores poll 2, which this processor wrote to the same topic
      await p.stop!();
      p = createProcessor({ fabric: openFabric(), experiment: source, logger: silentLogger(), group: `${run}.u.g`, stateTopic, statePartitions: 8 });
      await p.start!();
      await waitFor(() => p.stateSize() === routers.length, PATIENCE, 'restored after the restart');
      await base.publishBatch(routers.map((id) => ({ topic: `${run}.TD_${id}`, key: id, json: td(id, 3) })));
      for (const id of routers) {
        const tps = await tpOf(base, `${run}.u.TP_${id}`, 2);
        assert.ok(tps.every((m) => Math.abs(mbps(m) - 1) < 1e-9), id);
      }
      const state = await base.readAll(stateTopic);
      assert.ok(state.every((m) => m.partition === 0 && m.value.includes(`"epoch_timestamp":"${BASE + 3}.0"`)));
    } finally {
      await p.stop!();
    }
  });
});

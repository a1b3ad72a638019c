/**
 * The names on the broker are settings (network.stateTopic, statePartitions and the consumer
 * groups): defaults are the historical names, other valid names are taken, and a bad value is
 * refused with an error naming the key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadAppConfig } from '../../src/app-config.js';
import { ConfigError } from '../../src/core/config.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Fabric, SubscribeOptions, TopicSpec } from '../../src/fabric/fabric.js';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { networkComponents } from '../../src/roles/network.js';
import { ExperimentSource, loadExperiment } from '../../src/router-power/experiment.js';

test('defaults: the names used before they were settings', () => {
  const n = loadAppConfig(undefined, undefined, {}).network;
  assert.equal(n.stateTopic, 'wattflow_processor_state');
  assert.equal(n.statePartitions, undefined);
  assert.equal(n.processorGroup, 'wattflow-processor');
  assert.equal(n.inferenceGroup, 'wattflow-inference');
  assert.equal(n.storeSinkGroup, 'wattflow-store-sink');
  assert.equal(n.influxSinkGroup, 'wattflow-influx-sink');
});

test('a second pipeline names its own topic and groups (file and environment)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-state-config-'));
  const file = join(dir, 'b.yaml');
  writeFileSync(file, 'network:\n  stateTopic: b.processor_state\n  statePartitions: 12\n  processorGroup: b-processor\n  inferenceGroup: b-inference\n');
  const n = loadAppConfig(file, undefined, { WATTFLOW__network__storeSinkGroup: 'b-store', WATTFLOW__network__influxSinkGroup: 'b_influx' }).network;
  assert.deepEqual(
    [n.stateTopic, n.statePartitions, n.processorGroup, n.inferenceGroup, n.storeSinkGroup, n.influxSinkGroup],
    ['b.processor_state', 12, 'b-processor', 'b-inference', 'b-store', 'b_influx'],
  );
});

test('a bad value is refused with the key named', () => {
  const refused = (env: Record<string, string>, path: string, reason: RegExp) =>
    assert.throws(
      () => loadAppConfig(undefined, undefined, env),
      (err: unknown) => err instanceof ConfigError && err.path === path && reason.test(err.reason) && err.message.includes(path),
    );
  refused({ WATTFLOW__network__stateTopic: 'my state' }, '/network/stateTopic', /pattern/);
  refused({ WATTFLOW__network__stateTopic: 'x'.repeat(250) }, '/network/stateTopic', /more than 249/);
  refused({ WATTFLOW__network__statePartitions: '0' }, '/network/statePartitions', />= 1/);
  refused({ WATTFLOW__network__statePartitions: 'eight' }, '/network/statePartitions', /integer/);
  refused({ WATTFLOW__network__processorGroup: '' }, '/network/processorGroup', /fewer than 1/);
  refused({ WATTFLOW__network__inferenceGroup: 'a/b' }, '/network/inferenceGroup', /pattern/);
  refused({ WATTFLOW__network__storeSinkGroup: 'a b' }, '/network/storeSinkGroup', /pattern/);
  refused({ WATTFLOW__network__influxSinkGroup: 'é' }, '/network/influxSinkGroup', /pattern/);
});

test('the roles pass the names to the stages; statePartitions follows fabric.kafka.partitions when above 1, else 8', async () => {
  const exp = new ExperimentSource({ ...loadExperiment(new URL('../../config/default-experiment.json', import.meta.url).pathname), source: '' });
  const run = async (overrides: Record<string, unknown>) => {
    const bus = new MemoryFabric();
    const groups: string[] = [];
    const specs: TopicSpec[] = [];
    const fabric = Object.assign(Object.create(bus) as Fabric, {
      subscribe: (o: SubscribeOptions) => (groups.push(o.group), bus.subscribe(o)),
      ensureTopics: (t: TopicSpec[]) => (specs.push(...t), bus.ensureTopics(t)),
    });
    const components = await networkComponents(loadAppConfig(undefined, overrides, {}), silentLogger(), fabric, exp, { processor: true, inference: true });
    for (const c of components) await c.start?.();
    for (const c of [...components].reverse()) await c.stop?.();
    await bus.close();
    return { groups: groups.sort(), state: specs.filter((s) => s.compacted && /state/.test(s.name)) };
  };
  const named = await run({ '/network/stateTopic': 'b.state', '/network/processorGroup': 'b-processor', '/network/inferenceGroup': 'b-inference', '/fabric/kafka/partitions': 12 });
  assert.deepEqual(named.groups.filter((g) => g.startsWith('b-')), ['b-inference', 'b-processor']);
  assert.deepEqual(named.state, [{ name: 'b.state', compacted: true, partitions: 12 }]);
  const defaults = await run({});
  assert.ok(defaults.groups.includes('wattflow-processor') && defaults.groups.includes('wattflow-inference'), defaults.groups.join());
  assert.deepEqual(defaults.state, [{ name: 'wattflow_processor_state', compacted: true, partitions: 8 }]);
  assert.deepEqual((await run({ '/network/statePartitions': 3, '/fabric/kafka/partitions': 12 })).state[0]!.partitions, 3);
});

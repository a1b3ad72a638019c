/** The topic layout: large one-topic-per-router experiments move to shared topics unless told not to; config is checked. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeExperiment, stageTopics } from '../../src/router-power/experiment.js';
import { applyTopicLayout, type TopicLayoutConfig } from '../../src/router-power/topic-layout.js';
import { experimentFor } from '../../src/router-power/demo-experiment.js';
import { loadAppConfig } from '../../src/app-config.js';
import { captureLogger } from '../helpers/capture-logger.js';

const raw = (n: number, topic: (i: number) => string = (i) => `TD_r${i}`) => ({
  experiment_id: 'layout',
  flag_original_metrics: false,
  flag_debug_params: false,
  max_throughput_mbps: 100,
  polling_interval: 1,
  multiplier: 1,
  topics: { processed: 'TP_{router}', predictions: 'ML_{router}' },
  routers: Array.from({ length: n }, (_, i) => ({ [`r${i}`]: { topic: topic(i), interfaces: ['eth2'], test_metrics: true } })),
});
const cfg = (over: Partial<TopicLayoutConfig> = {}): TopicLayoutConfig => ({
  topicLayout: 'auto',
  sharedTopicsFrom: 200,
  sharedTopics: { raw: 'TD', processed: 'TP', predictions: 'ML' },
  ...over,
});

test('auto: below sharedTopicsFrom the experiment keeps its per-router topics (the reference setup)', () => {
  const exp = normalizeExperiment(raw(199), 't');
  const d = applyTopicLayout(exp, cfg());
  assert.equal(d.shared, false);
  assert.equal(d.experiment, exp, 'the same experiment, untouched');
  assert.deepEqual(stageTopics(d.experiment, 'TD').slice(0, 2), ['TD_r0', 'TD_r1']);
  assert.equal(d.experiment.tpTopic('r1'), 'TP_r1');
});

test('auto: from sharedTopicsFrom routers on, one topic per stage keyed by router id', () => {
  const exp = normalizeExperiment(raw(200), 't');
  const d = applyTopicLayout(exp, cfg());
  assert.equal(d.shared, true);
  assert.deepEqual(stageTopics(d.experiment, 'TD'), ['TD']);
  assert.deepEqual(stageTopics(d.experiment, 'TP'), ['TP']);
  assert.deepEqual(stageTopics(d.experiment, 'ML'), ['ML']);
  assert.equal(d.experiment.routers.length, 200, 'every router kept');
  assert.deepEqual(d.experiment.routers[5], { ...exp.routers[5], topic: 'TD' }, 'only the topic changes');
  assert.match(d.why, /200 routers ≥ network.sharedTopicsFrom \(200\).*as-configured keeps/);
  assert.equal(exp.routers[5]!.topic, 'TD_r5', 'the experiment as written is not modified');
});

test('auto: an experiment that already shares topics (or names its own layout) is left as written', () => {
  const exp = normalizeExperiment(raw(300, (i) => `TD_${i % 10}`), 't');
  const d = applyTopicLayout(exp, cfg());
  assert.equal(d.shared, false);
  assert.equal(stageTopics(d.experiment, 'TD').length, 10);
});

test('as-configured keeps the reference names at any size; shared always shares, with the configured names', () => {
  const big = normalizeExperiment(raw(1000), 't');
  assert.equal(applyTopicLayout(big, cfg({ topicLayout: 'as-configured' })).experiment, big);
  const small = normalizeExperiment(raw(3), 't');
  const d = applyTopicLayout(small, cfg({ topicLayout: 'shared', sharedTopics: { raw: 'a_TD', processed: 'a_TP', predictions: 'a_ML' } }));
  assert.deepEqual([stageTopics(d.experiment, 'TD'), stageTopics(d.experiment, 'TP'), stageTopics(d.experiment, 'ML')], [['a_TD'], ['a_TP'], ['a_ML']]);
});

test('experimentFor applies the layout to the file and to every reload, and logs the switch once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-layout-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(raw(250)));
  const { logger, lines } = captureLogger();
  const source = experimentFor({ experiment: file, watch: false, ...cfg() }, logger);
  assert.deepEqual(stageTopics(source.current, 'TD'), ['TD']);
  await source.reload();
  assert.deepEqual(stageTopics(source.current, 'TD'), ['TD'], 'still shared after a reload');
  assert.equal(lines.filter((l) => String(l.msg).startsWith('topic layout:')).length, 1, 'the switch is logged once, not on every reload');
  writeFileSync(file, JSON.stringify(raw(7)));
  await source.reload();
  assert.deepEqual(stageTopics(source.current, 'TD').length, 7, 'a reload below the threshold goes back to the experiment topics');
  source.close();
});

test('config: topicLayout and sharedTopicsFrom are checked, naming the key', () => {
  assert.equal(loadAppConfig(undefined, undefined, {}).network.topicLayout, 'auto');
  assert.equal(loadAppConfig(undefined, undefined, {}).network.sharedTopicsFrom, 100);
  assert.deepEqual(loadAppConfig(undefined, undefined, {}).network.sharedTopics, { raw: 'TD', processed: 'TP', predictions: 'ML' });
  assert.throws(() => loadAppConfig(undefined, { '/network/topicLayout': 'per-router' }, {}), /\/network\/topicLayout: must be one of/);
  assert.throws(() => loadAppConfig(undefined, { '/network/sharedTopicsFrom': 0 }, {}), /\/network\/sharedTopicsFrom/);
});

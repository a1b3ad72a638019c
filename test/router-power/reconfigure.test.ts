import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryFabric } from '../../src/fabric/memory/memory-fabric.js';
import { ExperimentSource } from '../../src/router-power/experiment.js';
import { createProducer } from '../../src/router-power/producer/producer.js';
import type { TdMessage } from '../../src/router-power/messages.js';
import { silentLogger } from '../../src/core/logger.js';
import { BUNDLED_TEST_METRICS_DIR } from '../../src/router-power/experiment.js';

function experimentJson(opts: { id: string; interval: number; routers: Record<string, string[]> }) {
  return JSON.stringify({
    experiment_id: opts.id,
    flag_original_metrics: false,
    flag_debug_params: true,
    max_throughput_mbps: 100,
    polling_interval: opts.interval,
    multiplier: 1,
    test_metrics_dir: BUNDLED_TEST_METRICS_DIR,
    routers: Object.entries(opts.routers).map(([id, interfaces]) => ({ [id]: { topic: `TD_${id}`, interfaces, test_metrics: true } })),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a changed experiment file adds and removes routers, changes interfaces, interval and experiment id — without a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-reconf-'));
  const file = join(dir, 'experiment.json');
  writeFileSync(file, experimentJson({ id: 'one', interval: 0.2, routers: { r1: ['eth2'] } }));
  const errors: Error[] = [];
  const source = ExperimentSource.fromFile(file, (e) => errors.push(e));
  source.watch();
  const fabric = new MemoryFabric();
  const producer = createProducer({ fabric, experiment: source, logger: silentLogger() });
  await producer.start!();
  try {
    await sleep(700);
    assert.ok((await fabric.readAll('TD_r1')).length >= 2);
    assert.equal((await fabric.readAll('TD_r2')).length, 0);

    // an invalid version is rejected and the running experiment kept
    writeFileSync(file, '{"experiment_id": 5}');
    await sleep(500);
    assert.ok(errors.length >= 1 && /invalid configuration in .*experiment\.json/.test(errors.at(-1)!.message), `the invalid change is reported (${errors.map((e) => e.message).join('; ')})`);
    assert.equal(source.current.experimentId, 'one');

    // an editor-style replace (write elsewhere, rename over) with the new version
    const tmp = join(dir, 'experiment.json.tmp');
    writeFileSync(tmp, experimentJson({ id: 'two', interval: 0.1, routers: { r2: ['eth2', 'eth3'], r3: ['eth1'] } }));
    renameSync(tmp, file);
    await sleep(300);
    assert.equal(source.current.experimentId, 'two');
    const r1Before = (await fabric.readAll('TD_r1')).length;
    await sleep(700);
    assert.ok((await fabric.readAll('TD_r1')).length <= r1Before + 1, 'r1 is no longer polled');
    const r2 = (await fabric.readAll('TD_r2')).map((m) => m.json as TdMessage);
    assert.ok(r2.length >= 4, `r2 polled ${r2.length} times`);
    const last = r2.at(-1)!;
    assert.equal(last.experiment_id, 'two');
    assert.deepEqual(last.interfaces, ['eth2', 'eth3']);
    assert.equal(last.debug_params!.polling_interval, 0.1);
    const gaps = r2.slice(1).map((m, i) => Number(m.epoch_timestamp) - Number(r2[i]!.epoch_timestamp));
    for (const g of gaps) assert.ok(Math.abs(g - 0.1) < 1e-6, `polled every 0.1 s (gap ${g})`);
    assert.ok((await fabric.readAll('TD_r3')).length >= 4);
  } finally {
    await producer.stop!();
    source.close();
  }
});

test('SIGHUP-style reload re-reads the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-hup-'));
  const file = join(dir, 'experiment.json');
  writeFileSync(file, experimentJson({ id: 'a', interval: 5, routers: { r1: ['eth2'] } }));
  const source = ExperimentSource.fromFile(file);
  const seen: string[] = [];
  source.onChange((e) => void seen.push(e.experimentId));
  writeFileSync(file, experimentJson({ id: 'b', interval: 5, routers: { r1: ['eth2'] } }));
  await source.reload();
  assert.deepEqual(seen, ['b']);
  assert.equal(source.current.experimentId, 'b');
});

/**
 * Hot reload of the experiment under Kubernetes: a ConfigMap volume is updated by the kubelet's
 * AtomicWriter, which never writes the file itself. This test reproduces its layout and its
 * swap on disk:
 *
 *   <dir>/..2026_05_01_10_00_00.000000001/config.json   the files of one version
 *   <dir>/..data -> ..2026_05_01_10_00_00.000000001      the current version
 *   <dir>/config.json -> ..data/config.json               what the pod reads (never changes)
 *
 * An update writes a new timestamped directory, points `..data_tmp` at it, renames `..data_tmp`
 * over `..data` (one atomic rename(2) of a symlink) and removes the old directory. The watcher
 * (src/router-power/experiment.ts) must see the new experiment, keep the old one on an invalid
 * version, and not re-apply an unchanged one (the kubelet's periodic resync).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLED_TEST_METRICS_DIR, ExperimentSource } from '../../src/router-power/experiment.js';
import { waitFor } from '../helpers/wait-for.js';

function experimentJson(id: string, routers: string[]): string {
  return JSON.stringify({
    experiment_id: id,
    flag_original_metrics: false,
    flag_debug_params: true,
    max_throughput_mbps: 100,
    polling_interval: 5,
    multiplier: 1,
    test_metrics_dir: BUNDLED_TEST_METRICS_DIR,
    routers: routers.map((r) => ({ [r]: { topic: `TD_${r}`, interfaces: ['eth2'], test_metrics: true } })),
  });
}

/** The kubelet's AtomicWriter, as far as the files on disk go. */
class ConfigMapVolume {
  private seq = 0;
  private current: string | undefined;
  constructor(readonly dir: string) {}

  private tsDir(): string {
    this.seq += 1;
    return `..2026_05_01_10_00_${String(this.seq).padStart(2, '0')}.${String(this.seq).padStart(9, '0')}`;
  }

  /** Writes a new version of the volume's files and swaps `..data` to it. */
  write(files: Record<string, string>): void {
    const ts = this.tsDir();
    mkdirSync(join(this.dir, ts));
    for (const [name, content] of Object.entries(files)) writeFileSync(join(this.dir, ts, name), content);
    const tmp = join(this.dir, '..data_tmp');
    symlinkSync(ts, tmp);
    renameSync(tmp, join(this.dir, '..data')); // atomic: readers see the old or the new version
    // the user-visible names are created once, as symlinks through ..data
    for (const name of Object.keys(files)) {
      try {
        symlinkSync(join('..data', name), join(this.dir, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    if (this.current) rmSync(join(this.dir, this.current), { recursive: true, force: true });
    this.current = ts;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


test('a ConfigMap update (kubelet ..data symlink swap) reaches the experiment watcher; invalid versions are kept out; a resync with the same content is not re-applied', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-configmap-'));
  const volume = new ConfigMapVolume(dir);
  volume.write({ 'config.json': experimentJson('one', ['r1']), 'README': 'other key of the ConfigMap' });
  assert.equal(readlinkSync(join(dir, 'config.json')), join('..data', 'config.json'));

  const errors: Error[] = [];
  const source = ExperimentSource.fromFile(join(dir, 'config.json'), (e) => errors.push(e));
  const seen: string[] = [];
  source.onChange((e) => void seen.push(e.experimentId));
  source.watch();
  try {
    assert.equal(source.current.experimentId, 'one');

    // 1. a new version: routers added, id changed
    volume.write({ 'config.json': experimentJson('two', ['r1', 'r2', 'r3']), 'README': 'other key of the ConfigMap' });
    await waitFor(() => source.current.experimentId === 'two', 3000, 'experiment "two" after the ..data swap');
    assert.deepEqual(source.current.routers.map((r) => r.id), ['r1', 'r2', 'r3']);
    assert.equal(errors.length, 0, errors.map((e) => e.message).join('; '));

    // 2. the kubelet's resync writes the same content again (a new ..data target): not re-applied
    volume.write({ 'config.json': experimentJson('two', ['r1', 'r2', 'r3']), 'README': 'changed, but not the experiment' });
    await sleep(600);
    assert.deepEqual(seen, ['two'], 'an unchanged experiment is not applied again');

    // 3. an invalid version is reported and the running experiment kept
    volume.write({ 'config.json': '{"experiment_id": 7}', 'README': 'x' });
    await waitFor(() => errors.length > 0, 3000, 'the invalid version to be reported');
    assert.match(errors.at(-1)!.message, /invalid configuration in .*config\.json/);
    assert.equal(source.current.experimentId, 'two');

    // 4. and the next valid version still gets through (the watch survived the swaps)
    volume.write({ 'config.json': experimentJson('three', ['r9']), 'README': 'x' });
    await waitFor(() => source.current.experimentId === 'three', 3000, 'experiment "three"');
    assert.deepEqual(source.current.routers.map((r) => r.id), ['r9']);
    assert.deepEqual(seen, ['two', 'three']);
  } finally {
    source.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

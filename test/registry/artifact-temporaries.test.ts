/**
 * Temporary files of the local artifact store (issue 11, point 6): a registry killed while
 * writing an artifact left its `*.tmp-*` file behind, and it survived every re-upload. Now a
 * registry starting on the directory removes the temp files whose writer is gone (and any older
 * than the grace period), keeps those a live process may still be writing (another registry on
 * the same directory), and a write that fails removes its own temp file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadAppConfig } from '../../src/app-config.js';
import { LocalArtifactStore } from '../../src/registry/artifacts.js';
import { openRegistry } from '../../src/registry/index.js';
import { silent, trained } from './helpers.js';
import { waitFor } from '../helpers/wait-for.js';

const ARTIFACTS_MODULE = fileURLToPath(new URL('../../src/registry/artifacts.ts', import.meta.url));

/** Every file under dir (relative paths). */
function files(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<{ name: string; parentPath?: string; path?: string; isFile(): boolean }>)
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path ?? '', e.name).slice(dir.length + 1))
    .sort();
}
const temps = (dir: string) => files(dir).filter((f) => f.includes('.tmp-'));

/** The pid of a process that has exited (a killed writer's). */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', '']);
    c.once('error', reject);
    c.once('exit', () => resolve(c.pid!));
  });
}


describe('local artifact store: temporary files', () => {
  const dirs: string[] = [];
  const scratch = () => {
    const d = mkdtempSync(join(tmpdir(), 'wattflow-artifact-tmp-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('a registry killed (SIGKILL) while writing a large artifact: the next registry on the directory removes its temp file; the re-upload leaves none', { timeout: 120_000 }, async () => {
    const dir = scratch();
    const artifacts = join(dir, 'artifacts');
    // a process writing a 96 MiB artifact through the store, killed as soon as its temp file exists
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', `const { LocalArtifactStore } = await import(${JSON.stringify(ARTIFACTS_MODULE)});
       await new LocalArtifactStore(${JSON.stringify(artifacts)}).put('ne40/1/model.onnx', new Uint8Array(96 * 1024 * 1024).fill(7));
       console.log('written');`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // (a missing directory: not created yet)
    await waitFor(() => readdirSync(join(artifacts, 'ne40', '1')).some((f) => f.includes('.tmp-')), 60_000, () => `a temp file of the writer (output: ${out})`, {
      intervalMs: 1,
      retryErrors: true,
      gaveUp: () => (child.exitCode !== null ? `the writer exited (${child.exitCode})` : undefined),
    });
    child.kill('SIGKILL');
    await exited;
    const orphans = temps(artifacts);
    assert.equal(orphans.length, 1, 'the killed write left its temp file');
    assert.deepEqual(files(artifacts), orphans, 'and no artifact');

    // a registry starts on the directory: the orphan is gone before anything is written
    const cfg = loadAppConfig(undefined, { '/storage/dir': '', '/registry/artifacts/dir': artifacts }, {});
    const parts = await openRegistry(cfg, silent, undefined);
    try {
      assert.deepEqual(temps(artifacts), [], 'temp files left by the killed registry');
      const a = await trained({ name: 'ne40' });
      const v = await parts.registry.upload('ne40', a.onnx, { metadata: a.metadata, version: '1' });
      assert.equal(v.version, '1');
      assert.deepEqual(files(artifacts), ['ne40/1/metadata.json', 'ne40/1/model.onnx']);
    } finally {
      for (const c of parts.components.reverse()) await c.stop?.();
    }
  });

  test('start() removes the temp files whose writer is gone or that are older than the grace period, and keeps those a live process may still be writing', async () => {
    const dir = scratch();
    const host = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
    const dead = await deadPid();
    const live = process.ppid; // a running process other than this one (the test runner)
    const at = (name: string) => {
      mkdirSync(join(dir, 'm', '1'), { recursive: true });
      writeFileSync(join(dir, 'm', '1', name), 'partial');
      return `m/1/${name}`;
    };
    const old = (rel: string) => {
      const t = new Date(Date.now() - 20 * 60_000);
      utimesSync(join(dir, rel), t, t);
      return rel;
    };
    const removed = [
      at(`model.onnx.tmp-${dead}-${Date.now()}`), // what versions before this fix left (the orphan)
      at(`model.onnx.tmp-${host}-${dead}-0badcafe-1`), // writer gone
      at(`metadata.json.tmp-${host}-${process.pid}-0badcafe-3`), // an earlier process with this pid (containers: pid 1)
      old(at(`model.onnx.tmp-${host}-${live}-12345678-2`)), // live pid, but no write lasts 20 minutes
      old(at(`model.onnx.tmp-0fa11bac-${live}-12345678-9`)), // another host's, old
    ];
    const kept = [
      at(`model.onnx.tmp-${host}-${live}-12345678-4`), // a live process on this host may be writing it
      at(`model.onnx.tmp-0fa11bac-${dead}-12345678-5`), // another host sharing the directory: its pid means nothing here
    ];
    const other = [at('model.onnx'), at('notes.tmp'), at('model.onnx.tmp-x')];
    const store = new LocalArtifactStore(dir);
    const r = await store.start();
    assert.deepEqual(r.removed.map((p) => p.slice(dir.length + 1)).sort(), [...removed].sort());
    assert.deepEqual(r.kept.map((p) => p.slice(dir.length + 1)).sort(), [...kept].sort());
    assert.deepEqual(files(dir), [...kept, ...other].sort());
    // an empty or absent directory is fine
    assert.deepEqual(await new LocalArtifactStore(join(dir, 'absent')).start(), { removed: [], kept: [] });
  });

  test('a write that fails leaves no temp file (and the store keeps working)', async () => {
    const dir = scratch();
    const store = new LocalArtifactStore(dir);
    // the rename onto the artifact path fails: a directory is in the way
    mkdirSync(join(dir, 'm', '1', 'model.onnx', 'x'), { recursive: true });
    await assert.rejects(store.put('m/1/model.onnx', new Uint8Array(1024).fill(1)));
    assert.deepEqual(readdirSync(join(dir, 'm', '1')), ['model.onnx']);
    assert.deepEqual(temps(dir), []);
    await store.put('m/2/model.onnx', new Uint8Array([1, 2, 3]));
    assert.deepEqual(files(dir), ['m/2/model.onnx']);
  });
});

/**
 * `npm start` on an unchanged tree serves without compiling (issue 17: 11–13 s to the first URL,
 * ~10.7 s of it tsc): scripts/build.mjs, run by `npm start`, compiles only when the sources
 * changed (incrementally), and a changed tree is rebuilt. Checked on a one-file project laid out
 * like this one (scripts/build.mjs, src/, tsconfig files, node_modules/typescript).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('../..', import.meta.url).pathname;

test('scripts/build.mjs: first build, no-op when fresh (fast, no tsc), rebuild after a change, an added file or a lost dist/cli.js', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-build-'));
  try {
    mkdirSync(join(dir, 'scripts'));
    mkdirSync(join(dir, 'src'));
    copyFileSync(join(repo, 'scripts', 'build.mjs'), join(dir, 'scripts', 'build.mjs'));
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n');
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'dist', rootDir: '.', types: [] } }));
    writeFileSync(join(dir, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { rootDir: 'src', outDir: 'dist' }, include: ['src'] }));
    writeFileSync(join(dir, 'src', 'cli.ts'), "export const answer: number = 41;\nconsole.log('answer', answer);\n");
    const build = (...args: string[]) => {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [join(dir, 'scripts', 'build.mjs'), ...args], { cwd: dir, encoding: 'utf8' });
      return { ...r, ms: performance.now() - t0 };
    };
    const run = () => spawnSync(process.execPath, [join(dir, 'dist', 'cli.js')], { encoding: 'utf8' }).stdout.trim();

    const first = build();
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /building dist\/ \(first build/);
    assert.equal(run(), 'answer 41');
    assert.equal(build('--check').status, 0, 'fresh after a build');

    const again = build();
    assert.equal(again.status, 0);
    assert.equal(again.stderr, '', 'nothing compiled');
    // compared with the first build on the same machine (a wall-clock bound fails on a loaded one)
    assert.ok(again.ms < first.ms / 2, `a fresh tree is checked in ${again.ms.toFixed(0)} ms, the first build took ${first.ms.toFixed(0)} ms`);

    // a new file → stale
    writeFileSync(join(dir, 'src', 'extra.ts'), 'export const x = 1;\n');
    assert.equal(build('--check').status, 1, 'stale after a new file');
    // an edit (its mtime moves) → stale; one incremental build takes both
    writeFileSync(join(dir, 'src', 'cli.ts'), "export const answer: number = 42;\nconsole.log('answer', answer);\n");
    const later = new Date(Date.now() + 2000);
    utimesSync(join(dir, 'src', 'cli.ts'), later, later);
    assert.equal(build('--check').status, 1, 'stale after an edit');
    const rebuilt = build();
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    assert.match(rebuilt.stderr, /sources changed; tsc --incremental/);
    assert.equal(run(), 'answer 42');
    assert.ok(existsSync(join(dir, 'dist', 'extra.js')));
    assert.equal(build('--check').status, 0);

    // a lost output → stale, and compiled in full (tsc --incremental would not re-emit it)
    unlinkSync(join(dir, 'dist', 'cli.js'));
    assert.equal(build('--check').status, 1, 'stale without dist/cli.js');
    const full = build();
    assert.equal(full.status, 0, full.stderr);
    assert.match(full.stderr, /full build/);
    assert.equal(run(), 'answer 42');
    assert.ok(JSON.parse(readFileSync(join(dir, 'dist', '.build-state.json'), 'utf8')).hash);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npm start runs the freshness check, not a full tsc', () => {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.start!, /^node scripts\/build\.mjs && node dist\/cli\.js up$/);
});

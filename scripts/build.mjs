#!/usr/bin/env node
// Builds dist/ from src/ only when something changed (what `npm start` and `npm run build` run).
//
// Fresh: dist/cli.js exists and dist/.build-state.json records the same fingerprint of the
// inputs — every file under src/ (path, size, mtime), the tsconfig files and the TypeScript
// version — as the current tree; then nothing runs (a few milliseconds; `npm start` on an
// unchanged tree goes straight to the server). Stale: `tsc -p tsconfig.build.json --incremental`
// (dist/.tsbuildinfo), which recompiles only what the change touches, then the state is written
// (a full compile when there is no previous state or dist/cli.js is gone).
//
//   node scripts/build.mjs           build if stale
//   node scripts/build.mjs --force   always compile, everything
//   node scripts/build.mjs --check   exit 0 if fresh, 1 if stale (no build)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const stateFile = join(dist, '.build-state.json');
const args = new Set(process.argv.slice(2));

function walk(dir, out) {
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, ent.name);
    if (ent.isDirectory()) walk(full, out);
    else if (ent.isFile()) out.push(full);
  }
  return out;
}

function fingerprint() {
  const files = walk(join(root, 'src'), []);
  for (const f of ['tsconfig.json', 'tsconfig.build.json']) if (existsSync(join(root, f))) files.push(join(root, f));
  files.sort();
  const h = createHash('sha256');
  for (const f of files) {
    const st = statSync(f);
    h.update(`${relative(root, f)}\0${st.size}\0${st.mtimeMs}\n`);
  }
  try {
    h.update(`typescript ${createRequire(import.meta.url)('typescript/package.json').version}`);
  } catch {
    /* no typescript: tsc reports it below */
  }
  return { hash: h.digest('hex'), files: files.length };
}

function readState() {
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch {
    return undefined;
  }
}

const before = fingerprint();
const state = readState();
const fresh = !args.has('--force') && existsSync(join(dist, 'cli.js')) && state?.hash === before.hash;
if (args.has('--check')) process.exit(fresh ? 0 : 1);
if (fresh) process.exit(0);

const started = performance.now();
// tsc --incremental trusts its .tsbuildinfo and does not re-emit an output file that was
// deleted: without a previous state, without dist/cli.js, or with --force, compile everything
const incremental = state !== undefined && existsSync(join(dist, 'cli.js')) && !args.has('--force');
if (!incremental) rmSync(join(dist, '.tsbuildinfo'), { force: true });
if (!args.has('--quiet')) console.error(`building dist/ (${incremental ? 'sources changed; tsc --incremental' : state ? 'full build' : 'first build'}) …`);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--incremental', '--tsBuildInfoFile', join(dist, '.tsbuildinfo')], {
  cwd: root,
  stdio: 'inherit',
});
if (r.status !== 0) process.exit(r.status ?? 1);
// the fingerprint taken before compiling: a file edited during the build makes the next start rebuild
writeFileSync(stateFile, `${JSON.stringify({ hash: before.hash, files: before.files, builtAt: new Date().toISOString() }, null, 2)}\n`);
if (!args.has('--quiet')) console.error(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);

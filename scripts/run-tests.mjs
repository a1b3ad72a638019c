#!/usr/bin/env node
// Runs every test file under test/ (files ending in .test.ts) with Node's built-in test
// runner, loading TypeScript through tsx. Node 20's `--test` does not discover .ts files by
// itself, hence this small launcher. Extra arguments are passed through (e.g. a file filter:
// `npm test -- collector` runs only test files whose path contains "collector").
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passthrough = process.argv.slice(2).filter((a) => a.startsWith('-'));

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

const files = walk(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((flt) => f.includes(flt)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// the default reporter is Node's spec reporter plus the file of each test and every file's
// duration (scripts/test-reporter.mjs); TEST_REPORTER=spec|tap|dot|junit picks a built-in one
const reporter = process.env.TEST_REPORTER ?? join(root, 'scripts', 'test-reporter.mjs');
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-reporter=${reporter}`, '--test-concurrency=1', ...passthrough, ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, WATTFLOW_LOG_LEVEL: process.env.WATTFLOW_LOG_LEVEL ?? 'silent' } },
);
process.exit(result.status ?? 1);

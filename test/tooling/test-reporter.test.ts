/**
 * The test output names files (issue 17): scripts/test-reporter.mjs, the default reporter of
 * scripts/run-tests.mjs, prints each file before its results, every file's duration and the
 * files with failures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const reporter = new URL('../../scripts/test-reporter.mjs', import.meta.url).pathname;

test('the reporter names the file of every suite, lists file durations and the failing files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-reporter-'));
  try {
    writeFileSync(join(dir, 'good.test.mjs'), "import { test } from 'node:test';\ntest('passes', () => {});\n");
    writeFileSync(
      join(dir, 'bad.test.mjs'),
      "import { describe, test } from 'node:test';\ndescribe('suite', () => { test('ok', () => {}); test('fails', () => { throw new Error('boom'); }); });\n",
    );
    const r = spawnSync(process.execPath, ['--test', `--test-reporter=${reporter}`, '--test-concurrency=1', 'bad.test.mjs', 'good.test.mjs'], {
      cwd: dir,
      encoding: 'utf8',
      // not a subtest of this run: without NODE_TEST_CONTEXT the child runs its files itself
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT' && k !== 'NODE_OPTIONS')),
    });
    assert.equal(r.status, 1, r.stderr);
    const out = r.stdout;
    const bad = out.indexOf('▶ bad.test.mjs');
    const good = out.indexOf('▶ good.test.mjs');
    assert.ok(bad >= 0 && good > bad, out);
    assert.ok(out.indexOf('✖ fails') > bad && out.indexOf('✖ fails') < good, 'a result follows its file');
    assert.match(out, /slowest test files:\n\s+[\d.]+ s {2}(bad|good)\.test\.mjs\n\s+[\d.]+ s {2}(bad|good)\.test\.mjs/);
    assert.match(out, /files with failing tests:\n {2}bad\.test\.mjs \(1\)/);
    assert.match(out, /ℹ fail 1/, 'the spec reporter\'s summary is kept');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

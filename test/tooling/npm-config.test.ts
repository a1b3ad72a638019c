/**
 * npm prints no warning of ours on every command (issue 17): `.npmrc` holds only settings npm
 * knows (a package-specific key, `onnxruntime-node-install=skip`, made npm 11 warn "Unknown
 * project config" on every npm command), and the Node.js requirement is stated truthfully —
 * package.json's engines is the strictest requirement of a dependency that runs on Node 20, and
 * the dependencies that declare Node 22 (EBADENGINE warnings on Node 20; they run on it, this
 * suite runs on Node 20) are exactly the ones the README names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const repo = new URL('../..', import.meta.url).pathname;

test('.npmrc: no key npm does not know, and install scripts are off (no CUDA download)', () => {
  const keys = readFileSync(`${repo}.npmrc`, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
    .map((l) => l.split('=')[0]!.trim());
  assert.deepEqual(keys, ['ignore-scripts']);
  const r = spawnSync('npm', ['config', 'get', 'ignore-scripts'], { cwd: repo, encoding: 'utf8' });
  if (r.error) return; // no npm on PATH (the test runner was started without it): the key list above still holds
  assert.equal(r.stdout.trim(), 'true');
  assert.doesNotMatch(r.stderr, /Unknown (project|user|global|env) config/, r.stderr);
});

test('engines: >= 20.19.4 (the Kafka client\'s minimum); the dependencies that declare Node 22 are the documented three', () => {
  const pkg = JSON.parse(readFileSync(`${repo}package.json`, 'utf8')) as { engines: { node: string } };
  assert.equal(pkg.engines.node, '>=20.19.4');
  const lock = JSON.parse(readFileSync(`${repo}package-lock.json`, 'utf8')) as { packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean }> };
  /** Does a range admit some Node 20 release? (the forms the lock file holds: >=, >, ^, ||) */
  const admits20 = (range: string): boolean =>
    range.split('||').some((alt) => {
      const m = /(>=|>|\^|~)?\s*v?(\d+)(?:\.(\d+))?/.exec(alt.trim());
      if (!m) return true;
      const major = Number(m[2]);
      return m[1] === '^' || m[1] === '~' ? major === 20 : major <= 20;
    });
  const node22 = Object.entries(lock.packages)
    .filter(([path, p]) => path !== '' && p.engines && !Array.isArray(p.engines) && typeof p.engines.node === 'string' && !admits20(p.engines.node))
    .map(([path]) => path.replace(/^.*node_modules\//, ''))
    .sort();
  assert.deepEqual(node22, ['@platformatic/dynamic-buffer', '@platformatic/wasm-utils', 'cookie']);
});

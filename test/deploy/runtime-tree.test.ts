/**
 * The image's runtime file tree, built from the Dockerfile with npm (no Docker engine):
 * scripts/deploy/runtime-tree.ts follows the Dockerfile into a temporary root — `npm ci
 * --omit=dev` (with .npmrc and package.json's allowScripts in effect) next to the freshly built
 * dist/ — and this test runs the image's entrypoint there:
 *  - `wattflow --help` (the image's default CMD) lists every role;
 *  - no dev dependency is in node_modules, every production one is, onnxruntime keeps only this
 *    platform's binaries;
 *  - `wattflow up` with the image's environment refuses to start without tokens (it binds 0.0.0.0);
 *  - with a tokens file it serves; the image's HEALTHCHECK command passes; SIGTERM stops it with
 *    status 0.
 * About 30 s (npm ci from the npm cache, tsc).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildRuntimeTree, packageJson, REPO, runImage, startImage, type RuntimeTree } from '../../scripts/deploy/runtime-tree.js';
import { roles } from '../../src/roles/index.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';

let tree: RuntimeTree;
before(() => {
  tree = buildRuntimeTree();
});
after(() => {
  if (tree && !process.env.KEEP_RUNTIME_TREE) rmSync(tree.tmp, { recursive: true, force: true });
});

test('`wattflow --help` through the image entrypoint (default CMD) lists every role', () => {
  assert.deepEqual([...tree.entrypoint, ...tree.cmd], ['wattflow', '--help']);
  const r = runImage(tree);
  assert.equal(r.status, 0, r.stderr);
  for (const role of roles) assert.match(r.stdout, new RegExp(`^\\s+${role.name}\\s`, 'm'), `role ${role.name} listed`);
  const one = runImage(tree, ['vehicle-api', '--help']);
  assert.equal(one.status, 0, one.stderr);
  assert.match(one.stdout, /usage: wattflow vehicle-api/);
});

test('node_modules: every production dependency, no dev dependency (direct or dev-only transitive), onnxruntime for this platform only', () => {
  const nm = join(tree.workdir, 'node_modules');
  const pkg = packageJson();
  for (const d of Object.keys(pkg.dependencies)) assert.ok(existsSync(join(nm, d, 'package.json')), `dependency ${d} installed`);
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  // (a dev dependency that a production package also needs — @types/node for protobufjs — is not dev-only)
  for (const d of Object.keys(pkg.devDependencies)) {
    if (lock.packages[`node_modules/${d}`]?.dev) assert.ok(!existsSync(join(nm, d)), `dev dependency ${d} not installed`);
  }
  const devOnly = Object.entries(lock.packages).filter(([p, v]) => p.startsWith('node_modules/') && v.dev === true).map(([p]) => p);
  assert.ok(devOnly.length > 0);
  const present = devOnly.filter((p) => existsSync(join(tree.workdir, p)));
  assert.deepEqual(present, [], 'dev-only packages of the lockfile are absent');
  const ort = join(nm, 'onnxruntime-node', 'bin');
  const napi = readdirSync(ort);
  const platforms = napi.flatMap((v) => readdirSync(join(ort, v)).flatMap((os) => readdirSync(join(ort, v, os)).map((a) => `${os}/${a}`)));
  assert.deepEqual([...new Set(platforms)], [`linux/${arch()}`], 'only this platform\'s onnxruntime binaries');
  assert.ok(!existsSync(join(tree.workdir, 'tsconfig.json')), 'no build configuration in the runtime');
  const ts = existsSync(join(tree.workdir, 'src')) ? (readdirSync(join(tree.workdir, 'src'), { recursive: true }) as string[]).filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')) : [];
  assert.deepEqual(ts, [], 'no TypeScript sources in the runtime (src/ holds only the UI\'s static files)');
});

test('`wattflow up` in the image environment: refuses 0.0.0.0 without tokens; serves with a tokens file; HEALTHCHECK passes; SIGTERM exits 0', async () => {
  assert.equal(tree.env.WATTFLOW_HOST, '0.0.0.0');
  const port = await freePort();
  // the image's own environment plus the port; the energy exporter's listener on an OS-chosen port
  const base = { PORT: String(port), WATTFLOW__energy__port: '0', WATTFLOW_LOG_LEVEL: 'warn' };
  const refused = runImage(tree, ['up'], base);
  assert.equal(refused.status, 2, `exit 2 without tokens (stdout ${refused.stdout}, stderr ${refused.stderr})`);
  assert.match(refused.stderr + refused.stdout, /\/http\/host/);

  const token = `wf_${randomBytes(24).toString('base64url')}`;
  const tokensFile = join(tree.tmp, 'tokens.yaml');
  writeFileSync(tokensFile, `- name: smoke\n  sha256: ${createHash('sha256').update(token).digest('hex')}\n  scopes: [read]\n`);
  const child = startImage(tree, ['up'], { ...base, WATTFLOW_TOKENS_FILE: tokensFile });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let gone = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => ((gone = true), resolve(code))));
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 60_000, () => `readiness on :${port} (output: ${out.slice(-3000)})`, {
      intervalMs: 200,
      retryErrors: true,
      gaveUp: () => (gone ? 'the process exited' : undefined),
    });
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/routers`)).status, 401, 'auth is on');
    const routers = await fetch(`http://127.0.0.1:${port}/api/routers`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(routers.status, 200);
    // the image's HEALTHCHECK command, with the container's environment
    const hc = tree.healthcheck!;
    const check = spawnSync(hc[0]!, hc.slice(1), { env: { ...tree.env, ...base }, encoding: 'utf8', timeout: 10_000 });
    assert.equal(check.status, 0, `HEALTHCHECK passes (${check.stderr})`);
    assert.ok(existsSync(join(tree.env.WATTFLOW__storage__dir!)), 'the state dir exists');
  } finally {
    child.kill('SIGTERM');
  }
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
  if (code === 'timeout') child.kill('SIGKILL');
  assert.equal(code, 0, `SIGTERM: graceful stop with status 0 (output: ${out.slice(-2000)})`);
  // and the HEALTHCHECK fails once nothing serves
  const hc = tree.healthcheck!;
  const down = spawnSync(hc[0]!, hc.slice(1), { env: { ...tree.env, ...base }, encoding: 'utf8', timeout: 10_000 });
  assert.notEqual(down.status, 0, 'HEALTHCHECK fails when the role is down');
});

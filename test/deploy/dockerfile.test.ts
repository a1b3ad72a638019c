/**
 * The Dockerfile, checked without a Docker engine: parsed (scripts/deploy/dockerfile.ts) and held
 * to what issue 14 asks of the image — a multi-stage build, a slim runtime with production
 * dependencies only, a non-root numeric user, `wattflow` as the exec-form entrypoint with the
 * role as argument, a health check on /readyz, SIGTERM as stop signal — and a .dockerignore that
 * keeps the build context to what the COPY lines need.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyParts, envOf, parseDockerfile, readDockerfile, runCommands, type Stage } from '../../scripts/deploy/dockerfile.js';
import { REPO } from '../../scripts/deploy/runtime-tree.js';

const df = readDockerfile(join(REPO, 'Dockerfile'));
const stage = (name: string): Stage => {
  const s = df.stages.find((x) => x.name === name);
  assert.ok(s, `stage ${name} exists (stages: ${df.stages.map((x) => x.name).join(', ')})`);
  return s;
};
const runtime = df.stages.at(-1)!;
const ops = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);
const commands = (s: Stage) => ops(s, 'RUN').flatMap(runCommands);

test('the parser: continuations, comments inside them, exec form, flags, stages, ARG in FROM', () => {
  const p = parseDockerfile(['ARG BASE=node:20', '# c', 'FROM ${BASE} AS One', 'RUN a \\', '  # inner comment', '  && b', 'COPY --from=one --chown=1:1 x y ./', 'CMD ["--help"]'].join('\n'));
  assert.equal(p.stages[0]!.name, 'one');
  assert.equal(p.stages[0]!.from, 'node:20');
  assert.deepEqual(runCommands(p.stages[0]!.instructions[0]!), ['a', 'b']);
  assert.deepEqual(copyParts(p.stages[0]!.instructions[1]!), { sources: ['x', 'y'], dest: './', from: 'one' });
  assert.deepEqual(p.stages[0]!.instructions[2]!.args, ['--help']);
});

test('multi-stage: build → prod-deps → runtime, all on the same Node 20 base', () => {
  assert.deepEqual(df.stages.map((s) => s.name), ['build', 'prod-deps', 'runtime']);
  for (const s of df.stages) assert.match(s.from, /^node:20[.\w-]*$/, `stage ${s.name} is based on Node 20 (${s.from})`);
  assert.ok(commands(stage('build')).includes('npm ci'), 'build installs every dependency');
  assert.ok(commands(stage('build')).includes('npm run build'), 'build compiles TypeScript');
});

test('no dev dependencies in the runtime: node_modules only from `npm ci --omit=dev`; no sources, no compiler, no npm install in the runtime stage', () => {
  const prod = commands(stage('prod-deps'));
  assert.ok(prod.includes('npm ci --omit=dev'), `prod-deps runs npm ci --omit=dev (${prod.join(' | ')})`);
  assert.ok(!prod.some((c) => /^npm (ci|install|i)\b/.test(c) && !c.includes('--omit=dev')), 'prod-deps installs nothing else');
  for (const c of commands(runtime)) assert.doesNotMatch(c, /\bnpm\b|\btsc\b|\bnpx\b/, `the runtime stage runs no npm/tsc (${c})`);
  const copies = ops(runtime, 'COPY').map(copyParts);
  const modules = copies.filter((c) => c.sources.some((s) => /node_modules/.test(s)));
  assert.equal(modules.length, 1, 'node_modules is copied once');
  assert.equal(modules[0]!.from, 'prod-deps', 'from the production-only stage');
  for (const c of copies.filter((x) => x.from === 'build')) assert.deepEqual(c.sources, ['/src/dist'], 'only dist/ comes from the build stage');
  for (const c of copies.filter((x) => !x.from)) {
    for (const s of c.sources) assert.doesNotMatch(s, /^(src\/(?!ui\/static$)|src$|test\/(?!fixtures\/vehicle$)|tsconfig|bench|scripts|node_modules|\.)/, `no sources or tooling copied into the runtime (${s})`);
  }
});

test('.npmrc (onnxruntime-node install settings) and package-lock.json are in place before every npm ci', () => {
  for (const s of df.stages) {
    const idx = s.instructions.findIndex((i) => i.op === 'RUN' && runCommands(i).some((c) => c.startsWith('npm ci')));
    if (idx < 0) continue;
    const copied = s.instructions.slice(0, idx).filter((i) => i.op === 'COPY').flatMap((i) => copyParts(i).sources);
    for (const f of ['package.json', 'package-lock.json', '.npmrc']) assert.ok(copied.includes(f), `stage ${s.name} copies ${f} before npm ci`);
  }
  assert.match(readFileSync(join(REPO, '.npmrc'), 'utf8'), /onnxruntime-node-install=skip/);
});

test('non-root: a numeric uid:gid (Kubernetes can verify runAsNonRoot), created with that uid, the last USER of the image', () => {
  const users = ops(runtime, 'USER');
  assert.equal(users.length, 1);
  const [uid, gid] = users[0]!.text.split(':');
  assert.match(uid!, /^\d+$/);
  assert.notEqual(Number(uid), 0, 'not root');
  assert.equal(gid, uid);
  const cmds = commands(runtime).join('\n');
  assert.match(cmds, new RegExp(`useradd .*--uid ${uid}\\b`));
  assert.match(cmds, new RegExp(`groupadd .*--gid ${gid}\\b`));
  const userIdx = runtime.instructions.indexOf(users[0]!);
  assert.ok(!runtime.instructions.slice(userIdx).some((i) => i.op === 'RUN' || i.op === 'COPY'), 'nothing is written after switching user (no root-owned surprises)');
  assert.match(cmds, /mkdir -p \/var\/lib\/wattflow/);
  assert.equal(envOf(runtime).WATTFLOW__storage__dir, '/var/lib/wattflow', 'the embedded storage goes to the writable state dir');
});

test('entrypoint `wattflow` (exec form, so SIGTERM reaches node as PID 1), the role as argument, --help by default, STOPSIGNAL SIGTERM', () => {
  const ep = ops(runtime, 'ENTRYPOINT').at(-1)!;
  assert.deepEqual(ep.args, ['wattflow'], 'exec form');
  assert.deepEqual(ops(runtime, 'CMD').at(-1)!.args, ['--help']);
  assert.ok(commands(runtime).some((c) => /^ln -s \/app\/dist\/cli\.js \/usr\/local\/bin\/wattflow$/.test(c)), 'wattflow on PATH');
  assert.match(readFileSync(join(REPO, 'src/cli.ts'), 'utf8'), /^#!\/usr\/bin\/env node\n/, 'cli.ts keeps its shebang (tsc copies it to dist/cli.js)');
  assert.equal(ops(runtime, 'STOPSIGNAL').at(-1)?.text, 'SIGTERM');
  const env = envOf(runtime);
  assert.equal(env.WATTFLOW_HOST, '0.0.0.0', 'a container listens on its interfaces (the auth start rule then requires tokens)');
  assert.equal(env.NODE_ENV, 'production');
});

test('HEALTHCHECK: exec form, GET /readyz on $PORT, with a start period', () => {
  const hc = ops(runtime, 'HEALTHCHECK').at(-1)!;
  assert.ok(hc.flags['start-period'] && hc.flags.interval && hc.flags.timeout, `flags: ${JSON.stringify(hc.flags)}`);
  const m = /^CMD\s+(\[.*\])$/s.exec(hc.text);
  assert.ok(m, 'CMD in exec form');
  const argv = JSON.parse(m[1]!) as string[];
  assert.equal(argv[0], 'node');
  assert.match(argv.join(' '), /\/readyz/);
  assert.match(argv.join(' '), /process\.env\.PORT/);
  assert.ok(envOf(runtime).PORT, 'PORT set in the image');
  assert.deepEqual(ops(runtime, 'EXPOSE').at(-1)!.text.split(/\s+/).sort(), ['28282', '8000']);
});

test('the runtime copies the data the code reads next to itself: config/ (experiments, test metrics), models/ (dummy formulas), the demo vehicle logs', () => {
  const sources = ops(runtime, 'COPY').filter((i) => !i.flags.from).flatMap((i) => copyParts(i).sources);
  for (const s of ['package.json', 'config', 'models', 'test/fixtures/vehicle', 'src/ui/static']) assert.ok(sources.includes(s), `COPY ${s}`);
  // the code that resolves them (if one of these moves, the image must follow)
  assert.match(readFileSync(join(REPO, 'src/router-power/experiment.ts'), 'utf8'), /resolve\(projectRoot, 'config'\)/);
  assert.match(readFileSync(join(REPO, 'src/ml/formula/bundled.ts'), 'utf8'), /models\/dummy\//);
  assert.match(readFileSync(join(REPO, 'src/vehicle/demo.ts'), 'utf8'), /test\/fixtures\/vehicle\//);
  // (the web UI's src/ui/static is checked by running `up` in the runtime tree: test/deploy/runtime-tree.test.ts)
});

test('.dockerignore keeps exactly what the COPY lines need (whitelist), and excludes node_modules, dist, .git', () => {
  const lines = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  assert.equal(lines[0], '*', 'everything is excluded first');
  const kept = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
  const contextSources = df.stages.flatMap((s) => ops(s, 'COPY').filter((i) => !i.flags.from).flatMap((i) => copyParts(i).sources));
  for (const s of new Set(contextSources)) assert.ok(kept.some((k) => s === k || s.startsWith(`${k}/`)), `${s} is in the build context (.dockerignore !${s})`);
  for (const k of kept) assert.ok(contextSources.some((s) => s === k || s.startsWith(`${k}/`)), `.dockerignore keeps ${k}, which no COPY uses`);
  for (const bad of ['node_modules', 'dist', '.git', '.wattflow']) assert.ok(!kept.includes(bad), `${bad} not in the context`);
});

#!/usr/bin/env node
// Mutation testing of the core modules with Stryker (`npm run mutation [module…]`; not part of
// `npm test`). Each module is mutated on its own, against the unit tests of that module only
// (fast), so each gets its own score. Stryker has no node:test runner plugin: the `command`
// runner runs `node --import tsx --test <files>` for every mutant (coverageAnalysis off).
// Reports: reports/mutation/<module>/index.html, the summary in reports/mutation/summary.json.
// See docs/mutation-testing.md for the scores and every surviving mutant explained.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stryker } from '@stryker-mutator/core';

const root = new URL('..', import.meta.url).pathname;

/** The core modules: what is mutated and the unit tests that must catch it. */
export const MODULES = [
  {
    name: 'rate-computation',
    mutate: ['src/router-power/processor/compute.ts'],
    tests: ['test/router-power/compute.test.ts'],
  },
  {
    name: 'processor-state',
    // the router's previous snapshot, rolled back when a batch is delivered again (the in-process
    // cases of processor-redelivery; its Kafka case needs KAFKA_BROKERS and is skipped without it)
    mutate: ['src/router-power/processor/router-states.ts'],
    tests: ['test/router-power/router-states.test.ts', 'test/router-power/processor-redelivery.test.ts'],
  },
  {
    name: 'stage-loop',
    mutate: ['src/stage/stage-loop.ts', 'src/stage/bookkeeping.ts'],
    tests: ['test/stage/stage-loop.test.ts', 'test/stage/bookkeeping.test.ts'],
  },
  {
    name: 'outbox',
    mutate: ['src/router-power/producer/outbox.ts'],
    tests: ['test/router-power/outbox.test.ts', 'test/router-power/outbox-behaviour.test.ts'],
  },
  {
    name: 'aligner',
    mutate: ['src/vehicle/align/aligner.ts'],
    tests: ['test/vehicle/aligner.test.ts', 'test/vehicle/aligner-edges.test.ts'],
    // the three tests over the reference logs (seconds each) are left out: the edge tests cover what they do
    testArgs: `--test-name-pattern="^(ticks on|gap filling|late measurements|a long gap|idle flush|restore resumes|the first tick|samples of one push|maximum age|flagged|decorate|late samples|a tick with nothing|a gap:|restore:|rebuild without|flush\\(id\\))"`,
  },
  {
    name: 'deployment-resolution',
    // worker side (control.ts: scope keys, the most specific scope with a target, control records) and
    // registry side (deployment-resolution.ts: the scopes, targets and records a request resolves to)
    mutate: ['src/registry/control.ts', 'src/registry/deployment-resolution.ts'],
    tests: ['test/registry/deployment-scopes.test.ts', 'test/registry/deployment-decisions.test.ts'],
  },
];

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !MODULES.some((m) => m.name === w));
if (unknown.length > 0) {
  console.error(`unknown module(s) ${unknown.join(', ')}; known: ${MODULES.map((m) => m.name).join(', ')}`);
  process.exit(2);
}
const selected = wanted.length > 0 ? MODULES.filter((m) => wanted.includes(m.name)) : MODULES;
const outDir = join(root, 'reports', 'mutation');
mkdirSync(outDir, { recursive: true });

const rows = [];
for (const m of selected) {
  const stryker = new Stryker({
    mutate: m.mutate,
    testRunner: 'command',
    commandRunner: { command: `node --import tsx --test --test-concurrency=1 ${m.testArgs ?? ''} ${m.tests.join(' ')}` },
    coverageAnalysis: 'off',
    // the machine is shared: two mutants at a time
    concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 2),
    // a mutant that makes a test wait (a message that never arrives) is a timeout: detected
    timeoutMS: Number(process.env.MUTATION_TIMEOUT_MS ?? 5_000),
    reporters: ['html', 'json', 'clear-text', 'progress'],
    htmlReporter: { fileName: join('reports', 'mutation', m.name, 'index.html') },
    jsonReporter: { fileName: join('reports', 'mutation', m.name, 'mutation.json') },
    tempDirName: '.stryker-tmp',
    cleanTempDir: true,
    // the sandbox needs the sources, tests, fixtures and config, not the rest
    ignorePatterns: ['reports', 'bench', 'deploy', 'docs', 'dist', '.wattflow', 'data'],
    logLevel: 'info',
  });
  const results = await stryker.runMutationTest();
  const count = (status) => results.filter((r) => r.status === status).length;
  const row = {
    module: m.name,
    files: m.mutate.join(', '),
    killed: count('Killed'),
    survived: count('Survived'),
    timeout: count('Timeout'),
    noCoverage: count('NoCoverage'),
    errors: count('CompileError') + count('RuntimeError'),
    ignored: count('Ignored'),
  };
  const detected = row.killed + row.timeout;
  const valid = detected + row.survived + row.noCoverage;
  row.score = valid === 0 ? null : Math.round((detected / valid) * 1000) / 10;
  row.survivors = results
    .filter((r) => r.status === 'Survived' || r.status === 'NoCoverage')
    .map((r) => ({ file: r.fileName.replace(root, ''), line: r.location.start.line, mutator: r.mutatorName, replacement: r.replacement, status: r.status }));
  rows.push(row);
}

writeFileSync(join(outDir, `summary${wanted.length ? `-${wanted.join('-')}` : ''}.json`), `${JSON.stringify(rows, null, 2)}\n`);
console.log('\nmodule                  killed survived timeout no-cov  score');
for (const r of rows) {
  console.log(`${r.module.padEnd(22)} ${String(r.killed).padStart(7)} ${String(r.survived).padStart(8)} ${String(r.timeout).padStart(7)} ${String(r.noCoverage).padStart(6)}  ${r.score ?? '-'} %`);
}

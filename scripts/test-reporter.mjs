// Test reporter for scripts/run-tests.mjs: Node's spec reporter, plus the file each test comes
// from — a "▶ test/…/x.test.ts" line before a file's first result — and, at the end, every
// file's duration (the slowest first) and the files with failures, so a slow or failing suite
// can be found. Node 20's spec reporter names suites and tests but not their files.
import { relative } from 'node:path';
import { spec as Spec } from 'node:test/reporters';

const root = process.cwd();
const rel = (file) => (file ? relative(root, file) || file : '(unknown file)');
const SHOW_SLOWEST = Number(process.env.TEST_REPORT_SLOWEST ?? 10);

export default async function* fileReporter(source) {
  const inner = new Spec();
  const chunks = [];
  inner.on('data', (c) => chunks.push(c));
  const drain = async function* () {
    await new Promise((r) => setImmediate(r)); // the spec transform may push on a later tick
    while (chunks.length > 0) yield chunks.shift();
  };
  let current;
  /** file → { first, last } event times (ms); files run one at a time (--test-concurrency=1) */
  const times = new Map();
  const failed = new Map();
  for await (const ev of source) {
    const file = ev.data?.file;
    if (file && ev.type !== 'test:enqueue') {
      // (a file's tests are enqueued while the previous file runs: timing starts when it runs)
      const now = performance.now();
      const t = times.get(file);
      if (t) t.last = now;
      else times.set(file, { first: now, last: now });
      if ((ev.type === 'test:start' || ev.type === 'test:fail' || ev.type === 'test:pass') && file !== current && ev.data.name !== file) {
        current = file;
        yield `\n▶ ${rel(file)}\n`;
      }
      if (ev.type === 'test:fail' && ev.data.name !== file && ev.data.details?.type !== 'suite') {
        failed.set(file, (failed.get(file) ?? 0) + 1);
      }
    }
    inner.write(ev);
    if (ev.type === 'test:pass' || ev.type === 'test:fail' || ev.type === 'test:diagnostic' || ev.type === 'test:stderr' || ev.type === 'test:stdout') yield* drain();
  }
  inner.end();
  await new Promise((r) => inner.once('end', r).resume?.());
  yield* drain();
  const rows = [...times].map(([file, t]) => [rel(file), t.last - t.first]).sort((a, b) => b[1] - a[1]);
  if (rows.length > 1 && SHOW_SLOWEST > 0) {
    yield `\nslowest test files:\n`;
    for (const [file, ms] of rows.slice(0, SHOW_SLOWEST)) yield `  ${(ms / 1000).toFixed(1).padStart(6)} s  ${file}\n`;
  }
  if (failed.size > 0) {
    yield `\nfiles with failing tests:\n`;
    for (const [file, n] of failed) yield `  ${rel(file)} (${n})\n`;
  }
}

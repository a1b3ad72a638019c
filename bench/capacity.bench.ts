/**
 * Capacity (issue 16): the largest number of routers this machine sustains at 1 s polling with
 * p99 end to end <= 100 ms, for the shared-topic and per-router Kafka layouts and for `wattflow
 * up` on the in-process bus. "Sustains": after the warm-up, outputs >= 99 % of routers/s and
 * p99 <= 100 ms. Search per layout: the ladder 250, 500, 1000, 2000, … (per-router: 50, 100, …)
 * up to the first failure, then BENCH_BISECT (3) bisection steps between the last pass (or 0)
 * and the first failure.
 *
 * Kafka layouts: one run of bench/kafka-pipeline.bench.ts per step (BENCH_JSON=1, spread polls,
 * BENCH_PROCESSES=1 by default: producer, processor and inference as `wattflow` processes, the
 * deployed topology; BENCH_PROCESSES=0 runs them in the measuring process); latency = poll tick
 * → ML message received by a consumer. `up`: bench/capacity-up.ts (poll tick → ML message built,
 * from up's own histogram). Per-router topics (3 per router) are slow to create on one broker:
 * capped at BENCH_MAX_PER_ROUTER (2000). Without KAFKA_BROKERS only `up` runs.
 *
 * BENCH_LAYOUTS=shared,per-router,up; BENCH_STEP_SECONDS (20) measured after BENCH_WARMUP
 * (10 + routers/500); BENCH_RETRY (1) reruns of a failing step; BENCH_MAX_ROUTERS (16000) caps
 * every layout; BENCH_START (250) is the first rung (BENCH_START_PER_ROUTER 50). A full run takes
 * ~20 min on a loaded 2-core machine (BENCH_RETRY=0 or BENCH_STEP_SECONDS=10 shorten it).
 */
import { spawnSync } from 'node:child_process';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { upStep, type StepResult } from './capacity-up.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const brokers = process.env.KAFKA_BROKERS;
const SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 20);
/** Warm-up (s; default 10 + 1 per 500 routers): the role processes take 2–4 s to start on a loaded machine, more with more routers. */
const warmup = (routers: number) => Number(process.env.BENCH_WARMUP ?? 10 + Math.ceil(routers / 500));
/** BENCH_RETRY (1): a step that fails is run again this many times; it fails only if every run fails (the machine is shared). */
const RETRY = Number(process.env.BENCH_RETRY ?? 1);
const BISECT = Number(process.env.BENCH_BISECT ?? 3);
const START = Number(process.env.BENCH_START ?? 250);
/** The per-router layout's first rung (BENCH_START_PER_ROUTER, 50): it fails near 100 routers on a 2-core machine. */
const START_PER_ROUTER = Number(process.env.BENCH_START_PER_ROUTER ?? 50);
const MAX = Number(process.env.BENCH_MAX_ROUTERS ?? 16_000);
const MAX_PER_ROUTER = Number(process.env.BENCH_MAX_PER_ROUTER ?? 2000);
const PROCESSES = process.env.BENCH_PROCESSES ?? '1';
/** Pause after a Kafka step (s, BENCH_PAUSE, 5): the broker deletes its topics meanwhile. */
const PAUSE = Number(process.env.BENCH_PAUSE ?? 5);
const P99_MS = 100;
let layouts = (process.env.BENCH_LAYOUTS ?? 'shared,per-router,up').split(',').map((s) => s.trim()).filter(Boolean);
if (!brokers && layouts.some((l) => l !== 'up')) {
  console.log('capacity: KAFKA_BROKERS not set: the Kafka layouts are skipped (start Kafka with scripts/services/kafka.sh); `up` only');
  layouts = layouts.filter((l) => l === 'up');
}

const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const loadStart = load();
console.log(`capacity: ${cpus().length} cores (${model}), RAM ${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} free), load average ${loadStart} at start`);
console.log(`capacity: steps of ${SECONDS} s after ${process.env.BENCH_WARMUP ?? '10 + routers/500'} s warm-up, a failing step retried ${RETRY}×; sustained = outputs >= 99 % of routers/s and p99 <= ${P99_MS} ms; layouts ${layouts.join(', ')}`);

function kafkaStep(layout: string, routers: number): StepResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/kafka-pipeline.bench.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: (warmup(routers) + SECONDS + 240) * 1000,
    env: { ...process.env, BENCH_ROUTERS: String(routers), BENCH_SECONDS: String(SECONDS), BENCH_WARMUP: String(warmup(routers)), BENCH_TOPICS: layout, BENCH_SPREAD: '1', BENCH_PROCESSES: PROCESSES, BENCH_JSON: '1' },
  });
  const line = /^kafka-pipeline-json: (.+)$/m.exec(r.stdout ?? '')?.[1];
  if (!line) return { rate: NaN, p99: NaN, error: `kafka-pipeline gave no figures (exit ${r.status ?? r.signal}): ${`${r.stdout}${r.stderr}`.trim().slice(-400)}` };
  const j = JSON.parse(line) as { rate: number; p99: number };
  return { rate: j.rate, p99: j.p99 };
}

async function step(layout: string, routers: number, attempt = 0): Promise<StepResult & { pass: boolean; why: string }> {
  const r = layout === 'up' ? await upStep(routers, warmup(routers), SECONDS) : kafkaStep(layout, routers);
  // the broker deletes the step's topics in the background: let it settle before the next step
  if (layout !== 'up') await new Promise((res) => setTimeout(res, PAUSE * 1000));
  const why = r.error ?? [r.rate >= 0.99 * routers ? '' : `rate ${r.rate.toFixed(0)}/s < 99 %`, r.p99 <= P99_MS ? '' : `p99 ${r.p99.toFixed(0)} ms`].filter(Boolean).join(', ');
  const res = { ...r, pass: !why, why };
  console.log(`capacity: ${layout.padEnd(10)} ${String(routers).padStart(6)} routers: ${r.rate.toFixed(0).padStart(6)} out/s, p99 ${r.p99.toFixed(1)} ms → ${res.pass ? 'sustained' : `not sustained (${why})`}  [load ${load()}]`);
  return res.pass || attempt >= RETRY ? res : step(layout, routers, attempt + 1);
}

interface Outcome {
  layout: string;
  max: number;
  p99AtMax: number;
  firstFail?: number;
  why: string;
  cap: number;
}

const outcomes: Outcome[] = [];
for (const layout of layouts) {
  const cap = layout === 'per-router' ? Math.min(MAX, MAX_PER_ROUTER) : MAX;
  let pass = 0;
  let p99AtMax = NaN;
  let fail: number | undefined;
  let why = '';
  const start = layout === 'per-router' ? START_PER_ROUTER : START;
  for (let n = start; ; n *= 2) {
    const at = Math.min(n, cap);
    const r = await step(layout, at);
    if (r.pass) [pass, p99AtMax] = [at, r.p99];
    else [fail, why] = [at, r.why];
    if (!r.pass || at >= cap) break;
  }
  // bisection on a grid of 50 routers (10 below 500)
  const grid = () => (fail! > 500 ? 50 : 10);
  for (let i = 0; i < BISECT && fail !== undefined && fail - pass > grid(); i++) {
    const mid = Math.round((pass + fail) / 2 / grid()) * grid();
    if (mid <= pass || mid >= fail) break;
    const r = await step(layout, mid);
    if (r.pass) [pass, p99AtMax] = [mid, r.p99];
    else [fail, why] = [mid, r.why];
  }
  outcomes.push({ layout, max: pass, p99AtMax, ...(fail !== undefined ? { firstFail: fail } : {}), why, cap });
}

console.log('');
console.log(`capacity: routers sustained at 1 s polling with p99 <= ${P99_MS} ms (${cpus().length} cores, ${model})`);
console.log('  layout       max routers   p99 at max   first failing   why');
for (const o of outcomes) {
  const max = o.max ? String(o.max) : `< ${o.firstFail}`;
  const capped = o.firstFail === undefined ? `none up to the cap ${o.cap}${o.layout === 'per-router' ? ' (BENCH_MAX_PER_ROUTER)' : ''}` : String(o.firstFail);
  console.log(`  ${o.layout.padEnd(12)} ${max.padStart(11)} ${(Number.isFinite(o.p99AtMax) ? `${o.p99AtMax.toFixed(1)} ms` : 'n/a').padStart(12)}   ${capped.padEnd(14)}  ${o.why}`);
}
console.log(`capacity: Kafka layouts: poll → ML consumed (kafka-pipeline, ${PROCESSES === '1' ? 'stages as separate processes' : 'stages in one process'}); up: poll → ML built (its end_to_end histogram, p99 interpolated in its bucket)`);
console.log(`capacity: load average ${loadStart} at start, ${load()} at the end (the machine is shared: figures are only as good as its quiet)`);

/**
 * The short form of the memory soak (bench/up-soak.bench.ts runs 30 minutes): the real
 * `wattflow up` with 1,000 routers polled every second for ~100 s. Before issue 11 its RSS grew
 * by ≈ 4.9 MB/s here (the in-process bus kept up to 2,000 messages per topic, 3,000 topics);
 * now the bus holds only what is not yet consumed and the process's memory stays flat.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { soakUp } from '../../bench/up-soak-harness.js';

const ROUTERS = 1000;
const WARMUP_S = 25;

test('`up` with 1,000 routers at 1 s: every prediction made, the bus holds no backlog, memory does not grow', async () => {
  const { samples, exitCode, output } = await soakUp({ routers: ROUTERS, seconds: 100, sampleEveryS: 5 });
  const after = samples.filter((s) => s.t >= WARMUP_S);
  const describe = () => samples.map((s) => `t=${s.t.toFixed(0)}s rss=${s.rssMb.toFixed(0)}MB heap=${s.heapUsedMb.toFixed(0)}MB bus=${s.busMessages} loop_p99=${s.loopP99Ms.toFixed(0)}ms preds=${s.predictions}`).join('\n');
  assert.ok(after.length >= 10, describe());

  // the pipeline keeps up: ≥ 90 % of 1,000 predictions/s after warm-up
  const first = after[0]!;
  const last = after.at(-1)!;
  const rate = (last.predictions - first.predictions) / (last.t - first.t);
  assert.ok(rate >= ROUTERS * 0.9, `predictions ${rate.toFixed(0)}/s\n${describe()}`);

  // the bus holds only messages in flight: far below its budget at every sample
  for (const s of after) assert.ok(s.busMessages <= 3 * ROUTERS, `bus holds ${s.busMessages} messages at t=${s.t}\n${describe()}`);

  // memory is flat: the RSS floor (lowest sample, after the collections) of the last third is
  // within 60 MB of that of the first third after warm-up. Peaks are not compared: one sample
  // taken just before a major GC sits up to ~90 MB above the floor. The old code's floor rose
  // ≈ 300 MB per minute (≈ 270 MB between the thirds).
  const third = Math.floor(after.length / 3);
  const floor = (xs: typeof after) => Math.min(...xs.map((s) => s.rssMb));
  const early = floor(after.slice(0, third));
  const late = floor(after.slice(-third));
  assert.ok(late - early < 60, `RSS floor ${early.toFixed(0)} MB → ${late.toFixed(0)} MB\n${describe()}`);

  // skipped and late ticks are counted (the metrics exist; their values depend on the machine's load)
  assert.ok(Number.isFinite(last.ticksSkipped) && Number.isFinite(last.ticksLate), describe());
  assert.equal(exitCode, 0, output.slice(-2000));
});

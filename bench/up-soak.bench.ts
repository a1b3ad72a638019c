/**
 * Memory soak of `wattflow up` (issue 11): 1,000 test-metrics routers polled every second on
 * the in-process bus with embedded storage, for 30 minutes (BENCH_SOAK_MINUTES), sampling the
 * process's RSS, heap, event-loop delay and the bus's usage every 10 s. Prints the samples and
 * the RSS and heap slopes after warm-up (BENCH_WARMUP_MINUTES, default 5).
 * Targets: RSS growth < 1 MB/min after warm-up; event-loop delay p99 < 50 ms.
 */
import { quantile, slope, soakUp } from './up-soak-harness.js';

const routers = Number(process.env.BENCH_ROUTERS ?? 1000);
const minutes = Number(process.env.BENCH_SOAK_MINUTES ?? 30);
const warmup = Number(process.env.BENCH_WARMUP_MINUTES ?? Math.min(5, minutes / 3));

console.log(`up soak: ${routers} routers at 1 s, ${minutes} min (warm-up ${warmup} min), in-process bus, embedded storage`);
console.log('   t(s)   RSS(MB)  heap(MB)  loop p99(ms)  bus msgs  bus MB   predictions  late  skipped');
const { samples, exitCode } = await soakUp({
  routers,
  seconds: minutes * 60,
  sampleEveryS: Number(process.env.BENCH_SAMPLE_S ?? 10),
  onSample: (s) =>
    console.log(
      `${s.t.toFixed(0).padStart(7)} ${s.rssMb.toFixed(1).padStart(9)} ${s.heapUsedMb.toFixed(1).padStart(9)} ${s.loopP99Ms.toFixed(1).padStart(13)} ${String(s.busMessages).padStart(9)} ${(s.busBytes / 2 ** 20).toFixed(2).padStart(7)} ${String(s.predictions).padStart(13)} ${String(s.ticksLate).padStart(5)} ${String(s.ticksSkipped).padStart(8)}`,
    ),
});
const after = samples.filter((s) => s.t >= warmup * 60);
const rssSlope = slope(after.map((s) => ({ t: s.t, y: s.rssMb }))) * 60;
const heapSlope = slope(after.map((s) => ({ t: s.t, y: s.heapUsedMb }))) * 60;
const loop = after.map((s) => s.loopP99Ms);
const last = samples.at(-1)!;
const first = after[0] ?? last;
const rate = (last.predictions - first.predictions) / Math.max(1, last.t - first.t);
console.log('');
console.log(`RSS slope after warm-up:  ${rssSlope.toFixed(2)} MB/min (target < 1 MB/min)   [RSS ${first.rssMb.toFixed(0)} → ${last.rssMb.toFixed(0)} MB]`);
console.log(`heap slope after warm-up: ${heapSlope.toFixed(2)} MB/min`);
console.log(`event-loop delay p99 (per 10 s window): median ${quantile(loop, 0.5).toFixed(1)} ms, worst ${Math.max(...loop).toFixed(1)} ms (target < 50 ms)`);
console.log(`predictions: ${rate.toFixed(0)}/s after warm-up (${routers} expected); ticks late ${last.ticksLate}, skipped ${last.ticksSkipped}; bus ≤ ${Math.max(...samples.map((s) => s.busMessages))} messages`);
console.log(`exit code after SIGTERM: ${exitCode}`);

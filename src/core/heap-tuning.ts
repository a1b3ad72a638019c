/**
 * V8 heap settings the process needs before its first allocation-heavy code runs: imported first
 * by the CLI (and by the benchmarks that run the stages in one process).
 *
 * Allocation-site pretenuring is turned off. V8 allocates the objects of a site directly in the
 * old generation once most of them survive a scavenge; the Kafka client's record decoding and the
 * processor's snapshots get tenured that way under a steady stream, and those dead old objects
 * then keep the young messages they point to alive through every scavenge until the next full
 * GC: each scavenge promoted ~2 MB and paused 3–5 ms instead of ~0.25 MB (docs/performance.md,
 * "The GC tail"). WATTFLOW_V8_PRETENURING=on keeps V8's default.
 */
import { setFlagsFromString } from 'node:v8';

if (process.env.WATTFLOW_V8_PRETENURING !== 'on') setFlagsFromString('--no-allocation-site-pretenuring');

/**
 * Runs `kafka-hops` as the floor of another Kafka benchmark, in the same run: the same load, hops
 * and layout with no stage code, records as large as the pipeline's TD/TP messages (the broker's
 * cost grows with the bytes; BENCH_VALUE_BYTES overrides 850) and the same warm-up as the run it
 * is the floor of (long enough to pass every new partition's first offset-index entry:
 * hop-breakdown.bench.ts).
 */
import { spawnSync } from 'node:child_process';

export interface FloorLoad {
  /** Stages between the first publish and the measuring consumer (kafka-hops BENCH_HOPS). */
  hops: number;
  /** Messages per slot, and the slot (ms). */
  batch: number;
  slotMs: number;
  seconds: number;
  warmupSeconds: number;
  topicsPerHop: number;
  /** The feed and each stage in a process of their own (BENCH_HOPS_PROCESSES), as deployed roles. */
  processes?: boolean;
}

export interface FloorResult {
  /** kafka-hops' output lines that mention `wanted` (e.g. 'end to end'). */
  lines: (wanted: string) => string[];
  /** The end-to-end p99 (ms), NaN when kafka-hops printed none. */
  p99: number;
  stderr: string;
}

export function runKafkaHopsFloor(load: FloorLoad): FloorResult {
  const floor = spawnSync(process.execPath, ['--import', 'tsx', 'bench/kafka-hops.bench.ts'], {
    env: {
      ...process.env,
      BENCH_HOPS: String(load.hops),
      BENCH_BATCH: String(load.batch),
      BENCH_SLOT_MS: String(load.slotMs),
      BENCH_SECONDS: String(load.seconds),
      BENCH_WARMUP: String(load.warmupSeconds),
      BENCH_VALUE_BYTES: process.env.BENCH_VALUE_BYTES ?? '850',
      BENCH_TOPICS_PER_HOP: String(load.topicsPerHop),
      BENCH_HOPS_PROCESSES: load.processes ? '1' : '0',
    },
    encoding: 'utf8',
  });
  const out = floor.stdout.split('\n');
  const endToEnd = out.find((l) => l.includes('end to end'));
  return {
    lines: (wanted) => out.filter((l) => l.includes(wanted)),
    p99: Number(/p99 ([\d.]+)/.exec(endToEnd ?? '')?.[1]),
    stderr: floor.stderr,
  };
}

/**
 * bench/capacity.bench.ts's `up` step: the real `wattflow up` (in-process bus, no Kafka) on an
 * experiment of N test-metrics routers at 1 s with spread polls, measured from its own /metrics
 * between the end of the warm-up and the end of the step: predictions/s
 * (wattflow_messages_out_total{stage="inference"}) and the poll → ML latency
 * (wattflow_hop_latency_seconds{hop="end_to_end"}: epoch_timestamp → ML message built in the
 * inference), whose p99 is interpolated inside its histogram bucket (… 50, 100, 250 ms …).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface StepResult {
  rate: number;
  p99: number;
  /** Share of the window's messages within 100 ms (exact for `up`: a bucket bound). */
  within100?: number;
  error?: string;
}

/** N routers with kafka-pipeline's counters (100 Mbit/s at 1200 B/packet, 600 periods: no wrap-around, hence no counter reset, within a step). */
function writeExperiment(dir: string, routers: number): string {
  const periods: Record<string, { total_bytes: string; total_packets: string }> = {};
  for (let k = 0; k < 600; k++) periods[`period_${k}`] = { total_bytes: String(12_500_000 * (k + 1)), total_packets: String(10_417 * (k + 1)) };
  const body = JSON.stringify(periods);
  const tm = join(dir, 'test_metrics');
  mkdirSync(tm, { recursive: true });
  const list = [];
  for (let i = 0; i < routers; i++) {
    writeFileSync(join(tm, `test_metrics_c${i}.json`), body);
    list.push({ [`c${i}`]: { topic: `TD_c${i}`, interfaces: ['eth2'], test_metrics: true } });
  }
  const file = join(dir, 'experiment.json');
  const exp = { experiment_id: 'capacity', flag_original_metrics: false, flag_debug_params: true, max_throughput_mbps: 100, polling_interval: 1, multiplier: 1, test_metrics_dir: tm, routers: list };
  writeFileSync(file, JSON.stringify(exp));
  return file;
}

/** The end_to_end histogram's cumulative buckets (le in s → count) and the inference's output count. */
function scrape(text: string): { buckets: Map<number, number>; out: number } {
  const buckets = new Map<number, number>();
  for (const m of text.matchAll(/^wattflow_hop_latency_seconds_bucket\{([^}]*)\} (\d+)/gm)) {
    if (!m[1]!.includes('hop="end_to_end"')) continue;
    const le = /le="([^"]+)"/.exec(m[1]!)![1]!;
    buckets.set(le === '+Inf' ? Infinity : Number(le), Number(m[2]));
  }
  const out = Number(/^wattflow_messages_out_total\{stage="inference"\} (\d+)/m.exec(text)?.[1] ?? NaN);
  return { buckets, out };
}

/** p99 (ms) of the observations between two scrapes, linear inside its bucket. */
function p99Between(a: Map<number, number>, b: Map<number, number>): { p99: number; within100: number } {
  const les = [...b.keys()].sort((x, y) => x - y);
  const cum = les.map((le) => (b.get(le) ?? 0) - (a.get(le) ?? 0));
  const total = cum.at(-1) ?? 0;
  const within100 = total ? (cum[les.indexOf(0.1)] ?? 0) / total : NaN;
  const target = 0.99 * total;
  for (let i = 0; i < les.length; i++) {
    if (cum[i]! >= target && total > 0) {
      const lo = i ? les[i - 1]! : 0;
      const below = i ? cum[i - 1]! : 0;
      const hi = les[i]!;
      if (!Number.isFinite(hi)) return { p99: Infinity, within100 };
      return { p99: (lo + ((hi - lo) * (target - below)) / Math.max(1, cum[i]! - below)) * 1000, within100 };
    }
  }
  return { p99: NaN, within100 };
}

export async function upStep(routers: number, warmupS: number, seconds: number): Promise<StepResult> {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-capacity-'));
  const experiment = writeExperiment(dir, routers);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'up', '--port', '0', '--experiment', experiment], {
    cwd: ROOT,
    env: {
      ...process.env,
      KAFKA_BROKERS: '',
      INFLUX_URL: '',
      REDIS_URL: '',
      WATTFLOW_LOG_LEVEL: 'warn',
      WATTFLOW__storage__dir: join(dir, 'store'),
      WATTFLOW__network__watch: 'false',
      WATTFLOW__network__spreadPolls: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  try {
    const deadline = Date.now() + 90_000;
    let url: string | undefined;
    while (!url) {
      url = /routers API:\s+(http:\/\/\S+)\/api\/routers/.exec(output)?.[1];
      if (child.exitCode !== null || Date.now() > deadline) return { rate: NaN, p99: NaN, error: `up did not start: ${output.slice(-500)}` };
      await new Promise((r) => setTimeout(r, 100));
    }
    const get = async () => scrape(await (await fetch(`${url}/metrics`)).text());
    await new Promise((r) => setTimeout(r, warmupS * 1000));
    const a = await get();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const b = await get();
    const elapsed = (performance.now() - t0) / 1000;
    return { rate: (b.out - a.out) / elapsed, ...p99Between(a.buckets, b.buckets) };
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

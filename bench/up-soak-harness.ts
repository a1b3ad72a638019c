/**
 * Runs the real `wattflow up` (a child process, the CLI as `npm start` runs it) on a generated
 * experiment of N test-metrics routers polled every second, and samples its resident memory
 * (/proc/<pid>/status VmRSS), its heap and event-loop delay (its own /metrics) and the
 * in-process bus's usage. Used by bench/up-soak.bench.ts (30 minutes) and by the short form in
 * test/e2e/up-memory.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface SoakSample {
  /** Seconds since the start. */
  t: number;
  rssMb: number;
  heapUsedMb: number;
  /** Event-loop delay p99 over the last scrape interval (prom-client's monitorEventLoopDelay), ms. */
  loopP99Ms: number;
  busMessages: number;
  busBytes: number;
  /** Predictions written so far (ML messages out of inference). */
  predictions: number;
  ticksSkipped: number;
  ticksLate: number;
}

export interface SoakOptions {
  routers: number;
  seconds: number;
  sampleEveryS?: number;
  /** Extra environment for the child (e.g. a smaller bus budget). */
  env?: NodeJS.ProcessEnv;
  /** Extra node flags for the child (e.g. --cpu-prof). */
  nodeArgs?: string[];
  onSample?: (s: SoakSample) => void;
}

export interface SoakResult {
  samples: SoakSample[];
  output: string;
  exitCode: number | null;
}

/** An experiment of `routers` test-metrics routers at 1 s, in a temporary directory with their counter files. */
function writeExperiment(dir: string, routers: number): string {
  const metrics = readFileSync(join(ROOT, 'config/test_metrics/test_metrics_r1.json'), 'utf8');
  const tm = join(dir, 'test_metrics');
  rmSync(tm, { recursive: true, force: true });
  // one counter file per router (the reference reads test_metrics_<router>.json)
  mkdirSync(tm, { recursive: true });
  const list = [];
  for (let i = 0; i < routers; i++) {
    writeFileSync(join(tm, `test_metrics_s${i}.json`), metrics);
    list.push({ [`s${i}`]: { collector_url: `http://127.0.0.1/metrics/s${i}_9100.json`, topic: `TD_s${i}`, interfaces: ['eth2', 'eth3'], test_metrics: true } });
  }
  const file = join(dir, 'experiment.json');
  writeFileSync(
    file,
    JSON.stringify({ experiment_id: 'soak', flag_original_metrics: true, flag_debug_params: true, max_throughput_mbps: 100, polling_interval: 1, multiplier: 2000, test_metrics_dir: tm, routers: list }),
  );
  return file;
}

const metric = (text: string, name: string): number => {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+|NaN)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
};

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return kb / 1024;
}

export async function soakUp(o: SoakOptions): Promise<SoakResult> {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-soak-'));
  const experiment = writeExperiment(dir, o.routers);
  const child: ChildProcess = spawn(process.execPath, [...(o.nodeArgs ?? []), '--import', 'tsx', 'src/cli.ts', 'up', '--port', '0', '--experiment', experiment], {
    cwd: ROOT,
    env: { ...process.env, KAFKA_BROKERS: '', INFLUX_URL: '', REDIS_URL: '', WATTFLOW_LOG_LEVEL: 'warn', WATTFLOW__storage__dir: join(dir, 'store'), WATTFLOW__network__watch: 'false', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const samples: SoakSample[] = [];
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`up did not start within 60 s:\n${output.slice(-2000)}`)), 60_000);
      const check = () => {
        const m = /routers API:\s+(http:\/\/\S+)\/api\/routers/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        } else if (child.exitCode !== null) reject(new Error(`up exited (${child.exitCode}):\n${output.slice(-2000)}`));
        else setTimeout(check, 100);
      };
      check();
    });
    const started = Date.now();
    const every = (o.sampleEveryS ?? 5) * 1000;
    for (let next = started; next - started <= o.seconds * 1000; next += every) {
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
      if (child.exitCode !== null) throw new Error(`up exited during the soak (${child.exitCode}):\n${output.slice(-2000)}`);
      const text = await (await fetch(`${url}/metrics`)).text();
      const s: SoakSample = {
        t: (Date.now() - started) / 1000,
        rssMb: rssMb(child.pid!),
        heapUsedMb: metric(text, 'wattflow_nodejs_heap_size_used_bytes') / 2 ** 20,
        loopP99Ms: metric(text, 'wattflow_nodejs_eventloop_lag_p99_seconds') * 1000,
        busMessages: metric(text, 'wattflow_bus_messages'),
        busBytes: metric(text, 'wattflow_bus_bytes'),
        predictions: Number(/^wattflow_messages_out_total\{stage="inference"\} (\d+)/m.exec(text)?.[1] ?? NaN),
        ticksSkipped: metric(text, 'wattflow_producer_ticks_skipped_total'),
        ticksLate: metric(text, 'wattflow_producer_ticks_late_total'),
      };
      samples.push(s);
      o.onSample?.(s);
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  const exitCode = await exited;
  rmSync(dir, { recursive: true, force: true });
  return { samples, output, exitCode };
}

/** Least-squares slope of `y` over `t` (per second). */
export function slope(points: Array<{ t: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return num / den;
}

/** Value at quantile q (0..1) of the numbers. */
export function quantile(values: number[], q: number): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

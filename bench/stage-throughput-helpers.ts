/**
 * bench/stage-throughput.bench.ts's parts: one `wattflow <role>` child measured over its output
 * window (rate, CPU per message from /proc/<pid>/stat, peak RSS), and Kafka's own
 * ProducerPerformance / ConsumerPerformance from the broker's jars (scripts/services/kafka.sh
 * tool), whose CPU is read from this process's reaped-children times (JVM start-up included).
 */
import { execSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Fabric } from '../src/fabric/fabric.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TICK_MS = 1000 / (Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100);

export interface StageRun {
  name: string;
  rate: number;
  cpuPerMsg: number;
  rssMb: number;
  /** Spawn → first output (s); NaN for the floor. */
  startupS: number;
  /** Judged against the targets (the floor rows are not). */
  target: boolean;
  note?: string;
}

/** /proc/<pid>/stat fields after the command name: [0] is field 3 (state), utime is field 14. */
function statFields(pid: number | 'self'): string[] {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

/** utime+stime of a process (all its threads), ms. */
export function cpuMs(pid: number): number {
  const f = statFields(pid);
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

/** cutime+cstime of this process: the CPU of its children once reaped (and of theirs), ms. */
function childrenCpuMs(): number {
  const f = statFields('self');
  return (Number(f[13]) + Number(f[14])) * TICK_MS;
}

function peakRssMb(pid: number): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

export interface RoleOptions {
  role: 'processor' | 'inference';
  expFile: string;
  outTopic: string;
  /** Output messages that end the run. */
  expected: number;
  /** Input messages waiting in its topic (printed). */
  inputs: number;
  listeners: Set<(topic: string, count: number) => void>;
  seen: Map<string, number>;
  env: NodeJS.ProcessEnv;
}

/** Runs one role process until `expected` messages are on its output topic; its window figures. */
export async function runRole(o: RoleOptions): Promise<StageRun> {
  const spawned = performance.now();
  const child = spawn(process.execPath, [...(process.env.BENCH_ROLE_NODE_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', 'src/cli.ts', o.role, '--experiment', o.expFile, '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, WATTFLOW_LOG_LEVEL: 'info', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const pid = child.pid!;
  type Mark = { t: number; count: number; cpu: number };
  let first: Mark | undefined;
  let last: Mark | undefined;
  const timeoutMs = 60_000 + o.expected;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    void exited.then(() => resolve());
    const listener = (topic: string, count: number) => {
      if (topic !== o.outTopic || last) return;
      const mark = { t: performance.now(), count, cpu: cpuMs(pid) };
      first ??= mark;
      if (count >= o.expected) {
        last = mark;
        clearTimeout(timer);
        resolve();
      }
    };
    o.listeners.add(listener);
  });
  o.listeners.clear();
  const done = last ?? (first ? { t: performance.now(), count: o.seen.get(o.outTopic) ?? 0, cpu: child.exitCode === null ? cpuMs(pid) : NaN } : undefined);
  const rssMb = child.exitCode === null ? peakRssMb(pid) : NaN;
  // the role's own count of what it consumed, from its /metrics
  const url = /"url":"(http:\/\/[^"]+)"/.exec(output)?.[1];
  let consumed = NaN;
  if (url && child.exitCode === null) {
    const text = await (await fetch(`${url}/metrics`)).text().catch(() => '');
    consumed = Number(new RegExp(`^wattflow_messages_in_total\\{stage="${o.role}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  }
  if (child.exitCode === null) child.kill('SIGTERM');
  await exited;
  const total = (performance.now() - spawned) / 1000;
  if (!first || !done || done.count <= first.count) {
    console.log(`stage-throughput: ${o.role}: no usable output window (${o.seen.get(o.outTopic) ?? 0} of ${o.expected} messages); its output:\n${output.slice(-3000)}`);
    return { name: `wattflow ${o.role}`, rate: NaN, cpuPerMsg: NaN, rssMb, startupS: NaN, target: true, note: 'FAILED: no output window' };
  }
  const msgs = done.count - first.count;
  const seconds = (done.t - first.t) / 1000;
  const incomplete = last ? '' : ` INCOMPLETE: ${done.count} of ${o.expected} after ${(timeoutMs / 1000).toFixed(0)} s;`;
  return {
    name: `wattflow ${o.role}`,
    rate: msgs / seconds,
    cpuPerMsg: (done.cpu - first.cpu) / msgs,
    rssMb,
    startupS: (first.t - spawned) / 1000,
    target: true,
    note:
      `${o.inputs.toLocaleString()} in (its metrics: ${Number.isFinite(consumed) ? consumed.toLocaleString() : 'n/a'}), ${done.count.toLocaleString()} out;${incomplete} ` +
      `window ${msgs.toLocaleString()} messages in ${seconds.toFixed(2)} s; spawn → last output ${((done.t - spawned) / 1000).toFixed(1)} s, process total ${total.toFixed(1)} s`,
  };
}

function kafkaTool(args: string[]): { out: string; cpu: number; seconds: number } {
  const c0 = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync('bash', ['scripts/services/kafka.sh', 'tool', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, KAFKA_TOOL_TIMEOUT: '300' } });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  return { out, cpu: childrenCpuMs() - c0, seconds: (performance.now() - t0) / 1000 };
}

export interface FloorOptions {
  brokers: string;
  topic: string;
  messages: number;
  recordSize: number;
  group: string;
  fabric: Fabric;
}

/** Kafka's own producer and consumer performance tools on a topic of their own: the floor. */
export async function kafkaFloor(o: FloorOptions): Promise<StageRun[]> {
  await o.fabric.ensureTopics([{ name: o.topic }]);
  const n = o.messages;
  const prod = kafkaTool([
    'org.apache.kafka.tools.ProducerPerformance', '--topic', o.topic, '--num-records', String(n), '--record-size', String(o.recordSize),
    '--throughput', '-1', '--producer-props', `bootstrap.servers=${o.brokers}`, 'acks=all',
  ]);
  const pm = [...prod.out.matchAll(/(\d+) records sent, ([\d.]+) records\/sec .*?([\d.]+) ms avg latency, ([\d.]+) ms max latency(?:, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th)?/g)].at(-1);
  if (!pm) console.log(`stage-throughput: ProducerPerformance output not understood:\n${prod.out.slice(-2000)}`);
  const cons = kafkaTool([
    'org.apache.kafka.tools.ConsumerPerformance', '--bootstrap-server', o.brokers, '--topic', o.topic, '--messages', String(n),
    '--timeout', '60000', '--group', o.group,
  ]);
  // a header line of column names, then one line of values
  const lines = cons.out.split('\n').map((l) => l.trim());
  const hi = lines.findIndex((l) => l.startsWith('start.time'));
  const cols = hi >= 0 ? lines[hi]!.split(/,\s*/) : [];
  const vals = hi >= 0 ? (lines[hi + 1] ?? '').split(/,\s*/) : [];
  const col = (name: string) => Number(vals[cols.indexOf(name)]);
  if (hi < 0) console.log(`stage-throughput: ConsumerPerformance output not understood:\n${cons.out.slice(-2000)}`);
  return [
    {
      name: 'kafka ProducerPerformance',
      rate: pm ? Number(pm[2]) : NaN,
      cpuPerMsg: prod.cpu / n,
      rssMb: NaN,
      startupS: NaN,
      target: false,
      note: `${n.toLocaleString()} records of ${o.recordSize} B, acks=all; latency avg ${pm?.[3] ?? '?'} ms, p99 ${pm?.[7] ?? '?'} ms; CPU includes the JVM's start-up (tool ran ${prod.seconds.toFixed(1)} s)`,
    },
    {
      name: 'kafka ConsumerPerformance',
      rate: col('fetch.nMsg.sec'),
      cpuPerMsg: cons.cpu / n,
      rssMb: NaN,
      startupS: NaN,
      target: false,
      note: `${col('data.consumed.in.nMsg')} records; fetch.nMsg.sec (group join excluded; with it ${col('nMsg.sec')} msg/s); CPU includes the JVM's start-up (tool ran ${cons.seconds.toFixed(1)} s)`,
    },
  ];
}

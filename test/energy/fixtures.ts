/**
 * A fake node for the energy tests: procfs, sysfs (powercap) and the kubelet's log layout in a
 * temporary directory, with helpers to move the clock forward (CPU times, RAPL counters) and to
 * start and end processes. The exporter reads it through energy.procfsRoot, sysfsRoot and
 * kubeLogRoot exactly as it reads /proc, /sys and /var/log.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type client from 'prom-client';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { energyDefaults, type EnergyConfig } from '../../src/energy/config.js';
import { KubeMetadata } from '../../src/energy/kube.js';
import { createEnergyRegistry } from '../../src/energy/metrics.js';
import { EnergyMonitor } from '../../src/energy/monitor.js';
import { EstimatorSource, selectNodeSource, type NodeEnergySource } from '../../src/energy/node-source.js';
import { parseCpuInfo } from '../../src/energy/procfs.js';
import { ReadErrors } from '../../src/energy/read-errors.js';
import { readFileSync } from 'node:fs';

export interface FakeProcess {
  comm: string;
  ticks: number;
  start: number;
  cgroup?: string;
  cmdline?: string[];
  exe?: string;
}

export class FakeNode {
  readonly root: string;
  readonly proc: string;
  readonly sys: string;
  readonly logs: string;
  readonly docker: string;
  /** /proc/stat aggregate (ticks). */
  cpu = { user: 1000, nice: 0, system: 500, idle: 8000, iowait: 100, irq: 10, softirq: 10, steal: 0 };
  readonly cpus: number;
  private readonly procs = new Map<number, FakeProcess>();

  constructor(opts: { cpus?: number; memKb?: number } = {}) {
    this.root = mkdtempSync(join(tmpdir(), 'wattflow-energy-'));
    this.proc = join(this.root, 'proc');
    this.sys = join(this.root, 'sys');
    this.logs = join(this.root, 'log');
    this.docker = join(this.root, 'docker');
    this.cpus = opts.cpus ?? 4;
    mkdirSync(this.proc, { recursive: true });
    mkdirSync(this.sys, { recursive: true });
    mkdirSync(this.logs, { recursive: true });
    writeFileSync(join(this.proc, 'meminfo'), `MemTotal:       ${opts.memKb ?? 16_000_000} kB\nMemFree:        1000 kB\n`);
    writeFileSync(
      join(this.proc, 'cpuinfo'),
      Array.from({ length: this.cpus }, (_, i) => `processor\t: ${i}\nvendor_id\t: GenuineIntel\nmodel name\t: Fake CPU @ 2.00GHz\nphysical id\t: 0\ncore id\t\t: ${i}\n`).join('\n'),
    );
    this.writeStat();
  }

  writeStat(): void {
    const c = this.cpu;
    const line = (name: string, div: number) =>
      `${name} ${Math.round(c.user / div)} ${c.nice} ${Math.round(c.system / div)} ${Math.round(c.idle / div)} ${Math.round(c.iowait / div)} ${c.irq} ${c.softirq} ${c.steal} 0 0`;
    const lines = [line('cpu ', 1), ...Array.from({ length: this.cpus }, (_, i) => line(`cpu${i}`, this.cpus))];
    writeFileSync(join(this.proc, 'stat'), `${lines.join('\n')}\nintr 0\nctxt 0\nbtime 0\nprocesses 1\n`);
  }

  /** Advances the node's CPU times: `active` and `idle` ticks (active goes to user). */
  advanceCpu(active: number, idle: number): void {
    this.cpu.user += active;
    this.cpu.idle += idle;
    this.writeStat();
  }

  addProcess(pid: number, p: FakeProcess): void {
    this.procs.set(pid, p);
    const dir = join(this.proc, String(pid));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cgroup'), p.cgroup ?? '0::/system.slice/some.service\n');
    writeFileSync(join(dir, 'cmdline'), p.cmdline ? `${p.cmdline.join('\0')}\0` : '');
    rmSync(join(dir, 'exe'), { force: true });
    if (p.exe) symlinkSync(p.exe, join(dir, 'exe'));
    this.writePidStat(pid);
  }

  writePidStat(pid: number): void {
    const p = this.procs.get(pid)!;
    // utime stime: split the ticks; fields up to starttime (22) and a few after
    const utime = Math.floor(p.ticks / 2);
    const stime = p.ticks - utime;
    const fields = ['S', '1', String(pid), String(pid), '0', '-1', '4194304', '100', '0', '0', '0', String(utime), String(stime), '0', '0', '20', '0', '1', '0', String(p.start), '1000000', '100'];
    writeFileSync(join(this.proc, String(pid), 'stat'), `${pid} (${p.comm}) ${fields.join(' ')}\n`);
  }

  /** Adds CPU ticks to a process. */
  run(pid: number, ticks: number): void {
    this.procs.get(pid)!.ticks += ticks;
    this.writePidStat(pid);
  }

  exit(pid: number): void {
    this.procs.delete(pid);
    rmSync(join(this.proc, String(pid)), { recursive: true, force: true });
  }

  /** A powercap zone: /sys/class/powercap/<dir> with name, max_energy_range_uj, energy_uj. */
  raplZone(dir: string, name: string, maxUj: number, uj: number): void {
    const d = join(this.sys, 'class', 'powercap', dir);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'name'), `${name}\n`);
    writeFileSync(join(d, 'max_energy_range_uj'), `${maxUj}\n`);
    writeFileSync(join(d, 'energy_uj'), `${uj}\n`);
  }

  setEnergy(dir: string, uj: number): void {
    writeFileSync(join(this.sys, 'class', 'powercap', dir, 'energy_uj'), `${uj}\n`);
  }

  /** The kubelet's log layout for a pod and its containers. */
  podLogs(namespace: string, pod: string, uid: string, containers: Array<{ name: string; id: string }>): void {
    mkdirSync(join(this.logs, 'pods', `${namespace}_${pod}_${uid}`), { recursive: true });
    mkdirSync(join(this.logs, 'containers'), { recursive: true });
    for (const c of containers) {
      writeFileSync(join(this.logs, 'containers', `${pod}_${namespace}_${c.name}-${c.id}.log`), '');
    }
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** systemd-driver cgroup v2 path of a Kubernetes container. */
export function kubeCgroup(qos: 'guaranteed' | 'burstable' | 'besteffort', podUid: string, containerId: string, runtime = 'cri-containerd'): string {
  const uid = podUid.replace(/-/g, '_');
  const pod = qos === 'guaranteed' ? `kubepods-pod${uid}.slice` : `kubepods-${qos}.slice/kubepods-${qos}-pod${uid}.slice`;
  return `0::/kubepods.slice/${pod}/${runtime}-${containerId}.scope\n`;
}

export const hexId = (seed: number): string => (seed.toString(16).padStart(2, '0').repeat(32)).slice(0, 64);

/** A logger whose JSON lines are collected (to check what is logged, and how often). */
export function capturingLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = pino({ level: 'info' }, stream) as unknown as Logger;
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Parses an exposition into samples (name, labels, value); comments skipped. */
export function parseSamples(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) for (const lm of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]!] = lm[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export const seriesKey = (s: { name: string; labels: Record<string, string> }): string =>
  `${s.name}{${Object.keys(s.labels)
    .sort()
    .map((k) => `${k}=${s.labels[k]}`)
    .join(',')}}`;

export interface MonitorHarness {
  monitor: EnergyMonitor;
  registry: client.Registry;
  errors: ReadErrors;
  source: NodeEnergySource;
  cfg: EnergyConfig;
  /** Moves the fake clock by `ms` and samples. */
  step(ms?: number): void;
  scrape(): Promise<ReturnType<typeof parseSamples>>;
  clock: { now: number };
}

/** A monitor and its registry on a fake node, with a fake clock. */
export function monitorOn(node: FakeNode, over: Partial<EnergyConfig> & { logger?: Logger; selfPid?: number; selfRole?: string; legacy?: boolean } = {}): MonitorHarness {
  const cfg = energyDefaults({ procfsRoot: node.proc, sysfsRoot: node.sys, kubeLogRoot: node.logs, dockerRoot: node.docker, nodeName: 'node-a', ...over });
  const errors = new ReadErrors(over.logger ?? silentLogger());
  const clock = { now: 1_000_000 };
  const source = selectNodeSource(cfg, errors);
  const monitor = new EnergyMonitor({
    procfsRoot: cfg.procfsRoot,
    source,
    kube: new KubeMetadata({ kubeLogRoot: cfg.kubeLogRoot, dockerRoot: cfg.dockerRoot, errors, rescanMs: 0 }),
    errors,
    topProcesses: cfg.topProcesses,
    includeWattflowProcesses: cfg.includeWattflowProcesses,
    terminatedRetentionS: cfg.terminatedRetentionS,
    wattflowRoles: new Set(['up', 'processor', 'inference', 'energy-exporter', 'vehicle-predictor']),
    selfPid: over.selfPid ?? -1,
    selfRole: over.selfRole ?? 'energy-exporter',
    now: () => clock.now,
  });
  const registry = createEnergyRegistry(monitor, {
    nodeName: cfg.nodeName!,
    legacy: over.legacy ?? true,
    cpuInfo: parseCpuInfo(readFileSync(join(node.proc, 'cpuinfo'), 'utf8')),
    errors,
    estimator: source instanceof EstimatorSource ? { platform: cfg.platform, coefficients: source.coefficients } : undefined,
  });
  monitor.sample();
  return {
    monitor,
    registry,
    errors,
    source,
    cfg,
    clock,
    step(ms = 5000) {
      clock.now += ms;
      monitor.sample();
    },
    scrape: async () => parseSamples(await registry.metrics()),
  };
}

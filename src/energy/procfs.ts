/**
 * procfs readers (written here: each is a few lines of parsing, and the exporter needs control
 * over every read — one small read per file, errors counted, never thrown): node CPU time from
 * /proc/stat, memory size from /proc/meminfo, CPU models from /proc/cpuinfo, and per process
 * its CPU time, name, start time (/proc/<pid>/stat), cgroup, command line and executable.
 *
 * CPU times in /proc are in clock ticks (USER_HZ), 100 per second on every Linux architecture
 * that wattflow runs on (the kernel's exported unit, independent of CONFIG_HZ).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readSmall } from './fsread.js';

export const USER_HZ = 100;

export interface CpuTimes {
  /** Logical CPUs (cpuN lines). */
  cpus: number;
  /** Sum of user, nice, system, idle, iowait, irq, softirq, steal (guest time is inside user/nice). */
  total: number;
  idle: number;
  iowait: number;
}

/** Active time as the issue defines it: total − idle − iowait. */
export const activeOf = (t: CpuTimes): number => t.total - t.idle - t.iowait;

/** Parses /proc/stat's aggregate line; throws on malformed text. */
export function parseProcStat(text: string): CpuTimes {
  let cpus = 0;
  let agg: number[] | undefined;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (text.startsWith('cpu', start)) {
      const line = text.slice(start, end);
      if (line.startsWith('cpu ')) agg = line.slice(4).trim().split(/\s+/).map(Number);
      else if (/^cpu\d+\s/.test(line)) cpus++;
    } else if (agg) {
      break; // the cpu lines come first
    }
    start = end + 1;
  }
  if (!agg || agg.length < 4 || agg.slice(0, Math.min(agg.length, 8)).some((v) => !Number.isFinite(v) || v < 0)) {
    throw new Error('no valid aggregate "cpu" line');
  }
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = agg;
  return { cpus: Math.max(cpus, 1), total: user + nice + system + idle + iowait + irq + softirq + steal, idle, iowait };
}

export function readProcStat(root: string): CpuTimes {
  return parseProcStat(readSmall(join(root, 'stat')));
}

/** MemTotal from /proc/meminfo, in bytes; throws when absent. */
export function parseMemTotalBytes(text: string): number {
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(text);
  if (!m) throw new Error('no MemTotal line');
  return Number(m[1]) * 1024;
}

export interface CpuInfo {
  processor: string;
  vendor_id: string;
  model_name: string;
  physical_id: string;
  core_id: string;
}

/** One entry per logical CPU (fields absent on some architectures are ''). */
export function parseCpuInfo(text: string): CpuInfo[] {
  const out: CpuInfo[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) fields.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
    const processor = fields.get('processor');
    if (processor === undefined || !/^\d+$/.test(processor)) continue;
    out.push({
      processor,
      vendor_id: fields.get('vendor_id') ?? fields.get('CPU implementer') ?? '',
      model_name: fields.get('model name') ?? fields.get('Model') ?? fields.get('cpu model') ?? '',
      physical_id: fields.get('physical id') ?? '',
      core_id: fields.get('core id') ?? '',
    });
  }
  return out;
}

export function readCpuInfo(root: string): CpuInfo[] {
  return parseCpuInfo(readFileSync(join(root, 'cpuinfo'), 'utf8'));
}

export function readMemTotalBytes(root: string): number {
  return parseMemTotalBytes(readSmall(join(root, 'meminfo')));
}

/** The numeric entries of /proc. */
export function listPids(root: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync(root)) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
  return pids;
}

export interface PidStat {
  comm: string;
  /** utime + stime, clock ticks. */
  cpuTicks: number;
  /** Start time after boot, clock ticks (with the pid, identifies the process: pids are reused). */
  startTime: number;
}

/**
 * Parses /proc/<pid>/stat: "pid (comm) state ppid … utime(14) stime(15) … starttime(22) …".
 * comm may hold spaces and parentheses, so the fields start after the last ')'. Throws when
 * malformed.
 */
export function parsePidStat(text: string): PidStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error('no "(comm)"');
  const comm = text.slice(open + 1, close);
  // fields after ')': index 0 is field 3 (state)
  const rest = text.slice(close + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const startTime = Number(rest[19]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime) || !Number.isFinite(startTime) || utime < 0 || stime < 0 || rest.length < 20) {
    throw new Error('utime, stime or starttime missing or not numbers');
  }
  return { comm, cpuTicks: utime + stime, startTime };
}

export function readPidStat(root: string, pid: number): PidStat {
  return parsePidStat(readSmall(`${root}/${pid}/stat`));
}

export function readPidCgroup(root: string, pid: number): string {
  return readSmall(`${root}/${pid}/cgroup`);
}

/** The command line's arguments (NUL-separated in procfs; empty for kernel threads). */
export function readPidCmdline(root: string, pid: number): string[] {
  const text = readSmall(`${root}/${pid}/cmdline`);
  if (text.length === 0) return [];
  return text.split('\0').filter((s, i, all) => s.length > 0 || i < all.length - 1);
}

export function readPidExe(root: string, pid: number): string {
  return readlinkSync(`${root}/${pid}/exe`);
}

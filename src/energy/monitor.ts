/**
 * The energy monitor: every interval it reads the node's energy (RAPL or the estimator), the
 * node's CPU times (/proc/stat) and every process's CPU time (/proc/<pid>/stat), and attributes
 * the active energy to processes, containers and pods (attribution.ts), keeping monotonic
 * joules per workload and zone, each workload's state (running, or terminated and kept for
 * `terminatedRetentionS`), and which processes are exported (the top N by recent power plus
 * wattflow's own). The exposition (metrics.ts) renders what this holds at scrape time.
 *
 * Per process it reads one small file per interval; the cgroup, command line and executable
 * only once, when the process first shows up (a pid with a new start time is a new process).
 * A process's CPU time between its last sample and its exit cannot be read: that share of the
 * interval goes to the processes still running (as in Kepler).
 */
import type { Logger } from '../core/logger.js';
import { cpuShare, splitActiveIdle, splitByStages, usageRatio } from './attribution.js';
import { parseProcCgroup, type QosClass, type Runtime } from './cgroup.js';
import type { KubeMetadata } from './kube.js';
import type { NodeEnergySource, ZoneInfo } from './node-source.js';
import { activeOf, listPids, readPidCgroup, readPidCmdline, readPidExe, readPidStat, readProcStat, USER_HZ, type CpuTimes, type PidStat } from './procfs.js';
import { isGone, reasonOf, type ReadErrors } from './read-errors.js';
import { stageAccounts, stageCpuEnabled } from './stage-cpu.js';
import { wattflowRoleOf } from './wattflow-procs.js';

export type State = 'running' | 'terminated';

/** Kepler 0.7's components (legacy metrics): package, dram, other (platform − package − dram), gpu (no GPU probe: 0). */
export const LEGACY_COMPONENTS = ['package', 'dram', 'other', 'gpu'] as const;
export type LegacyComponent = (typeof LEGACY_COMPONENTS)[number];

interface Energy {
  /** Joules per zone (monotonic). */
  joules: Float64Array;
  /** Watts per zone over the last interval. */
  watts: Float64Array;
}

export interface ProcessEntry extends Energy {
  pid: number;
  startTime: number;
  comm: string;
  /** Executable path (read when first exported; '' for kernel threads or when unreadable). */
  exe?: string;
  containerId: string;
  /** wattflow role when this is one of wattflow's processes. */
  role?: string;
  self: boolean;
  ticks: number;
  delta: number;
  seen: number;
  state: State;
  endedAt: number;
  /** Smoothed power (W, all zones), the ranking of the top N. */
  rankW: number;
  /** Joules of the zones in totalZones (the process's energy), and of all zones (its ranking). */
  totalJ: number;
  allJ: number;
  /** Label objects per zone, rebuilt when a label changes. */
  labels?: Array<Record<string, string>>;
}

export interface ContainerEntry extends Energy {
  id: string;
  runtime: Runtime;
  name: string;
  podUid: string;
  podName: string;
  namespace: string;
  state: State;
  endedAt: number;
  cpuDelta: number;
  seen: number;
  /** Kepler 0.7 (legacy) joules per component, dynamic (active) and idle. */
  legacyDynamic: Float64Array;
  legacyIdle: Float64Array;
  labels?: Array<Record<string, string>>;
  legacyLabels?: { dynamic: Record<string, string>; idle: Record<string, string>; totalDynamic: Record<string, string>; totalIdle: Record<string, string> };
}

export interface PodEntry extends Energy {
  uid: string;
  name: string;
  namespace: string;
  qos: QosClass | '';
  state: State;
  endedAt: number;
  cpuDelta: number;
  seen: number;
  labels?: Array<Record<string, string>>;
}

export interface NodeZone extends ZoneInfo {
  joules: number;
  activeJ: number;
  idleJ: number;
  watts: number;
  activeW: number;
  idleW: number;
  labels: Record<string, string>;
}

export interface MonitorOptions {
  procfsRoot: string;
  source: NodeEnergySource;
  kube: KubeMetadata;
  errors: ReadErrors;
  topProcesses: number;
  includeWattflowProcesses: boolean;
  terminatedRetentionS: number;
  /** The CLI's role names (to recognise wattflow processes by their command line). */
  wattflowRoles: ReadonlySet<string>;
  /** This process: its pid, the role it runs ('up', 'energy-exporter'), and whether to split its energy by the stages it runs. */
  selfPid?: number;
  selfRole: string;
  splitSelfByStage?: boolean;
  now?: () => number;
  logger?: Logger;
  /** Most terminated processes remembered (the oldest are forgotten first). */
  maxTerminatedProcesses?: number;
}

export class EnergyMonitor {
  readonly zoneNames: string[];
  /** Zone indices whose sum is "the energy" of a workload (wattflow_energy_joules_total): psys when present, else package + dram. */
  readonly totalZones: number[];
  readonly node: NodeZone[];
  usage = 0;
  samples = 0;
  /** CPU seconds the last sample took (this process), and its wall time. */
  lastSampleCpuS = 0;
  lastSampleWallS = 0;
  /** Active energy that no process could take (no process CPU time seen in the interval). */
  unattributedJ = 0;
  readonly processes = new Map<number, ProcessEntry>();
  terminated: ProcessEntry[] = [];
  readonly containers = new Map<string, ContainerEntry>();
  readonly pods = new Map<string, PodEntry>();
  /** Non-container processes together (Kepler 0.7's "system_processes" container). */
  readonly system: ContainerEntry;
  /** Joules per wattflow role on this node, and watts over the last interval. */
  readonly roleJoules = new Map<string, number>();
  readonly roleWatts = new Map<string, number>();
  /** This process's energy per stage it runs (split mode), for its stage energy metrics. */
  readonly selfStageJoules = new Map<string, number>();
  /** Processes exported this interval (top N running + wattflow's + top N terminated). */
  exported: ProcessEntry[] = [];

  private prevStat: { total: number; active: number } | undefined;
  private prevAt = 0;
  private readonly now: () => number;
  private readonly selfPid: number;
  private prevSelfCpuS = 0;
  private prevStageCpu = new Map<string, number>();
  private readonly legacyIdx: Record<LegacyComponent, number>;
  private readonly psysIdx: number;

  constructor(private readonly o: MonitorOptions) {
    this.now = o.now ?? (() => performance.timeOrigin + performance.now());
    this.selfPid = o.selfPid ?? process.pid;
    this.zoneNames = [...new Set(o.source.zones.map((z) => z.zone))];
    const idx = (z: string) => this.zoneNames.indexOf(z);
    this.psysIdx = idx('psys');
    this.totalZones = this.psysIdx >= 0 ? [this.psysIdx] : [idx('package'), idx('dram')].filter((i) => i >= 0);
    this.legacyIdx = { package: idx('package'), dram: idx('dram'), other: -1, gpu: -1 };
    this.node = o.source.zones.map((z) => ({ ...z, joules: 0, activeJ: 0, idleJ: 0, watts: 0, activeW: 0, idleW: 0, labels: { zone: z.zone, path: z.path } }));
    this.system = this.newContainer('system_processes', 'unknown', '', 'system_processes', 'system', 'system_processes');
    const cpu = process.cpuUsage();
    this.prevSelfCpuS = (cpu.user + cpu.system) / 1e6;
    for (const a of stageAccounts()) this.prevStageCpu.set(a.stage, a.cpuSeconds);
  }

  get zoneCount(): number {
    return this.zoneNames.length;
  }

  get sourceKind(): string {
    return this.o.source.powerSource;
  }

  private zeros(): Float64Array {
    return new Float64Array(this.zoneNames.length);
  }

  private newContainer(id: string, runtime: Runtime, podUid: string, name: string, namespace: string, podName: string): ContainerEntry {
    return {
      id,
      runtime,
      name,
      podUid,
      podName,
      namespace,
      state: 'running',
      endedAt: 0,
      cpuDelta: 0,
      seen: 0,
      joules: this.zeros(),
      watts: this.zeros(),
      legacyDynamic: new Float64Array(LEGACY_COMPONENTS.length),
      legacyIdle: new Float64Array(LEGACY_COMPONENTS.length),
    };
  }

  /** One interval: read, attribute, update states and the exported set. Never throws for bad files (they are counted). */
  sample(): void {
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    try {
      this.sampleInner();
    } finally {
      const c = process.cpuUsage(cpu0);
      this.lastSampleCpuS = (c.user + c.system) / 1e6;
      this.lastSampleWallS = (performance.now() - wall0) / 1000;
    }
  }

  private sampleInner(): void {
    const root = this.o.procfsRoot;
    const now = this.now();
    let stat: CpuTimes;
    try {
      stat = readProcStat(root);
    } catch (err) {
      this.o.errors.record('proc_stat', `${root}/stat`, reasonOf(err));
      return; // nothing to attribute with: the next good sample covers this interval
    }
    const cur = { total: stat.total, active: activeOf(stat) };
    const first = this.prevStat === undefined;
    const dtS = first ? 0 : Math.max(0, (now - this.prevAt) / 1000);
    const u = first ? 0 : usageRatio(this.prevStat!, cur);
    this.prevStat = cur;
    this.prevAt = now;
    this.usage = u;
    this.samples++;
    const sampleNo = this.samples;

    // node: per zone (and path), split into active and idle
    const Z = this.zoneNames.length;
    const activeByZone = new Float64Array(Z);
    const idleByZone = new Float64Array(Z);
    const readings = this.o.source.sample(u, dtS);
    readings.forEach((r, i) => {
      const n = this.node[i]!;
      const { active, idle } = splitActiveIdle(r.deltaJ, u);
      n.joules = r.joules;
      n.activeJ += active;
      n.idleJ += idle;
      n.watts = dtS > 0 ? r.deltaJ / dtS : 0;
      n.activeW = dtS > 0 ? active / dtS : 0;
      n.idleW = dtS > 0 ? idle / dtS : 0;
      const z = this.zoneNames.indexOf(r.zone);
      activeByZone[z]! += active;
      idleByZone[z]! += idle;
    });

    // processes: CPU time deltas
    let pids: number[];
    try {
      pids = listPids(root);
    } catch (err) {
      this.o.errors.record('proc_pid_stat', root, reasonOf(err));
      pids = [];
    }
    let nodeCpu = 0;
    for (const pid of pids) {
      let st: PidStat;
      try {
        st = readPidStat(root, pid);
      } catch (err) {
        if (isGone(err)) continue;
        this.o.errors.record('proc_pid_stat', `${root}/${pid}/stat`, reasonOf(err));
        const known = this.processes.get(pid);
        if (known) {
          known.seen = sampleNo; // keep it (no delta this interval) rather than call it terminated
          known.delta = 0;
        }
        continue;
      }
      let e = this.processes.get(pid);
      if (e && e.startTime !== st.startTime) {
        this.terminateProcess(e, now); // the pid was reused
        e = undefined;
      }
      let delta: number;
      if (!e) {
        e = this.newProcess(pid, st);
        if (!e) continue; // exited meanwhile
        this.processes.set(pid, e);
        // started after the previous sample: all its CPU time is in this interval
        delta = first ? 0 : st.cpuTicks;
      } else {
        delta = Math.max(0, st.cpuTicks - e.ticks);
        if (e.comm !== st.comm) {
          e.comm = st.comm; // exec'd
          e.labels = undefined;
        }
      }
      e.ticks = st.cpuTicks;
      e.delta = delta;
      e.seen = sampleNo;
      nodeCpu += delta;
    }
    for (const e of this.processes.values()) if (e.seen !== sampleNo) this.terminateProcess(e, now);

    if (nodeCpu === 0) for (let z = 0; z < Z; z++) this.unattributedJ += activeByZone[z]!;

    // attribution: processes, then containers and pods from their CPU time
    const roleDelta = new Map<string, number>();
    let selfJ = 0;
    for (const e of this.processes.values()) {
      const share = cpuShare(e.delta, nodeCpu);
      let totalW = 0;
      let total = 0;
      for (let z = 0; z < Z; z++) {
        const dj = activeByZone[z]! * share;
        e.joules[z]! += dj;
        e.watts[z] = dtS > 0 ? dj / dtS : 0;
        totalW += e.watts[z]!;
      }
      for (const z of this.totalZones) total += activeByZone[z]! * share;
      e.totalJ += total;
      e.allJ += totalW * dtS;
      e.rankW = e.rankW * 0.5 + totalW * 0.5;
      if (e.containerId) {
        const c = this.containers.get(e.containerId);
        if (c) {
          c.cpuDelta += e.delta;
          c.seen = sampleNo;
        }
      } else {
        this.system.cpuDelta += e.delta;
      }
      if (e.self) selfJ += total;
      else if (e.role) roleDelta.set(e.role, (roleDelta.get(e.role) ?? 0) + total);
    }
    this.system.seen = sampleNo;
    for (const c of [...this.containers.values(), this.system]) {
      if (c.state === 'running' && c.seen !== sampleNo) {
        c.state = 'terminated';
        c.endedAt = now;
        c.labels = undefined;
      }
      const share = cpuShare(c.cpuDelta, nodeCpu);
      addActiveShare(c, activeByZone, share, dtS);
      this.addLegacy(c, activeByZone, idleByZone, share);
      if (c.podUid) {
        const p = this.pods.get(c.podUid);
        if (p && c.state === 'running') {
          p.cpuDelta += c.cpuDelta;
          p.seen = sampleNo;
        }
      }
      c.cpuDelta = 0;
    }
    for (const p of this.pods.values()) {
      if (p.state === 'running' && p.seen !== sampleNo) {
        p.state = 'terminated';
        p.endedAt = now;
        p.labels = undefined;
      }
      addActiveShare(p, activeByZone, cpuShare(p.cpuDelta, nodeCpu), dtS);
      p.cpuDelta = 0;
    }

    this.attributeRoles(roleDelta, selfJ, dtS);
    this.expire(now);
    this.selectExported();
  }

  /** Kepler 0.7: each component's dynamic (active) and idle energy by the same CPU-time share, so containers plus system_processes add up to the node. */
  private addLegacy(c: ContainerEntry, active: Float64Array, idle: Float64Array, share: number): void {
    if (share === 0) return;
    const L = this.legacyIdx;
    const at = (arr: Float64Array, i: number) => (i >= 0 ? arr[i]! : 0);
    const comp = (arr: Float64Array): number[] => {
      const pkg = at(arr, L.package);
      const dram = at(arr, L.dram);
      const other = this.psysIdx >= 0 ? Math.max(0, at(arr, this.psysIdx) - pkg - dram) : 0;
      return [pkg, dram, other, 0];
    };
    const dyn = comp(active);
    const idl = comp(idle);
    for (let i = 0; i < LEGACY_COMPONENTS.length; i++) {
      c.legacyDynamic[i]! += dyn[i]! * share;
      c.legacyIdle[i]! += idl[i]! * share;
    }
  }

  /** wattflow roles: other wattflow processes by their command line's role; this process by its stages' CPU time when it runs several. */
  private attributeRoles(roleDelta: Map<string, number>, selfJ: number, dtS: number): void {
    const self = this.processes.get(this.selfPid);
    if (self?.self) {
      const cpu = process.cpuUsage();
      const selfCpuS = (cpu.user + cpu.system) / 1e6;
      const dSelf = selfCpuS - this.prevSelfCpuS;
      this.prevSelfCpuS = selfCpuS;
      if (this.o.splitSelfByStage && stageCpuEnabled()) {
        const stageDelta = new Map<string, number>();
        for (const a of stageAccounts()) {
          stageDelta.set(a.stage, a.cpuSeconds - (this.prevStageCpu.get(a.stage) ?? 0));
          this.prevStageCpu.set(a.stage, a.cpuSeconds);
        }
        const { stages, rest } = splitByStages(selfJ, dSelf, stageDelta);
        for (const [s, j] of stages) {
          roleDelta.set(s, (roleDelta.get(s) ?? 0) + j);
          this.selfStageJoules.set(s, (this.selfStageJoules.get(s) ?? 0) + j);
        }
        roleDelta.set(this.o.selfRole, (roleDelta.get(this.o.selfRole) ?? 0) + rest);
      } else {
        roleDelta.set(this.o.selfRole, (roleDelta.get(this.o.selfRole) ?? 0) + selfJ);
      }
    }
    for (const role of this.roleJoules.keys()) if (!roleDelta.has(role)) this.roleWatts.set(role, 0);
    for (const [role, j] of roleDelta) {
      this.roleJoules.set(role, (this.roleJoules.get(role) ?? 0) + j);
      this.roleWatts.set(role, dtS > 0 ? j / dtS : 0);
    }
  }

  private newProcess(pid: number, st: PidStat): ProcessEntry | undefined {
    const root = this.o.procfsRoot;
    let containerId = '';
    try {
      const ref = parseProcCgroup(readPidCgroup(root, pid));
      if (ref) {
        containerId = ref.containerId;
        this.ensureContainer(ref.containerId, ref.runtime, ref.podUid, ref.qos, pid === this.selfPid);
      }
    } catch (err) {
      if (isGone(err)) return undefined;
      this.o.errors.record('proc_pid_cgroup', `${root}/${pid}/cgroup`, reasonOf(err));
    }
    let role: string | undefined;
    try {
      role = wattflowRoleOf(readPidCmdline(root, pid), this.o.wattflowRoles);
    } catch (err) {
      if (isGone(err)) return undefined;
      this.o.errors.record('proc_pid_cmdline', `${root}/${pid}/cmdline`, reasonOf(err));
    }
    const self = pid === this.selfPid;
    return {
      pid,
      startTime: st.startTime,
      comm: st.comm,
      containerId,
      role: self ? this.o.selfRole : role,
      self,
      ticks: st.cpuTicks,
      delta: 0,
      seen: 0,
      state: 'running',
      endedAt: 0,
      rankW: 0,
      totalJ: 0,
      allJ: 0,
      joules: this.zeros(),
      watts: this.zeros(),
    };
  }

  private ensureContainer(id: string, runtime: Runtime, podUid: string | undefined, qos: QosClass | undefined, self: boolean): void {
    let c = this.containers.get(id);
    if (!c) {
      const meta = this.o.kube.container(id, runtime);
      let podName = meta.podName ?? '';
      let namespace = meta.namespace ?? '';
      if (podUid) {
        let p = this.pods.get(podUid);
        if (!p) {
          const pm = this.o.kube.pod(podUid, self);
          p = {
            uid: podUid,
            name: pm?.name ?? podName,
            namespace: pm?.namespace ?? namespace,
            qos: qos ?? '',
            state: 'running',
            endedAt: 0,
            cpuDelta: 0,
            seen: 0,
            joules: this.zeros(),
            watts: this.zeros(),
          };
          this.pods.set(podUid, p);
        } else if (p.state === 'terminated') {
          p.state = 'running';
          p.labels = undefined;
        }
        podName ||= p.name;
        namespace ||= p.namespace;
      }
      c = this.newContainer(id, runtime, podUid ?? '', meta.name, namespace, podName);
      this.containers.set(id, c);
    } else if (c.state === 'terminated') {
      c.state = 'running';
      c.labels = undefined;
      c.legacyLabels = undefined;
    }
  }

  private terminateProcess(e: ProcessEntry, now: number): void {
    this.processes.delete(e.pid);
    e.state = 'terminated';
    e.endedAt = now;
    e.watts.fill(0);
    e.delta = 0;
    e.labels = undefined;
    // one terminated entry per pid (a reused pid's older one goes), so label sets stay unique
    const i = this.terminated.findIndex((t) => t.pid === e.pid);
    if (i >= 0) this.terminated.splice(i, 1);
    this.terminated.push(e);
  }

  private expire(now: number): void {
    const keepMs = this.o.terminatedRetentionS * 1000;
    const max = this.o.maxTerminatedProcesses ?? 5000;
    this.terminated = this.terminated.filter((e) => now - e.endedAt <= keepMs);
    if (this.terminated.length > max) this.terminated = this.terminated.slice(this.terminated.length - max);
    for (const [id, c] of this.containers) {
      if (c.state === 'terminated' && now - c.endedAt > keepMs) {
        this.containers.delete(id);
        this.o.kube.forgetContainer(id);
      }
    }
    for (const [uid, p] of this.pods) if (p.state === 'terminated' && now - p.endedAt > keepMs) this.pods.delete(uid);
  }

  private selectExported(): void {
    const n = this.o.topProcesses;
    const running = [...this.processes.values()];
    const chosen = new Set<ProcessEntry>();
    if (n > 0) {
      // the top N that consumed anything (a process that never used CPU has no series)
      const active = running.filter((e) => e.allJ > 0);
      active.sort((a, b) => b.rankW - a.rankW || b.allJ - a.allJ);
      for (let i = 0; i < Math.min(n, active.length); i++) chosen.add(active[i]!);
    }
    if (this.o.includeWattflowProcesses) for (const e of running) if (e.role) chosen.add(e);
    const ended = n > 0 ? this.terminated.filter((e) => e.allJ > 0).sort((a, b) => b.allJ - a.allJ).slice(0, n) : [];
    if (this.o.includeWattflowProcesses) for (const e of this.terminated) if (e.role) ended.push(e);
    for (const e of ended) chosen.add(e);
    for (const e of chosen) if (e.exe === undefined) e.exe = this.readExe(e.pid, e.state);
    this.exported = [...chosen];
  }

  private readExe(pid: number, state: State): string {
    if (state === 'terminated') return '';
    try {
      return readPidExe(this.o.procfsRoot, pid);
    } catch (err) {
      // kernel threads have no executable (ENOENT): not an error
      if (!isGone(err)) this.o.errors.record('proc_pid_exe', `${this.o.procfsRoot}/${pid}/exe`, reasonOf(err), reasonOf(err) === 'EACCES' ? 'info' : 'warn');
      return '';
    }
  }

  /** Totals for tests and benchmarks: the node's active joules (zones in totalZones or all), and what processes, containers and pods hold. */
  totals(zones: 'all' | 'total' = 'all'): { nodeActiveJ: number; processJ: number; containerJ: number; systemJ: number; podJ: number } {
    const zs = zones === 'all' ? this.zoneNames.map((_, i) => i) : this.totalZones;
    const sum = (arr: Float64Array) => zs.reduce((s, z) => s + (arr[z] ?? 0), 0);
    let nodeActiveJ = 0;
    for (const n of this.node) if (zs.includes(this.zoneNames.indexOf(n.zone))) nodeActiveJ += n.activeJ;
    let processJ = 0;
    for (const e of this.processes.values()) processJ += sum(e.joules);
    for (const e of this.terminated) processJ += sum(e.joules);
    let containerJ = 0;
    for (const c of this.containers.values()) containerJ += sum(c.joules);
    let podJ = 0;
    for (const p of this.pods.values()) podJ += sum(p.joules);
    return { nodeActiveJ, processJ, containerJ, systemJ: sum(this.system.joules), podJ };
  }

  /** Seconds of CPU per clock tick of /proc (for figures). */
  static readonly tickSeconds = 1 / USER_HZ;
}

/** A workload's share of the interval's active energy, per zone: joules added, watts over the interval. */
function addActiveShare(w: { joules: Float64Array; watts: Float64Array }, activeByZone: ArrayLike<number>, share: number, dtS: number): void {
  for (let z = 0; z < activeByZone.length; z++) {
    const dj = activeByZone[z]! * share;
    w.joules[z]! += dj;
    w.watts[z] = dtS > 0 ? dj / dtS : 0;
  }
}

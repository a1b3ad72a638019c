/**
 * The energy monitor's table of workloads: processes found in /proc (cgroup, command line and
 * executable read once, when a process first shows up; a pid with a new start time is a new
 * process), their containers and pods, what terminated (kept for `terminatedRetentionS`), and
 * which processes are exported (the top N by recent power plus wattflow's own).
 */
import type { Logger } from '../core/logger.js';
import { parseProcCgroup, type QosClass, type Runtime } from './cgroup.js';
import type { KubeMetadata } from './kube.js';
import type { NodeEnergySource } from './node-source.js';
import { readPidCgroup, readPidCmdline, readPidExe, type PidStat } from './procfs.js';
import { isGone, reasonOf, type ReadErrors } from './read-errors.js';
import { wattflowRoleOf } from './wattflow-procs.js';
import { LEGACY_COMPONENTS, type ContainerEntry, type PodEntry, type ProcessEntry, type State } from './workloads.js';

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

export abstract class WorkloadTable {
  readonly zoneNames: string[];
  readonly processes = new Map<number, ProcessEntry>();
  terminated: ProcessEntry[] = [];
  readonly containers = new Map<string, ContainerEntry>();
  readonly pods = new Map<string, PodEntry>();
  /** Non-container processes together (Kepler 0.7's "system_processes" container). */
  readonly system: ContainerEntry;
  /** Processes exported this interval (top N running + wattflow's + top N terminated). */
  exported: ProcessEntry[] = [];
  protected readonly selfPid: number;

  constructor(protected readonly o: MonitorOptions) {
    this.selfPid = o.selfPid ?? process.pid;
    this.zoneNames = [...new Set(o.source.zones.map((z) => z.zone))];
    this.system = this.newContainer('system_processes', 'unknown', '', 'system_processes', 'system', 'system_processes');
  }

  protected zeros(): Float64Array {
    return new Float64Array(this.zoneNames.length);
  }

  /** A new running container's or pod's state and zeroed energy. */
  private freshCounters(): { state: State; endedAt: number; cpuDelta: number; seen: number; joules: Float64Array; watts: Float64Array } {
    return { state: 'running', endedAt: 0, cpuDelta: 0, seen: 0, joules: this.zeros(), watts: this.zeros() };
  }

  protected newContainer(id: string, runtime: Runtime, podUid: string, name: string, namespace: string, podName: string): ContainerEntry {
    return {
      id,
      runtime,
      name,
      podUid,
      podName,
      namespace,
      ...this.freshCounters(),
      legacyDynamic: new Float64Array(LEGACY_COMPONENTS.length),
      legacyIdle: new Float64Array(LEGACY_COMPONENTS.length),
    };
  }

  protected newProcess(pid: number, st: PidStat): ProcessEntry | undefined {
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

  protected ensureContainer(id: string, runtime: Runtime, podUid: string | undefined, qos: QosClass | undefined, self: boolean): void {
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
            ...this.freshCounters(),
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

  protected terminateProcess(e: ProcessEntry, now: number): void {
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

  protected expire(now: number): void {
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

  protected selectExported(): void {
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

  protected readExe(pid: number, state: State): string {
    if (state === 'terminated') return '';
    try {
      return readPidExe(this.o.procfsRoot, pid);
    } catch (err) {
      // kernel threads have no executable (ENOENT): not an error
      if (!isGone(err)) this.o.errors.record('proc_pid_exe', `${this.o.procfsRoot}/${pid}/exe`, reasonOf(err), reasonOf(err) === 'EACCES' ? 'info' : 'warn');
      return '';
    }
  }
}

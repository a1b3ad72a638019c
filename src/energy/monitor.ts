/**
 * The energy monitor: every interval it reads the node's energy (RAPL or the estimator), the
 * node's CPU times and every process's CPU time, and attributes the active energy to processes,
 * containers, pods and wattflow roles (attribution.ts), keeping monotonic joules per workload
 * and zone. The workloads themselves are kept by workload-table.ts; metrics.ts renders them.
 * Design notes: docs/energy.md.
 */
import { cpuShare, splitActiveIdle, splitByStages, usageRatio } from './attribution.js';
import { activeOf, listPids, readPidStat, readProcStat, USER_HZ, type CpuTimes, type PidStat } from './procfs.js';
import { isGone, reasonOf } from './read-errors.js';
import { stageAccounts, stageCpuEnabled } from './stage-cpu.js';
import { WorkloadTable, type MonitorOptions } from './workload-table.js';
import { addActiveShare, LEGACY_COMPONENTS, type ContainerEntry, type LegacyComponent, type NodeZone } from './workloads.js';

export class EnergyMonitor extends WorkloadTable {
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
  /** Joules per wattflow role on this node, and watts over the last interval. */
  readonly roleJoules = new Map<string, number>();
  readonly roleWatts = new Map<string, number>();
  /** This process's energy per stage it runs (split mode), for its stage energy metrics. */
  readonly selfStageJoules = new Map<string, number>();

  private prevStat: { total: number; active: number } | undefined;
  private prevAt = 0;
  private readonly now: () => number;
  private prevSelfCpuS = 0;
  private prevStageCpu = new Map<string, number>();
  private readonly legacyIdx: Record<LegacyComponent, number>;
  private readonly psysIdx: number;

  constructor(o: MonitorOptions) {
    super(o);
    this.now = o.now ?? (() => performance.timeOrigin + performance.now());
    const idx = (z: string) => this.zoneNames.indexOf(z);
    this.psysIdx = idx('psys');
    this.totalZones = this.psysIdx >= 0 ? [this.psysIdx] : [idx('package'), idx('dram')].filter((i) => i >= 0);
    this.legacyIdx = { package: idx('package'), dram: idx('dram'), other: -1, gpu: -1 };
    this.node = o.source.zones.map((z) => ({ ...z, joules: 0, activeJ: 0, idleJ: 0, watts: 0, activeW: 0, idleW: 0, labels: { zone: z.zone, path: z.path } }));
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

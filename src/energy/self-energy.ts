/**
 * The energy of this process alone, cheaply, for the stage processes that do not run the
 * exporter (`wattflow processor`, `inference`, `vehicle-predictor` on their own): each call
 * reads /proc/stat and the node's energy source (RAPL or the estimator) and takes this
 * process's share of the interval's active energy: its own CPU time Δ (process.cpuUsage) over
 * the node's active CPU time Δ (/proc/stat). No scan of /proc/<pid>: a few reads per interval.
 *
 * The exporter divides by the sum of every process's CPU time instead (Kepler's denominator);
 * the two differ by the CPU time no process accounts for (interrupts), typically a few percent.
 */
import { splitActiveIdle, usageRatio } from './attribution.js';
import type { NodeEnergySource } from './node-source.js';
import { activeOf, readProcStat, USER_HZ } from './procfs.js';
import { reasonOf, type ReadErrors } from './read-errors.js';

export class SelfEnergy {
  /** Joules attributed to this process so far. */
  joules = 0;
  private prev: { total: number; active: number; at: number; cpuS: number } | undefined;
  private readonly totalZones: Set<string>;

  constructor(
    private readonly source: NodeEnergySource,
    private readonly procfsRoot: string,
    private readonly errors?: ReadErrors,
    private readonly now: () => number = () => performance.timeOrigin + performance.now(),
  ) {
    const names = new Set(source.zones.map((z) => z.zone));
    this.totalZones = names.has('psys') ? new Set(['psys']) : new Set(['package', 'dram']);
  }

  /** Samples and returns the cumulative joules. */
  sample(): number {
    let stat;
    try {
      stat = readProcStat(this.procfsRoot);
    } catch (err) {
      this.errors?.record('proc_stat', `${this.procfsRoot}/stat`, reasonOf(err));
      return this.joules;
    }
    const cpu = process.cpuUsage();
    const cur = { total: stat.total, active: activeOf(stat), at: this.now(), cpuS: (cpu.user + cpu.system) / 1e6 };
    const prev = this.prev;
    this.prev = cur;
    if (!prev) {
      this.source.sample(0, 0); // baseline
      return this.joules;
    }
    const u = usageRatio(prev, cur);
    const dtS = Math.max(0, (cur.at - prev.at) / 1000);
    let active = 0;
    for (const r of this.source.sample(u, dtS)) if (this.totalZones.has(r.zone)) active += splitActiveIdle(r.deltaJ, u).active;
    const nodeActiveS = (cur.active - prev.active) / USER_HZ;
    const ownS = cur.cpuS - prev.cpuS;
    const share = nodeActiveS > 0 ? Math.min(1, Math.max(0, ownS / nodeActiveS)) : 0;
    this.joules += active * share;
    return this.joules;
  }
}

/**
 * The node's energy, from one of two sources, chosen at start and reported in the labels
 * (`path` of every node series, kepler_node_info{components_power_source}):
 *
 *  - RAPL (powercap): measured energy per zone (package, core, uncore, dram, psys);
 *  - the estimator, where RAPL is absent or unreadable (VMs, most clouds — where Kepler 0.10+
 *    refuses to start): W = vCPUs × (Pmin + u × (Pmax − Pmin)) + memory GB × W/GB, u the
 *    interval's CPU usage ratio from /proc/stat, integrated over the interval into monotonic
 *    joules. The CPU part is reported as zone "package", the memory part as zone "dram", both
 *    with path "estimator". An estimate, with coefficients from coefficients.ts.
 *
 * `auto` takes RAPL when every zone's counter can be read, else the estimator.
 */
import type { Logger } from '../core/logger.js';
import { resolveCoefficients, type Coefficients, type Platform } from './coefficients.js';
import { readMemTotalBytes, readProcStat } from './procfs.js';
import { discoverRaplZones, probeRapl, readZone, type RaplZone } from './rapl.js';
import { reasonOf, type ReadErrors } from './read-errors.js';

export interface ZoneInfo {
  zone: string;
  path: string;
  socket: string;
}

export interface ZoneSample extends ZoneInfo {
  /** Energy since the previous sample (J). */
  deltaJ: number;
  /** Energy counted so far (J, monotonic). */
  joules: number;
}

export interface NodeEnergySource {
  readonly kind: 'rapl' | 'estimator';
  /** kepler_node_info's components_power_source. */
  readonly powerSource: 'rapl-sysfs' | 'estimator';
  readonly zones: readonly ZoneInfo[];
  /** Energy per zone since the previous call (the first call: a baseline, zeros). `usage`: the interval's CPU usage ratio; `dtS`: its length in seconds. */
  sample(usage: number, dtS: number): ZoneSample[];
}

export const ESTIMATOR_PATH = 'estimator';

export class RaplSource implements NodeEnergySource {
  readonly kind = 'rapl' as const;
  readonly powerSource = 'rapl-sysfs' as const;
  constructor(
    private readonly raplZones: RaplZone[],
    private readonly errors?: ReadErrors,
  ) {}

  get zones(): readonly ZoneInfo[] {
    return this.raplZones;
  }

  sample(): ZoneSample[] {
    return this.raplZones.map((z) => {
      const d = readZone(z, this.errors);
      return { zone: z.zone, path: z.path, socket: z.socket, deltaJ: d ?? 0, joules: z.joules };
    });
  }
}

export class EstimatorSource implements NodeEnergySource {
  readonly kind = 'estimator' as const;
  readonly powerSource = 'estimator' as const;
  readonly zones: readonly ZoneInfo[] = [
    { zone: 'package', path: ESTIMATOR_PATH, socket: '0' },
    { zone: 'dram', path: ESTIMATOR_PATH, socket: '0' },
  ];
  private cpuJ = 0;
  private memJ = 0;

  constructor(
    readonly coefficients: Coefficients,
    readonly vcpus: number,
    readonly memoryGb: number,
  ) {}

  /** Power at CPU usage ratio u: [cpu W, memory W]. */
  watts(u: number): [number, number] {
    const c = this.coefficients;
    const ratio = Math.min(1, Math.max(0, u));
    return [this.vcpus * (c.minWattsPerVcpu + ratio * (c.maxWattsPerVcpu - c.minWattsPerVcpu)), this.memoryGb * c.memoryWattsPerGb];
  }

  sample(usage: number, dtS: number): ZoneSample[] {
    const [cpuW, memW] = this.watts(usage);
    const dCpu = dtS > 0 ? cpuW * dtS : 0;
    const dMem = dtS > 0 ? memW * dtS : 0;
    this.cpuJ += dCpu;
    this.memJ += dMem;
    return [
      { ...this.zones[0]!, deltaJ: dCpu, joules: this.cpuJ },
      { ...this.zones[1]!, deltaJ: dMem, joules: this.memJ },
    ];
  }
}

export interface SourceOptions {
  source: 'auto' | 'rapl' | 'estimator';
  sysfsRoot: string;
  procfsRoot: string;
  platform: Platform;
  estimator?: Partial<Coefficients>;
}

export class EnergySourceError extends Error {}

/** Chooses and builds the node's energy source; throws EnergySourceError when `rapl` is forced and unusable, or the coefficients are incomplete. */
export function selectNodeSource(o: SourceOptions, errors?: ReadErrors, logger?: Logger): NodeEnergySource {
  if (o.source !== 'estimator') {
    const zones = discoverRaplZones(o.sysfsRoot, errors);
    const probe = probeRapl(zones);
    if (probe.ok) {
      logger?.info({ zones: zones.map((z) => `${z.zone}@${z.path}`) }, 'energy source: RAPL (powercap)');
      return new RaplSource(zones, errors);
    }
    if (o.source === 'rapl') throw new EnergySourceError(`energy.source is "rapl" but RAPL is not usable: ${probe.reason}`);
    logger?.info({ reason: probe.reason, platform: o.platform }, 'energy source: estimator (RAPL not usable)');
  }
  let coefficients: Coefficients;
  try {
    coefficients = resolveCoefficients(o.platform, o.estimator);
  } catch (err) {
    throw new EnergySourceError((err as Error).message);
  }
  let vcpus = 1;
  try {
    vcpus = readProcStat(o.procfsRoot).cpus;
  } catch (err) {
    errors?.record('proc_stat', `${o.procfsRoot}/stat`, reasonOf(err));
  }
  let memoryGb = 0;
  try {
    memoryGb = readMemTotalBytes(o.procfsRoot) / 1e9;
  } catch (err) {
    errors?.record('proc_meminfo', `${o.procfsRoot}/meminfo`, reasonOf(err));
  }
  return new EstimatorSource(coefficients, vcpus, memoryGb);
}

/** What the energy monitor keeps per workload (process, container, pod) and per node zone. */
import type { QosClass, Runtime } from './cgroup.js';
import type { ZoneInfo } from './node-source.js';

export type State = 'running' | 'terminated';

/** Kepler 0.7's components (legacy metrics): package, dram, other (platform − package − dram), gpu (no GPU probe: 0). */
export const LEGACY_COMPONENTS = ['package', 'dram', 'other', 'gpu'] as const;
export type LegacyComponent = (typeof LEGACY_COMPONENTS)[number];

export interface Energy {
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

/** A workload's share of the interval's active energy, per zone: joules added, watts over the interval. */
export function addActiveShare(w: { joules: Float64Array; watts: Float64Array }, activeByZone: ArrayLike<number>, share: number, dtS: number): void {
  for (let z = 0; z < activeByZone.length; z++) {
    const dj = activeByZone[z]! * share;
    w.joules[z]! += dj;
    w.watts[z] = dtS > 0 ? dj / dtS : 0;
  }
}

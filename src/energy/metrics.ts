/**
 * The exporter's exposition: a prom-client Registry of its own (so Kepler's names never mix with
 * the process's other metrics), whose families are computed at scrape time from what the
 * monitor holds (prom-client calls each registered metric's get(): collect-on-scrape without
 * keeping a second copy of every series in prom-client's label maps). Label objects are built
 * once per workload and reused, so a scrape allocates little beyond the text.
 *
 * Both Kepler generations, every series carrying the constant label node_name:
 *  - current (0.10+): kepler_node_cpu_{joules_total,watts,active_*,idle_*}{zone,path},
 *    kepler_node_cpu_usage_ratio, kepler_node_cpu_info, kepler_{container,pod,process}_cpu_*;
 *  - legacy (0.7, `legacyMetrics`): kepler_node_{package,dram,platform}_joules_total{package,mode,source},
 *    kepler_node_info, kepler_container_{package,dram,other,gpu}_joules_total and
 *    kepler_container_joules_total{container_id,pod_name,container_name,container_namespace,mode};
 *  - wattflow's own: wattflow_energy_joules_total{role}, read errors, the exporter's own cost.
 */
import client from 'prom-client';
import type { CpuInfo } from './procfs.js';
import type { Coefficients } from './coefficients.js';
import type { EnergyMonitor } from './monitor.js';
import { LEGACY_COMPONENTS, type ContainerEntry, type PodEntry, type ProcessEntry } from './workloads.js';
import type { FileKind, ReadErrors } from './read-errors.js';

type Labels = Record<string, string>;
interface Value {
  labels: Labels;
  value: number;
  sharedLabels?: Labels;
}

/** A metric family computed at scrape time (what prom-client's Registry needs of a metric). */
class Family {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    private readonly fill: (add: (labels: Labels, value: number) => void) => void,
    private readonly shared: Labels,
  ) {}

  async get() {
    const values: Value[] = [];
    const shared = this.shared;
    this.fill((labels, value) => values.push({ labels, value, sharedLabels: shared }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {}
}

export const FILE_KINDS: FileKind[] = [
  'rapl_name',
  'rapl_energy',
  'rapl_max_energy',
  'proc_stat',
  'proc_meminfo',
  'proc_cpuinfo',
  'proc_pid_stat',
  'proc_pid_cgroup',
  'proc_pid_cmdline',
  'proc_pid_exe',
  'kube_logs',
  'docker_config',
];

export interface EnergyRegistryOptions {
  nodeName: string;
  legacy: boolean;
  cpuInfo: CpuInfo[];
  errors: ReadErrors;
  /** The estimator's platform and coefficients (when the estimator is the source). */
  estimator?: { platform: string; coefficients: Coefficients };
  /** Series exposed by the last scrape (set here, for the exporter's own metric). */
  onRendered?: (series: number) => void;
}

function processLabels(e: ProcessEntry, zones: string[]): Labels[] {
  const base = {
    pid: String(e.pid),
    comm: e.comm,
    exe: e.exe ?? '',
    type: e.containerId ? 'container' : 'regular',
    state: e.state,
    container_id: e.containerId,
  };
  return zones.map((zone) => ({ ...base, zone }));
}

function containerLabels(c: ContainerEntry, zones: string[]): Labels[] {
  const base = { container_id: c.id, container_name: c.name, runtime: c.runtime, state: c.state };
  return zones.map((zone) => ({ ...base, zone, pod_id: c.podUid }));
}

function podLabels(p: PodEntry, zones: string[]): Labels[] {
  const base = { pod_id: p.uid, pod_name: p.name, pod_namespace: p.namespace, state: p.state };
  return zones.map((zone) => ({ ...base, zone }));
}

interface LegacyLabels {
  dynamic: Labels;
  idle: Labels;
  totalDynamic: Labels;
  totalIdle: Labels;
}

function legacyLabels(c: ContainerEntry, source: string): LegacyLabels {
  const base = { container_id: c.id, pod_name: c.podName, container_name: c.name, container_namespace: c.namespace };
  return {
    dynamic: { ...base, mode: 'dynamic', source },
    idle: { ...base, mode: 'idle', source },
    totalDynamic: { ...base, mode: 'dynamic' },
    totalIdle: { ...base, mode: 'idle' },
  };
}

export function createEnergyRegistry(m: EnergyMonitor, o: EnergyRegistryOptions): client.Registry {
  const registry = new client.Registry();
  const shared: Labels = { node_name: o.nodeName };
  const zones = m.zoneNames;
  const Z = zones.length;
  const source = m.sourceKind;
  let series = 0;
  const add = (name: string, help: string, type: 'counter' | 'gauge', fill: (add: (labels: Labels, value: number) => void) => void) => {
    const fam = new Family(
      name,
      help,
      type,
      (push) =>
        fill((l, v) => {
          series++;
          push(l, v);
        }),
      shared,
    );
    registry.registerMetric(fam as unknown as client.Metric);
  };
  const NO_LABELS: Labels = {};

  // --- node (current) ---
  const nodeFamily = (name: string, help: string, type: 'counter' | 'gauge', pick: (n: EnergyMonitor['node'][number]) => number) =>
    add(name, help, type, (push) => {
      for (const n of m.node) push(n.labels, pick(n));
    });
  nodeFamily('kepler_node_cpu_joules_total', 'Energy consumption of cpu at node level in joules (path "estimator": estimated, no RAPL)', 'counter', (n) => n.joules);
  nodeFamily('kepler_node_cpu_watts', 'Power consumption of cpu at node level in watts', 'gauge', (n) => n.watts);
  nodeFamily('kepler_node_cpu_active_joules_total', 'Energy consumption of cpu in active state at node level in joules', 'counter', (n) => n.activeJ);
  nodeFamily('kepler_node_cpu_idle_joules_total', 'Energy consumption of cpu in idle state at node level in joules', 'counter', (n) => n.idleJ);
  nodeFamily('kepler_node_cpu_active_watts', 'Power consumption of cpu in active state at node level in watts', 'gauge', (n) => n.activeW);
  nodeFamily('kepler_node_cpu_idle_watts', 'Power consumption of cpu in idle state at node level in watts', 'gauge', (n) => n.idleW);
  add('kepler_node_cpu_usage_ratio', 'CPU usage ratio of a node (value between 0.0 and 1.0)', 'gauge', (push) => push(NO_LABELS, m.usage));
  const cpuInfoLabels: Labels[] = o.cpuInfo.map((c) => ({ ...c }));
  add('kepler_node_cpu_info', 'CPU information from procfs', 'gauge', (push) => {
    for (const l of cpuInfoLabels) push(l, 1);
  });

  // --- workloads (current) ---
  const procFamily = (name: string, help: string, type: 'counter' | 'gauge', pick: (e: ProcessEntry, z: number) => number) =>
    add(name, help, type, (push) => {
      for (const e of m.exported) {
        const labels = (e.labels ??= processLabels(e, zones));
        for (let z = 0; z < Z; z++) push(labels[z]!, pick(e, z));
      }
    });
  procFamily('kepler_process_cpu_joules_total', 'Energy consumption of cpu at process level in joules (top consumers and wattflow processes only)', 'counter', (e, z) => e.joules[z]!);
  procFamily('kepler_process_cpu_watts', 'Power consumption of cpu at process level in watts (top consumers and wattflow processes only)', 'gauge', (e, z) => e.watts[z]!);
  const containerFamily = (name: string, help: string, type: 'counter' | 'gauge', pick: (c: ContainerEntry, z: number) => number) =>
    add(name, help, type, (push) => {
      for (const c of m.containers.values()) {
        const labels = (c.labels ??= containerLabels(c, zones));
        for (let z = 0; z < Z; z++) push(labels[z]!, pick(c, z));
      }
    });
  containerFamily('kepler_container_cpu_joules_total', 'Energy consumption of cpu at container level in joules', 'counter', (c, z) => c.joules[z]!);
  containerFamily('kepler_container_cpu_watts', 'Power consumption of cpu at container level in watts', 'gauge', (c, z) => c.watts[z]!);
  const podFamily = (name: string, help: string, type: 'counter' | 'gauge', pick: (p: PodEntry, z: number) => number) =>
    add(name, help, type, (push) => {
      for (const p of m.pods.values()) {
        const labels = (p.labels ??= podLabels(p, zones));
        for (let z = 0; z < Z; z++) push(labels[z]!, pick(p, z));
      }
    });
  podFamily('kepler_pod_cpu_joules_total', 'Energy consumption of cpu at pod level in joules', 'counter', (p, z) => p.joules[z]!);
  podFamily('kepler_pod_cpu_watts', 'Power consumption of cpu at pod level in watts', 'gauge', (p, z) => p.watts[z]!);

  // --- legacy (Kepler 0.7) ---
  if (o.legacy) {
    const cpuArch = o.cpuInfo[0]?.model_name || 'unknown';
    const psys = m.node.filter((n) => n.zone === 'psys');
    const platformSource = psys.length > 0 ? 'rapl-psys' : 'none';
    const infoLabels: Labels = { cpu_architecture: cpuArch, components_power_source: source, platform_power_source: platformSource, source: 'os' };
    add('kepler_node_info', 'Labeled node information (Kepler 0.7)', 'gauge', (push) => push(infoLabels, 1));
    const modeLabels = new Map<string, Labels>();
    const nodeLegacy = (key: string, socket: string, mode: 'dynamic' | 'idle', src: string): Labels => {
      const k = `${key}|${socket}|${mode}`;
      let l = modeLabels.get(k);
      if (!l) modeLabels.set(k, (l = { package: socket, mode, source: src }));
      return l;
    };
    for (const comp of ['package', 'dram'] as const) {
      add(`kepler_node_${comp}_joules_total`, `Energy of the node's ${comp} zone, dynamic (active) and idle (Kepler 0.7)`, 'counter', (push) => {
        for (const n of m.node) {
          if (n.zone !== comp) continue;
          push(nodeLegacy(comp, n.socket, 'dynamic', source), n.activeJ);
          push(nodeLegacy(comp, n.socket, 'idle', source), n.idleJ);
        }
      });
    }
    add('kepler_node_platform_joules_total', 'Energy of the whole node: RAPL psys when present, else package + dram (Kepler 0.7)', 'counter', (push) => {
      if (psys.length > 0) {
        for (const n of psys) {
          push(nodeLegacy('platform', n.socket, 'dynamic', platformSource), n.activeJ);
          push(nodeLegacy('platform', n.socket, 'idle', platformSource), n.idleJ);
        }
        return;
      }
      let active = 0;
      let idle = 0;
      for (const n of m.node) {
        if (n.zone !== 'package' && n.zone !== 'dram') continue;
        active += n.activeJ;
        idle += n.idleJ;
      }
      push(nodeLegacy('platform', '0', 'dynamic', source), active);
      push(nodeLegacy('platform', '0', 'idle', source), idle);
    });
    const legacyContainers = function* (): Generator<ContainerEntry> {
      yield* m.containers.values();
      yield m.system;
    };
    LEGACY_COMPONENTS.forEach((comp, i) => {
      add(
        `kepler_container_${comp}_joules_total`,
        `Energy of the ${comp} component attributed to a container, dynamic and idle; non-container processes are the container "system_processes"${comp === 'gpu' ? ' (no GPU probe: always 0)' : ''} (Kepler 0.7)`,
        'counter',
        (push) => {
          for (const c of legacyContainers()) {
            const l = (c.legacyLabels ??= legacyLabels(c, source));
            push(l.dynamic, c.legacyDynamic[i]!);
            push(l.idle, c.legacyIdle[i]!);
          }
        },
      );
    });
    add('kepler_container_joules_total', 'Energy of a container: package + dram + other + gpu, dynamic and idle (Kepler 0.7)', 'counter', (push) => {
      for (const c of legacyContainers()) {
        const l = (c.legacyLabels ??= legacyLabels(c, source));
        let dyn = 0;
        let idle = 0;
        for (let i = 0; i < LEGACY_COMPONENTS.length; i++) {
          dyn += c.legacyDynamic[i]!;
          idle += c.legacyIdle[i]!;
        }
        push(l.totalDynamic, dyn);
        push(l.totalIdle, idle);
      }
    });
  }

  // --- wattflow's own ---
  const roleLabels = new Map<string, Labels>();
  const roleL = (role: string) => {
    let l = roleLabels.get(role);
    if (!l) roleLabels.set(role, (l = { role }));
    return l;
  };
  add('wattflow_energy_joules_total', 'Energy attributed to wattflow\'s own processes on this node, by role (active energy, Kepler\'s model; in `wattflow up` split by the stages\' CPU time)', 'counter', (push) => {
    for (const [role, j] of m.roleJoules) push(roleL(role), j);
  });
  add('wattflow_energy_watts', 'Power attributed to wattflow\'s own processes, by role, over the last interval', 'gauge', (push) => {
    for (const [role, w] of m.roleWatts) push(roleL(role), w);
  });
  const kindLabels = FILE_KINDS.map((file_kind) => ({ file_kind }));
  add('wattflow_energy_read_errors_total', 'Unreadable or malformed sysfs/procfs files skipped, by kind (the first of each kind is logged)', 'counter', (push) => {
    FILE_KINDS.forEach((k, i) => push(kindLabels[i]!, o.errors.count(k)));
  });
  add('wattflow_energy_unattributed_joules_total', 'Active energy of intervals in which no process used CPU time (left at the node)', 'counter', (push) => push(NO_LABELS, m.unattributedJ));
  const stateLabels = { running: { state: 'running' }, terminated: { state: 'terminated' } };
  add('wattflow_energy_processes', 'Processes the exporter tracks (all of them are attributed; only the top consumers and wattflow\'s are exported)', 'gauge', (push) => {
    push(stateLabels.running, m.processes.size);
    push(stateLabels.terminated, m.terminated.length);
  });
  add('wattflow_energy_exported_processes', 'Processes with series in this exposition (top consumers, wattflow\'s own, recently terminated)', 'gauge', (push) => push(NO_LABELS, m.exported.length));
  add('wattflow_energy_samples_total', 'Intervals sampled', 'counter', (push) => push(NO_LABELS, m.samples));
  add('wattflow_energy_sample_cpu_seconds', 'CPU time the last sample took (the exporter\'s own cost, without the scrape)', 'gauge', (push) => push(NO_LABELS, m.lastSampleCpuS));
  const podInfoLabels = new WeakMap<PodEntry, Labels>();
  add('wattflow_energy_pod_info', 'Pods seen on this node with their QoS class (from the kubelet\'s cgroup naming)', 'gauge', (push) => {
    for (const p of m.pods.values()) {
      let l = podInfoLabels.get(p);
      if (!l) podInfoLabels.set(p, (l = { pod_id: p.uid, pod_name: p.name, pod_namespace: p.namespace, qos_class: p.qos }));
      push(l, 1);
    }
  });
  if (o.estimator) {
    const c = o.estimator.coefficients;
    const coeff: Array<[Labels, number]> = [
      [{ platform: o.estimator.platform, coefficient: 'min_watts_per_vcpu' }, c.minWattsPerVcpu],
      [{ platform: o.estimator.platform, coefficient: 'max_watts_per_vcpu' }, c.maxWattsPerVcpu],
      [{ platform: o.estimator.platform, coefficient: 'memory_watts_per_gb' }, c.memoryWattsPerGb],
    ];
    add('wattflow_energy_estimator_coefficient', 'Coefficients of the estimator in use (W per vCPU at 0 and 100 % usage, W per GB of memory)', 'gauge', (push) => {
      for (const [l, v] of coeff) push(l, v);
    });
  }

  // the series count of a whole scrape (read after registry.metrics())
  const metrics = registry.metrics.bind(registry);
  registry.metrics = async () => {
    series = 0;
    const text = await metrics();
    o.onRendered?.(series);
    return text;
  };
  return registry;
}

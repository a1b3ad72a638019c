/**
 * Energy for the web UI: the energy exporter's Kepler-compatible metrics (issue 12;
 * docs/energy.md), read over HTTP from its /metrics (ui.energyUrl, default the exporter
 * `wattflow up` starts on energy.host:energy.port) and parsed with the project's exposition
 * parser, plus the joules per message of the stages this process runs
 * (wattflow_stage_energy_per_message_joules, its own registry).
 *
 * Node power: the psys zone when the node has one (the whole platform), else package + dram
 * (core and uncore are parts of package and are not added again). The same zones are summed
 * per pod, container and process. When the exporter does not answer, the snapshot says so
 * (`status: "unreachable"` with the reason): the Energy page shows that state instead of
 * failing.
 */
import type client from 'prom-client';
import { parseExpositionToFamilies } from '../collector/convert.js';
import { registry } from '../core/metrics.js';
import type { MetricFamilyJson } from '../collector/metric-family-json.js';
import { round } from '../api/downsample.js';
import { SnapshotSampler, type SamplingOptions } from './snapshot-sampler.js';

export interface EnergySnapshot {
  t: number;
  url: string | null;
  status: 'ok' | 'unreachable' | 'off';
  error?: string;
  /** Where node energy comes from: "rapl", "estimator", …(Kepler's `path` label). */
  source?: string;
  node_name?: string;
  node_watts?: number;
  zones?: Record<string, number>;
  usage_ratio?: number;
  roles: Array<{ role: string; watts: number; joules: number }>;
  pods: Array<{ pod: string; namespace: string; watts: number }>;
  containers: Array<{ container: string; pod: string; watts: number }>;
  processes: Array<{ pid: string; comm: string; watts: number }>;
  /** Joules per message per stage (this process's stages), and the stage's energy so far. */
  stages: Array<{ stage: string; joules_per_message: number | null; joules: number | null }>;
}

export interface EnergyHistory {
  t: number[];
  node_watts: Array<number | null>;
  /** role → watts aligned with t. */
  roles: Record<string, Array<number | null>>;
  /** stage → joules per message aligned with t. */
  per_message: Record<string, Array<number | null>>;
}

const label = (v: MetricFamilyJson['values'][number], name: string) => v.labels.find((l) => l.name === name)?.value ?? '';
const TOP = 10;

/** The zones to add up: psys alone when present, else every zone but core/uncore (parts of package). */
function zonesToSum(zones: Iterable<string>): Set<string> {
  const all = new Set(zones);
  if (all.has('psys')) return new Set(['psys']);
  return new Set([...all].filter((z) => z !== 'core' && z !== 'uncore'));
}

export function energyFromExposition(text: string, contentType?: string): Omit<EnergySnapshot, 't' | 'url' | 'status' | 'stages'> {
  const fams = new Map(parseExpositionToFamilies(text, contentType ? { contentType } : {}).map((f) => [f.name, f]));
  const node = fams.get('kepler_node_cpu_watts')?.values ?? [];
  const zones: Record<string, number> = {};
  let source: string | undefined;
  let nodeName: string | undefined;
  for (const v of node) {
    zones[label(v, 'zone')] = round(Number(v.value));
    source ??= label(v, 'path') || undefined;
    nodeName ??= label(v, 'node_name') || undefined;
  }
  const sumZones = zonesToSum(Object.keys(zones));
  const nodeWatts = node.length ? round(Object.entries(zones).reduce((s, [z, w]) => (sumZones.has(z) ? s + w : s), 0)) : undefined;
  const grouped = (name: string, key: (v: MetricFamilyJson['values'][number]) => string) => {
    const out = new Map<string, { watts: number; v: MetricFamilyJson['values'][number] }>();
    for (const v of fams.get(name)?.values ?? []) {
      if (!sumZones.has(label(v, 'zone'))) continue;
      const k = key(v);
      const e = out.get(k) ?? { watts: 0, v };
      e.watts += Number(v.value) || 0;
      out.set(k, e);
    }
    return [...out.values()].sort((a, b) => b.watts - a.watts).slice(0, TOP);
  };
  const roleWatts = new Map((fams.get('wattflow_energy_watts')?.values ?? []).map((v) => [label(v, 'role'), Number(v.value)]));
  const roleJoules = new Map((fams.get('wattflow_energy_joules_total')?.values ?? []).map((v) => [label(v, 'role'), Number(v.value)]));
  const roles = [...new Set([...roleWatts.keys(), ...roleJoules.keys()])]
    .map((role) => ({ role, watts: round(roleWatts.get(role) ?? 0), joules: round(roleJoules.get(role) ?? 0) }))
    .sort((a, b) => b.watts - a.watts || a.role.localeCompare(b.role));
  const usage = fams.get('kepler_node_cpu_usage_ratio')?.values[0];
  return {
    ...(source ? { source } : {}),
    ...(nodeName ? { node_name: nodeName } : {}),
    ...(nodeWatts !== undefined ? { node_watts: nodeWatts, zones } : {}),
    ...(usage ? { usage_ratio: round(Number(usage.value)) } : {}),
    roles,
    pods: grouped('kepler_pod_cpu_watts', (v) => `${label(v, 'pod_namespace')}/${label(v, 'pod_name')}`).map((e) => ({ pod: label(e.v, 'pod_name'), namespace: label(e.v, 'pod_namespace'), watts: round(e.watts) })),
    containers: grouped('kepler_container_cpu_watts', (v) => label(v, 'container_id')).map((e) => ({ container: label(e.v, 'container_name') || label(e.v, 'container_id').slice(0, 12), pod: label(e.v, 'pod_name'), watts: round(e.watts) })),
    processes: grouped('kepler_process_cpu_watts', (v) => label(v, 'pid')).map((e) => ({ pid: label(e.v, 'pid'), comm: label(e.v, 'comm'), watts: round(e.watts) })),
  };
}

type Values = Array<{ labels: Record<string, string | number>; value: number }>;

async function localStages(): Promise<EnergySnapshot['stages']> {
  const get = async (name: string): Promise<Values> => {
    const m = registry.getSingleMetric(name) as client.Metric | undefined;
    return m ? ((await m.get()) as { values: Values }).values : [];
  };
  const perMessage = await get('wattflow_stage_energy_per_message_joules');
  const joules = new Map((await get('wattflow_stage_energy_joules_total')).map((v) => [String(v.labels.stage), v.value]));
  const stages = new Set([...perMessage.map((v) => String(v.labels.stage)), ...joules.keys()]);
  return [...stages].sort().map((stage) => {
    const pm = perMessage.find((v) => String(v.labels.stage) === stage)?.value;
    const j = joules.get(stage);
    return { stage, joules_per_message: pm === undefined || !Number.isFinite(pm) ? null : Number(pm.toPrecision(4)), joules: j === undefined ? null : round(j) };
  });
}

export class EnergySampler extends SnapshotSampler<EnergySnapshot> {
  private inflight: Promise<EnergySnapshot> | undefined;

  constructor(private readonly o: SamplingOptions<EnergySnapshot> & { url: string | undefined; timeoutMs?: number }) {
    super(o);
  }

  sample(): Promise<EnergySnapshot> {
    this.inflight ??= this.read().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async read(): Promise<EnergySnapshot> {
    const t = Date.now();
    const stages = await localStages();
    let snap: EnergySnapshot;
    if (!this.o.url) {
      snap = { t, url: null, status: 'off', error: 'no energy exporter configured (energy.enabled is false and ui.energyUrl is unset)', roles: [], pods: [], containers: [], processes: [], stages };
    } else {
      const url = `${this.o.url.replace(/\/+$/, '')}/metrics`;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(this.o.timeoutMs ?? 1500) });
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        const parsed = energyFromExposition(await res.text(), res.headers.get('content-type') ?? undefined);
        snap = parsed.node_watts === undefined
          ? { t, url, status: 'unreachable', error: `${url} answers but has no kepler_node_cpu_watts: not a Kepler-compatible energy exporter`, ...parsed, stages }
          : { t, url, status: 'ok', ...parsed, stages };
      } catch (err) {
        const e = err as Error & { cause?: { code?: string; message?: string } };
        const why = e.name === 'TimeoutError' ? 'timed out' : (e.cause?.code ?? e.cause?.message ?? e.message);
        snap = { t, url, status: 'unreachable', error: `energy exporter not running at ${url} (${why})`, roles: [], pods: [], containers: [], processes: [], stages };
      }
    }
    return this.record(t, snap);
  }

  historyColumns(): EnergyHistory {
    const h = this.history.map((x) => x.snap);
    const t = h.map((s) => s.t);
    const roles: EnergyHistory['roles'] = {};
    const perMessage: EnergyHistory['per_message'] = {};
    h.forEach((s, i) => {
      for (const r of s.roles) (roles[r.role] ??= new Array<number | null>(h.length).fill(null))[i] = r.watts;
      for (const st of s.stages) (perMessage[st.stage] ??= new Array<number | null>(h.length).fill(null))[i] = st.joules_per_message;
    });
    return { t, node_watts: h.map((s) => s.node_watts ?? null), roles, per_message: perMessage };
  }
}

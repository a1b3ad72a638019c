/**
 * Pipeline health for the web UI, from this process's own Prometheus registry (the metrics
 * every stage already keeps; nothing is scraped): sampled every ui.sampleIntervalMs, it gives
 * messages/s in and out per stage, drops and dead letters per stage, consumer lag per stage,
 * per-hop latency p50/p99 (from the wattflow_hop_latency_seconds histogram's buckets over the
 * last 30 s, interpolated as Prometheus' histogram_quantile does), producer polls and the
 * in-process bus's use of its budget. Under `wattflow up` that is the whole pipeline; a
 * process running one role shows its own stages.
 */
import type client from 'prom-client';
import { registry } from '../core/metrics.js';
import { round } from '../api/downsample.js';
import { SnapshotSampler } from './snapshot-sampler.js';

/** The window of rates (s) and of latency quantiles (s). */
const RATE_WINDOW_S = 10;
const QUANTILE_WINDOW_S = 30;

type Values = Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;

interface RawSample {
  t: number;
  counters: Map<string, number>; // `${metric}|${label}` → value
  buckets: Map<string, Array<[number, number]>>; // hop → [le, cumulative count]
  gauges: Map<string, number>;
}

export interface StageHealth {
  stage: string;
  in_per_s: number;
  out_per_s: number;
  dropped_per_s: number;
  dead_letters: number;
  dead_letters_per_s: number;
  lag: number | null;
}

export interface HopHealth {
  hop: string;
  p50_ms: number | null;
  p99_ms: number | null;
  per_s: number;
}

export interface HealthSnapshot {
  t: number;
  rate_window_s: number;
  quantile_window_s: number;
  stages: StageHealth[];
  hops: HopHealth[];
  polls: { ok_per_s: number; error_per_s: number; overrun_per_s: number };
  bus: { messages: number; bytes: number; budget_messages: number; budget_bytes: number } | null;
  vehicle: { measurements_per_s: number; predictions_per_s: number; dead_lettered: number } | null;
}

export interface HealthHistory {
  t: number[];
  /** `in:<stage>`, `out:<stage>`, `p50:<hop>`, `p99:<hop>`, `lag:<stage>` → values aligned with t (null = unknown). */
  series: Record<string, Array<number | null>>;
}

const COUNTERS = [
  'wattflow_messages_in_total',
  'wattflow_messages_out_total',
  'wattflow_messages_dropped_total',
  'wattflow_dead_letter_total',
  'wattflow_producer_polls_total',
  'wattflow_vehicle_measurements_total',
  'wattflow_vehicle_predictions_total',
  'wattflow_vehicle_vectors_dead_lettered_total',
];
const GAUGES = ['wattflow_consumer_lag_messages', 'wattflow_bus_messages', 'wattflow_bus_bytes', 'wattflow_bus_budget_messages', 'wattflow_bus_budget_bytes'];
const HOP_HISTOGRAM = 'wattflow_hop_latency_seconds';

async function valuesOf(name: string): Promise<Values> {
  const m = registry.getSingleMetric(name) as client.Metric | undefined;
  if (!m) return [];
  return ((await m.get()) as { values: Values }).values;
}

/** The quantile q of a histogram given as cumulative [le, count] pairs (Prometheus' histogram_quantile). */
export function histogramQuantile(q: number, buckets: Array<[number, number]>): number | null {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted[sorted.length - 1]?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (le === Infinity) return prevLe; // in the +Inf bucket: the highest finite bound
      const inBucket = count - prevCount;
      return inBucket <= 0 ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

export class HealthSampler extends SnapshotSampler<HealthSnapshot> {
  private samples: RawSample[] = [];

  async sample(now = Date.now()): Promise<HealthSnapshot> {
    const s: RawSample = { t: now, counters: new Map(), buckets: new Map(), gauges: new Map() };
    for (const name of COUNTERS) {
      for (const v of await valuesOf(name)) {
        const label = String(v.labels.stage ?? v.labels.result ?? v.labels.source ?? '');
        const key = `${name}|${label}`;
        s.counters.set(key, (s.counters.get(key) ?? 0) + v.value);
      }
    }
    for (const name of GAUGES) {
      for (const v of await valuesOf(name)) s.gauges.set(`${name}|${String(v.labels.stage ?? '')}`, v.value);
    }
    for (const v of await valuesOf(HOP_HISTOGRAM)) {
      if (v.metricName !== `${HOP_HISTOGRAM}_bucket`) continue;
      const hop = String(v.labels.hop ?? '');
      const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
      let list = s.buckets.get(hop);
      if (!list) s.buckets.set(hop, (list = []));
      list.push([le, v.value]);
    }
    this.samples.push(s);
    const keepFrom = now - (QUANTILE_WINDOW_S + 5) * 1000;
    while (this.samples.length > 2 && this.samples[0]!.t < keepFrom) this.samples.shift();
    const snap = this.snapshot(s);
    return this.record(now, snap);
  }

  /** The sample closest to `seconds` before `s` (the oldest one if none is that old). */
  private before(s: RawSample, seconds: number): RawSample {
    const target = s.t - seconds * 1000;
    let best = this.samples[0]!;
    for (const x of this.samples) if (x.t <= target) best = x;
    return best;
  }

  private snapshot(s: RawSample): HealthSnapshot {
    const r = this.before(s, RATE_WINDOW_S);
    const q = this.before(s, QUANTILE_WINDOW_S);
    const dt = Math.max(0.001, (s.t - r.t) / 1000);
    const rate = (key: string) => (r === s ? 0 : round(Math.max(0, (s.counters.get(key) ?? 0) - (r.counters.get(key) ?? 0)) / dt));
    const stageNames = new Set<string>();
    for (const key of s.counters.keys()) {
      const [name, label] = key.split('|') as [string, string];
      if (label && (name === 'wattflow_messages_in_total' || name === 'wattflow_messages_out_total' || name === 'wattflow_dead_letter_total')) stageNames.add(label);
    }
    for (const key of s.gauges.keys()) if (key.startsWith('wattflow_consumer_lag_messages|')) stageNames.add(key.split('|')[1]!);
    const order = ['producer', 'processor', 'inference', 'store-sink', 'influx-sink'];
    const stages = [...stageNames]
      .filter((x) => x !== '')
      .sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b))
      .map((stage) => ({
        stage,
        in_per_s: rate(`wattflow_messages_in_total|${stage}`),
        out_per_s: rate(`wattflow_messages_out_total|${stage}`),
        dropped_per_s: rate(`wattflow_messages_dropped_total|${stage}`),
        dead_letters: s.counters.get(`wattflow_dead_letter_total|${stage}`) ?? 0,
        dead_letters_per_s: rate(`wattflow_dead_letter_total|${stage}`),
        lag: s.gauges.get(`wattflow_consumer_lag_messages|${stage}`) ?? null,
      }));
    const hops: HopHealth[] = [...s.buckets.entries()].map(([hop, now]) => {
      const then = new Map((q === s ? [] : (q.buckets.get(hop) ?? [])).map(([le, c]) => [le, c]));
      const delta = now.map(([le, c]) => [le, c - (then.get(le) ?? 0)] as [number, number]);
      const count = Math.max(0, ...delta.filter(([le]) => le === Infinity).map(([, c]) => c));
      const qdt = Math.max(0.001, (s.t - q.t) / 1000);
      const p50 = histogramQuantile(0.5, delta);
      const p99 = histogramQuantile(0.99, delta);
      return { hop, p50_ms: p50 === null ? null : round(p50 * 1000), p99_ms: p99 === null ? null : round(p99 * 1000), per_s: q === s ? 0 : round(count / qdt) };
    });
    const hopOrder = ['collector_to_producer', 'producer_to_processor', 'processor_to_inference', 'end_to_end'];
    hops.sort((a, b) => (hopOrder.indexOf(a.hop) + 1 || 99) - (hopOrder.indexOf(b.hop) + 1 || 99));
    const g = (name: string) => s.gauges.get(`${name}|`);
    const bus = g('wattflow_bus_budget_messages') !== undefined
      ? { messages: g('wattflow_bus_messages') ?? 0, bytes: g('wattflow_bus_bytes') ?? 0, budget_messages: g('wattflow_bus_budget_messages') ?? 0, budget_bytes: g('wattflow_bus_budget_bytes') ?? 0 }
      : null;
    const hasVehicle = [...s.counters.keys()].some((k) => k.startsWith('wattflow_vehicle_'));
    return {
      t: s.t,
      rate_window_s: RATE_WINDOW_S,
      quantile_window_s: QUANTILE_WINDOW_S,
      stages,
      hops,
      polls: { ok_per_s: rate('wattflow_producer_polls_total|ok'), error_per_s: rate('wattflow_producer_polls_total|error'), overrun_per_s: rate('wattflow_producer_polls_total|overrun') },
      bus,
      vehicle: hasVehicle
        ? {
            measurements_per_s: sumRate(s, r, dt, 'wattflow_vehicle_measurements_total'),
            predictions_per_s: sumRate(s, r, dt, 'wattflow_vehicle_predictions_total'),
            dead_lettered: sum(s, 'wattflow_vehicle_vectors_dead_lettered_total'),
          }
        : null,
    };
  }

  /** The recent snapshots as columns (for the charts' first paint). */
  historyColumns(): HealthHistory {
    const t = this.history.map((h) => h.t);
    const series: Record<string, Array<number | null>> = {};
    this.history.forEach((h, i) => {
      const put = (key: string, v: number | null) => {
        const col = (series[key] ??= new Array<number | null>(t.length).fill(null));
        col[i] = v;
      };
      for (const st of h.snap.stages) {
        put(`in:${st.stage}`, st.in_per_s);
        put(`out:${st.stage}`, st.out_per_s);
        put(`lag:${st.stage}`, st.lag);
      }
      for (const hop of h.snap.hops) {
        put(`p50:${hop.hop}`, hop.p50_ms);
        put(`p99:${hop.hop}`, hop.p99_ms);
      }
    });
    return { t, series };
  }
}

function sum(s: RawSample, name: string): number {
  let total = 0;
  for (const [k, v] of s.counters) if (k.startsWith(`${name}|`)) total += v;
  return total;
}

function sumRate(s: RawSample, r: RawSample, dt: number, name: string): number {
  return r === s ? 0 : round(Math.max(0, sum(s, name) - sum(r, name)) / dt);
}

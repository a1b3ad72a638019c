/**
 * The processing stage's arithmetic (pure): from two consecutive TD messages of one router,
 * the traffic rates, average packet length and capacity occupation of the reference:
 *  - per interface and counter: (value_now − value_prev) / (t_now − t_prev), t = epoch_timestamp (s);
 *    summed over the router's interfaces;
 *  - byte rate in Mbit/s, packet rate in packets/s;
 *  - average packet length = Δbytes / Δpackets over all interfaces (0 when no packet arrived);
 *  - occupation (%) = bytes/s × 8 / (max_throughput_mbps × 1e6) × 100.
 * Unlike the reference, metrics and interfaces are matched by name and `device` label (never by
 * array position), and a pair is dropped — with a reason — when ANY counter decreased (reset),
 * when the gap exceeds 5 × the polling interval, when time did not advance, or when a counter
 * is missing or not a finite number.
 */
import { BYTES_METRIC, PACKETS_METRIC, type TdMessage } from '../messages.js';

export type DropReason =
  | 'counter_decreased'
  | 'gap_too_long'
  | 'time_not_advancing'
  | 'missing_counter'
  | 'invalid_counter'
  | 'invalid_timestamp';

export interface Rates {
  intervalSeconds: number;
  packetsPerSecond: number;
  bytesPerSecond: number;
  mbitPerSecond: number;
  averagePacketLength: number;
  occupationPercent: number;
}

export type RateResult = { ok: true; rates: Rates } | { ok: false; reason: DropReason; detail: string };

export interface RateParams {
  maxThroughputMbps: number;
  pollingIntervalSeconds: number;
  /** Pairs further apart than this many polling intervals are dropped (reference: 5). */
  maxGapIntervals?: number;
}

/** Reads a counter: the value of `metric` whose `device` label is `device`. */
export function counterValue(msg: TdMessage, metric: string, device: string): number | undefined {
  const family = msg.metrics?.find((m) => m.name === metric);
  if (!family) return undefined;
  const v = family.values.find((val) => val.labels.some((l) => l.name === 'device' && l.value === device));
  return v === undefined ? undefined : Number(v.value);
}

/**
 * What the next pair needs of a TD message: its timestamp and its two counters per device.
 * The processor keeps this per router instead of the whole message (a few numbers instead of
 * the message's object graph, which would otherwise survive a polling interval in the young
 * generation and make every garbage-collection pause longer).
 */
export interface CounterSnapshot {
  epoch_timestamp: string;
  /** `${metric}\u0000${device}` → value (NaN when not a number); the first sample per device wins, as in counterValue. */
  counters: Map<string, number>;
}

const counterKey = (metric: string, device: string) => `${metric}\u0000${device}`;

export function snapshotOf(msg: TdMessage): CounterSnapshot {
  const counters = new Map<string, number>();
  const seen = new Set<string>();
  for (const family of msg.metrics ?? []) {
    // as counterValue: only the first family of each name counts
    if ((family.name !== BYTES_METRIC && family.name !== PACKETS_METRIC) || seen.has(family.name)) continue;
    seen.add(family.name);
    for (const v of family.values) {
      const device = v.labels.find((l) => l.name === 'device')?.value;
      if (device === undefined) continue;
      const key = counterKey(family.name, device);
      if (!counters.has(key)) counters.set(key, Number(v.value));
    }
  }
  return { epoch_timestamp: msg.epoch_timestamp, counters };
}

const isSnapshot = (m: TdMessage | CounterSnapshot): m is CounterSnapshot => (m as CounterSnapshot).counters instanceof Map;

function readCounter(m: TdMessage | CounterSnapshot, metric: string, device: string): number | undefined {
  return isSnapshot(m) ? m.counters.get(counterKey(metric, device)) : counterValue(m, metric, device);
}

export function computeRates(prev: TdMessage | CounterSnapshot, cur: TdMessage, params: RateParams): RateResult {
  const t0 = Number(prev.epoch_timestamp);
  const t1 = Number(cur.epoch_timestamp);
  if (!Number.isFinite(t0) || !Number.isFinite(t1))
    return { ok: false, reason: 'invalid_timestamp', detail: `epoch_timestamp not a number (${prev.epoch_timestamp}, ${cur.epoch_timestamp})` };
  const dt = t1 - t0;
  if (!(dt > 0)) return { ok: false, reason: 'time_not_advancing', detail: `t_now - t_prev = ${dt} s` };
  const maxGap = (params.maxGapIntervals ?? 5) * params.pollingIntervalSeconds;
  if (dt > maxGap) return { ok: false, reason: 'gap_too_long', detail: `gap ${dt.toFixed(3)} s > ${maxGap} s` };

  let dBytes = 0;
  let dPackets = 0;
  for (const device of cur.interfaces) {
    for (const metric of [BYTES_METRIC, PACKETS_METRIC]) {
      const a = readCounter(prev, metric, device);
      const b = counterValue(cur, metric, device);
      if (a === undefined || b === undefined)
        return { ok: false, reason: 'missing_counter', detail: `${metric}{device="${device}"} missing in the ${a === undefined ? 'previous' : 'current'} message` };
      if (!Number.isFinite(a) || !Number.isFinite(b))
        return { ok: false, reason: 'invalid_counter', detail: `${metric}{device="${device}"} is not a finite number` };
      if (b < a) return { ok: false, reason: 'counter_decreased', detail: `${metric}{device="${device}"} went from ${a} to ${b}` };
      if (metric === BYTES_METRIC) dBytes += b - a;
      else dPackets += b - a;
    }
  }
  const bytesPerSecond = dBytes / dt;
  return {
    ok: true,
    rates: {
      intervalSeconds: dt,
      packetsPerSecond: dPackets / dt,
      bytesPerSecond,
      mbitPerSecond: (bytesPerSecond * 8) / 1e6,
      averagePacketLength: dPackets > 0 ? dBytes / dPackets : 0,
      occupationPercent: ((bytesPerSecond * 8) / (params.maxThroughputMbps * 1e6)) * 100,
    },
  };
}

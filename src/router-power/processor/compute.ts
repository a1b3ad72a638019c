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
 * The processor keeps this per router instead of the whole message, and overwrites it in place
 * on the router's next message: the values sit unboxed in a Float64Array, so nothing allocated
 * for one message lives until the next one (objects that survive a polling interval are
 * promoted to the old generation, which then needs full collections: docs/performance.md).
 */
export interface CounterSnapshot {
  epoch_timestamp: string;
  /** `${metric}\u0000${device}` → slot in `values`; the first sample per device wins, as in counterValue. */
  slots: Map<string, number>;
  /** The counters' values (NaN when not a number). */
  values: Float64Array;
  /** Per slot, the write that last set it (tells a repeated sample within one message from a new one). */
  written: Uint32Array;
  writes: number;
}

const counterKey = (metric: string, device: string) => `${metric}\u0000${device}`;

/** Calls `each` for every counter the rates read, in message order (repeats included). */
function forEachCounter(msg: TdMessage, each: (key: string, value: number) => void): void {
  let bytesSeen = false;
  let packetsSeen = false;
  for (const family of msg.metrics ?? []) {
    // as counterValue: only the first family of each name counts
    if (family.name === BYTES_METRIC) {
      if (bytesSeen) continue;
      bytesSeen = true;
    } else if (family.name === PACKETS_METRIC) {
      if (packetsSeen) continue;
      packetsSeen = true;
    } else continue;
    for (const v of family.values) {
      const device = v.labels.find((l) => l.name === 'device')?.value;
      if (device !== undefined) each(counterKey(family.name, device), Number(v.value));
    }
  }
}

/**
 * The snapshot of `msg`. With `reuse` (a snapshot nothing refers to any more: a spare of the
 * router's, or an empty one shaped like its last) holding exactly the same counters, it is
 * overwritten in place and returned; otherwise a new one is built.
 */
export function snapshotOf(msg: TdMessage, reuse?: CounterSnapshot): CounterSnapshot {
  if (reuse) {
    const write = ++reuse.writes;
    let fits = true;
    let distinct = 0;
    forEachCounter(msg, (key, value) => {
      const slot = reuse.slots.get(key);
      if (slot === undefined) fits = false;
      else if (reuse.written[slot] !== write) {
        reuse.written[slot] = write;
        reuse.values[slot] = value;
        distinct++;
      }
    });
    if (fits && distinct === reuse.slots.size) {
      reuse.epoch_timestamp = msg.epoch_timestamp;
      return reuse;
    }
  }
  const slots = new Map<string, number>();
  const found: number[] = [];
  forEachCounter(msg, (key, value) => {
    if (slots.has(key)) return;
    slots.set(key, found.length);
    found.push(value);
  });
  return { epoch_timestamp: msg.epoch_timestamp, slots, values: Float64Array.from(found), written: new Uint32Array(found.length), writes: 0 };
}

/** A snapshot's counters as [key, value] pairs (key `${metric}\u0000${device}`), in slot order. */
export function countersOf(snap: CounterSnapshot): Array<[string, number]> {
  return [...snap.slots].map(([key, slot]) => [key, snap.values[slot]!]);
}

const isSnapshot = (m: TdMessage | CounterSnapshot): m is CounterSnapshot => (m as CounterSnapshot).slots instanceof Map;

function readCounter(m: TdMessage | CounterSnapshot, metric: string, device: string): number | undefined {
  if (!isSnapshot(m)) return counterValue(m, metric, device);
  const slot = m.slots.get(counterKey(metric, device));
  return slot === undefined ? undefined : m.values[slot];
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

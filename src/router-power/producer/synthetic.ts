/**
 * The synthetic traffic source (router `"source": "synthetic"`): counters of a made-up router
 * whose load looks like real traffic, for demos and load tests — never a measurement.
 * Deterministic and stateless (closed-form counters from the router id and the clock); the
 * model and its formulas: docs/messages.md, "Sources of the counters".
 */
import type { RouterConfig } from '../experiment.js';
import type { MetricFamilyJson } from '../../collector/metric-family-json.js';
import { testPeriodFamilies } from './test-metrics.js';
import { mulberry32 } from '../../core/prng.js';

/** Counters count from here (seconds since the epoch of 2024-01-01T00:00:00Z, a midnight UTC). */
const T0_S = Date.UTC(2024, 0, 1) / 1000;
const DAY_S = 86_400;
const TWO_PI = 2 * Math.PI;

export interface SyntheticProfile {
  /** Mean occupation (fraction of capacity). */
  base: number;
  /** Amplitude of the time-of-day curve (fraction). */
  daily: number;
  /** Hour of the day (UTC, may be fractional) when the load peaks. */
  peakHour: number;
  /** Bursts: amplitude (fraction), period (s), phase (rad). */
  burst: number;
  burstPeriodS: number;
  burstPhase: number;
  /** Ripples: amplitude, period, phase. */
  ripple: number;
  ripplePeriodS: number;
  ripplePhase: number;
  /** Typical average packet length (bytes). */
  packetBytes: number;
  /** Packet-mix drift: amplitude (fraction of capacity), period, phase. */
  mix: number;
  mixPeriodS: number;
  mixPhase: number;
}

/** FNV-1a of the id, then mulberry32: a deterministic stream of numbers in [0, 1). */
function seededRandom(id: string): () => number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return mulberry32(h ^ 0x9e3779b9);
}

/** The profile of a router: a function of its id only. */
export function syntheticProfile(routerId: string): SyntheticProfile {
  const r = seededRandom(`wattflow-synthetic:${routerId}`);
  const between = (lo: number, hi: number) => lo + (hi - lo) * r();
  const base = between(0.3, 0.55);
  const burst = between(0.03, 0.08);
  const ripple = between(0.01, 0.03);
  // the lowest occupation stays >= 0.04 (rates never reach 0: the counters always advance)
  const daily = Math.min(between(0.1, 0.25), base - burst - ripple - 0.04);
  const minOccupation = base - daily - burst - ripple;
  return {
    base,
    daily,
    peakHour: between(9, 21),
    burst,
    burstPeriodS: between(120, 600),
    burstPhase: between(0, TWO_PI),
    ripple,
    ripplePeriodS: between(17, 53),
    ripplePhase: between(0, TWO_PI),
    packetBytes: Math.round(between(400, 1400)),
    mix: Math.min(between(0.01, 0.04), minOccupation / 2),
    mixPeriodS: between(60, 300),
    mixPhase: between(0, TWO_PI),
  };
}

/** The occupation (fraction) and average packet length (bytes) of a profile at a time (ms). */
export function syntheticLoad(p: SyntheticProfile, tMs: number): { occupation: number; packetLength: number } {
  const tau = tMs / 1000 - T0_S;
  const occupation =
    p.base +
    p.daily * -Math.cos((TWO_PI * (tau - (p.peakHour - 12) * 3600)) / DAY_S) +
    p.burst * Math.sin((TWO_PI * tau) / p.burstPeriodS + p.burstPhase) +
    p.ripple * Math.sin((TWO_PI * tau) / p.ripplePeriodS + p.ripplePhase);
  const packetsShare = occupation + p.mix * Math.sin((TWO_PI * tau) / p.mixPeriodS + p.mixPhase);
  return { occupation, packetLength: (p.packetBytes * occupation) / packetsShare };
}

/** ∫₀^τ sin(ωt + φ) dt = (cos φ − cos(ωτ + φ)) / ω: starts at 0 and never goes below it for a positive integrand sum. */
const sinIntegral = (tau: number, periodS: number, phase: number) => {
  const w = TWO_PI / periodS;
  return (Math.cos(phase) - Math.cos(w * tau + phase)) / w;
};

/** Cumulative bytes and packets of a router at a time (ms): the closed-form integral of its rates. */
export function syntheticCounters(p: SyntheticProfile, capacityBytesPerS: number, tMs: number): { bytes: number; packets: number } {
  const tau = tMs / 1000 - T0_S;
  const wd = TWO_PI / DAY_S;
  const shift = (p.peakHour - 12) * 3600;
  // ∫₀^τ −cos(ω(t − s)) dt = −(sin(ω(τ − s)) + sin(ωs)) / ω
  const dailyIntegral = -(Math.sin(wd * (tau - shift)) + Math.sin(wd * shift)) / wd;
  const occupationSeconds =
    p.base * tau + p.daily * dailyIntegral + p.burst * sinIntegral(tau, p.burstPeriodS, p.burstPhase) + p.ripple * sinIntegral(tau, p.ripplePeriodS, p.ripplePhase);
  const packetShareSeconds = occupationSeconds + p.mix * sinIntegral(tau, p.mixPeriodS, p.mixPhase);
  return {
    bytes: Math.floor(occupationSeconds * capacityBytesPerS),
    packets: Math.floor((packetShareSeconds * capacityBytesPerS) / p.packetBytes),
  };
}

/** The router's link capacity in bytes/s (its max_throughput_mbps). */
export const capacityBytesPerS = (router: RouterConfig): number => (router.maxThroughputMbps * 1e6) / 8;

/** The metric families of a synthetic router at the poll time (counters split over its interfaces, as test metrics are). */
export function syntheticFamilies(router: RouterConfig, tMs: number, profiles = new Map<string, SyntheticProfile>()): MetricFamilyJson[] {
  let p = profiles.get(router.id);
  if (!p) profiles.set(router.id, (p = syntheticProfile(router.id)));
  return testPeriodFamilies(syntheticCounters(p, capacityBytesPerS(router), tMs), router.interfaces);
}

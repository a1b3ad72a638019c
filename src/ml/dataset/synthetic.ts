/**
 * Synthetic router power samples for tests, benchmarks and the demo fixture. NOT measured data.
 *
 * Ground truth (x = capacity occupation fraction 0..1, s = average packet size in bytes):
 *   P(s, x) = base + 20·x² − 0.0008·s + k·x·(64 + 20)/(s + 20)
 * i.e. the reference (ACROSS) dummy formula 700 + 20x² − 0.0008y plus a packet-rate term: at a
 * given occupation, packets per second are ∝ x/(s + 20) (20 B = preamble + inter-frame gap), and
 * each packet costs a fixed energy, so small packets at high load draw up to k W more. Gaussian
 * noise (σ = 1.6 W by default, i.e. MAE ≈ 1.3 W like the published models) is added.
 * Packet sizes follow an IMIX-like mixture (small / 576 B / near-MTU / uniform); occupation is
 * skewed towards low load (u^1.5), as on production routers.
 */
import { createRng } from './rng.js';
import type { Dataset } from './types.js';

export const POWER_FEATURES = ['PacketSize_B', 'Throughput_Percentage'] as const;
export const POWER_TARGET = 'power_W';

export interface SyntheticPowerOptions {
  rows: number;
  seed?: number;
  /** Standard deviation of the Gaussian noise, W (default 1.6 → MAE ≈ 1.3 W). */
  noiseW?: number;
  /** Idle power, W (default 700 as in the reference dummy formula). */
  baseW?: number;
  /** Extra power at 100 % occupation with 64-byte packets, W (default 6). */
  packetRateW?: number;
}

/** The noise-free ground-truth power (W) for packet size `s` (bytes) and occupation `x` (0..1). */
export function syntheticPowerW(s: number, x: number, baseW = 700, packetRateW = 6): number {
  return baseW + 20 * x * x - 0.0008 * s + (packetRateW * x * 84) / (s + 20);
}

function samplePacketSize(u: number, v: number): number {
  if (u < 0.3) return 64 + v * 64; // small packets
  if (u < 0.5) return 526 + v * 100; // ~576 B
  if (u < 0.85) return 1400 + v * 100; // near MTU
  return 64 + v * 1436; // anything
}

/** Generates `rows` samples; features in POWER_FEATURES order, target POWER_TARGET. */
export function generateSyntheticPower(options: SyntheticPowerOptions): Dataset {
  const { rows } = options;
  const rng = createRng(options.seed ?? 1);
  const noise = options.noiseW ?? 1.6;
  const base = options.baseW ?? 700;
  const k = options.packetRateW ?? 6;
  const X = new Float64Array(rows * 2);
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const s = Math.round(samplePacketSize(rng.next(), rng.next()) * 10) / 10;
    const x = Math.round(rng.next() ** 1.5 * 1e4) / 1e4;
    X[r * 2] = s;
    X[r * 2 + 1] = x;
    y[r] = Math.round((syntheticPowerW(s, x, base, k) + noise * rng.normal()) * 1000) / 1000;
  }
  return { featureNames: [...POWER_FEATURES], targetName: POWER_TARGET, rows, X, y, source: 'synthetic' };
}

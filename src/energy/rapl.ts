/**
 * RAPL through the Linux powercap framework: /sys/class/powercap/intel-rapl:<socket>[:<sub>]
 * (AMD CPUs use the same driver and names). Each zone has `name` (package-N, core, uncore,
 * dram, psys), `energy_uj` (a microjoule counter that wraps at `max_energy_range_uj`) and the
 * zone label is the name without its socket suffix. The intel-rapl-mmio zones duplicate the
 * package counters and are skipped, as Kepler does.
 *
 * Since the 2020 side-channel fix (CVE-2020-8694) energy_uj is readable by root only: without
 * it the exporter falls back to the estimator.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readSmall } from './fsread.js';
import { reasonOf, type ReadErrors } from './read-errors.js';

export interface RaplZone {
  /** package, core, uncore, dram, psys (name without "-<socket>"). */
  zone: string;
  /** The zone's directory (Kepler's `path` label). */
  path: string;
  /** Socket index (intel-rapl:<socket>…), Kepler 0.7's `package` label. */
  socket: string;
  /** Counter range in µJ (wrap-around point); 0 when unknown. */
  maxUj: number;
  /** Last counter value (µJ); undefined before the first read. */
  last?: number;
  /** Energy counted so far (J): monotonic, across wrap-arounds. */
  joules: number;
}

const ZONE_DIR = /^intel-rapl:(\d+)(?::\d+)?$/;

/** The zones present under <sysfsRoot>/class/powercap (empty when there is no powercap). */
export function discoverRaplZones(sysfsRoot: string, errors?: ReadErrors): RaplZone[] {
  const base = join(sysfsRoot, 'class', 'powercap');
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  const zones: RaplZone[] = [];
  for (const dir of names.sort()) {
    const m = ZONE_DIR.exec(dir);
    if (!m) continue;
    const path = join(base, dir);
    let name: string;
    try {
      name = readSmall(join(path, 'name')).trim();
      if (!/^[a-z][a-z0-9_-]*$/i.test(name)) throw new Error(`unexpected zone name "${name.slice(0, 40)}"`);
    } catch (err) {
      errors?.record('rapl_name', join(path, 'name'), reasonOf(err));
      continue;
    }
    let maxUj = 0;
    try {
      maxUj = parseCounter(readSmall(join(path, 'max_energy_range_uj')));
    } catch (err) {
      errors?.record('rapl_max_energy', join(path, 'max_energy_range_uj'), reasonOf(err));
    }
    zones.push({ zone: name.replace(/-\d+$/, '').toLowerCase(), path, socket: m[1]!, maxUj, joules: 0 });
  }
  return zones;
}

export function parseCounter(text: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new Error(`not a counter: "${t.slice(0, 40)}"`);
  const v = Number(t);
  if (!Number.isSafeInteger(v)) throw new Error(`counter out of range: ${t.slice(0, 40)}`);
  return v;
}

/**
 * Energy between two counter readings (µJ), across a wrap-around: (max − previous) + current.
 * A counter that went back without a known range (a reset) gives 0, never a negative delta.
 */
export function counterDelta(previous: number, current: number, maxUj: number): number {
  if (current >= previous) return current - previous;
  if (maxUj > 0 && previous <= maxUj) return maxUj - previous + current;
  return 0;
}

/** Reads one zone: the energy since its previous read (J), or undefined when the file is unreadable or malformed. */
export function readZone(z: RaplZone, errors?: ReadErrors): number | undefined {
  const file = join(z.path, 'energy_uj');
  let v: number;
  try {
    v = parseCounter(readSmall(file));
  } catch (err) {
    errors?.record('rapl_energy', file, reasonOf(err));
    return undefined;
  }
  const prev = z.last;
  z.last = v;
  if (prev === undefined) return 0;
  if (v < prev && !(z.maxUj > 0 && prev <= z.maxUj)) errors?.record('rapl_energy', file, `counter went back from ${prev} to ${v} with no known range: interval skipped`);
  const dj = counterDelta(prev, v, z.maxUj) / 1e6;
  z.joules += dj;
  return dj;
}

/** Whether every zone's energy_uj can be read (RAPL is usable), with the first reason when not. */
export function probeRapl(zones: RaplZone[]): { ok: true } | { ok: false; reason: string } {
  if (zones.length === 0) return { ok: false, reason: 'no powercap RAPL zones (/sys/class/powercap/intel-rapl:*)' };
  for (const z of zones) {
    try {
      parseCounter(readSmall(join(z.path, 'energy_uj')));
    } catch (err) {
      return { ok: false, reason: `${join(z.path, 'energy_uj')}: ${reasonOf(err)}${reasonOf(err) === 'EACCES' ? ' (readable by root only)' : ''}` };
    }
  }
  return { ok: true };
}

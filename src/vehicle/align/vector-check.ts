/**
 * Vectors received from outside this process (the predictor's JSON endpoint, the Redis vector
 * stream and channel, which anything with access to Redis can write to) are checked here before
 * they are scored: a malformed one would otherwise fail its whole batch on every retry.
 */
import { VEHICLE_ID_PATTERN } from '../store/store.js';
import type { AlignedVector } from './vector.js';

const isNumOrNull = (x: unknown): boolean => x === null || (typeof x === 'number' && Number.isFinite(x));

/** Checks a vector received from outside; returns the reason when it is not one. */
export function checkVector(x: unknown): string | undefined {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return 'a vector must be an object';
  const v = x as Partial<AlignedVector>;
  if (typeof v.vehicleId !== 'string' || !VEHICLE_ID_PATTERN.test(v.vehicleId)) return 'vehicleId must be a valid vehicle id';
  if (typeof v.ts !== 'number' || !Number.isFinite(v.ts)) return 'ts must be epoch milliseconds';
  if (typeof v.seq !== 'number' || !Number.isInteger(v.seq)) return 'seq must be an integer';
  if (!v.values || typeof v.values !== 'object' || Array.isArray(v.values)) return 'values must be an object {signal: number|null}';
  for (const [k, val] of Object.entries(v.values)) if (!isNumOrNull(val)) return `values.${k} must be a number or null`;
  if (v.sourceTs !== undefined && (typeof v.sourceTs !== 'object' || v.sourceTs === null)) return 'sourceTs must be an object';
  for (const key of ['missing', 'filled', 'outOfRange'] as const) {
    if (v[key] !== undefined && (!Array.isArray(v[key]) || !v[key]!.every((s) => typeof s === 'string'))) return `${key} must be an array of signal ids`;
  }
  if (v.flags !== undefined && (!Array.isArray(v.flags) || !v.flags.every((f) => f && typeof f === 'object' && typeof f.rule === 'string'))) return 'flags must be an array of {rule, message, signals}';
  return undefined;
}

/** Fills the optional parts of a checked vector. */
export function completeVector(x: Partial<AlignedVector> & Pick<AlignedVector, 'vehicleId' | 'ts' | 'seq' | 'values'>): AlignedVector {
  return {
    vehicleId: x.vehicleId,
    ts: x.ts,
    seq: x.seq,
    values: x.values,
    sourceTs: x.sourceTs ?? {},
    missing: x.missing ?? Object.entries(x.values).filter(([, v]) => v === null).map(([k]) => k),
    filled: x.filled ?? [],
    outOfRange: x.outOfRange ?? [],
    flags: (x.flags ?? []).map((f) => ({ rule: f.rule, message: String(f.message ?? ''), signals: Array.isArray(f.signals) ? f.signals.map(String) : [] })),
  };
}

/** Parses and checks a vector's JSON text: the complete vector, or why it is not one. */
export function parseVector(text: string): { vector: AlignedVector } | { error: string } {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
  const why = checkVector(x);
  return why ? { error: why } : { vector: completeVector(x as AlignedVector) };
}

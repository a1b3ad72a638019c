/**
 * Cross-signal plausibility rules, evaluated on each aligned vector and reported as flags on
 * it (the vector is kept: a flag says the data looks wrong or falsified, not that it is
 * dropped). Rules compare values measured together (source time stamps within a window), and
 * some keep a little per-vehicle history (previous speed sample, run-time counter anchor).
 *
 * Rules: speed_without_engine, torque_at_released_pedal, speed_jump, run_time_drift,
 * brake_and_accelerator, fuel_flow_engine_off. Thresholds come from the `vehicle.plausibility`
 * config; defaults are set so that the two reference logs raise no flag.
 */
import type { PlausibilityConfig } from '../config.js';
import type { AlignedVector, PlausibilityFlag } from './vector.js';

interface VehicleHistory {
  lastSpeed?: { ts: number; value: number };
  runAnchor?: { ts: number; value: number };
  runLast?: { ts: number; value: number; changedAt: number };
}

/** How close (ms) source time stamps must be for values to count as measured together. */
const TOGETHER_MS = 1500;
/** A run-time counter unchanged this long (measurement clock) means the engine is off. */
const STALL_MS = 5000;
/** Below this engine speed the engine is off. */
const IDLE_RPM = 100;

export const RULES = [
  'speed_without_engine',
  'torque_at_released_pedal',
  'speed_jump',
  'run_time_drift',
  'brake_and_accelerator',
  'fuel_flow_engine_off',
] as const;

/** Whether the signals are present and were measured within the window of each other. */
function together(v: AlignedVector, a: string, b: string): boolean {
  const ta = v.sourceTs[a];
  const tb = v.sourceTs[b];
  if (ta === undefined || tb === undefined || v.values[a] == null || v.values[b] == null) return false;
  return Math.abs(ta - tb) <= TOGETHER_MS;
}

/** `later` measured at or after `first`, within the window (cause before effect). */
function after(v: AlignedVector, first: string, later: string): boolean {
  const a = v.sourceTs[first];
  const b = v.sourceTs[later];
  return a !== undefined && b !== undefined && b >= a && b - a <= TOGETHER_MS;
}

export class PlausibilityEngine {
  private readonly history = new Map<string, VehicleHistory>();

  constructor(private readonly cfg: PlausibilityConfig) {}

  forget(vehicleId: string): void {
    this.history.delete(vehicleId);
  }

  /** Evaluates the rules on a vector (in tick order per vehicle) and appends the flags to it. */
  apply(v: AlignedVector): void {
    if (!this.cfg.enabled) return;
    let h = this.history.get(v.vehicleId);
    if (!h) this.history.set(v.vehicleId, (h = {}));
    v.flags.push(...this.evaluate(v, h));
  }

  private evaluate(v: AlignedVector, h: VehicleHistory): PlausibilityFlag[] {
    const cfg = this.cfg;
    const flags: PlausibilityFlag[] = [];
    const val = (s: string): number | undefined => v.values[s] ?? undefined;
    const src = (s: string): number | undefined => v.sourceTs[s];

    // run-time counter history (engine state and drift)
    const run = val('time_since_engine_start');
    const runTs = src('time_since_engine_start');
    let runStalled = false;
    if (run !== undefined && runTs !== undefined) {
      if (!h.runLast || runTs > h.runLast.ts) {
        const changed = !h.runLast || run !== h.runLast.value;
        h.runLast = { ts: runTs, value: run, changedAt: changed ? runTs : h.runLast!.changedAt };
        if (!h.runAnchor || run < h.runAnchor.value - 1) h.runAnchor = { ts: runTs, value: run }; // first sample or engine restart
        else {
          const drift = run - h.runAnchor.value - (runTs - h.runAnchor.ts) / 1000;
          if (Math.abs(drift) > cfg.runTimeDriftS) {
            flags.push({
              rule: 'run_time_drift',
              message: `engine run-time counter drifted ${drift.toFixed(1)} s from the measurement clock (allowed ±${cfg.runTimeDriftS} s)`,
              signals: ['time_since_engine_start'],
            });
            h.runAnchor = { ts: runTs, value: run };
          }
        }
      }
      runStalled = runTs - h.runLast.changedAt >= STALL_MS;
    }
    const engineOff = (withSignal: string): string | undefined => {
      const rpm = val('engine_rpm');
      if (rpm !== undefined && together(v, withSignal, 'engine_rpm')) return rpm < IDLE_RPM ? `engine speed ${rpm} rpm` : undefined;
      if (run !== undefined && together(v, withSignal, 'time_since_engine_start')) {
        if (run === 0) return 'engine run time 0 s';
        if (runStalled) return `engine run-time counter stuck at ${run} s`;
      }
      return undefined;
    };

    const speed = val('vehicle_speed');
    if (speed !== undefined && speed > cfg.movingKmh) {
      const off = engineOff('vehicle_speed');
      if (off) flags.push({ rule: 'speed_without_engine', message: `vehicle moving at ${speed} km/h with the engine not running (${off})`, signals: ['vehicle_speed', 'engine_rpm', 'time_since_engine_start'] });
    }

    const pedal = val('accelerator_pedal_position');
    const torque = val('engine_torque');
    if (pedal !== undefined && torque !== undefined && pedal <= cfg.pedalRestPct && torque > cfg.highTorqueNm && after(v, 'accelerator_pedal_position', 'engine_torque')) {
      // torque measured after the pedal was seen released (a torque sample from before the release is not evidence)
      flags.push({
        rule: 'torque_at_released_pedal',
        message: `engine torque ${torque} Nm with the accelerator pedal released (${pedal} % ≤ ${cfg.pedalRestPct} %)`,
        signals: ['accelerator_pedal_position', 'engine_torque'],
      });
    }

    const speedTs = src('vehicle_speed');
    if (speed !== undefined && speedTs !== undefined) {
      if (h.lastSpeed && speedTs > h.lastSpeed.ts) {
        const dt = (speedTs - h.lastSpeed.ts) / 1000;
        const accel = Math.abs(speed - h.lastSpeed.value) / dt;
        if (dt >= 0.2 && accel > cfg.maxAccelKmhPerS) {
          flags.push({
            rule: 'speed_jump',
            message: `speed changed from ${h.lastSpeed.value} to ${speed} km/h in ${dt.toFixed(2)} s (${accel.toFixed(1)} km/h/s > ${cfg.maxAccelKmhPerS})`,
            signals: ['vehicle_speed'],
          });
        }
      }
      if (!h.lastSpeed || speedTs > h.lastSpeed.ts) h.lastSpeed = { ts: speedTs, value: speed };
    }

    const brake = val('brake_pressure');
    if (brake !== undefined && pedal !== undefined && brake > cfg.brakeMPa && pedal > cfg.brakePedalPct && together(v, 'brake_pressure', 'accelerator_pedal_position')) {
      flags.push({
        rule: 'brake_and_accelerator',
        message: `brake pressure ${brake} MPa with the accelerator pedal at ${pedal} %`,
        signals: ['brake_pressure', 'accelerator_pedal_position'],
      });
    }

    const fuel = val('fuel_consumption');
    if (fuel !== undefined && fuel > cfg.fuelFlowLh) {
      const off = engineOff('fuel_consumption');
      if (off) flags.push({ rule: 'fuel_flow_engine_off', message: `fuel flow ${fuel} l/h with the engine not running (${off})`, signals: ['fuel_consumption', 'engine_rpm', 'time_since_engine_start'] });
    }
    return flags;
  }
}

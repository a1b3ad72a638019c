/**
 * The signal catalog: every signal the vehicle pipeline knows — the 12 signals of the
 * reference OBD-II logs plus the common OBD-II mode 01 PIDs — with its canonical id (the field
 * name in vectors and InfluxDB), unit, valid range and kind, and the names it is known by
 * (the reference logs' column names, PID numbers such as "0x0C" or "pid_0c").
 *
 * Kinds: `continuous` (a measured quantity), `discrete` (an enumerated state such as the gear),
 * `counter` (monotonically increasing, e.g. run time, odometer) and `level` (a slowly varying
 * stock such as the fuel in the tank). Counters and levels describe the trip rather than the
 * vehicle's condition, so the default anomaly model does not use them as features.
 */

export type SignalKind = 'continuous' | 'discrete' | 'counter' | 'level';

export interface SignalDef {
  /** Canonical id: lower snake case; the vector/InfluxDB field name. */
  id: string;
  /** Human-readable name. */
  name: string;
  /** Canonical unit symbol (see units.ts); values are stored in this unit. */
  unit: string;
  /** Valid range (inclusive), in the canonical unit. */
  min: number;
  max: number;
  kind: SignalKind;
  /** OBD-II service 01 PID (hex, two digits) when there is one. */
  pid?: string;
  /** Other names (any spelling; matched after normalisation). */
  aliases: string[];
  /** Used as a feature by the default anomaly model. */
  feature: boolean;
  /** Where the definition comes from. */
  origin: 'reference-log' | 'obd2';
}

type Def = Omit<SignalDef, 'aliases' | 'feature' | 'origin'> & { aliases?: string[]; feature?: boolean };

/** The 12 signals of the reference logs (SUCCESS6G, 2.0 TDI), in the logs' column order. */
const REFERENCE: Def[] = [
  { id: 'vehicle_speed', name: 'Vehicle speed', unit: 'km/h', min: 0, max: 300, kind: 'continuous', pid: '0D', aliases: ['speed'] },
  { id: 'time_since_engine_start', name: 'Time since engine start', unit: 's', min: 0, max: 65535, kind: 'counter', pid: '1F', aliases: ['run_time_since_engine_start', 'engine_run_time'] },
  { id: 'normed_load', name: 'Normed load value', unit: '%', min: 0, max: 100, kind: 'continuous', pid: '04', aliases: ['calculated_engine_load', 'engine_load'] },
  { id: 'accelerator_pedal_position', name: 'Accelerator pedal position', unit: '%', min: 0, max: 100, kind: 'continuous', pid: '49', aliases: ['accelerator_pedal_position_d'] },
  { id: 'engine_torque', name: 'Engine torque', unit: 'Nm', min: -1000, max: 3000, kind: 'continuous' },
  { id: 'oil_fill_level', name: 'Oil fill level', unit: 'mm', min: 0, max: 200, kind: 'level', feature: true },
  { id: 'engine_oil_temperature', name: 'Engine oil temperature', unit: '°C', min: -40, max: 210, kind: 'continuous', pid: '5C', aliases: ['oil_temperature'] },
  { id: 'fuel_level', name: 'Fuel level', unit: 'l', min: 0, max: 1000, kind: 'level' },
  { id: 'fuel_consumption', name: 'Fuel consumption', unit: 'l/h', min: 0, max: 3212.75, kind: 'continuous', pid: '5E', aliases: ['engine_fuel_rate', 'fuel_rate'] },
  { id: 'brake_pressure', name: 'Brake pressure', unit: 'MPa', min: -1, max: 30, kind: 'continuous' },
  { id: 'engaged_gear', name: 'Engaged gear: raw signal-Bits 0-7', unit: 'raw', min: 0, max: 255, kind: 'discrete', aliases: ['gear', 'engaged_gear_raw'] },
  { id: 'scr_efficiency', name: 'Efficiency of the SCR catalytic converter', unit: 'fraction', min: 0, max: 1, kind: 'continuous', aliases: ['scr_catalytic_converter_efficiency'] },
];

/** Common OBD-II service 01 PIDs (ranges as encoded by SAE J1979), minus those above. */
const OBD2: Def[] = [
  { id: 'coolant_temperature', name: 'Engine coolant temperature', unit: '°C', min: -40, max: 215, kind: 'continuous', pid: '05' },
  { id: 'short_term_fuel_trim_bank1', name: 'Short term fuel trim — bank 1', unit: '%', min: -100, max: 99.2, kind: 'continuous', pid: '06' },
  { id: 'long_term_fuel_trim_bank1', name: 'Long term fuel trim — bank 1', unit: '%', min: -100, max: 99.2, kind: 'continuous', pid: '07' },
  { id: 'short_term_fuel_trim_bank2', name: 'Short term fuel trim — bank 2', unit: '%', min: -100, max: 99.2, kind: 'continuous', pid: '08' },
  { id: 'long_term_fuel_trim_bank2', name: 'Long term fuel trim — bank 2', unit: '%', min: -100, max: 99.2, kind: 'continuous', pid: '09' },
  { id: 'fuel_pressure', name: 'Fuel pressure (gauge)', unit: 'kPa', min: 0, max: 765, kind: 'continuous', pid: '0A' },
  { id: 'intake_manifold_pressure', name: 'Intake manifold absolute pressure', unit: 'kPa', min: 0, max: 255, kind: 'continuous', pid: '0B', aliases: ['map'] },
  { id: 'engine_rpm', name: 'Engine speed', unit: 'rpm', min: 0, max: 16383.75, kind: 'continuous', pid: '0C', aliases: ['rpm', 'engine_speed'] },
  { id: 'timing_advance', name: 'Timing advance', unit: '°', min: -64, max: 63.5, kind: 'continuous', pid: '0E' },
  { id: 'intake_air_temperature', name: 'Intake air temperature', unit: '°C', min: -40, max: 215, kind: 'continuous', pid: '0F' },
  { id: 'maf_air_flow', name: 'Mass air flow rate', unit: 'g/s', min: 0, max: 655.35, kind: 'continuous', pid: '10', aliases: ['maf'] },
  { id: 'throttle_position', name: 'Throttle position', unit: '%', min: 0, max: 100, kind: 'continuous', pid: '11' },
  { id: 'distance_with_mil_on', name: 'Distance traveled with MIL on', unit: 'km', min: 0, max: 65535, kind: 'counter', pid: '21' },
  { id: 'commanded_egr', name: 'Commanded EGR', unit: '%', min: 0, max: 100, kind: 'continuous', pid: '2C' },
  { id: 'fuel_tank_level', name: 'Fuel tank level input', unit: '%', min: 0, max: 100, kind: 'level', pid: '2F' },
  { id: 'distance_since_codes_cleared', name: 'Distance traveled since codes cleared', unit: 'km', min: 0, max: 65535, kind: 'counter', pid: '31' },
  { id: 'barometric_pressure', name: 'Absolute barometric pressure', unit: 'kPa', min: 0, max: 255, kind: 'continuous', pid: '33' },
  { id: 'catalyst_temperature_b1s1', name: 'Catalyst temperature — bank 1, sensor 1', unit: '°C', min: -40, max: 6513.5, kind: 'continuous', pid: '3C' },
  { id: 'control_module_voltage', name: 'Control module voltage', unit: 'V', min: 0, max: 65.535, kind: 'continuous', pid: '42', aliases: ['battery_voltage'] },
  { id: 'absolute_load', name: 'Absolute load value', unit: '%', min: 0, max: 25700, kind: 'continuous', pid: '43' },
  { id: 'commanded_equivalence_ratio', name: 'Commanded air-fuel equivalence ratio (lambda)', unit: 'raw', min: 0, max: 2, kind: 'continuous', pid: '44', aliases: ['lambda'] },
  { id: 'relative_throttle_position', name: 'Relative throttle position', unit: '%', min: 0, max: 100, kind: 'continuous', pid: '45' },
  { id: 'ambient_air_temperature', name: 'Ambient air temperature', unit: '°C', min: -40, max: 215, kind: 'continuous', pid: '46' },
  { id: 'commanded_throttle_actuator', name: 'Commanded throttle actuator', unit: '%', min: 0, max: 100, kind: 'continuous', pid: '4C' },
  { id: 'relative_accelerator_pedal_position', name: 'Relative accelerator pedal position', unit: '%', min: 0, max: 100, kind: 'continuous', pid: '5A' },
  { id: 'hybrid_battery_remaining', name: 'Hybrid battery pack remaining life', unit: '%', min: 0, max: 100, kind: 'level', pid: '5B' },
  { id: 'driver_demand_torque', name: "Driver's demand engine — percent torque", unit: '%', min: -125, max: 130, kind: 'continuous', pid: '61' },
  { id: 'actual_engine_torque', name: 'Actual engine — percent torque', unit: '%', min: -125, max: 130, kind: 'continuous', pid: '62' },
  { id: 'engine_reference_torque', name: 'Engine reference torque', unit: 'Nm', min: 0, max: 65535, kind: 'continuous', pid: '63', feature: false },
  { id: 'odometer', name: 'Odometer', unit: 'km', min: 0, max: 429496729.5, kind: 'counter', pid: 'A6' },
];

function build(def: Def, origin: SignalDef['origin']): SignalDef {
  const pidAliases = def.pid ? [`pid_${def.pid}`, `0x${def.pid}`, `01_${def.pid}`, `pid${def.pid}`] : [];
  return {
    ...def,
    aliases: [def.name, ...(def.aliases ?? []), ...pidAliases],
    feature: def.feature ?? (def.kind === 'continuous' || def.kind === 'discrete'),
    origin,
  };
}

export const BUILTIN_SIGNALS: readonly SignalDef[] = [
  ...REFERENCE.map((d) => build(d, 'reference-log')),
  ...OBD2.map((d) => build(d, 'obd2')),
];

/** The ids of the reference logs' signals, in column order. */
export const REFERENCE_SIGNAL_IDS: readonly string[] = REFERENCE.map((d) => d.id);

/** Lower snake case: "Engaged gear: raw signal-Bits 0-7" → "engaged_gear_raw_signal_bits_0_7". */
export function normalizeSignalName(raw: string): string {
  return raw
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** A valid id for a signal outside the catalog (kept when configured). */
export const SIGNAL_ID_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

const CACHE_LIMIT = 4096;

export class SignalCatalog {
  private readonly byName = new Map<string, SignalDef>();
  private readonly byId = new Map<string, SignalDef>();
  /** Raw spelling → def (or null: unknown), bounded. */
  private readonly cache = new Map<string, SignalDef | null>();

  constructor(readonly signals: readonly SignalDef[] = BUILTIN_SIGNALS) {
    for (const s of signals) {
      if (this.byId.has(s.id)) throw new Error(`signal catalog: duplicate id ${s.id}`);
      this.byId.set(s.id, s);
    }
    for (const s of signals) {
      for (const name of [s.id, ...s.aliases]) {
        const key = normalizeSignalName(name);
        const other = this.byName.get(key);
        if (other && other !== s) throw new Error(`signal catalog: name "${name}" of ${s.id} already names ${other.id}`);
        this.byName.set(key, s);
      }
    }
  }

  /** The signal a name refers to (any known spelling), or undefined. */
  resolve(name: string): SignalDef | undefined {
    const hit = this.cache.get(name);
    if (hit !== undefined) return hit ?? undefined;
    const def = this.byName.get(normalizeSignalName(name));
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(name, def ?? null);
    return def;
  }

  byIdOf(id: string): SignalDef | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.signals.length;
  }
}

export const defaultCatalog = new SignalCatalog();

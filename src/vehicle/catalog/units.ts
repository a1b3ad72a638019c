/**
 * Unit normalisation: parses the unit strings vehicles and logs use ("km/h", " C", "°F",
 * "kPa", "mph", "fraction", …) and converts values between units of the same dimension.
 * Each unit is a linear map to its dimension's base unit: base = value × factor + offset.
 */

export type Dimension =
  | 'speed'
  | 'temperature'
  | 'pressure'
  | 'length'
  | 'volume'
  | 'volume_flow'
  | 'mass_flow'
  | 'time'
  | 'ratio'
  | 'torque'
  | 'rotation'
  | 'voltage'
  | 'angle'
  | 'none';

interface UnitDef {
  /** Canonical spelling. */
  symbol: string;
  dim: Dimension;
  factor: number;
  offset?: number;
  aliases: string[];
}

const UNITS: UnitDef[] = [
  { symbol: 'km/h', dim: 'speed', factor: 1, aliases: ['kmh', 'kph', 'km/hr', 'kmph'] },
  { symbol: 'mph', dim: 'speed', factor: 1.609344, aliases: ['mi/h', 'mile/h'] },
  { symbol: 'm/s', dim: 'speed', factor: 3.6, aliases: ['mps'] },
  { symbol: '°C', dim: 'temperature', factor: 1, aliases: ['c', 'degc', 'deg c', 'celsius', '℃', 'º c', 'ºc'] },
  { symbol: '°F', dim: 'temperature', factor: 5 / 9, offset: -32 * (5 / 9), aliases: ['f', 'degf', 'deg f', 'fahrenheit', '℉'] },
  { symbol: 'K', dim: 'temperature', factor: 1, offset: -273.15, aliases: ['kelvin'] },
  { symbol: 'kPa', dim: 'pressure', factor: 1, aliases: [] },
  { symbol: 'MPa', dim: 'pressure', factor: 1000, aliases: [] },
  { symbol: 'Pa', dim: 'pressure', factor: 0.001, aliases: [] },
  { symbol: 'bar', dim: 'pressure', factor: 100, aliases: [] },
  { symbol: 'mbar', dim: 'pressure', factor: 0.1, aliases: ['hpa'] },
  { symbol: 'psi', dim: 'pressure', factor: 6.894757, aliases: [] },
  { symbol: 'mm', dim: 'length', factor: 0.001, aliases: [] },
  { symbol: 'cm', dim: 'length', factor: 0.01, aliases: [] },
  { symbol: 'm', dim: 'length', factor: 1, aliases: [] },
  { symbol: 'km', dim: 'length', factor: 1000, aliases: [] },
  { symbol: 'in', dim: 'length', factor: 0.0254, aliases: ['inch'] },
  { symbol: 'mi', dim: 'length', factor: 1609.344, aliases: ['mile', 'miles'] },
  { symbol: 'l', dim: 'volume', factor: 1, aliases: ['liter', 'litre', 'liters', 'litres', 'ltr'] },
  { symbol: 'ml', dim: 'volume', factor: 0.001, aliases: [] },
  { symbol: 'gal', dim: 'volume', factor: 3.785411784, aliases: ['gallon', 'us gal'] },
  { symbol: 'l/h', dim: 'volume_flow', factor: 1, aliases: ['lph', 'l/hr'] },
  { symbol: 'ml/s', dim: 'volume_flow', factor: 3.6, aliases: [] },
  { symbol: 'gal/h', dim: 'volume_flow', factor: 3.785411784, aliases: ['gph'] },
  { symbol: 'g/s', dim: 'mass_flow', factor: 1, aliases: ['gps'] },
  { symbol: 'kg/h', dim: 'mass_flow', factor: 1 / 3.6, aliases: [] },
  { symbol: 's', dim: 'time', factor: 1, aliases: ['sec', 'secs', 'second', 'seconds'] },
  { symbol: 'ms', dim: 'time', factor: 0.001, aliases: [] },
  { symbol: 'min', dim: 'time', factor: 60, aliases: ['minutes'] },
  { symbol: 'h', dim: 'time', factor: 3600, aliases: ['hr', 'hours'] },
  { symbol: '%', dim: 'ratio', factor: 0.01, aliases: ['percent', 'pct'] },
  { symbol: 'fraction', dim: 'ratio', factor: 1, aliases: ['ratio', 'frac'] },
  { symbol: 'Nm', dim: 'torque', factor: 1, aliases: ['n m', 'n.m', 'n·m', 'newton metre', 'newton meter'] },
  { symbol: 'lbf·ft', dim: 'torque', factor: 1.3558179483, aliases: ['lbf ft', 'lb ft', 'lb-ft', 'ft-lb', 'ft lb', 'lbft', 'lbf.ft'] },
  { symbol: 'rpm', dim: 'rotation', factor: 1, aliases: ['1/min', 'rev/min', 'min-1'] },
  { symbol: 'V', dim: 'voltage', factor: 1, aliases: ['volt', 'volts'] },
  { symbol: 'mV', dim: 'voltage', factor: 0.001, aliases: [] },
  { symbol: '°', dim: 'angle', factor: 1, aliases: ['deg', 'degree', 'degrees'] },
  { symbol: 'raw', dim: 'none', factor: 1, aliases: ['count', 'counts', '-', 'n/a', 'bits', 'enum', 'state'] },
];

const byKey = new Map<string, UnitDef>();
for (const u of UNITS) {
  for (const k of [u.symbol, ...u.aliases]) {
    const key = unitKey(k);
    if (!byKey.has(key)) byKey.set(key, u);
  }
}
// Keys are case-insensitive: safe for the units above ("mpa" means MPa; nobody sends millipascal).

function unitKey(raw: string): string {
  return raw.trim().toLowerCase().replace(/\s+/g, ' ');
}

export interface UnitInfo {
  symbol: string;
  dim: Dimension;
}

/** The unit for a spelling, or undefined when unknown. An empty string is "unspecified". */
export function lookupUnit(raw: string): UnitInfo | undefined {
  const u = byKey.get(unitKey(raw));
  return u ? { symbol: u.symbol, dim: u.dim } : undefined;
}

/** Whether a unit string means "no unit given" (the reference logs leave raw signals blank). */
export function isUnspecifiedUnit(raw: string | undefined | null): boolean {
  return raw === undefined || raw === null || raw.trim() === '';
}

/** A converter from `from` to `to`, or an error message when they are unknown or incompatible. */
export function converter(from: string, to: string): ((v: number) => number) | string {
  const a = byKey.get(unitKey(from));
  const b = byKey.get(unitKey(to));
  if (!a) return `unknown unit "${from}"`;
  if (!b) return `unknown unit "${to}"`;
  if (a.dim !== b.dim) return `unit "${from}" (${a.dim}) cannot be converted to "${b.symbol}" (${b.dim})`;
  if (a === b) return identity;
  const aOff = a.offset ?? 0;
  const bOff = b.offset ?? 0;
  return (v: number) => (v * a.factor + aOff - bOff) / b.factor;
}

const identity = (v: number): number => v;

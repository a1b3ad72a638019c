/**
 * The CLI's role names in the order `wattflow --help` lists them (index.ts maps each to its
 * role; the energy exporter recognises wattflow processes by them).
 */
export const ROLE_NAMES = [
  'up',
  'collector',
  'producer',
  'processor',
  'inference',
  'api',
  'train',
  'models',
  'registry',
  'vehicle-api',
  'vehicle-predictor',
  'replay-vehicle',
  'train-vehicle',
  'energy-exporter',
  'token',
  'url',
] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

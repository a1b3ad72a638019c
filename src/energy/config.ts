/**
 * The `energy` section of the app configuration (the energy exporter and the stage energy
 * meters), its TypeScript shape and its environment aliases. Imports nothing from
 * app-config.ts at run time (app-config.ts imports it).
 */
import type { EnvAlias } from '../core/config.js';
import type { Coefficients, Platform } from './coefficients.js';

export const energySection = {
  type: 'object',
  properties: {
    /** `wattflow up` starts the exporter (and its stage energy meters) unless false. */
    enabled: { type: 'boolean', default: true },
    /** The exporter's own listener (Kepler's port): its /metrics carries only the energy metrics. */
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 28282 },
    /** Sampling interval (Kepler's default: 5 s). Watts are averages over one interval. */
    intervalMs: { type: 'integer', minimum: 100, default: 5000 },
    /** Node energy: RAPL (powercap) when readable, else the estimator; or forced. */
    source: { enum: ['auto', 'rapl', 'estimator'], default: 'auto' },
    /** Roots of sysfs and procfs (tests run on fixture trees). */
    sysfsRoot: { type: 'string', default: '/sys' },
    procfsRoot: { type: 'string', default: '/proc' },
    /** Where the kubelet names pods and containers (pods/<ns>_<pod>_<uid>, containers/<pod>_<ns>_<container>-<id>.log). */
    kubeLogRoot: { type: 'string', default: '/var/log' },
    /** Docker's data root (container names from containers/<id>/config.v2.json). */
    dockerRoot: { type: 'string', default: '/var/lib/docker' },
    /** The constant label node_name (default: NODE_NAME, e.g. from the downward API, else the host name). */
    nodeName: { type: 'string', minLength: 1 },
    /** Estimator coefficients: a cloud's published averages (Cloud Carbon Footprint), or custom. */
    platform: { enum: ['aws', 'gcp', 'azure', 'custom'], default: 'aws' },
    estimator: {
      type: 'object',
      properties: {
        minWattsPerVcpu: { type: 'number', minimum: 0 },
        maxWattsPerVcpu: { type: 'number', minimum: 0 },
        memoryWattsPerGb: { type: 'number', minimum: 0 },
      },
      additionalProperties: false,
      default: {},
    },
    /** Process series only for this many top consumers (by recent power), plus wattflow's own processes. */
    topProcesses: { type: 'integer', minimum: 0, default: 20 },
    /** Always export wattflow's own processes (found by their command line), whatever their rank. */
    includeWattflowProcesses: { type: 'boolean', default: true },
    /** Terminated processes, containers and pods stay exported (state="terminated") this long, then are dropped. */
    terminatedRetentionS: { type: 'number', minimum: 0, default: 60 },
    /** Kepler 0.7 metric names too (kepler_container_joules_total{mode}…). Default: off, on in `wattflow up`. */
    legacyMetrics: { type: 'boolean' },
    /** wattflow_stage_energy_* on the /metrics of the processes that run stages (processor, inference, vehicle predictor). */
    stageEnergy: { type: 'boolean', default: true },
    /** Energy per message is averaged over this window (s). */
    perMessageWindowS: { type: 'number', exclusiveMinimum: 0, default: 60 },
  },
  additionalProperties: false,
  default: {},
};

export interface EnergyConfig {
  enabled: boolean;
  host: string;
  port: number;
  intervalMs: number;
  source: 'auto' | 'rapl' | 'estimator';
  sysfsRoot: string;
  procfsRoot: string;
  kubeLogRoot: string;
  dockerRoot: string;
  nodeName?: string;
  platform: Platform;
  estimator: Partial<Coefficients>;
  topProcesses: number;
  includeWattflowProcesses: boolean;
  terminatedRetentionS: number;
  legacyMetrics?: boolean;
  stageEnergy: boolean;
  perMessageWindowS: number;
}

export const energyAliases: EnvAlias[] = [{ env: 'NODE_NAME', path: '/energy/nodeName', parse: (v) => v }];

/** The defaults (what the schema fills in), for code that builds the exporter without the app config (tests, benchmarks). */
export function energyDefaults(over: Partial<EnergyConfig> = {}): EnergyConfig {
  return {
    enabled: true,
    host: '127.0.0.1',
    port: 28282,
    intervalMs: 5000,
    source: 'auto',
    sysfsRoot: '/sys',
    procfsRoot: '/proc',
    kubeLogRoot: '/var/log',
    dockerRoot: '/var/lib/docker',
    platform: 'aws',
    estimator: {},
    topProcesses: 20,
    includeWattflowProcesses: true,
    terminatedRetentionS: 60,
    stageEnergy: true,
    perMessageWindowS: 60,
    ...over,
  };
}

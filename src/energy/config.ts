/**
 * The `energy` section of the app configuration (the energy exporter and the stage energy
 * meters), its type and its environment aliases.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigSection, Enum, validateWithSchema, type EnvAlias } from '../core/config.js';

export const energySection = ConfigSection({
  /** `wattflow up` starts the exporter (and its stage energy meters) unless false. */
  enabled: Type.Boolean({ default: true }),
  /** The exporter's own listener (Kepler's port): its /metrics carries only the energy metrics. */
  host: Type.String({ default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 28282 }),
  /** Sampling interval (Kepler's default: 5 s). Watts are averages over one interval. */
  intervalMs: Type.Integer({ minimum: 100, default: 5000 }),
  /** Node energy: RAPL (powercap) when readable, else the estimator; or forced. */
  source: Enum(['auto', 'rapl', 'estimator'], { default: 'auto' }),
  /** Roots of sysfs and procfs (tests run on fixture trees). */
  sysfsRoot: Type.String({ default: '/sys' }),
  procfsRoot: Type.String({ default: '/proc' }),
  /** Where the kubelet names pods and containers (pods/<ns>_<pod>_<uid>, containers/<pod>_<ns>_<container>-<id>.log). */
  kubeLogRoot: Type.String({ default: '/var/log' }),
  /** Docker's data root (container names from containers/<id>/config.v2.json). */
  dockerRoot: Type.String({ default: '/var/lib/docker' }),
  /** The constant label node_name (default: NODE_NAME, e.g. from the downward API, else the host name). */
  nodeName: Type.Optional(Type.String({ minLength: 1 })),
  /** Estimator coefficients: a cloud's published averages (Cloud Carbon Footprint), or custom. */
  platform: Enum(['aws', 'gcp', 'azure', 'custom'], { default: 'aws' }),
  estimator: ConfigSection({
    minWattsPerVcpu: Type.Optional(Type.Number({ minimum: 0 })),
    maxWattsPerVcpu: Type.Optional(Type.Number({ minimum: 0 })),
    memoryWattsPerGb: Type.Optional(Type.Number({ minimum: 0 })),
  }),
  /** Process series only for this many top consumers (by recent power), plus wattflow's own processes. */
  topProcesses: Type.Integer({ minimum: 0, default: 20 }),
  /** Always export wattflow's own processes (found by their command line), whatever their rank. */
  includeWattflowProcesses: Type.Boolean({ default: true }),
  /** Terminated processes, containers and pods stay exported (state="terminated") this long, then are dropped. */
  terminatedRetentionS: Type.Number({ minimum: 0, default: 60 }),
  /** Kepler 0.7 metric names too (kepler_container_joules_total{mode}…). Default: off, on in `wattflow up`. */
  legacyMetrics: Type.Optional(Type.Boolean()),
  /** wattflow_stage_energy_* on the /metrics of the processes that run stages (processor, inference, vehicle predictor). */
  stageEnergy: Type.Boolean({ default: true }),
  /** Energy per message is averaged over this window (s). */
  perMessageWindowS: Type.Number({ exclusiveMinimum: 0, default: 60 }),
});
export type EnergyConfig = Static<typeof energySection>;

export const energyAliases: EnvAlias[] = [{ env: 'NODE_NAME', path: '/energy/nodeName', parse: (v) => v }];

/** The defaults (what the schema fills in), for code that builds the exporter without the app config (tests, benchmarks). */
export function energyDefaults(over: Partial<EnergyConfig> = {}): EnergyConfig {
  return { ...validateWithSchema<EnergyConfig>(energySection, {}, '(energy defaults)'), ...over };
}

/**
 * The application configuration: one file (JSON or YAML, `--config FILE` or WATTFLOW_CONFIG)
 * with a section per concern, validated against the schema composed here from each module's
 * section schema, plus environment overrides (see core/config.ts). Adding a module's settings
 * = one entry in `sections` and its aliases in `aliases`.
 */
import { authAliases, authSection, type AuthConfig } from './core/auth-config.js';
import { loadConfig, type EnvAlias, type JsonObject } from './core/config.js';
import { httpAliases, httpSection, type HttpConfig } from './core/http-config.js';
import { logAliases, logSection, type LogConfig } from './core/logger.js';
import { collectorSection, type CollectorConfig } from './collector/config.js';
import { routerPowerAliases, routerPowerSection, type RouterPowerConfig } from './router-power/config.js';
import { storageSection, type StorageConfig } from './storage/config.js';
import { fabricAliases, fabricSection, type FabricConfig } from './fabric/config.js';
import { influxAliases, influxSection, type InfluxConfig } from './sinks/config.js';
import { vehicleAliases, vehicleSection, type VehicleConfig } from './vehicle/config.js';
import { energyAliases, energySection, type EnergyConfig } from './energy/config.js';
import { uiAliases, uiSection, type UiConfig } from './ui/config.js';
import { grpcAliases, grpcSection, type GrpcConfig } from './router-power/inference/grpc-config.js';
import { registryAliases, registrySection, type RegistryConfig } from './registry/config.js';

export type { RegistryConfig, S3Config } from './registry/config.js';

/** Sections other modules add (vehicle, registry, …) register here. */
export const sections: Record<string, JsonObject> = {
  log: logSection,
  http: httpSection,
  grpc: grpcSection,
  fabric: fabricSection,
  collector: collectorSection,
  network: routerPowerSection,
  influx: influxSection,
  storage: storageSection,
  registry: registrySection,
  vehicle: vehicleSection,
  auth: authSection,
  energy: energySection,
  ui: uiSection,
};

export const aliases: EnvAlias[] = [
  ...logAliases,
  ...httpAliases,
  ...grpcAliases,
  ...fabricAliases,
  ...influxAliases,
  ...routerPowerAliases,
  ...registryAliases,
  ...vehicleAliases,
  ...authAliases,
  ...energyAliases,
  ...uiAliases,
];

export function appSchema(): JsonObject {
  return { type: 'object', properties: sections, additionalProperties: false };
}

export interface AppConfig {
  log: LogConfig;
  http: HttpConfig;
  grpc: GrpcConfig;
  fabric: FabricConfig;
  collector: CollectorConfig;
  network: RouterPowerConfig;
  influx: InfluxConfig;
  storage: StorageConfig;
  vehicle: VehicleConfig;
  registry: RegistryConfig;
  auth: AuthConfig;
  energy: EnergyConfig;
  ui: UiConfig;
  [section: string]: unknown;
}

export function loadAppConfig(file?: string, overrides?: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): AppConfig {
  return loadConfig<AppConfig>({ file: file ?? env.WATTFLOW_CONFIG, schema: appSchema(), aliases, env, overrides });
}

/**
 * The application configuration: one file (JSON or YAML, `--config FILE` or WATTFLOW_CONFIG)
 * with a section per concern, validated against the schema composed here from each module's
 * section schema (TypeBox: the schema carries the section's type), plus environment overrides
 * (see core/config.ts). It only composes: adding a module's settings = one MODULE_SECTIONS entry.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { authAliases, authSection } from './core/auth-config.js';
import { loadConfig, type EnvAlias, type JsonObject } from './core/config.js';
import { httpAliases, httpSection } from './core/http-config.js';
import { logAliases, logSection } from './core/logger.js';
import { collectorSection } from './collector/config.js';
import { routerPowerAliases, routerPowerSection } from './router-power/config.js';
import { storageSection } from './storage/config.js';
import { fabricAliases, fabricSection } from './fabric/config.js';
import { influxAliases, influxSection } from './sinks/config.js';
import { vehicleAliases, vehicleSection, type VehicleConfig } from './vehicle/config.js';
import { energyAliases, energySection } from './energy/config.js';
import { uiAliases, uiSection } from './ui/config.js';
import { grpcAliases, grpcSection } from './router-power/inference/grpc-config.js';
import { registryAliases, registrySection } from './registry/config.js';

export type { RegistryConfig, S3Config } from './registry/config.js';

/** Each module's section (key in the file → its schema, which carries its type) and its environment variables. */
const MODULE_SECTIONS = {
  log: { schema: logSection, aliases: logAliases },
  http: { schema: httpSection, aliases: httpAliases },
  grpc: { schema: grpcSection, aliases: grpcAliases },
  fabric: { schema: fabricSection, aliases: fabricAliases },
  collector: { schema: collectorSection, aliases: [] },
  network: { schema: routerPowerSection, aliases: routerPowerAliases },
  influx: { schema: influxSection, aliases: influxAliases },
  storage: { schema: storageSection, aliases: [] },
  registry: { schema: registrySection, aliases: registryAliases },
  vehicle: { schema: Type.Unsafe<VehicleConfig>(vehicleSection), aliases: vehicleAliases },
  auth: { schema: authSection, aliases: authAliases },
  energy: { schema: energySection, aliases: energyAliases },
  ui: { schema: uiSection, aliases: uiAliases },
} satisfies Record<string, { schema: TSchema; aliases: EnvAlias[] }>;

type ModuleSections = typeof MODULE_SECTIONS;

/** The whole configuration: each module's section, as its schema types it. */
export type AppConfig = { [K in keyof ModuleSections]: Static<ModuleSections[K]['schema']> };

export const sections: Record<string, JsonObject> = Object.fromEntries(Object.entries(MODULE_SECTIONS).map(([key, m]) => [key, m.schema]));

export const aliases: EnvAlias[] = Object.values(MODULE_SECTIONS).flatMap((m) => m.aliases);

export function appSchema(): JsonObject {
  return { type: 'object', properties: sections, additionalProperties: false };
}

export function loadAppConfig(file?: string, overrides?: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): AppConfig {
  return loadConfig<AppConfig>({ file: file ?? env.WATTFLOW_CONFIG, schema: appSchema(), aliases, env, overrides });
}

/**
 * Loading the app configuration together with the vehicle section, whether or not
 * app-config.ts registers it yet: the app's sections plus `vehicle`, the app's environment
 * aliases plus the vehicle ones. Used by the vehicle roles and tests.
 */
import { aliases as appAliases, sections as appSections } from '../app-config.js';
import { loadConfig, type EnvAlias, type JsonObject } from '../core/config.js';
import { vehicleAliases, vehicleSection, type VehicleAppConfig } from './config.js';

/** The app schema plus the vehicle section. */
export function vehicleAppSchema(): JsonObject {
  return { type: 'object', properties: { ...appSections, vehicle: vehicleSection }, additionalProperties: false };
}

export function vehicleAppAliases(): EnvAlias[] {
  const seen = new Set(appAliases.map((a) => a.env));
  return [...appAliases, ...vehicleAliases.filter((a) => !seen.has(a.env))];
}

export function loadVehicleAppConfig(file?: string, overrides?: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): VehicleAppConfig {
  return loadConfig<VehicleAppConfig>({ file: file ?? env.WATTFLOW_CONFIG, schema: vehicleAppSchema(), aliases: vehicleAppAliases(), env, overrides });
}

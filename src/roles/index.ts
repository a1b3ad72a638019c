/**
 * Every role of the CLI, in the order `wattflow --help` lists them (src/roles/names.ts).
 */
import { collectorRole } from './collector.js';
import { energyExporterRole } from './energy.js';
import { modelsRole, registryRole, trainRole } from './models.js';
import { ROLE_NAMES, type RoleName } from './names.js';
import { apiRole, inferenceRole, processorRole, producerRole } from './network.js';
import type { Role } from './role.js';
import { tokenRole } from './token.js';
import { upRole } from './up.js';
import { urlRole } from './url.js';
import { vehicleRoles } from './vehicle.js';

const all: Role[] = [upRole, collectorRole, producerRole, processorRole, inferenceRole, apiRole, trainRole, modelsRole, registryRole, ...vehicleRoles, energyExporterRole, tokenRole, urlRole];
const byName = new Map(all.map((r) => [r.name, r]));

export const roles: Role[] = ROLE_NAMES.map((name: RoleName) => {
  const role = byName.get(name);
  if (!role) throw new Error(`role "${name}" (src/roles/names.ts) is not defined`);
  return role;
});
if (roles.length !== all.length) throw new Error(`a role is missing from src/roles/names.ts: ${all.map((r) => r.name).filter((n) => !(ROLE_NAMES as readonly string[]).includes(n)).join(', ')}`);

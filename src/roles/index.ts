/**
 * Every role of the CLI, in the order `wattflow --help` lists them.
 */
import { collectorRole } from './collector.js';
import { apiRole, inferenceRole, processorRole, producerRole } from './network.js';
import { modelsRole, registryRole, trainRole } from './models.js';
import type { Role } from './role.js';
import { vehicleRoles } from './vehicle.js';
import { tokenRole } from './token.js';
import { upRole } from './up.js';
import { energyExporterRole } from './energy.js';
import { urlRole } from './url.js';

export const roles: Role[] = [upRole, collectorRole, producerRole, processorRole, inferenceRole, apiRole, trainRole, modelsRole, registryRole, ...vehicleRoles, energyExporterRole, tokenRole, urlRole];

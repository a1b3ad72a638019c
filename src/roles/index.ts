/**
 * Every role of the CLI, in the order `wattflow --help` lists them.
 */
import type { Role } from './role.js';

export const roles: Role[] = [];

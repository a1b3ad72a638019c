/**
 * A long-running role as data: its flags, the modules it runs (src/roles/modules.ts), how its
 * flags change the configuration, the checks before anything opens, and its banner. serverRole
 * turns that into a CLI role: parse, load and check the config, init the modules, serve. A module
 * init throwing a SetupError (src/roles/setup-error.ts) makes the role say why and exit 1.
 */
import type { ParseArgsConfig } from 'node:util';
import type { AppConfig } from '../app-config.js';
import { initModules } from '../core/modules.js';
import { loadRoleConfig, parseRoleArgs, roleLogger, serve } from './common.js';
import { MODULES, type ModuleName, type Services } from './modules.js';
import type { RoleName } from './names.js';
import type { Role } from './role.js';
import { SetupError } from './setup-error.js';

export type FlagValues = Record<string, string | boolean | undefined>;

export interface ServerRoleDef {
  name: RoleName;
  summary: string;
  usage: string;
  /** Options beyond --config, --port, --host. */
  flags?: NonNullable<ParseArgsConfig['options']>;
  /** The modules it runs (with everything they need), possibly depending on the configuration. */
  modules: readonly ModuleName[] | ((cfg: AppConfig) => readonly ModuleName[]);
  /** The role's own flags as configuration overrides (pointer → value; validated with the file, errors name the command line). */
  overrides?(flags: FlagValues): Record<string, unknown>;
  /** Applies the role's own flags to the loaded configuration. */
  configure?(cfg: AppConfig, flags: FlagValues): void;
  /** Checks before anything opens (exit 2 with one line: a second up, a busy port …). */
  preflight?(cfg: AppConfig): void | Promise<void>;
  /** Lines printed once the server listens. */
  banner?(b: { url: string; auth: string; cfg: AppConfig; services: Partial<Services> }): string[];
}

export function serverRole(def: ServerRoleDef): Role {
  return {
    name: def.name,
    summary: def.summary,
    usage: def.usage,
    async run(args) {
      const { values } = parseRoleArgs(args, def.flags ?? {});
      const cfg = loadRoleConfig(values, def.overrides?.(values as FlagValues));
      def.configure?.(cfg, values as FlagValues);
      await def.preflight?.(cfg);
      const logger = roleLogger(cfg, def.name);
      const targets = typeof def.modules === 'function' ? def.modules(cfg) : def.modules;
      let modules;
      try {
        modules = await initModules(MODULES, targets, { cfg, logger, role: def.name, flags: values as FlagValues });
      } catch (err) {
        if (!(err instanceof SetupError)) throw err;
        console.error(`wattflow ${def.name}: ${err.message}`);
        return 1;
      }
      const { components, services } = modules;
      const banner = def.banner;
      await serve(cfg, logger, components, banner ? (url, auth) => console.log(banner({ url, auth, cfg, services }).join('\n')) : undefined);
    },
  };
}

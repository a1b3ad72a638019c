/**
 * Wiring as data (after Loki's module manager): each module has a name, the modules it needs
 * and an init that returns the components it runs and/or a service for its dependants. A role
 * names target modules; initModules initialises them and, first, everything they need, each
 * once, in dependency order (the table's order breaks ties), and returns the components in
 * that order (the lifecycle starts them in it and stops them in reverse).
 */
import type { Component } from './component.js';

/** What a module's init gives: components to run and/or a service its dependants `use`. */
export interface ModuleInit<T = unknown> {
  components?: Component[];
  service?: T;
}

/** The services of a module's declared dependencies (only those; anything else throws). */
export interface ModuleDeps<S> {
  use<K extends keyof S & string>(name: K): S[K];
  /** The service when that module is part of this run (an optional dependency), else undefined. */
  optional<K extends keyof S & string>(name: K): S[K] | undefined;
  /** Whether that module is part of this run. */
  includes(name: keyof S & string): boolean;
}

export interface ModuleDef<Env, S> {
  name: keyof S & string;
  /** Modules initialised before this one, whose services it uses. */
  deps?: ReadonlyArray<keyof S & string>;
  /** Modules initialised before this one when they are part of the run (not pulled in). */
  after?: ReadonlyArray<keyof S & string>;
  init(env: Env, deps: ModuleDeps<S>): ModuleInit<S[keyof S]> | void | Promise<ModuleInit<S[keyof S]> | void>;
}

export class ModuleError extends Error {}

/** The targets and everything they need, in init order; throws on an unknown module or a cycle. */
export function moduleOrder<Env, S>(table: ReadonlyArray<ModuleDef<Env, S>>, targets: readonly string[]): Array<ModuleDef<Env, S>> {
  const byName = new Map(table.map((m) => [m.name as string, m]));
  const wanted = new Set<string>();
  const pull = (name: string, from?: string): void => {
    const m = byName.get(name);
    if (!m) throw new ModuleError(`unknown module "${name}"${from ? ` (needed by ${from})` : ''}`);
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const d of m.deps ?? []) pull(d, name);
  };
  for (const t of targets) pull(t);
  const order: Array<ModuleDef<Env, S>> = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: ModuleDef<Env, S>, path: string[]): void => {
    if (state.get(m.name) === 'done') return;
    if (state.get(m.name) === 'visiting') throw new ModuleError(`module dependency cycle: ${[...path, m.name].join(' → ')}`);
    state.set(m.name, 'visiting');
    for (const d of [...(m.deps ?? []), ...(m.after ?? []).filter((a) => wanted.has(a))]) visit(byName.get(d)!, [...path, m.name]);
    state.set(m.name, 'done');
    order.push(m);
  };
  for (const m of table) if (wanted.has(m.name)) visit(m, []);
  return order;
}

export interface InitializedModules<S> {
  components: Component[];
  services: Partial<S>;
}

/**
 * Initialises the targets and their dependencies. `provided` services (already built by the
 * caller: a test's fabric, a shared store) stand in for their modules, which are not run.
 */
export async function initModules<Env, S>(
  table: ReadonlyArray<ModuleDef<Env, S>>,
  targets: readonly string[],
  env: Env,
  provided: Partial<S> = {},
): Promise<InitializedModules<S>> {
  const services: Partial<S> = { ...provided };
  const components: Component[] = [];
  const ran = new Set<string>(Object.keys(provided));
  const order = moduleOrder(table, targets);
  const inRun = new Set<string>([...ran, ...order.map((m) => m.name)]);
  for (const m of order) {
    if (ran.has(m.name)) continue;
    const declared = new Set<string>([...(m.deps ?? []), ...(m.after ?? [])]);
    const deps: ModuleDeps<S> = {
      use: (name) => {
        if (!declared.has(name) || !(name in services)) throw new ModuleError(`module "${m.name}" uses "${name}" without declaring it in deps`);
        return services[name] as S[typeof name];
      },
      optional: (name) => {
        if (!declared.has(name)) throw new ModuleError(`module "${m.name}" uses "${name}" without declaring it in after`);
        return services[name];
      },
      includes: (name) => inRun.has(name),
    };
    const out = (await m.init(env, deps)) ?? {};
    ran.add(m.name);
    components.push(...(out.components ?? []));
    if ('service' in out) services[m.name] = out.service as S[typeof m.name];
  }
  return { components, services };
}

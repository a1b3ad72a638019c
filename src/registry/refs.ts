/**
 * Model references: the name, version and alias syntax, `name[@version|@alias]` parsing, and the
 * next free version number.
 */
import { RegistryError } from './errors.js';
import type { VersionRecord } from './catalog.js';

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const VERSION_RE = /^[0-9][0-9A-Za-z._-]{0,63}$/;
export const ALIAS_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export interface ModelRef {
  name: string;
  /** A version (starts with a digit) or an alias; absent = latest version. */
  selector?: string;
}

/** `name`, `name@version` or `name@alias`. */
export function parseRef(ref: string): ModelRef {
  const at = ref.indexOf('@');
  const name = at < 0 ? ref : ref.slice(0, at);
  const selector = at < 0 ? undefined : ref.slice(at + 1);
  if (!NAME_RE.test(name)) throw new RegistryError('INVALID', `invalid model name "${name}" (letters, digits, . _ -; starts with a letter or digit)`);
  if (selector !== undefined && !VERSION_RE.test(selector) && !ALIAS_RE.test(selector)) {
    throw new RegistryError('INVALID', `invalid version or alias "${selector}" in "${ref}"`);
  }
  return { name, ...(selector !== undefined ? { selector } : {}) };
}

/** The alias a selector names (undefined: a version, or the latest). */
export const aliasOf = (selector: string | undefined): string | undefined =>
  selector !== undefined && !VERSION_RE.test(selector) ? selector : undefined;

/** One more than the highest numeric version (skipping taken ones); "1" for the first. */
export function nextVersion(versions: VersionRecord[]): string {
  let max = 0;
  for (const v of versions) if (/^\d+$/.test(v.version)) max = Math.max(max, Number(v.version));
  const taken = new Set(versions.map((v) => v.version));
  let n = max + 1;
  while (taken.has(String(n))) n++;
  return String(n);
}

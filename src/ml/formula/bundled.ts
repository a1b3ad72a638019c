/**
 * The formula files shipped with wattflow (models/dummy/), one per router type.
 *
 * `bundledFormulaPath('huawei')` is models/dummy/huawei.txt when it exists, else
 * models/dummy/default.txt (the reference system's formula). The directory is found
 * relative to this module, which works both from src/ (tsx) and from the build in dist/
 * (both sit three levels below the package root).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormulaError } from './errors.js';
import { loadFormulaFileSync, type DummyFormula } from './file.js';

export const BUNDLED_FORMULA_DIR = fileURLToPath(new URL('../../../models/dummy/', import.meta.url));
export const DEFAULT_FORMULA_NAME = 'default';

const ROUTER_TYPE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Path of the bundled formula for a router type (falls back to default.txt). */
export function bundledFormulaPath(routerType: string = DEFAULT_FORMULA_NAME, dir: string = BUNDLED_FORMULA_DIR): string {
  if (typeof routerType !== 'string' || !ROUTER_TYPE.test(routerType)) {
    throw new FormulaError({
      code: 'io',
      reason: `invalid router type ${JSON.stringify(String(routerType)).slice(0, 70)}: use letters, digits, '_' and '-'`,
      source: dir,
    });
  }
  const specific = join(dir, `${routerType}.txt`);
  return existsSync(specific) ? specific : join(dir, `${DEFAULT_FORMULA_NAME}.txt`);
}

/** Loads the bundled formula for a router type (falls back to default.txt). */
export function loadBundledFormula(routerType?: string, dir?: string): DummyFormula {
  return loadFormulaFileSync(bundledFormulaPath(routerType, dir));
}

/**
 * What the registry's commands share: one-line error reports (exit 1) and number options.
 */
import { UsageError } from '../../core/usage-error.js';
import { RegistryClientError } from '../client.js';
import { RegistryError } from '../errors.js';

/** Prints registry errors as one line and returns exit status 1. */
export async function reportErrors(fn: () => Promise<number | void>): Promise<number> {
  try {
    return (await fn()) ?? 0;
  } catch (err) {
    if (err instanceof RegistryClientError || err instanceof RegistryError) {
      console.error(`error: ${err.message}${err.code && !err.message.includes(err.code) ? ` [${err.code}]` : ''}`);
      return 1;
    }
    throw err;
  }
}

export function num(name: string, v: string | undefined, opts: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    throw new UsageError(`--${name} must be ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` <= ${opts.max}` : ''}, got "${v}"`);
  }
  return n;
}

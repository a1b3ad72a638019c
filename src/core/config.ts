/**
 * Configuration loading shared by every role: a JSON or YAML file, then environment
 * overrides, then validation (and defaults) against a JSON Schema with ajv. An invalid
 * configuration raises a ConfigError naming the file, the JSON path and the reason.
 *
 * Environment overrides, applied in this order:
 *  - aliases declared by the schema sections (e.g. KAFKA_BROKERS → /fabric/kafka/brokers);
 *  - generic `WATTFLOW__section__key=value` (double underscore separates path segments;
 *    the value is parsed as JSON when it parses, else taken as a string).
 */
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { Type, type ObjectOptions, type TProperties } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on .default.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

export type JsonObject = Record<string, unknown>;

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`invalid configuration in ${source} at ${path || '/'}: ${reason}`);
    this.name = 'ConfigError';
  }
}

export interface EnvAlias {
  /** Environment variable name, e.g. KAFKA_BROKERS. */
  env: string;
  /** JSON pointer into the config, e.g. /fabric/kafka/brokers. */
  path: string;
  /** How to turn the string into a value (default: JSON when it parses, else the string). */
  parse?: (raw: string) => unknown;
  /** Further settings implied by the variable being set (e.g. fabric kind = kafka). */
  implies?: Array<{ path: string; value: unknown }>;
}

/**
 * A module's config section: a TypeBox object (unknown keys refused, absent section = `{}` so its
 * defaults fill in). Each module declares its section and `Static<typeof …>` type in one place.
 */
export function ConfigSection<P extends TProperties>(properties: P, options: ObjectOptions = {}) {
  return Type.Object(properties, { additionalProperties: false, default: {}, ...options });
}

/** A JSON Schema `enum` (ajv says "must be one of [...]"), typed as the union of its values. */
export function Enum<const T extends readonly (string | number)[]>(values: T, options: Record<string, unknown> = {}) {
  return Type.Unsafe<T[number]>({ enum: [...values], ...options });
}

/** An environment flag: 1/true/yes/on, 0/false/no/off (any case); anything else stays a string for the schema to refuse. */
export function envFlag(raw: string): unknown {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(v)) return false;
  return raw;
}

export const commaList = (raw: string): string[] =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

export function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: false, allowUnionTypes: true });
  addFormats(ajv);
  return ajv;
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function pointerSegments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function setAtPointer(target: JsonObject, pointer: string, value: unknown): void {
  const segs = pointerSegments(pointer);
  let node: JsonObject = target;
  for (let i = 0; i < segs.length - 1; i++) {
    const key = segs[i]!;
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as JsonObject;
  }
  node[segs[segs.length - 1]!] = value;
}

/** Reads a JSON or YAML file (by extension; unknown extensions try JSON, then YAML). */
export function readStructuredFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', `cannot read file: ${(err as Error).message}`);
  }
  const ext = extname(file).toLowerCase();
  try {
    if (ext === '.json') return JSON.parse(text);
    if (ext === '.yaml' || ext === '.yml') return parseYaml(text);
    try {
      return JSON.parse(text);
    } catch {
      return parseYaml(text);
    }
  } catch (err) {
    throw new ConfigError(file, '', `not valid ${ext === '.json' ? 'JSON' : 'JSON or YAML'}: ${(err as Error).message}`);
  }
}

export function formatAjvError(err: ErrorObject): { path: string; reason: string } {
  let path = err.instancePath;
  let reason = err.message ?? 'is invalid';
  if (err.keyword === 'additionalProperties') {
    const prop = (err.params as { additionalProperty: string }).additionalProperty;
    path = `${path}/${prop}`;
    reason = 'unknown setting (not allowed here)';
  } else if (err.keyword === 'required') {
    path = `${path}/${(err.params as { missingProperty: string }).missingProperty}`;
    reason = 'is required';
  } else if (err.keyword === 'enum') {
    reason = `must be one of ${JSON.stringify((err.params as { allowedValues: unknown[] }).allowedValues)}`;
  }
  return { path, reason };
}

export interface LoadOptions {
  /** Config file path (JSON or YAML); optional: without it defaults and env apply. */
  file?: string;
  schema: JsonObject;
  aliases?: EnvAlias[];
  env?: NodeJS.ProcessEnv;
  /** Extra overrides after env (e.g. CLI flags): pointer → value. */
  overrides?: Record<string, unknown>;
}

const validators = new WeakMap<object, ValidateFunction>();

/** Validates (and fills defaults into) a value; throws ConfigError on the first problem. */
export function validateWithSchema<T>(schema: JsonObject, value: unknown, source: string): T {
  let validate = validators.get(schema);
  if (!validate) {
    validate = newAjv().compile(schema);
    validators.set(schema, validate);
  }
  if (!validate(value)) {
    const first = validate.errors?.[0];
    const { path, reason } = first ? formatAjvError(first) : { path: '', reason: 'is invalid' };
    throw new ConfigError(source, path, reason);
  }
  return value as T;
}

export function loadConfig<T>(opts: LoadOptions): T {
  const env = opts.env ?? process.env;
  const source = opts.file ? resolve(opts.file) : '(defaults and environment)';
  let raw: unknown = opts.file ? readStructuredFile(opts.file) : {};
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(source, '', 'the top level must be an object');
  const cfg = structuredClone(raw) as JsonObject;
  // where each overridden setting came from, so an error names the variable, not the file
  const origin = new Map<string, string>();
  for (const alias of opts.aliases ?? []) {
    const v = env[alias.env];
    if (v === undefined || v === '') continue;
    setAtPointer(cfg, alias.path, alias.parse ? alias.parse(v) : parseEnvValue(v));
    origin.set(alias.path, `environment variable ${alias.env}`);
    for (const imp of alias.implies ?? []) setAtPointer(cfg, imp.path, imp.value);
  }
  for (const [key, v] of Object.entries(env)) {
    if (!key.startsWith('WATTFLOW__') || v === undefined) continue;
    const pointer = '/' + key.slice('WATTFLOW__'.length).split('__').join('/');
    setAtPointer(cfg, pointer, parseEnvValue(v));
    origin.set(pointer, `environment variable ${key}`);
  }
  for (const [pointer, v] of Object.entries(opts.overrides ?? {})) {
    if (v === undefined) continue;
    setAtPointer(cfg, pointer, v);
    origin.set(pointer, 'command line');
  }
  try {
    return validateWithSchema<T>(opts.schema, cfg, source);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const [pointer, from] of origin) {
      if (err.path === pointer || err.path.startsWith(`${pointer}/`)) throw new ConfigError(`${from} (over ${source})`, err.path, err.reason);
    }
    throw err;
  }
}

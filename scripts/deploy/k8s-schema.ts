/**
 * Validation of rendered Kubernetes objects without a cluster, with the models of
 * `kubernetes-models` (npm, 4.x: Kubernetes 1.33's OpenAPI):
 *  1. the package's own validator (types, required fields, enums, formats: `model.validate()`);
 *  2. unknown fields: the package's validators accept any extra field (as a structural API
 *     server would drop it silently), so every field of the object is also looked up in the
 *     package's TypeScript types (IDeployment, IPodSpec, …, read with the TypeScript compiler
 *     from its .d.ts files): a field no type declares is an error naming its path
 *     ("spec.template.spec.containers[0].livenessProb: unknown field");
 *  3. names the API server would refuse (DNS-1123 object names, DNS-1035 Service names, label
 *     values).
 * Custom resources (Strimzi, KServe, Prometheus Operator) are validated against the JSON
 * schemas in test/deploy/schemas/crd/ (subsets of their published CRDs, closed:
 * scripts/deploy/crd-subset.ts), their metadata as ObjectMeta.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import ts from 'typescript';
import { Ajv } from 'ajv';
import { REPO } from './helm.js';

export const CRD_SCHEMA_DIR = join(REPO, 'test', 'deploy', 'schemas', 'crd');
const require = createRequire(join(REPO, 'package.json'));

type Obj = Record<string, unknown>;

/** kubernetes-models' module of an apiVersion/kind ('' when there is none). */
export function modelModule(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const mod = group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
  try {
    require.resolve(mod);
    return mod;
  } catch {
    return '';
  }
}

// ------------------------------------------------------------------ unknown fields from the .d.ts

class FieldChecker {
  private readonly checker: ts.TypeChecker;
  private readonly types = new Map<string, ts.Type>();

  constructor(modules: Array<{ key: string; module: string; iface: string }>) {
    const entry = join(REPO, '.wattflow-k8s-fields-entry.ts');
    const source = modules.map((m, i) => `import type { ${m.iface} as T${i} } from '${m.module}';\nexport type K${i} = T${i};`).join('\n');
    const options: ts.CompilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true, skipLibCheck: true, types: [] };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, lang, onError, create) => (name === entry ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, onError, create));
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => name === entry || fileExists(name);
    const program = ts.createProgram({ rootNames: [entry], options, host });
    this.checker = program.getTypeChecker();
    const sf = program.getSourceFile(entry)!;
    const sym = this.checker.getSymbolAtLocation(sf)!;
    const exports = this.checker.getExportsOfModule(sym);
    modules.forEach((m, i) => {
      const e = exports.find((x) => x.name === `K${i}`);
      if (e) this.types.set(m.key, this.checker.getDeclaredTypeOfSymbol(e));
    });
  }

  has(key: string): boolean {
    return this.types.has(key) && !(this.types.get(key)!.flags & ts.TypeFlags.Any);
  }

  unknownFields(key: string, value: unknown): string[] {
    const t = this.types.get(key);
    if (!t) return [`no type for ${key}`];
    const out: string[] = [];
    this.walk(value, t, '', out);
    return out;
  }

  private walk(value: unknown, type: ts.Type, path: string, out: string[]): void {
    if (value === null || value === undefined) return;
    const t = this.checker.getNonNullableType(type);
    if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
    if (t.isUnion()) {
      const candidates = t.types.filter((m) => (Array.isArray(value) ? this.checker.isArrayType(m) : typeof value === 'object' ? m.flags & ts.TypeFlags.Object && !this.checker.isArrayType(m) : false));
      if (candidates.length === 0) return; // a primitive: kubernetes-models' validator checks it
      let best: string[] | undefined;
      for (const c of candidates) {
        const errs: string[] = [];
        this.walk(value, c, path, errs);
        if (!best || errs.length < best.length) best = errs;
        if (errs.length === 0) break;
      }
      out.push(...(best ?? []));
      return;
    }
    if (Array.isArray(value)) {
      if (!this.checker.isArrayType(t)) return;
      const el = this.checker.getTypeArguments(t as ts.TypeReference)[0];
      if (el) value.forEach((v, i) => this.walk(v, el, `${path}[${i}]`, out));
      return;
    }
    if (typeof value !== 'object') return;
    const props = this.checker.getPropertiesOfType(t);
    const index = t.getStringIndexType();
    if (props.length === 0) {
      if (index) for (const [k, v] of Object.entries(value as Obj)) this.walk(v, index, path ? `${path}.${k}` : k, out);
      return;
    }
    for (const [k, v] of Object.entries(value as Obj)) {
      const p = props.find((x) => x.name === k);
      const sub = path ? `${path}.${k}` : k;
      if (!p) {
        if (index) this.walk(v, index, sub, out);
        else out.push(`${sub}: unknown field`);
        continue;
      }
      this.walk(v, this.checker.getTypeOfSymbol(p), sub, out);
    }
  }
}

// ------------------------------------------------------------------ names the API server refuses

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function nameProblems(o: Obj): string[] {
  const out: string[] = [];
  const meta = (o.metadata ?? {}) as { name?: string; labels?: Record<string, string> };
  const name = meta.name ?? '';
  if (!name) out.push('metadata.name: missing');
  else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) out.push(`metadata.name: "${name}" is not a DNS-1123 subdomain`);
  if (o.kind === 'Service' && (name.length > 63 || !DNS1035_LABEL.test(name))) out.push(`metadata.name: "${name}" is not a DNS-1035 label (Services)`);
  if (['Deployment', 'DaemonSet', 'StatefulSet'].includes(String(o.kind)) && name.length > 52) out.push(`metadata.name: "${name}" is longer than 52 characters (pod names get suffixes)`);
  const labelSets: Array<[string, Record<string, string> | undefined]> = [['metadata.labels', meta.labels]];
  const tpl = (o.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template;
  if (tpl) labelSets.push(['spec.template.metadata.labels', tpl.metadata?.labels]);
  for (const [where, labels] of labelSets) {
    for (const [k, v] of Object.entries(labels ?? {})) {
      if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) out.push(`${where}.${k}: "${String(v)}" is not a valid label value`);
    }
  }
  return out;
}

// ------------------------------------------------------------------ the validator

export interface Validator {
  /** Problems of one object, each "<Kind>/<name>: <path>: <message>" ([] = valid). */
  validate(o: Obj): Promise<string[]>;
}

export function customSchemas(): Map<string, Obj> {
  const out = new Map<string, Obj>();
  if (!existsSync(CRD_SCHEMA_DIR)) return out;
  for (const f of readdirSync(CRD_SCHEMA_DIR).filter((x) => x.endsWith('.json'))) {
    const s = JSON.parse(readFileSync(join(CRD_SCHEMA_DIR, f), 'utf8')) as Obj & { properties: { apiVersion: { const: string }; kind: { const: string } } };
    out.set(`${s.properties.apiVersion.const}/${s.properties.kind.const}`, s);
  }
  return out;
}

/** Builds the validator for the kinds in these objects (one TypeScript program for all). */
export async function createValidator(objects: Obj[]): Promise<Validator> {
  const kinds = new Map<string, { key: string; module: string; iface: string }>();
  for (const o of objects) {
    const key = `${String(o.apiVersion)}/${String(o.kind)}`;
    const mod = modelModule(String(o.apiVersion), String(o.kind));
    if (mod && !kinds.has(key)) kinds.set(key, { key, module: mod, iface: `I${String(o.kind)}` });
  }
  kinds.set('meta/ObjectMeta', { key: 'meta/ObjectMeta', module: '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta', iface: 'IObjectMeta' });
  const fields = new FieldChecker([...kinds.values()]);
  const schemas = customSchemas();
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const k of ['x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields']) ajv.addKeyword({ keyword: k });
  // the OpenAPI integer formats of the CRDs, checked as Kubernetes does
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  const compiled = new Map([...schemas].map(([k, s]) => [k, ajv.compile(s)]));
  const metaValidate = ((await import('@kubernetes-models/apimachinery/_schemas/IoK8sApimachineryPkgApisMetaV1ObjectMeta')) as { validate: ((d: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> } }).validate;
  const classes = new Map<string, new (d: unknown) => { validate(): void }>();

  return {
    async validate(o: Obj): Promise<string[]> {
      const key = `${String(o.apiVersion)}/${String(o.kind)}`;
      const id = `${String(o.kind)}/${String((o.metadata as Obj | undefined)?.name ?? '?')}`;
      const problems: string[] = nameProblems(o);
      const custom = compiled.get(key);
      const mod = kinds.get(key);
      if (custom) {
        if (!custom(o)) for (const e of custom.errors ?? []) problems.push(`${e.instancePath.slice(1).replace(/\//g, '.') || '(root)'}: ${e.message}${e.params && 'additionalProperty' in e.params ? ` "${String(e.params.additionalProperty)}" (not in the CRD subset)` : ''}`);
        if (!metaValidate(o.metadata)) for (const e of metaValidate.errors ?? []) problems.push(`metadata${e.instancePath.replace(/\//g, '.')}: ${e.message}`);
        problems.push(...fields.unknownFields('meta/ObjectMeta', o.metadata).map((p) => `metadata.${p}`));
      } else if (mod) {
        let Model = classes.get(key);
        if (!Model) {
          const m = (await import(mod.module)) as Record<string, new (d: unknown) => { validate(): void }>;
          Model = m[String(o.kind)]!;
          classes.set(key, Model);
        }
        try {
          new Model(o).validate();
        } catch (err) {
          problems.push(...String((err as Error).message).split(/\n|, (?=data)/).map((s) => s.replace(/^data\//, '').replace(/\//g, '.')));
        }
        if (fields.has(key)) problems.push(...fields.unknownFields(key, o));
        else problems.push(`no TypeScript type for ${key} in kubernetes-models`);
      } else {
        problems.push(`no schema for ${key} (kubernetes-models has none, and test/deploy/schemas/crd/ neither)`);
      }
      return problems.map((p) => `${id}: ${p}`);
    },
  };
}

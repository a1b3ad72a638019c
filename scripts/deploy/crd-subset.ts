/**
 * Writes the JSON schemas of the custom resources the chart renders (test/deploy/schemas/crd/),
 * each the subset of its published CRD's openAPIV3Schema that the chart uses:
 *  - taken from the CRD YAML of a released version (origin recorded in the file: repository,
 *    tag, path);
 *  - pruned to the properties that some rendering of the chart's values files sets (their types,
 *    enums, patterns, bounds, required lists and int-or-string/preserve-unknown-fields markers
 *    kept as published; descriptions dropped);
 *  - closed: `additionalProperties: false` on every object that lists properties (a CRD's
 *    structural schema prunes unknown fields silently; here they are errors).
 * A field the chart starts to render must exist in the CRD (else this script fails naming it)
 * and then the schema is regenerated. Run with the CRD files at hand (the search tool's fetch of
 * the repositories, or a download of the release's install files):
 *
 *   node --import tsx scripts/deploy/crd-subset.ts \
 *     Kafka=<strimzi>/packaging/install/cluster-operator/040-Crd-kafka.yaml \
 *     KafkaNodePool=…/045-Crd-kafkanodepool.yaml KafkaTopic=…/043-Crd-kafkatopic.yaml \
 *     KafkaUser=…/044-Crd-kafkauser.yaml \
 *     InferenceService=<kserve>/config/crd/full/serving.kserve.io_inferenceservices.yaml \
 *     ServiceMonitor=<prometheus-operator>/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { CRD_SCHEMA_DIR, renderAllForChecks } from './chart-check.js';

type Schema = Record<string, unknown>;

export const CRD_ORIGINS: Record<string, { repo: string; ref: string; path: string }> = {
  Kafka: { repo: 'strimzi/strimzi-kafka-operator', ref: '1.2.0', path: 'packaging/install/cluster-operator/040-Crd-kafka.yaml' },
  KafkaNodePool: { repo: 'strimzi/strimzi-kafka-operator', ref: '1.2.0', path: 'packaging/install/cluster-operator/045-Crd-kafkanodepool.yaml' },
  KafkaTopic: { repo: 'strimzi/strimzi-kafka-operator', ref: '1.2.0', path: 'packaging/install/cluster-operator/043-Crd-kafkatopic.yaml' },
  KafkaUser: { repo: 'strimzi/strimzi-kafka-operator', ref: '1.2.0', path: 'packaging/install/cluster-operator/044-Crd-kafkauser.yaml' },
  InferenceService: { repo: 'kserve/kserve', ref: 'v0.20.0', path: 'config/crd/full/serving.kserve.io_inferenceservices.yaml' },
  ServiceMonitor: { repo: 'prometheus-operator/prometheus-operator', ref: 'v0.93.0', path: 'example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml' },
};

const KEEP = ['type', 'enum', 'pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems', 'required', 'nullable', 'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'default'];

/** Paths (a.b[].c) every object sets, "[]" for array items. */
function collectPaths(v: unknown, prefix: string, out: Set<string>): void {
  if (Array.isArray(v)) {
    out.add(prefix);
    for (const x of v) collectPaths(x, `${prefix}[]`, out);
  } else if (v && typeof v === 'object') {
    out.add(prefix);
    for (const [k, x] of Object.entries(v)) collectPaths(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.add(prefix);
}

function prune(s: Schema, path: string, used: Set<string>, kind: string): Schema {
  const out: Schema = {};
  for (const k of KEEP) if (k in s) out[k] = s[k];
  for (const comb of ['oneOf', 'anyOf', 'allOf']) {
    if (!Array.isArray(s[comb])) continue;
    // keep the combinators that only constrain (required/type lists), drop the explanatory ones
    out[comb] = (s[comb] as Schema[]).map((x) => {
      const y: Schema = {};
      for (const k of KEEP) if (k in x) y[k] = x[k];
      if (x.properties) y.properties = Object.fromEntries(Object.keys(x.properties as object).filter((p) => used.has(path ? `${path}.${p}` : p)).map((p) => [p, {}]));
      return y;
    });
  }
  if (s.properties && typeof s.properties === 'object') {
    const props = s.properties as Record<string, Schema>;
    const kept: Record<string, Schema> = {};
    for (const p of Object.keys(props)) {
      const sub = path ? `${path}.${p}` : p;
      if (used.has(sub)) kept[p] = prune(props[p]!, sub, used, kind);
    }
    for (const u of used) {
      const rest = path ? (u.startsWith(`${path}.`) ? u.slice(path.length + 1) : undefined) : u;
      if (rest === undefined || rest === '' || rest.includes('.') || rest.includes('[')) continue;
      if (!(rest in props) && !s['x-kubernetes-preserve-unknown-fields'] && !s.additionalProperties) {
        throw new Error(`${kind}: the chart renders ${u}, which the published CRD does not define`);
      }
    }
    out.properties = kept;
    if (!s['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  } else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    out.additionalProperties = prune(s.additionalProperties as Schema, `${path}.*`, new Set([...used].map((u) => u.replace(new RegExp(`^(${path.replace(/[.[\]]/g, '\\$&')})\\.[^.[]+`), '$1.*'))), kind);
  } else if (s.additionalProperties === true) out.additionalProperties = true;
  if (s.items && typeof s.items === 'object') out.items = prune(s.items as Schema, `${path}[]`, used, kind);
  return out;
}

export function crdSubset(kind: string, crdYaml: string, objects: Array<Record<string, unknown>>): Schema {
  const crd = parseYaml(crdYaml) as { spec: { group: string; names: { kind: string }; versions: Array<{ name: string; storage: boolean; served: boolean; schema: { openAPIV3Schema: Schema } }> } };
  if (crd.spec.names.kind !== kind) throw new Error(`${kind}: the file is the CRD of ${crd.spec.names.kind}`);
  const version = crd.spec.versions.find((v) => v.storage) ?? crd.spec.versions[0]!;
  const used = new Set<string>();
  for (const o of objects) {
    if (o.apiVersion !== `${crd.spec.group}/${version.name}`) throw new Error(`${kind}: the chart renders ${String(o.apiVersion)}, the CRD stores ${crd.spec.group}/${version.name}`);
    collectPaths({ spec: o.spec }, '', used);
  }
  used.delete('');
  const root = version.schema.openAPIV3Schema;
  const spec = prune((root.properties as Record<string, Schema>).spec!, 'spec', used, kind);
  const origin = CRD_ORIGINS[kind]!;
  return {
    $comment: `Subset of the published CRD ${crd.spec.names.kind} (${crd.spec.group}/${version.name}) from github.com/${origin.repo} at ${origin.ref}, ${origin.path}: the properties wattflow's chart renders, as published (types, enums, patterns, required), descriptions dropped, additionalProperties false where the CRD lists properties. Generated by scripts/deploy/crd-subset.ts.`,
    type: 'object',
    properties: {
      apiVersion: { const: `${crd.spec.group}/${version.name}` },
      kind: { const: kind },
      metadata: { type: 'object' },
      spec,
    },
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    additionalProperties: false,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=') as [string, string]));
  for (const k of Object.keys(CRD_ORIGINS)) if (!files[k]) throw new Error(`give ${k}=<path of its CRD YAML> (${CRD_ORIGINS[k]!.repo} ${CRD_ORIGINS[k]!.ref} ${CRD_ORIGINS[k]!.path})`);
  const renders = await renderAllForChecks();
  const objects = renders.flatMap((r) => r.objects);
  mkdirSync(CRD_SCHEMA_DIR, { recursive: true });
  for (const [kind, file] of Object.entries(files)) {
    const mine = objects.filter((o) => o.kind === kind);
    if (mine.length === 0) throw new Error(`no rendering has a ${kind}`);
    const schema = crdSubset(kind, readFileSync(file, 'utf8'), mine);
    const out = join(CRD_SCHEMA_DIR, `${kind}.json`);
    writeFileSync(out, JSON.stringify(schema, null, 2) + '\n');
    console.log(`wrote ${out} (${mine.length} objects)`);
  }
}

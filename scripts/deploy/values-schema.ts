/**
 * Generates deploy/helm/wattflow/values.schema.json — the schema Helm itself validates every
 * values file against (`helm install`, `helm template`, `helm lint`): an unknown key anywhere is
 * refused, naming it ("additional properties 'replicaz' not allowed"), as is a wrong enum value
 * (a traffic policy that is not Local or Cluster).
 *
 *   node --import tsx scripts/deploy/values-schema.ts          write it
 *   node --import tsx scripts/deploy/values-schema.ts --check  exit 1 when it is not up to date
 *
 * The shape comes from the chart's values.yaml (every key there is allowed, with the type of its
 * default), refined below: enums, free-form maps (labels, annotations, resources…), Kubernetes
 * lists (env, tolerations), Secret references ({name, key}: never a value), and the experiment
 * — wattflow's own schema of config.json (src/router-power/experiment-schema.ts), so Helm rejects an
 * invalid experiment before anything starts. test/deploy/chart-values.test.ts checks that the
 * committed file is what this script generates.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { experimentSchema } from '../../src/router-power/experiment-schema.js';

export const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const SCHEMA_FILE = join(REPO, 'deploy/helm/wattflow/values.schema.json');

type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const map: Schema = { type: 'object', additionalProperties: { type: 'string' } };
const anyObject: Schema = { type: 'object' };
const quantity: Schema = { anyOf: [{ type: 'string', pattern: '^[0-9.]+([eE][0-9]+|[KMGTPE]i?|m|k)?$' }, { type: 'number', minimum: 0 }] };
const resources: Schema = {
  type: 'object',
  properties: {
    requests: { type: 'object', additionalProperties: quantity },
    limits: { type: 'object', additionalProperties: quantity },
  },
  additionalProperties: false,
};
const k8sList: Schema = { type: 'array', items: { type: 'object' } };
const stringList: Schema = { type: 'array', items: { type: 'string' } };
const dnsLabel: Schema = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 };
const secretName: Schema = { type: 'string', anyOf: [{ const: '' }, { pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' }], maxLength: 253 };
/** A reference to one key of a Secret: never the value itself. */
const secretRef = (keys: string[] = ['key']): Schema => ({
  type: 'object',
  description: 'a reference to a Secret in the namespace (never the secret itself)',
  properties: { name: secretName, ...Object.fromEntries(keys.map((k) => [k, { type: 'string', minLength: 1 }])) },
  required: ['name'],
  additionalProperties: false,
});
const trafficPolicy: Schema = { enum: ['Local', 'Cluster'] };
const enumOf = (...v: unknown[]): Schema => ({ enum: v });

/** Overrides by dotted path ("*" matches any key). */
const overrides: Record<string, Schema> = {
  'image.pullPolicy': enumOf('Always', 'IfNotPresent', 'Never'),
  'image.digest': { type: 'string', anyOf: [{ const: '' }, { pattern: '^sha256:[0-9a-f]{64}$' }] },
  imagePullSecrets: { type: 'array', items: { type: 'object', properties: { name: dnsLabel }, required: ['name'], additionalProperties: false } },
  commonLabels: map,
  'log.level': enumOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  'log.format': enumOf('auto', 'json', 'pretty'),
  config: {
    type: 'object',
    description: 'extra wattflow settings (validated by wattflow at start); no secrets',
    propertyNames: { enum: ['log', 'http', 'fabric', 'collector', 'network', 'influx', 'storage', 'registry', 'vehicle', 'auth', 'energy', 'ui'] },
  },
  'auth.existingSecret': secretRef(['key']),
  'auth.clientToken': secretRef(['key']),
  'auth.clientTokens': { type: 'object', additionalProperties: secretRef(['key']), propertyNames: { enum: ['collector', 'producer', 'processor', 'inference', 'api', 'registry', 'vehicle-api', 'vehicle-predictor', 'energy-exporter'] } },
  podSecurityContext: anyObject,
  containerSecurityContext: anyObject,
  httpPort: { type: 'integer', minimum: 1024, maximum: 65535 },
  'serviceAccount.annotations': map,
  experiment: (() => {
    const { $schema: _drop, ...rest } = experimentSchema as unknown as Schema;
    return { ...rest, description: "the experiment (the reference's config.json; wattflow's schema, src/router-power/experiment-schema.ts)" };
  })(),
  'kafka.mode': enumOf('external', 'strimzi'),
  'kafka.external.bootstrapServers': { type: 'string', pattern: '^$|^[^\\s,:]+:\\d+(,[^\\s,:]+:\\d+)*$' },
  'kafka.sasl.mechanism': enumOf('PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'),
  'kafka.sasl.passwordSecret': secretRef(['key']),
  'kafka.tls.caSecret': secretRef(['key']),
  'kafka.partitions': { type: 'integer', minimum: 1 },
  'kafka.strimzi.clusterName': dnsLabel,
  'kafka.strimzi.replicas': { type: 'integer', minimum: 1 },
  'kafka.strimzi.resources': resources,
  'kafka.strimzi.listener.authentication': enumOf('scram-sha-512'),
  'kafka.strimzi.user.name': dnsLabel,
  'kafka.strimzi.config': { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
  'kafka.strimzi.storage.size': quantity,
  'collector.allowTargets': { type: 'array', items: { type: 'string', pattern: '^[^\\s/]+:\\d+$' } },
  'api.storage.type': enumOf('emptyDir', 'persistentVolumeClaim'),
  'registry.s3.credentialsSecret': secretRef(['accessKeyIdKey', 'secretAccessKeyKey']),
  'registry.s3.endpoint': { type: 'string', anyOf: [{ const: '' }, { format: 'uri', pattern: '^https?://' }] },
  'influxdb.auth.secret': secretRef(['usernameKey', 'passwordKey']),
  'influxdb.external.url': { type: 'string', anyOf: [{ const: '' }, { pattern: '^https?://' }] },
  'grafana.adminSecret': secretRef(['userKey', 'passwordKey']),
  'grafana.sidecarLabels': map,
  'grafana.datasourceSidecarLabels': map,
  'metrics.serviceMonitor.labels': map,
  'energyExporter.platform': enumOf('aws', 'gcp', 'azure', 'custom'),
  'energyExporter.port': { type: 'integer', minimum: 1024, maximum: 65535 },
  'edge.nodeSelector': map,
  'edge.tolerations': k8sList,
  'vehicle.mode': enumOf('push', 'pull'),
  'vehicleApi.kind': enumOf('DaemonSet', 'Deployment'),
  'vehicleApi.service.type': enumOf('NodePort', 'LoadBalancer'),
  'vehicleApi.service.nodePort': { type: 'integer', minimum: 30000, maximum: 32767 },
  'vehicleApi.service.externalTrafficPolicy': trafficPolicy,
  'vehicleApi.allowedClientCidrs': { type: 'array', items: { type: 'string', pattern: '^[0-9a-fA-F.:]+/\\d{1,3}$' }, minItems: 1 },
  'vehiclePredictor.model.source': enumOf('demo', 'ref', 'path'),
  'vehiclePredictor.model.ref': { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9][A-Za-z0-9._-]*)?$' },
  'vehiclePredictor.service.internalTrafficPolicy': trafficPolicy,
  'vehiclePredictor.kserve.storageUri': { type: 'string', pattern: '^(s3|gs|pvc|https?)://' },
  'vehiclePredictor.kserve.deploymentMode': enumOf('Standard', 'RawDeployment'),
  'redis.service.internalTrafficPolicy': trafficPolicy,
  'redis.passwordSecret': secretRef(['key']),
  'ingress.annotations': map,
  'ingress.hosts.*': { type: 'string', pattern: '^$|^([a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)+[a-z]{2,}$' },
  'ingress.tls': { type: 'array', items: { type: 'object', properties: { secretName: dnsLabel, hosts: stringList }, required: ['secretName'], additionalProperties: false } },
  'networkPolicy.prometheus': anyObject,
  'networkPolicy.ingressController': anyObject,
  'networkPolicy.registryClients': k8sList,
  // per-component settings
  '*.resources': resources,
  '*.nodeSelector': map,
  '*.tolerations': k8sList,
  '*.affinity': anyObject,
  '*.podAnnotations': map,
  '*.extraEnv': {
    type: 'array',
    items: {
      type: 'object',
      properties: { name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$' }, value: str, valueFrom: anyObject },
      required: ['name'],
      additionalProperties: false,
    },
  },
  '*.extraArgs': stringList,
  '*.replicas': { type: 'integer', minimum: 0 },
  '*.storage.size': quantity,
  '*.image.pullPolicy': enumOf('Always', 'IfNotPresent', 'Never'),
};

function override(path: string[]): Schema | undefined {
  const dotted = path.join('.');
  if (overrides[dotted]) return overrides[dotted];
  for (const [k, v] of Object.entries(overrides)) {
    const parts = k.split('.');
    if (parts.length !== path.length && !(parts[0] === '*' && path.length >= parts.length)) continue;
    const tail = parts[0] === '*' ? path.slice(path.length - (parts.length - 1)) : path;
    const pat = parts[0] === '*' ? parts.slice(1) : parts;
    if (pat.length === tail.length && pat.every((p, i) => p === '*' || p === tail[i])) return v;
  }
  return undefined;
}

function infer(value: unknown, path: string[]): Schema {
  const o = override(path);
  if (o) return o;
  if (value === null) return {};
  if (Array.isArray(value)) {
    const item = value.length > 0 ? infer(value[0], [...path, '[]']) : {};
    return { type: 'array', items: item };
  }
  switch (typeof value) {
    case 'boolean':
      return { type: 'boolean' };
    case 'number':
      return Number.isInteger(value) ? { type: 'integer' } : { type: 'number' };
    case 'string':
      return { type: 'string' };
    case 'object': {
      const properties: Record<string, Schema> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) properties[k] = infer(v, [...path, k]);
      return { type: 'object', properties, additionalProperties: false };
    }
    default:
      return {};
  }
}

export function generateValuesSchema(): string {
  const values = parseYaml(readFileSync(join(REPO, 'deploy/helm/wattflow/values.yaml'), 'utf8')) as Record<string, unknown>;
  const root = infer(values, []);
  const schema = {
    $schema: 'https://json-schema.org/draft-07/schema#',
    $comment: 'Generated by scripts/deploy/values-schema.ts from values.yaml; do not edit by hand.',
    title: 'wattflow chart values',
    ...root,
  };
  return JSON.stringify(schema, null, 2) + '\n';
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = generateValuesSchema();
  if (process.argv.includes('--check')) {
    const current = readFileSync(SCHEMA_FILE, 'utf8');
    if (current !== text) {
      console.error(`${SCHEMA_FILE} is not up to date: run node --import tsx scripts/deploy/values-schema.ts`);
      process.exit(1);
    }
    console.log('values.schema.json is up to date');
  } else {
    writeFileSync(SCHEMA_FILE, text);
    console.log(`wrote ${SCHEMA_FILE}`);
  }
}

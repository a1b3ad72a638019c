/**
 * Validates the Helm chart without a cluster, for the tests and for people:
 *
 *   node --import tsx scripts/deploy/chart-check.ts                       every values set below
 *   node --import tsx scripts/deploy/chart-check.ts -f my-values.yaml …   the chart with these files
 *
 * For each set of values files:
 *  1. the real Helm engine (helm-java: scripts/deploy/helm.ts) lints (strict) and renders the
 *     chart; Helm checks the values against values.schema.json (unknown keys, enums: the error
 *     names the key);
 *  2. every rendered object is validated (scripts/deploy/k8s-schema.ts): Kubernetes kinds with
 *     kubernetes-models (+ unknown fields), custom resources against the CRD subsets;
 *  3. wattflow's own configuration in the ConfigMaps is loaded as wattflow would at start (with
 *     each pod's environment), and the experiment parsed by wattflow;
 *  4. the policies (policyProblems below): locality of the vehicle edge, no container as root,
 *     probes and resources, no secret in values or in plain env/ConfigMaps, PDBs, NetworkPolicies,
 *     the experiment mounted as a directory.
 * Every problem is one line naming the file or object, the field and what is wrong.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments, stringify as toYaml } from 'yaml';
import { aliases, appSchema } from '../../src/app-config.js';
import { loadConfig } from '../../src/core/config.js';
import { normalizeExperiment } from '../../src/router-power/experiment.js';
import { CHART, helmClasspath, KUBE_VERSION, REPO, runHelm, type HelmAnswer, type HelmJob, type LookupApi } from './helm.js';
import { createValidator } from './k8s-schema.js';

export { CRD_SCHEMA_DIR } from './k8s-schema.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const RELEASE = 'wattflow';
export const NAMESPACE = 'wattflow';
const V = (f: string) => join(REPO, 'deploy', 'helm', 'values', f);
const FIX = (f: string) => join(REPO, 'test', 'deploy', 'fixtures', 'values', f);

/** The values sets every check runs on (.ci/run): each topology, the combined one, and variants. */
export const VALUES_SETS: Array<{ name: string; files: string[] }> = [
  { name: 'defaults', files: [] },
  { name: 'network', files: [V('network.yaml')] },
  { name: 'vehicle-edge', files: [V('vehicle-edge.yaml')] },
  { name: 'combined', files: [V('combined.yaml')] },
  { name: 'vehicle-edge+kserve', files: [V('vehicle-edge.yaml'), V('kserve.yaml')] },
  { name: 'external-kafka-sasl-tls', files: [V('network.yaml'), FIX('external-kafka-sasl-tls.yaml')] },
  { name: 'combined+energy-rapl-root', files: [V('combined.yaml'), FIX('energy-rapl-root.yaml')] },
];

export interface Rendered {
  name: string;
  files: string[];
  lint: HelmAnswer;
  template: HelmAnswer;
  objects: Obj[];
}

// ------------------------------------------------------------------ rendering

/** Helm's coalescing of values (maps merge, other values replace, null deletes). */
export function coalesce(base: unknown, over: unknown): unknown {
  if (over === null) return undefined;
  if (over && typeof over === 'object' && !Array.isArray(over) && base && typeof base === 'object' && !Array.isArray(base)) {
    const out: Obj = { ...(base as Obj) };
    for (const [k, v] of Object.entries(over as Obj)) {
      const c = coalesce(out[k], v);
      if (c === undefined) delete out[k];
      else out[k] = c;
    }
    return out;
  }
  return over === undefined ? base : over;
}

export function parseManifests(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => !!o && typeof o === 'object');
}

/**
 * Lints and renders each set in one JVM. helm-java lints with the chart's own values only, so
 * a set is linted on a temporary copy of the chart whose values.yaml is the set coalesced.
 */
export async function renderSets(sets: Array<{ name: string; files: string[] }>, lookups?: LookupApi): Promise<Rendered[]> {
  const cp = helmClasspath();
  if (!('classpath' in cp)) throw new Error(cp.missing);
  const tmp = mkdtempSync(join(tmpdir(), 'wattflow-chart-'));
  try {
    const jobs: HelmJob[] = [];
    const defaults = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Obj;
    sets.forEach((s, i) => {
      let chart = CHART;
      if (s.files.length > 0) {
        chart = join(tmp, `chart-${i}`, 'wattflow');
        cpSync(CHART, chart, { recursive: true });
        let merged: unknown = defaults;
        for (const f of s.files) merged = coalesce(merged, parseYaml(readFileSync(f, 'utf8')));
        writeFileSync(join(chart, 'values.yaml'), toYaml(merged));
      }
      jobs.push({ op: 'lint', chart, strict: true });
      jobs.push({ op: 'template', chart: CHART, name: RELEASE, namespace: NAMESPACE, kubeVersion: KUBE_VERSION, values: s.files });
    });
    const answers = await runHelm(cp.classpath, jobs, lookups);
    return sets.map((s, i) => {
      const lint = answers[2 * i]!;
      const template = answers[2 * i + 1]!;
      return { ...s, lint, template, objects: template.ok ? parseManifests(template.output) : [] };
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function renderAllForChecks(): Promise<Rendered[]> {
  return renderSets(VALUES_SETS);
}

/** Lint problems (strict: warnings count), one per line. */
export function lintProblems(r: Rendered): string[] {
  if (!r.lint.ok) return [`helm lint: ${r.lint.output}`];
  const [head, ...messages] = r.lint.output.split('\n').filter(Boolean);
  const failed = head === 'failed=true';
  return failed || messages.some((m) => /\[(ERROR|WARNING)\]/.test(m)) ? messages.map((m) => `helm lint: ${m}`) : [];
}

// ------------------------------------------------------------------ wattflow's own configuration

const podSpecOf = (o: Obj): Obj | undefined => (o.kind === 'InferenceService' ? o.spec?.predictor : o.spec?.template?.spec);
const workloads = (objects: Obj[]) => objects.filter((o) => ['Deployment', 'DaemonSet', 'StatefulSet', 'InferenceService'].includes(o.kind));
const idOf = (o: Obj) => `${o.kind}/${o.metadata?.name}`;

/** The config file and experiment each wattflow pod starts with, loaded as wattflow loads them. */
export function configProblems(objects: Obj[]): string[] {
  const out: string[] = [];
  const cms = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name as string, o]));
  const tmp = mkdtempSync(join(tmpdir(), 'wattflow-config-'));
  try {
    for (const w of workloads(objects)) {
      const spec = podSpecOf(w);
      for (const c of (spec?.containers ?? []) as Obj[]) {
        const env = Object.fromEntries(((c.env ?? []) as Obj[]).map((e) => [e.name, e.value ?? (e.valueFrom ? 'from-a-secret-or-field' : '')]));
        if (!env.WATTFLOW_CONFIG) continue;
        // the ConfigMap behind the config volume
        const vol = ((spec?.volumes ?? []) as Obj[]).find((v) => v.name === 'config');
        const cm = vol?.configMap?.name ? cms.get(vol.configMap.name) : undefined;
        if (!cm) {
          out.push(`${idOf(w)}: the config ConfigMap ${vol?.configMap?.name ?? '(no volume "config")'} is not rendered`);
          continue;
        }
        const file = join(tmp, `${basename(String(w.metadata.name))}.yaml`);
        writeFileSync(file, cm.data['config.yaml']);
        // the pod's environment: literal values as given, references as placeholders
        const podEnv: NodeJS.ProcessEnv = {};
        for (const [k, v] of Object.entries(env)) if (k.startsWith('WATTFLOW__') || aliases.some((a) => a.env === k)) podEnv[k] = String(v).includes('$(') ? 'x' : String(v);
        delete podEnv.WATTFLOW_CONFIG;
        // files the pod reads at start are mounted from Secrets: not here
        delete podEnv.WATTFLOW_TOKENS_FILE;
        delete podEnv.KAFKA_SASL_PASSWORD_FILE;
        try {
          loadConfig({ file, schema: appSchema(), aliases, env: podEnv });
        } catch (err) {
          out.push(`${idOf(w)} container ${c.name}: wattflow refuses its configuration: ${(err as Error).message}`);
        }
      }
    }
    for (const cm of cms.values()) {
      if (!cm.data?.['config.json']) continue;
      try {
        normalizeExperiment(JSON.parse(cm.data['config.json']), `ConfigMap/${cm.metadata.name} config.json`);
      } catch (err) {
        out.push(`ConfigMap/${cm.metadata.name}: wattflow refuses the experiment: ${(err as Error).message}`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

// ------------------------------------------------------------------ policies

const SENSITIVE_KEY = /(password|passwd|secret|token|accesskey|apikey|credential|privatekey)/i;
const SENSITIVE_ENV = /(PASSWORD|SECRET|TOKEN|ACCESS_KEY|API_KEY|CREDENTIAL)/;

/** Secrets written into values files: a sensitive key with a literal (non-empty) value. */
export function valuesSecretProblems(file: string, values: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, path: string[], underSensitive: boolean) => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, [...path, String(i)], underSensitive));
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Obj)) walk(x, [...path, k], underSensitive || SENSITIVE_KEY.test(k));
      return;
    }
    const key = path.at(-1) ?? '';
    // a reference names a Secret and its keys ({name, key, passwordKey, secretName, …}), a file
    // holding the secret (…File: a mounted Secret), or a variable expanded at run time ($VAR)
    const isReference = key === 'name' || /(key|secretName|file)$/i.test(key) || (typeof v === 'string' && /^\$\{?[A-Z_][A-Z0-9_]*\}?$/.test(v));
    const sensitiveLeaf = SENSITIVE_KEY.test(key) && !isReference;
    if ((sensitiveLeaf || (underSensitive && !isReference)) && typeof v === 'string' && v !== '') {
      out.push(`${file}: ${path.join('.')}: a secret value in plain values — reference a Secret instead ({name, key})`);
    }
  };
  walk(values, [], false);
  return out;
}

function selects(selector: Obj | undefined, labels: Obj | undefined): boolean {
  const m = (selector?.matchLabels ?? selector ?? {}) as Obj;
  return Object.keys(m).length > 0 && Object.entries(m).every(([k, v]) => labels?.[k] === v);
}

export interface PolicyOptions {
  /** Values files of the set (checked for secrets). */
  files?: string[];
}

export function policyProblems(objects: Obj[], opts: PolicyOptions = {}): string[] {
  const out: string[] = [];
  const services = objects.filter((o) => o.kind === 'Service');
  const component = (o: Obj) => o.metadata?.labels?.['app.kubernetes.io/component'] as string | undefined;

  // 1. locality of the vehicle edge (seed 000 steps 5, 7, 8)
  for (const s of services) {
    const c = component(s);
    if (c === 'vehicle-api') {
      if (!['NodePort', 'LoadBalancer'].includes(s.spec.type)) out.push(`Service/${s.metadata.name}: spec.type is ${s.spec.type}: the Vehicle API is reached on a node port (vehicleApi.service.type NodePort)`);
      if (s.spec.externalTrafficPolicy !== 'Local') out.push(`Service/${s.metadata.name}: spec.externalTrafficPolicy is ${s.spec.externalTrafficPolicy ?? '(unset: Cluster)'}, must be Local — a packet that reached an edge node is served there or dropped, never forwarded to another node (vehicleApi.service.externalTrafficPolicy)`);
    }
    if (c === 'vehicle-predictor' && s.spec.internalTrafficPolicy !== 'Local') out.push(`Service/${s.metadata.name}: spec.internalTrafficPolicy is ${s.spec.internalTrafficPolicy ?? '(unset: Cluster)'}, must be Local — the Vehicle API's forwards stay on its node (vehiclePredictor.service.internalTrafficPolicy)`);
    if (c === 'redis' && s.spec.internalTrafficPolicy !== 'Local') out.push(`Service/${s.metadata.name}: spec.internalTrafficPolicy is ${s.spec.internalTrafficPolicy ?? '(unset: Cluster)'}, must be Local — each node's Redis serves that node's pods only (redis.service.internalTrafficPolicy)`);
  }
  const edgeKinds = new Map(workloads(objects).map((w) => [component(w), w.kind]));
  if (edgeKinds.has('vehicle-api') && edgeKinds.get('redis') && edgeKinds.get('redis') !== 'DaemonSet') out.push('redis: must be a DaemonSet (one per edge node)');

  for (const w of workloads(objects)) {
    const id = idOf(w);
    const spec = podSpecOf(w) ?? {};
    const meta = w.kind === 'InferenceService' ? w.metadata : w.spec?.template?.metadata ?? {};
    const rootAllowed = meta?.annotations?.['wattflow.dev/runs-as-root'] !== undefined && component(w) === 'energy-exporter';
    const psc = spec.securityContext ?? {};
    // 2. no container as root
    for (const c of [...((spec.containers ?? []) as Obj[]), ...((spec.initContainers ?? []) as Obj[])]) {
      const sc = c.securityContext ?? {};
      const runAsNonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
      const runAsUser = sc.runAsUser ?? psc.runAsUser;
      if (!rootAllowed) {
        if (runAsNonRoot !== true) out.push(`${id} container ${c.name}: securityContext.runAsNonRoot is not true (no container runs as root)`);
        if (runAsUser === 0) out.push(`${id} container ${c.name}: securityContext.runAsUser is 0 (root)`);
      }
      if (sc.privileged === true) out.push(`${id} container ${c.name}: privileged`);
      if (sc.allowPrivilegeEscalation !== false) out.push(`${id} container ${c.name}: securityContext.allowPrivilegeEscalation is not false`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${id} container ${c.name}: capabilities are not dropped (drop: [ALL])`);
      if (sc.readOnlyRootFilesystem !== true) out.push(`${id} container ${c.name}: readOnlyRootFilesystem is not true`);
      // 3. probes and resources
      if (!c.readinessProbe) out.push(`${id} container ${c.name}: no readinessProbe`);
      if (!c.livenessProbe) out.push(`${id} container ${c.name}: no livenessProbe`);
      if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory) out.push(`${id} container ${c.name}: resources.requests.cpu and .memory are required`);
      if (!c.resources?.limits?.memory) out.push(`${id} container ${c.name}: resources.limits.memory is required`);
      if (/:latest$/.test(String(c.image)) || !/[:@]/.test(String(c.image))) out.push(`${id} container ${c.name}: image ${c.image} has no fixed tag`);
      // 4. secrets never as literal env values
      for (const e of (c.env ?? []) as Obj[]) {
        if (SENSITIVE_ENV.test(e.name) && !/_FILE$/.test(e.name) && typeof e.value === 'string' && e.value !== '') {
          out.push(`${id} container ${c.name}: env ${e.name} holds a literal value; it must come from a Secret (valueFrom.secretKeyRef)`);
        }
      }
      // the experiment, config and tokens are mounted as directories: the kubelet updates those
      for (const m of (c.volumeMounts ?? []) as Obj[]) {
        if (m.subPath && ['experiment', 'config', 'tokens'].includes(m.name)) out.push(`${id} container ${c.name}: volume ${m.name} mounted with subPath (never updated by the kubelet: no hot reload)`);
      }
    }
    if (spec.automountServiceAccountToken !== false && w.kind !== 'InferenceService') out.push(`${id}: automountServiceAccountToken is not false (wattflow does not call the Kubernetes API)`);
    if (rootAllowed) {
      const hostPaths = ((spec.volumes ?? []) as Obj[]).filter((v) => v.hostPath).map((v) => v.name);
      for (const c of (spec.containers ?? []) as Obj[]) for (const m of (c.volumeMounts ?? []) as Obj[]) if (hostPaths.includes(m.name) && m.readOnly !== true) out.push(`${id}: host path ${m.name} is not read-only`);
    }
    // host paths only for the energy exporter, read-only
    const hostVols = ((spec.volumes ?? []) as Obj[]).filter((v) => v.hostPath);
    if (hostVols.length > 0 && component(w) !== 'energy-exporter') out.push(`${id}: hostPath volumes (${hostVols.map((v) => v.name).join(', ')}) — only the energy exporter reads the host`);
    for (const c of (spec.containers ?? []) as Obj[]) for (const m of (c.volumeMounts ?? []) as Obj[]) if (hostVols.some((v) => v.name === m.name) && m.readOnly !== true) out.push(`${id} container ${c.name}: host path ${m.name} mounted read-write`);

    // 5. a PodDisruptionBudget for every Deployment and StatefulSet
    if (['Deployment', 'StatefulSet'].includes(w.kind)) {
      const labels = w.spec?.template?.metadata?.labels;
      if (!objects.some((p) => p.kind === 'PodDisruptionBudget' && selects(p.spec?.selector, labels))) out.push(`${id}: no PodDisruptionBudget selects its pods`);
    }
    // 6. NetworkPolicies: every pod of the release is selected by one (default deny) and its component's allow policy
    const podLabels = w.kind === 'InferenceService' ? { ...(w.spec?.predictor?.labels ?? {}) } : w.spec?.template?.metadata?.labels;
    const policies = objects.filter((p) => p.kind === 'NetworkPolicy');
    if (policies.length === 0) out.push(`${id}: no NetworkPolicy (networkPolicy.enabled)`);
    else if (!policies.some((p) => selects(p.spec?.podSelector, podLabels) && (p.spec.policyTypes ?? []).includes('Ingress'))) out.push(`${id}: no NetworkPolicy selects its pods`);
  }

  // the edge's admission rules: Redis from the Vehicle API and the predictor only; the predictor from the Vehicle API only
  for (const p of objects.filter((o) => o.kind === 'NetworkPolicy')) {
    const target = p.spec?.podSelector?.matchLabels?.['app.kubernetes.io/component'];
    const peers = ((p.spec?.ingress ?? []) as Obj[]).flatMap((r) => (r.from ?? []) as Obj[]);
    const podPeers = peers.filter((f) => f.podSelector && !f.namespaceSelector).map((f) => f.podSelector.matchLabels?.['app.kubernetes.io/component']);
    if (target === 'redis' && podPeers.some((c) => !['vehicle-api', 'vehicle-predictor'].includes(c))) out.push(`NetworkPolicy/${p.metadata.name}: Redis admits ${podPeers.join(', ')}: only the Vehicle API and the predictor`);
    if (target === 'vehicle-predictor' && podPeers.some((c) => c !== 'vehicle-api')) out.push(`NetworkPolicy/${p.metadata.name}: the predictor admits ${podPeers.join(', ')}: only the Vehicle API`);
    if (peers.some((f) => f.ipBlock) && target !== 'vehicle-api') out.push(`NetworkPolicy/${p.metadata.name}: admits IP blocks: only the Vehicle API takes traffic from outside the cluster`);
  }

  // 7. Services select something and their target ports exist
  for (const s of services) {
    const ws = workloads(objects).filter((w) => selects(s.spec.selector, w.kind === 'InferenceService' ? w.spec?.predictor?.labels : w.spec?.template?.metadata?.labels));
    if (ws.length === 0) {
      out.push(`Service/${s.metadata.name}: its selector matches no pod of the release`);
      continue;
    }
    for (const port of (s.spec.ports ?? []) as Obj[]) {
      if (typeof port.targetPort !== 'string') continue;
      const named = ws.some((w) => ((podSpecOf(w)?.containers ?? []) as Obj[]).some((c) => ((c.ports ?? []) as Obj[]).some((p) => p.name === port.targetPort)));
      if (!named) out.push(`Service/${s.metadata.name}: targetPort ${port.targetPort} is no container port of its pods`);
    }
  }

  // 8. no secret in ConfigMaps; Secrets only generated by the chart (random), never from values
  for (const cm of objects.filter((o) => o.kind === 'ConfigMap')) {
    for (const [k, v] of Object.entries((cm.data ?? {}) as Obj)) {
      if (!/\.ya?ml$/.test(k)) continue;
      const doc = parseYaml(String(v)) as unknown;
      out.push(...valuesSecretProblems(`ConfigMap/${cm.metadata.name} ${k}`, doc));
    }
  }
  const valueStrings = new Set<string>();
  for (const f of opts.files ?? []) {
    const values = parseYaml(readFileSync(f, 'utf8')) as unknown;
    out.push(...valuesSecretProblems(f.replace(`${REPO}/`, ''), values));
    const collect = (v: unknown): void => {
      if (typeof v === 'string' && v.length >= 6) valueStrings.add(v);
      else if (v && typeof v === 'object') Object.values(v as Obj).forEach(collect);
    };
    collect(values);
  }
  for (const s of objects.filter((o) => o.kind === 'Secret')) {
    const comp = s.metadata?.labels?.['app.kubernetes.io/component'];
    if (!['auth', 'grafana'].includes(comp)) out.push(`Secret/${s.metadata.name}: rendered by the chart from values (component ${comp}); reference an existing Secret instead`);
    const contents = [...Object.values((s.data ?? {}) as Obj).map((x) => Buffer.from(String(x), 'base64').toString()), ...Object.values((s.stringData ?? {}) as Obj).map(String)];
    for (const c of contents) for (const v of valueStrings) if (c.includes(v) && !/^(admin|wattflow)$/.test(v)) out.push(`Secret/${s.metadata.name}: holds "${v.slice(0, 4)}…" from the values files`);
  }
  return out;
}

// ------------------------------------------------------------------ everything

export async function checkRendered(r: Rendered): Promise<string[]> {
  if (!r.template.ok) return [`helm template: ${r.template.output}`];
  const out = [...lintProblems(r)];
  const validator = await createValidator(r.objects);
  for (const o of r.objects) out.push(...(await validator.validate(o)));
  out.push(...configProblems(r.objects));
  out.push(...policyProblems(r.objects, { files: r.files }));
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files: string[] = [];
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) if (args[i] === '-f' || args[i] === '--values') files.push(resolve(args[++i]!));
  const sets = files.length > 0 ? [{ name: files.map((f) => basename(f)).join('+'), files }] : VALUES_SETS;
  const t0 = Date.now();
  const rendered = await renderSets(sets);
  let failed = 0;
  for (const r of rendered) {
    const problems = await checkRendered(r);
    console.log(`${problems.length === 0 ? 'ok  ' : 'FAIL'} ${r.name}: ${r.objects.length} objects${problems.length ? `, ${problems.length} problems` : ''}`);
    for (const p of problems) console.log(`     ${p}`);
    if (problems.length) failed++;
  }
  console.log(`${rendered.length - failed} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  process.exit(failed ? 1 : 0);
}

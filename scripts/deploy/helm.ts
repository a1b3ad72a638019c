/**
 * The real Helm engine from Node: scripts/helm/HelmDriver.java (helm-java, Helm's Go library
 * embedded) run once per batch of jobs with the classpath scripts/services/helm.sh resolves.
 *
 *  - helmClasspath(): WATTFLOW_HELM_CLASSPATH_FILE (exported by scripts/services/start-all.sh),
 *    else the cache of scripts/services/helm.sh, else it runs `scripts/services/helm.sh start`
 *    when java and mvn are there (the first time ~15 s: Maven Central), else a reason to skip;
 *  - runHelm(jobs): lint and template answers, Helm's own error messages (a values.schema.json
 *    violation names the field).
 *
 * helm-java's template runs the chart's `lookup` calls against a cluster (its dry-run option is
 * "none", where the Helm CLI's `helm template` answers lookups with nothing). So runHelm serves
 * a minimal Kubernetes API on 127.0.0.1 for them — discovery of core/v1 and GET of Secrets,
 * 404 unless the caller gives the Secret — and points KUBECONFIG at it. That also lets a test
 * check what the chart does with a Secret that already exists (the generated tokens are kept).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHART = join(REPO, 'deploy', 'helm', 'wattflow');
const DRIVER = join(REPO, 'scripts', 'helm', 'HelmDriver.java');
export const KUBE_VERSION = '1.31.0';

export type HelmJob =
  | { op: 'version' }
  | { op: 'lint'; chart: string; strict?: boolean }
  | { op: 'template'; chart: string; name?: string; namespace?: string; kubeVersion?: string; values?: string[] };

export interface HelmAnswer {
  ok: boolean;
  /** version: Helm's version; lint: "failed=…" then messages; template: the manifests; else Helm's error. */
  output: string;
}

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;

/** The classpath of helm-java, or why there is none. */
export function helmClasspath(): { classpath: string } | { missing: string } {
  const fromFile = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim() : '');
  const env = process.env.WATTFLOW_HELM_CLASSPATH_FILE;
  if (env && fromFile(env)) return { classpath: fromFile(env) };
  const cache = process.env.WATTFLOW_CACHE ?? join(homedir(), '.cache', 'wattflow');
  const cached = join(cache, 'helm-java', process.env.HELM_JAVA_VERSION ?? '0.0.21');
  if (existsSync(join(cached, '.complete')) && fromFile(join(cached, 'classpath.txt'))) return { classpath: fromFile(join(cached, 'classpath.txt')) };
  if (!has('java') || !has('mvn')) return { missing: 'java and mvn are needed for the Helm engine (helm-java from Maven Central): bash scripts/services/helm.sh' };
  const r = spawnSync('bash', [join(REPO, 'scripts', 'services', 'helm.sh'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  const m = /WATTFLOW_HELM_CLASSPATH_FILE=(\S+)/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m) return { missing: `scripts/services/helm.sh failed: ${(r.stderr ?? '').slice(-2000)}` };
  return { classpath: fromFile(m[1]!.replace(/^'|'$/g, '')) };
}

function jobLine(id: number, j: HelmJob): string {
  const f: string[] = [String(id), j.op];
  const kv = (k: string, v: string | undefined) => {
    if (v === undefined) return;
    if (/[\t\n]/.test(v)) throw new Error(`helm job field ${k} holds a tab or newline: ${v}`);
    f.push(`${k}=${v}`);
  };
  if (j.op === 'lint') {
    kv('chart', j.chart);
    if (j.strict) kv('strict', 'true');
  } else if (j.op === 'template') {
    kv('chart', j.chart);
    kv('name', j.name);
    kv('namespace', j.namespace);
    kv('kubeVersion', j.kubeVersion);
    for (const v of j.values ?? []) kv('values', v);
  }
  return f.join('\t');
}

export interface LookupApi {
  /** Secrets the lookups find, by "<namespace>/<name>" (the Secret object, data base64). */
  secrets?: Record<string, unknown>;
  /** Every request the chart's lookups made ("GET /api/v1/…"). */
  requests: string[];
}

/** The minimal Kubernetes API the chart's lookups need (loopback only). */
async function startLookupApi(api: LookupApi): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '').split('?')[0]!;
    api.requests.push(`${req.method} ${url}`);
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url === '/api') return json(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
    if (url === '/apis') return json(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    if (url === '/api/v1') {
      return json(200, { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs: ['get', 'list'] }] });
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(url);
    const found = m ? api.secrets?.[`${m[1]}/${m[2]}`] : undefined;
    if (found) return json(200, found);
    return json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${url} not found` });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

/** Runs the jobs in one JVM; answers in job order. */
export async function runHelm(classpath: string, jobs: HelmJob[], api: LookupApi = { requests: [] }): Promise<HelmAnswer[]> {
  const { server, url } = await startLookupApi(api);
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-helm-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    ['apiVersion: v1', 'kind: Config', 'clusters: [{name: lookups, cluster: {server: "' + url + '"}}]', 'users: [{name: u, user: {}}]', 'contexts: [{name: c, context: {cluster: lookups, user: u}}]', 'current-context: c', ''].join('\n'),
  );
  try {
    return await runDriver(classpath, jobs, kubeconfig);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runDriver(classpath: string, jobs: HelmJob[], kubeconfig: string): Promise<HelmAnswer[]> {
  const child = spawn('java', ['-Xss4m', '-cp', classpath, DRIVER], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: kubeconfig } });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(jobs.map((j, i) => jobLine(i, j)).join('\n') + '\n');
  const code = await new Promise<number | null>((r) => child.once('close', r));
  const buf = Buffer.concat(chunks);
  const answers: HelmAnswer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) break;
    const header = buf.subarray(pos, nl).toString('utf8');
    const m = /^@@wattflow-helm (\d+) (ok|error) (\d+)$/.exec(header);
    if (!m) throw new Error(`unexpected output from HelmDriver: ${header.slice(0, 200)} (stderr: ${stderr.slice(-2000)})`);
    const len = Number(m[3]);
    answers[Number(m[1])] = { ok: m[2] === 'ok', output: buf.subarray(nl + 1, nl + 1 + len).toString('utf8') };
    pos = nl + 1 + len + 1;
  }
  if (answers.length !== jobs.length || answers.some((a) => a === undefined)) {
    throw new Error(`HelmDriver exited ${code} after ${answers.filter(Boolean).length} of ${jobs.length} answers: ${stderr.slice(-3000)}`);
  }
  return answers;
}

/**
 * Names for containers and pods (the cgroup path only has their ids): from the kubelet's log
 * directory listings, the downward API for the exporter's own pod, or Docker's container
 * config; else the short id. Where each comes from: docs/energy.md ("The cgroup path carries
 * the pod's UID only").
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isGone, reasonOf, type ReadErrors } from './read-errors.js';

export interface PodMeta {
  name: string;
  namespace: string;
}

export interface ContainerMeta {
  name: string;
  podName?: string;
  namespace?: string;
}

export interface KubeMetadataOptions {
  kubeLogRoot: string;
  dockerRoot: string;
  env?: NodeJS.ProcessEnv;
  errors?: ReadErrors;
  rescanMs?: number;
  now?: () => number;
}

const CONTAINER_LOG = /^([^_]+)_([^_]+)_(.+)-([0-9a-f]{64})\.log$/;
const POD_LOG_DIR = /^([^_]+)_([^_]+)_([0-9a-f-]{36})$/;

export class KubeMetadata {
  private pods = new Map<string, PodMeta>();
  private containers = new Map<string, ContainerMeta>();
  private dockerNames = new Map<string, string | null>();
  private lastScan = -Infinity;
  private readonly rescanMs: number;
  private readonly now: () => number;
  private readonly selfPod: (PodMeta & { uid?: string }) | undefined;

  constructor(private readonly o: KubeMetadataOptions) {
    this.rescanMs = o.rescanMs ?? 10_000;
    this.now = o.now ?? Date.now;
    const env = o.env ?? process.env;
    this.selfPod = env.POD_NAME && env.POD_NAMESPACE ? { name: env.POD_NAME, namespace: env.POD_NAMESPACE, uid: env.POD_UID } : undefined;
    this.scan();
  }

  /** Re-reads the listings (at most every rescanMs). Returns whether it did. */
  scan(force = false): boolean {
    const now = this.now();
    if (!force && now - this.lastScan < this.rescanMs) return false;
    this.lastScan = now;
    this.scanDir(join(this.o.kubeLogRoot, 'pods'), (name) => {
      const m = POD_LOG_DIR.exec(name);
      if (m) this.pods.set(m[3]!, { namespace: m[1]!, name: m[2]! });
    });
    this.scanDir(join(this.o.kubeLogRoot, 'containers'), (name) => {
      const m = CONTAINER_LOG.exec(name);
      if (m) this.containers.set(m[4]!, { podName: m[1]!, namespace: m[2]!, name: m[3]! });
    });
    return true;
  }

  private scanDir(dir: string, each: (name: string) => void): void {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      if (!isGone(err)) this.o.errors?.record('kube_logs', dir, reasonOf(err)); // absent: not a Kubernetes node
      return;
    }
    for (const n of names) each(n);
  }

  /** Pod name and namespace for a pod UID (undefined when unknown). `self`: the pod this process runs in. */
  pod(uid: string, self = false): PodMeta | undefined {
    let p = this.pods.get(uid);
    if (!p && this.scan()) p = this.pods.get(uid);
    if (!p && this.selfPod && (self || this.selfPod.uid === uid)) return { name: this.selfPod.name, namespace: this.selfPod.namespace };
    return p;
  }

  /** Container name (and its pod's names when the kubelet logs say), for a container id. */
  container(id: string, runtime: string): ContainerMeta {
    let c = this.containers.get(id);
    if (!c && this.scan()) c = this.containers.get(id);
    if (c) return c;
    if (runtime === 'docker') {
      const name = this.dockerName(id);
      if (name) return { name };
    }
    return { name: id.slice(0, 12) };
  }

  private dockerName(id: string): string | undefined {
    const known = this.dockerNames.get(id);
    if (known !== undefined) return known ?? undefined;
    let name: string | null = null;
    const file = join(this.o.dockerRoot, 'containers', id, 'config.v2.json');
    try {
      const cfg = JSON.parse(readFileSync(file, 'utf8')) as { Name?: unknown };
      if (typeof cfg.Name === 'string' && cfg.Name.length > 0) name = cfg.Name.replace(/^\//, '');
    } catch (err) {
      // an unreadable Docker root is normal (not Docker, or not root): only a malformed file is counted
      if (err instanceof SyntaxError) this.o.errors?.record('docker_config', file, err.message);
    }
    this.dockerNames.set(id, name);
    return name ?? undefined;
  }

  /** Forgets a container (terminated and dropped). */
  forgetContainer(id: string): void {
    this.dockerNames.delete(id);
  }
}

/**
 * Which container and pod a process belongs to, from its /proc/<pid>/cgroup. Understands the
 * cgroup v2 unified line ("0::/path") and, on v1 or hybrid hosts, the controller lines; and the
 * names the runtimes and the kubelet give their cgroups:
 *
 *   systemd driver  /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope
 *                   (guaranteed pods: kubepods-pod<uid>.slice; runtimes: cri-containerd-, crio-, docker-)
 *   cgroupfs driver /kubepods/burstable/pod<uid>/<id>   (guaranteed: /kubepods/pod<uid>/<id>)
 *   docker          /docker/<id>, /system.slice/docker-<id>.scope
 *   podman          …/libpod-<id>.scope, /libpod_parent/libpod-<id>
 *
 * A path seen from inside another cgroup namespace ("/../../kubepods-…") parses the same way.
 * The pod's name and namespace are not in the cgroup path (only its UID): see kube.ts.
 */

export type Runtime = 'containerd' | 'cri-o' | 'docker' | 'podman' | 'unknown';
export type QosClass = 'guaranteed' | 'burstable' | 'besteffort';

export interface CgroupRef {
  containerId: string;
  runtime: Runtime;
  /** Kubernetes pod UID (dashed form), when the cgroup is under kubepods. */
  podUid?: string;
  qos?: QosClass;
}

const ID = '([0-9a-f]{64})';
const SCOPE = new RegExp(`^(cri-containerd|crio|docker|libpod)-${ID}\\.scope$`);
const LIBPOD_CGROUPFS = new RegExp(`^libpod-${ID}$`);
const BARE_ID = new RegExp(`^${ID}$`);
const POD_SLICE = /^kubepods(?:-(burstable|besteffort))?-pod([0-9a-f_]{36})\.slice$/;
const POD_DIR = /^pod([0-9a-f-]{36})$/;

const RUNTIME_OF: Record<string, Runtime> = { 'cri-containerd': 'containerd', crio: 'cri-o', docker: 'docker', libpod: 'podman' };

/** The container of one cgroup path, or undefined (a host process, a systemd service, …). */
export function parseCgroupPath(path: string): CgroupRef | undefined {
  const segs = path.split('/');
  let podUid: string | undefined;
  let qos: QosClass | undefined;
  let inKubepods = false;
  let parent = '';
  for (const seg of segs) {
    if (seg === '' || seg === '..' || seg === '.') continue;
    if (seg === 'kubepods' || seg === 'kubepods.slice') {
      inKubepods = true;
      qos = 'guaranteed';
    } else if (inKubepods && (seg === 'burstable' || seg === 'besteffort')) {
      qos = seg;
    } else if (inKubepods && /^kubepods-(burstable|besteffort)\.slice$/.test(seg)) {
      qos = seg.slice('kubepods-'.length, -'.slice'.length) as QosClass;
    } else {
      let m = POD_SLICE.exec(seg);
      if (m) {
        inKubepods = true;
        qos = (m[1] as QosClass | undefined) ?? 'guaranteed';
        podUid = m[2]!.replace(/_/g, '-');
      } else if (inKubepods && (m = POD_DIR.exec(seg))) {
        podUid = m[1];
      } else if ((m = SCOPE.exec(seg))) {
        return { containerId: m[2]!, runtime: RUNTIME_OF[m[1]!]!, ...(podUid ? { podUid, qos } : {}) };
      } else if ((m = LIBPOD_CGROUPFS.exec(seg))) {
        return { containerId: m[1]!, runtime: 'podman' };
      } else if ((m = BARE_ID.exec(seg))) {
        // cgroupfs driver: /kubepods/<qos>/pod<uid>/<id>, /docker/<id>
        if (podUid) return { containerId: m[1]!, runtime: 'unknown', podUid, qos };
        if (parent === 'docker') return { containerId: m[1]!, runtime: 'docker' };
      }
    }
    parent = seg;
  }
  return undefined;
}

/**
 * The container of a process from its /proc/<pid>/cgroup text: the unified (v2) line first,
 * then the v1 controller lines (hybrid hosts keep the container path there).
 */
export function parseProcCgroup(text: string): CgroupRef | undefined {
  const paths: string[] = [];
  let v2: string | undefined;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const path = line.slice(second + 1);
    if (line.startsWith('0::')) v2 = path;
    else paths.push(path);
  }
  if (v2 !== undefined) {
    const ref = parseCgroupPath(v2);
    if (ref) return ref;
  }
  for (const p of paths) {
    const ref = parseCgroupPath(p);
    if (ref) return ref;
  }
  return undefined;
}

/**
 * The artifact store in a local directory (the embedded default): atomic writes (temp file +
 * rename; the temp file is removed when the write fails, and temp files a killed process left are
 * removed by start()).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkKey, type ArtifactStore } from './artifact-store.js';
import { RegistryError } from './errors.js';

/**
 * Temporary files of atomic writes: `<file>.tmp-<host>-<pid>-<instance>-<n>` (host: 8 hex of the
 * host name's hash, instance: random per process, so a process that got the pid of a killed one
 * — pid 1 in every container — still tells its own files apart). Versions before 2026-12 wrote
 * `<file>.tmp-<pid>-<ms>`.
 */
const TMP_RE = /\.tmp-([0-9a-f]{8})-(\d+)-([0-9a-f]{8})-\d+$/;
const OLD_TMP_RE = /\.tmp-(\d+)-\d+$/;
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
const INSTANCE = randomBytes(4).toString('hex');
let tmpCounter = 0;

/** A temp file no live write can still be using is removed at start; younger ones of a live process on this host (or of another host) are kept until this age. */
export const TEMP_GRACE_MS = 15 * 60_000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a temp file is an orphan (undefined: it may belong to a write in progress, keep it). */
function orphanReason(name: string, ageMs: number, graceMs: number): string | undefined {
  if (ageMs >= graceMs) return `older than ${Math.round(graceMs / 1000)} s`;
  const m = TMP_RE.exec(name);
  if (m) {
    if (m[1] !== HOST_TAG) return undefined; // another host's process: only its age tells
    const pid = Number(m[2]);
    if (m[3] === INSTANCE) return undefined; // this process's own write
    if (pid === process.pid) return 'written by an earlier process with this pid';
    return pidAlive(pid) ? undefined : `its writer (pid ${pid}) is gone`;
  }
  const old = OLD_TMP_RE.exec(name);
  if (old) {
    const pid = Number(old[1]);
    return pid === process.pid || !pidAlive(pid) ? `its writer (pid ${pid}) is gone` : undefined;
  }
  return undefined;
}

export class LocalArtifactStore implements ArtifactStore {
  readonly kind = 'local' as const;
  readonly dir: string;

  constructor(
    dir: string,
    private readonly opts: { tempGraceMs?: number } = {},
  ) {
    this.dir = resolve(dir);
  }

  /**
   * Removes the temp files that interrupted writes left (a process killed between creating its
   * temp file and renaming it): those whose writer is gone (same host, pid not running, or this
   * pid but another process instance) and any older than the grace period (15 min; temp files of
   * other hosts sharing the directory, and of live processes, are only removed then — a write
   * lasts far less). Returns the paths removed and kept.
   */
  async start(): Promise<{ removed: string[]; kept: string[] }> {
    const removed: string[] = [];
    const kept: string[] = [];
    const grace = this.opts.tempGraceMs ?? TEMP_GRACE_MS;
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && (TMP_RE.test(e.name) || OLD_TMP_RE.test(e.name))) {
          let age: number;
          try {
            age = Date.now() - (await stat(p)).mtimeMs;
          } catch {
            continue; // renamed or removed meanwhile
          }
          if (orphanReason(e.name, age, grace) !== undefined) {
            await rm(p, { force: true });
            removed.push(p);
          } else kept.push(p);
        }
      }
    };
    await walk(this.dir);
    return { removed, kept };
  }

  describe(): string {
    return this.dir;
  }

  private path(key: string): string {
    checkKey(key);
    const p = join(this.dir, ...key.split('/'));
    if (!p.startsWith(this.dir + sep)) throw new RegistryError('INVALID', `invalid artifact key "${key}"`);
    return p;
  }

  uri(key: string): string {
    return pathToFileURL(this.path(key)).href;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.tmp-${HOST_TAG}-${process.pid}-${INSTANCE}-${++tmpCounter}`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, p);
    } catch (err) {
      // a failed write (disk full, rename refused, …) leaves nothing behind
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(this.path(key)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new RegistryError('ARTIFACT_MISSING', `artifact ${key} is missing from the local store ${this.dir}`);
      }
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.path(key))).isFile();
    } catch {
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async close(): Promise<void> {}
}

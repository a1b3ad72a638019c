/**
 * One way for every client to find its server, and the errors an operator is expected to meet.
 *
 * A running `wattflow up` writes `<state dir>/up.json` when it listens (its URL, pid, start time,
 * storage and the vehicle model file it serves) and removes it when it stops; the state
 * directory is `storage.dir` (default `.wattflow`, relative to the working directory), or
 * `.wattflow` when the storage is in memory. It also leaves a copy in the user's runtime
 * directory (`$XDG_RUNTIME_DIR/wattflow`, else `<tmp>/wattflow-<uid>`), so that a client with
 * another storage directory (a `vehicle-predictor` beside `up` needs its own) still finds the
 * `up` started from its working directory. A client (`models`, `train --register`,
 * `replay-vehicle`, `train-vehicle --register`, `vehicle-predictor --model NAME@REF`) uses, in
 * this order: its own flag (--registry / --target), its specific setting (WATTFLOW_REGISTRY_URL,
 * registry.url, vehicle.model.registryUrl), WATTFLOW_URL, the up.json of a running `up` in its
 * state directory, else the newest running `up` started from its working directory, else
 * http://127.0.0.1:8000 — and prints which one on stderr.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

/** An expected condition the operator has to resolve (port or storage in use, a second `up`): one line, exit 2, no stack. */
export class OperatorError extends Error {
  override readonly name = 'OperatorError';
}

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:8000';
export const DEFAULT_STATE_DIR = '.wattflow';
const STATE_FILE = 'up.json';

export interface UpState {
  url: string;
  pid: number;
  started_at: string;
  version: string;
  cwd: string;
  /** Absolute directory of the embedded storage ('' when in memory). */
  storage_dir: string;
  /** Absolute path of the vehicle model file its predictor serves, when it serves one from a file. */
  vehicle_model?: string;
}

/** The state directory of a configuration: storage.dir, or .wattflow when the storage is in memory. */
export function stateDirOf(cfg: { storage: { dir: string } }): string {
  const dir = cfg.storage.dir.trim();
  return resolve(dir === '' || dir === ':memory:' ? DEFAULT_STATE_DIR : dir);
}

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readUpFile(file: string): UpState | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as UpState;
    if (typeof s.url !== 'string' || !processAlive(s.pid)) return undefined;
    return s;
  } catch {
    return undefined;
  }
}

/** The state of the `up` running from this state directory (undefined when none runs). */
export function runningUp(stateDir: string): UpState | undefined {
  return readUpFile(join(stateDir, STATE_FILE));
}

/** The user's directory of running `up`s (one `<pid>.json` each). */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR?.trim();
  return xdg ? join(xdg, 'wattflow') : join(tmpdir(), `wattflow-${process.getuid?.() ?? 'user'}`);
}

/** The newest running `up` started from `cwd` (any storage directory). */
export function runningUpFrom(cwd: string, env: NodeJS.ProcessEnv = process.env): UpState | undefined {
  const dir = runtimeDir(env);
  let best: UpState | undefined;
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => /^\d+\.json$/.test(n));
  } catch {
    return undefined;
  }
  for (const n of names) {
    const s = readUpFile(join(dir, n));
    if (s && s.cwd === cwd && (!best || s.started_at > best.started_at)) best = s;
  }
  return best;
}

function writeAtomically(file: string, doc: UpState): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** Records a listening `up`; returns the function that removes the records (only if still ours). */
export function writeUpState(stateDir: string, state: Omit<UpState, 'pid' | 'started_at' | 'cwd'>): () => void {
  const file = join(stateDir, STATE_FILE);
  const doc: UpState = { ...state, pid: process.pid, started_at: new Date().toISOString(), cwd: process.cwd() };
  mkdirSync(stateDir, { recursive: true });
  writeAtomically(file, doc);
  const runtime = join(runtimeDir(), `${process.pid}.json`);
  try {
    mkdirSync(runtimeDir(), { recursive: true, mode: 0o700 });
    writeAtomically(runtime, doc);
  } catch {
    /* best effort: clients in the state directory still find up.json */
  }
  return () => {
    try {
      const cur = JSON.parse(readFileSync(file, 'utf8')) as UpState;
      if (cur.pid === process.pid) rmSync(file, { force: true });
    } catch {
      /* gone already */
    }
    rmSync(runtime, { force: true });
  };
}

/** `up` refuses to start twice from one state directory (they would share its storage). */
export function assertNoRunningUp(stateDir: string): void {
  const other = runningUp(stateDir);
  if (other && other.pid !== process.pid) {
    throw new OperatorError(
      `wattflow up is already running from ${shortPath(stateDir)} (pid ${other.pid}, ${other.url}, since ${other.started_at}); ` +
        `stop it first (kill ${other.pid}), or run another one with its own state: WATTFLOW__storage__dir=DIR PORT=N`,
    );
  }
}

/** Fails with an OperatorError when host:port cannot be bound (checked before anything starts). */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolveFree, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => reject(portError(err, host, port) ?? err));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolveFree()));
  });
}

/** The OperatorError for a failed listen (EADDRINUSE, EACCES, EADDRNOTAVAIL), else undefined. */
export function portError(err: unknown, host: string, port: number): OperatorError | undefined {
  const code = (err as NodeJS.ErrnoException)?.code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE') {
    return new OperatorError(`port ${port} is in use (${where}): another process listens there — start on another port with --port N (or PORT=N)`);
  }
  if (code === 'EACCES') return new OperatorError(`cannot listen on ${where}: permission denied (ports below 1024 need privileges) — use --port N (or PORT=N)`);
  if (code === 'EADDRNOTAVAIL') return new OperatorError(`cannot listen on ${where}: the address is not one of this machine's (--host H or WATTFLOW_HOST)`);
  return undefined;
}

export interface ServerChoice {
  url: string;
  /** Where the URL came from, for the line the client prints. */
  source: string;
}

/**
 * The server a client talks to: `flag` (e.g. --registry), then `setting` (the client's specific
 * configuration, with its name), then WATTFLOW_URL, then a running `up` of `stateDir`, else the
 * default http://127.0.0.1:8000.
 */
export function chooseServer(o: {
  flag?: { name: string; value: string | undefined };
  setting?: { name: string; value: string | undefined };
  stateDir: string;
  env?: NodeJS.ProcessEnv;
}): ServerChoice {
  const env = o.env ?? process.env;
  const clean = (u: string) => u.trim().replace(/\/+$/, '');
  if (o.flag?.value) return { url: clean(o.flag.value), source: o.flag.name };
  if (o.setting?.value) return { url: clean(o.setting.value), source: o.setting.name };
  const fromEnv = env.WATTFLOW_URL?.trim();
  if (fromEnv) return { url: clean(fromEnv), source: 'WATTFLOW_URL' };
  const up = runningUp(o.stateDir);
  if (up) return { url: clean(up.url), source: `${shortPath(join(o.stateDir, STATE_FILE))}: the wattflow up running here, pid ${up.pid}` };
  const here = runningUpFrom(process.cwd(), env);
  if (here) return { url: clean(here.url), source: `the wattflow up started from this directory, pid ${here.pid} (storage ${here.storage_dir ? shortPath(here.storage_dir) : 'in memory'})` };
  return { url: DEFAULT_SERVER_URL, source: `default; no WATTFLOW_URL and no wattflow up running from this directory` };
}

/** Prints the server a client uses (stderr, one line). */
export function announceServer(role: string, choice: ServerChoice, what = 'server'): void {
  console.error(`wattflow ${role}: ${what} ${choice.url} (${choice.source})`);
}

/** package.json's version (src/core and dist/core both sit two levels below it). */
export function wattflowVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '';
  } catch {
    return '';
  }
}

/** A path relative to the working directory when it is inside it. */
export function shortPath(p: string): string {
  const r = relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
}

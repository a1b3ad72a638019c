/**
 * A private redis-server for tests that stop, kill or restart Redis (the shared one on 6379 is
 * used by other tests and is never touched): a child process on a free port with its own
 * scratch directory. With `aof` (the default) every acknowledged write is fsynced to the
 * append-only file before the reply (appendfsync always), so data survives a SIGKILL and a
 * restart on the same directory; no RDB snapshots (`--save ''`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './wait-for.js';

/** false, or why redis-server cannot be started here (pass as `skip`). */
export function redisServerMissing(): string | false {
  const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return r.status === 0 ? false : 'redis-server is not installed (needed to run a private Redis)';
}

export class PrivateRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'wattflow-private-redis-'));
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private log = '';

  private constructor(
    readonly port: number,
    private readonly aof: boolean,
  ) {}

  static async start(opts: { aof?: boolean } = {}): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort(), opts.aof ?? true);
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server (again, on the same port and directory); resolves once it answers PING. */
  async start(): Promise<void> {
    if (this.child) throw new Error('private redis already running');
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir, '--daemonize', 'no', '--logfile', ''];
    if (this.aof) args.push('--appendonly', 'yes', '--appendfsync', 'always');
    else args.push('--appendonly', 'no');
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-4000)));
    child.stderr!.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-4000)));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitFor(() => this.ping(), 10_000, () => `private redis-server on ${this.port} to start:\n${this.log}`, {
      intervalMs: 50,
      gaveUp: () => (child.exitCode !== null ? `redis-server exited (${child.exitCode}):\n${this.log}` : undefined),
    });
  }

  /** Stops it: SIGKILL (a crash; with AOF nothing acknowledged is lost) or SIGTERM (clean shutdown). */
  async stop(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null) child.kill(signal);
    await this.exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = connect(this.port, '127.0.0.1');
      let buf = '';
      const done = (ok: boolean) => {
        s.destroy();
        resolve(ok);
      };
      s.setTimeout(1000, () => done(false));
      s.on('error', () => done(false));
      s.on('connect', () => s.write('PING\r\n'));
      s.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
      });
    });
  }
}

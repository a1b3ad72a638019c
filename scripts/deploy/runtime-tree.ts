/**
 * Builds the file tree of the Dockerfile's runtime stage without a Docker engine, and runs it.
 *
 *   node --import tsx scripts/deploy/runtime-tree.ts [--keep] [--smoke]
 *
 * It follows the Dockerfile (parsed by ./dockerfile.ts), instruction by instruction, into a
 * temporary root (<tmp>/rootfs, the image's `/`):
 *  - the runtime stage's COPY lines: from the build context (this checkout), or `--from` an
 *    earlier stage, which is built first the same way;
 *  - the prod-deps stage's RUN lines run as written (`npm ci --omit=dev` into the temporary
 *    folder, with .npmrc and package.json's allowScripts in effect, then the onnxruntime prune),
 *    except `npm cache clean` (it only trims the image layer; here it would empty the host's cache);
 *  - the build stage: its `npm ci` is this checkout's node_modules (same lockfile), its
 *    `npm run build` runs as written on the copied sources;
 *  - the runtime stage's RUN lines are emulated command by command (mkdir, ln -s, chmod; the
 *    user and group are the image's business: useradd/groupadd/chown are skipped): a command
 *    this script does not know fails the build, so a Dockerfile change cannot go unchecked.
 * Then `wattflow --help` runs through the entrypoint as the image would run it (PATH with the
 * image's /usr/local/bin, the image's ENV with its paths inside the temporary root).
 * With --smoke it also starts `wattflow up` there, runs the HEALTHCHECK command against it and
 * stops it with SIGTERM (test/deploy/runtime-tree.test.ts does all of this and more).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argsOf, copyParts, envOf, imagePath, readDockerfile, runCommands, workdirAt, type Dockerfile, type Stage } from './dockerfile.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RuntimeTree {
  /** The temporary folder (remove it when done). */
  tmp: string;
  /** The image's `/`. */
  rootfs: string;
  /** The runtime stage's WORKDIR inside rootfs. */
  workdir: string;
  /** Environment to run the image's commands with (the runtime ENV, paths mapped into rootfs). */
  env: NodeJS.ProcessEnv;
  entrypoint: string[];
  cmd: string[];
  /** The HEALTHCHECK command (exec form), if any. */
  healthcheck?: string[];
  user?: string;
  /** What was done, one line per step. */
  log: string[];
  dockerfile: Dockerfile;
}

const HOST_TARGETARCH = arch() === 'x64' ? 'amd64' : arch();

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, what: string): void {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    throw new Error(`${what} failed (exit ${r.status ?? r.signal}):\n${(r.stdout ?? '').slice(-4000)}\n${(r.stderr ?? '').slice(-4000)}`);
  }
}

/** Copies like Docker's COPY: a directory's contents into dest, a file into dest/ or as dest. */
function dockerCopy(src: string, destInImage: string, rootfs: string, destIsDir: boolean): void {
  const dest = join(rootfs, destInImage);
  if (!existsSync(src)) throw new Error(`COPY source ${src} does not exist`);
  if (statSync(src).isDirectory()) {
    mkdirSync(dest, { recursive: true });
    cpSync(src, dest, { recursive: true, verbatimSymlinks: true });
  } else {
    const target = destIsDir ? join(dest, basename(src)) : dest;
    mkdirSync(dirname(target), { recursive: true });
    cpSync(src, target);
  }
}

export interface BuildOptions {
  dockerfile?: string;
  context?: string;
  tmp?: string;
  /** Extra environment for the stage commands (e.g. npm_config_cache). */
  env?: NodeJS.ProcessEnv;
  /** Reuse this checkout's node_modules for the build stage's `npm ci` (default true). */
  reuseBuildDeps?: boolean;
}

export function buildRuntimeTree(o: BuildOptions = {}): RuntimeTree {
  const context = o.context ?? REPO;
  const df = readDockerfile(o.dockerfile ?? join(context, 'Dockerfile'));
  const tmp = o.tmp ?? mkdtempSync(join(tmpdir(), 'wattflow-runtime-tree-'));
  const log: string[] = [];
  const built = new Map<string, string>();
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    npm_config_update_notifier: 'false',
    npm_config_prefer_offline: 'true',
    ...o.env,
  };

  const buildStage = (stage: Stage, final: boolean): string => {
    const rootfs = join(tmp, final ? 'rootfs' : `stage-${stage.name}`);
    mkdirSync(rootfs, { recursive: true });
    const stageArgs: Record<string, string> = { ...argsOf(stage), TARGETARCH: HOST_TARGETARCH };
    const env: NodeJS.ProcessEnv = { ...baseEnv, ...stageArgs, ...envOf(stage) };
    stage.instructions.forEach((ins, i) => {
      const wd = imagePath(workdirAt(stage, i + 1), '.');
      const cwd = join(rootfs, workdirAt(stage, i));
      switch (ins.op) {
        case 'WORKDIR':
          mkdirSync(join(rootfs, wd), { recursive: true });
          return;
        case 'COPY': {
          const { sources, dest, from } = copyParts(ins);
          const destImage = imagePath(workdirAt(stage, i), dest);
          const destIsDir = dest.endsWith('/') || sources.length > 1;
          for (const s of sources) {
            let src: string;
            if (from) {
              const fromStage = df.stages.find((st) => st.name === from);
              if (!fromStage) throw new Error(`COPY --from=${from}: no such stage`);
              if (!built.has(from)) built.set(from, buildStage(fromStage, false));
              src = join(built.get(from)!, s);
            } else src = join(context, s);
            dockerCopy(src, destImage, rootfs, destIsDir);
            log.push(`[${stage.name}] COPY ${from ? `--from=${from} ` : ''}${s} → ${destImage}`);
          }
          return;
        }
        case 'RUN': {
          const cmds = runCommands(ins);
          if (final) {
            for (const c of cmds) emulateRuntimeCommand(c, rootfs, join(rootfs, workdirAt(stage, i)), log);
            return;
          }
          const kept: string[] = [];
          for (const c of cmds) {
            if (/^npm cache clean\b/.test(c)) {
              log.push(`[${stage.name}] skipped: ${c} (only trims the image layer)`);
              continue;
            }
            if (/^npm ci$/.test(c) && o.reuseBuildDeps !== false) {
              symlinkSync(join(REPO, 'node_modules'), join(cwd, 'node_modules'));
              log.push(`[${stage.name}] npm ci: this checkout's node_modules (same package-lock.json)`);
              continue;
            }
            kept.push(c);
          }
          if (kept.length === 0) return;
          const script = kept.join(' && ');
          const t0 = Date.now();
          run('sh', ['-c', script], cwd, env, `[${stage.name}] RUN ${script}`);
          log.push(`[${stage.name}] RUN ${script} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
          return;
        }
        default:
          return; // ENV/ARG/LABEL/USER/EXPOSE/HEALTHCHECK/…: read below, no files
      }
    });
    return rootfs;
  };

  const finalStage = df.stages.at(-1);
  if (!finalStage) throw new Error('the Dockerfile has no stage');
  const rootfs = buildStage(finalStage, true);
  const workdir = join(rootfs, workdirAt(finalStage, finalStage.instructions.length));

  // the image's environment, its absolute paths mapped into rootfs
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(envOf(finalStage))) {
    env[k] = v.startsWith('/') && existsSync(join(rootfs, v.split('/')[1]!)) ? join(rootfs, v) : v;
  }
  env.PATH = `${join(rootfs, 'usr/local/bin')}:${process.env.PATH ?? ''}`;
  const last = (op: string) => [...finalStage.instructions].reverse().find((x) => x.op === op);
  const asList = (a: string[] | string | undefined) => (a === undefined ? [] : Array.isArray(a) ? a : ['sh', '-c', a]);
  const hc = last('HEALTHCHECK');
  let healthcheck: string[] | undefined;
  if (hc) {
    const m = /^CMD\s+([\s\S]*)$/.exec(hc.text);
    if (m) healthcheck = m[1]!.trim().startsWith('[') ? (JSON.parse(m[1]!) as string[]) : ['sh', '-c', m[1]!];
  }
  const user = last('USER')?.text;
  return { tmp, rootfs, workdir, env, entrypoint: asList(last('ENTRYPOINT')?.args), cmd: asList(last('CMD')?.args), ...(healthcheck ? { healthcheck } : {}), ...(user ? { user } : {}), log, dockerfile: df };
}

/** The runtime stage's RUN commands, emulated on the temporary root (never run as root on the host). */
function emulateRuntimeCommand(cmd: string, rootfs: string, cwd: string, log: string[]): void {
  const words = cmd.split(/\s+/);
  const inRoot = (p: string) => (p.startsWith('/') ? join(rootfs, p) : join(cwd, p));
  switch (words[0]) {
    case 'groupadd':
    case 'useradd':
    case 'chown':
      log.push(`[runtime] skipped: ${cmd} (users and ownership are the image's)`);
      return;
    case 'mkdir': {
      for (const p of words.slice(1).filter((w) => !w.startsWith('-'))) mkdirSync(inRoot(p), { recursive: true });
      log.push(`[runtime] ${cmd}`);
      return;
    }
    case 'ln': {
      const [target, link] = words.slice(1).filter((w) => !w.startsWith('-'));
      if (!words.includes('-s') || !target || !link) break;
      mkdirSync(dirname(inRoot(link)), { recursive: true });
      symlinkSync(inRoot(target), inRoot(link));
      log.push(`[runtime] ${cmd}`);
      return;
    }
    case 'chmod': {
      const [mode, ...paths] = words.slice(1).filter((w) => !w.startsWith('-'));
      if (!mode || !/^[0-7]{3,4}$/.test(mode)) break;
      for (const p of paths) chmodSync(inRoot(p), parseInt(mode, 8));
      log.push(`[runtime] ${cmd}`);
      return;
    }
  }
  throw new Error(`scripts/deploy/runtime-tree.ts cannot emulate the runtime stage's command "${cmd}": teach it (emulateRuntimeCommand)`);
}

/** Runs the image's entrypoint with these arguments (in place of CMD). */
export function runImage(tree: RuntimeTree, args: string[] = tree.cmd, extraEnv: NodeJS.ProcessEnv = {}) {
  const [cmd, ...pre] = tree.entrypoint;
  return spawnSync(cmd!, [...pre, ...args], { cwd: tree.workdir, env: { ...tree.env, ...extraEnv }, encoding: 'utf8', timeout: 60_000 });
}

/** Starts the image's entrypoint with these arguments (a long-running role). */
export function startImage(tree: RuntimeTree, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const [cmd, ...pre] = tree.entrypoint;
  return spawn(cmd!, [...pre, ...args], { cwd: tree.workdir, env: { ...tree.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function packageJson(): { dependencies: Record<string, string>; devDependencies: Record<string, string> } {
  return JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
}

// ------------------------------------------------------------------ CLI
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const keep = process.argv.includes('--keep');
  const t0 = Date.now();
  const tree = buildRuntimeTree();
  for (const l of tree.log) console.log(l);
  const help = runImage(tree);
  console.log(`\n$ ${[...tree.entrypoint, ...tree.cmd].join(' ')}   (exit ${help.status})\n${help.stdout.split('\n').slice(0, 8).join('\n')}\n…`);
  const du = spawnSync('du', ['-sh', tree.rootfs], { encoding: 'utf8' }).stdout.trim();
  console.log(`runtime tree built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${du}`);
  if (keep) console.log(`kept: ${tree.rootfs} (run: PATH=${join(tree.rootfs, 'usr/local/bin')}:$PATH wattflow --help)`);
  else rmSync(tree.tmp, { recursive: true, force: true });
  process.exit(help.status === 0 ? 0 : 1);
}

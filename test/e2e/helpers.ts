/**
 * Running the real CLI in a child process for end-to-end tests: start a role, read the URL it
 * prints, stop it with SIGTERM and collect its exit code and output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { deleteKafkaRun } from '../helpers/kafka-cleanup.js';
import { waitFor } from '../helpers/wait-for.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first match of `re` in stdout+stderr (waits up to `ms`). */
  waitFor: (re: RegExp, ms?: number) => Promise<RegExpMatchArray>;
  /** SIGTERM, then the exit code. */
  stop: () => Promise<number | null>;
  /** The exit code once the process ended by itself (stdout and stderr fully read). */
  exited: Promise<number | null>;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, WATTFLOW_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    waitFor: (re, ms = 15_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(re);
          if (m) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${re} in output:\n${out.slice(-3000)}`));
        }, ms);
        listeners.add(check);
        check();
      }),
    exited,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Polls `fn` (errors count as "not yet") every `stepMs` until it gives a value: the shared waitFor. */
export const poll = <T>(fn: () => Promise<T | undefined>, ms: number, stepMs = 100, what = 'condition'): Promise<Exclude<T, undefined | null | false>> =>
  waitFor(fn, ms, what, { intervalMs: stepMs, retryErrors: true });

/** Removes a test run's Kafka topics (names containing `marker`): test/helpers/kafka-cleanup.ts. */
export const deleteKafkaTopics = (brokers: string, marker: string, client: object = {}): Promise<void> => deleteKafkaRun(brokers, marker, { groups: false, client });

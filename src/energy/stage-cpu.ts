/**
 * CPU time per pipeline stage inside one process (exclusive time, followed across `await`s
 * with AsyncLocalStorage and async_hooks), so `wattflow up` can split its energy between the
 * stages it runs. Off by default (one boolean test per batch). How and how accurate:
 * docs/energy.md, "How stage CPU time is measured".
 */
import { AsyncLocalStorage, createHook, type AsyncHook } from 'node:async_hooks';

export interface StageAccount {
  readonly stage: string;
  /** CPU seconds charged so far. */
  cpuSeconds: number;
  /** Messages handled so far. */
  messages: number;
}

const accounts = new Map<string, StageAccount>();
const als = new AsyncLocalStorage<StageAccount>();
let hook: AsyncHook | undefined;
let enabled = false;
/** Who is running now (undefined: no stage), and the process CPU (µs) at the last switch. */
let current: StageAccount | undefined;
let lastCpuUs = 0;
/** Owners of the callbacks being run (before/after nest). */
const stack: Array<StageAccount | undefined> = [];

function cpuNowUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function switchTo(next: StageAccount | undefined): void {
  if (next === current) return;
  const now = cpuNowUs();
  if (current) current.cpuSeconds += (now - lastCpuUs) / 1e6;
  lastCpuUs = now;
  current = next;
}

export function stageAccount(stage: string): StageAccount {
  let a = accounts.get(stage);
  if (!a) accounts.set(stage, (a = { stage, cpuSeconds: 0, messages: 0 }));
  return a;
}

/** Every stage seen so far, with its CPU seconds and messages (totals since the start). */
export function stageAccounts(): StageAccount[] {
  if (enabled && current) {
    // bring the running owner's time up to date
    const now = cpuNowUs();
    current.cpuSeconds += (now - lastCpuUs) / 1e6;
    lastCpuUs = now;
  }
  return [...accounts.values()];
}

export function stageCpuEnabled(): boolean {
  return enabled;
}

/** Starts charging CPU time to stages (idempotent). */
export function enableStageCpu(): void {
  if (enabled) return;
  enabled = true;
  lastCpuUs = cpuNowUs();
  current = undefined;
  hook = createHook({
    before() {
      stack.push(current);
      switchTo(als.getStore());
    },
    after() {
      switchTo(stack.pop());
    },
  });
  hook.enable();
}

/** Stops charging (tests); the totals are kept. */
export function disableStageCpu(): void {
  if (!enabled) return;
  switchTo(undefined);
  hook?.disable();
  hook = undefined;
  enabled = false;
  stack.length = 0;
}

/** Runs a stage's handler, charging the CPU it uses (synchronously and after each await) to the stage. */
export function trackStage<T>(stage: string, fn: () => T): T {
  if (!enabled) return fn();
  const acct = stageAccount(stage);
  const prev = current;
  switchTo(acct);
  try {
    return als.run(acct, fn);
  } finally {
    switchTo(prev);
  }
}

/** Counts messages (or vectors) a stage handled: the denominator of its energy per message. */
export function countStageMessages(stage: string, n: number): void {
  stageAccount(stage).messages += n;
}

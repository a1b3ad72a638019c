/**
 * Retrying written once, over core/backoff.ts: a retry policy (how many retries, which delays,
 * a server's Retry-After honoured up to a cap) used two ways — `retry()`, a loop retrying one
 * call in place (the InfluxDB writer's request), and `RetryTimer`, for queues that keep what
 * failed and try again later (the producer's outbox, the vehicle forwarder).
 */
import { OnceTimer } from './batcher.js';
import { backoffDelay, sleep, type BackoffPolicy } from './backoff.js';

export interface RetryPolicy extends BackoffPolicy {
  /** Retries after the first attempt (Infinity: until it succeeds). */
  maxRetries: number;
  /** Upper bound for a server's Retry-After (ms; default maxMs). */
  retryAfterMaxMs?: number;
  /** Jitter source (tests). */
  random?: () => number;
}

/** What one attempt of `retry()` reports. */
export type Attempt<T> =
  /** Finished (succeeded, or failed for good): `retry()` returns `value`. */
  | { done: true; value: T }
  /** Failed, may succeed later: wait and try again (while retries remain). */
  | { done: false; reason: string; retryAfterMs?: number }
  /** The cause was fixed (e.g. a missing database created): try again at once; counts as an attempt. */
  | { done: false; again: true };

export interface RetryHooks<T> {
  /** Before waiting `delayMs` for retry number `retry` (1 = the first). */
  onRetry?: (reason: string, retry: number, delayMs: number) => void;
  /** The result once every retry failed (`attempts` made in all). */
  onExhausted: (reason: string, attempts: number) => T;
  /** Aborts the waits (the loop then ends as exhausted). */
  signal?: AbortSignal;
}

/** Delay before retry number `retry` (1-based) under `policy`. */
export function retryDelay(policy: RetryPolicy, retry: number, retryAfterMs?: number): number {
  return backoffDelay(policy, retry, { retryAfterMs, retryAfterMaxMs: policy.retryAfterMaxMs, random: policy.random });
}

/** Runs `attempt` until it is done or `policy.maxRetries` retries failed, waiting the backoff between. */
export async function retry<T>(policy: RetryPolicy, attempt: (n: number) => Promise<Attempt<T>>, hooks: RetryHooks<T>): Promise<T> {
  for (let n = 0; ; n++) {
    const r = await attempt(n);
    if (r.done) return r.value;
    if ('again' in r) continue;
    if (n >= policy.maxRetries || hooks.signal?.aborted) return hooks.onExhausted(r.reason, n + 1);
    const delay = retryDelay(policy, n + 1, r.retryAfterMs);
    hooks.onRetry?.(r.reason, n + 1, delay);
    await sleep(delay, hooks.signal);
  }
}

/**
 * The retry of a queue that keeps what failed: `failed()` counts a failure and, unless a retry
 * is already waiting, calls `fire` after the policy's delay for the failures so far;
 * `succeeded()` starts the count again.
 */
export class RetryTimer {
  private failures = 0;
  private readonly timer: OnceTimer;

  constructor(
    private readonly policy: BackoffPolicy,
    fire: () => void,
    opts: { unref?: boolean } = {},
  ) {
    this.timer = new OnceTimer(fire, opts);
  }

  /** A retry is scheduled (nothing should be sent until it fires). */
  get waiting(): boolean {
    return this.timer.armed;
  }

  /** Failures since the last success. */
  get attempts(): number {
    return this.failures;
  }

  failed(): void {
    this.failures++;
    this.schedule();
  }

  /** Schedules a retry for the failures so far (no-op when one is waiting). */
  schedule(): void {
    if (!this.timer.armed) this.timer.arm(backoffDelay(this.policy, this.failures));
  }

  succeeded(): void {
    this.failures = 0;
  }

  /** Ends the wait now: `fire` runs at once if a retry was waiting. */
  now(): void {
    this.timer.fireNow();
  }

  cancel(): void {
    this.timer.clear();
  }
}

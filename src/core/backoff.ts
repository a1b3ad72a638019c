/**
 * Retry delays and abortable sleeps, written once for every retrying part of wattflow (writers,
 * outbox, consumers, registry watchers, replay): exponential from `initialMs`, doubling up to
 * `maxMs`, with optional "equal jitter" (half fixed, half random) and a server's Retry-After
 * honoured up to a cap.
 */

export interface BackoffPolicy {
  /** Delay before the first retry (ms). */
  initialMs: number;
  /** Largest delay (ms). */
  maxMs: number;
  /** Multiplier per attempt (default 2). */
  factor?: number;
  /** Randomise the delay in [d/2, d] (default false: the exact exponential delay). */
  jitter?: boolean;
}

/**
 * Delay before retry number `attempt` (1 = the first retry): initial × factor^(attempt-1),
 * capped at maxMs, jittered if the policy says so. `retryAfterMs` (a server's Retry-After) is a
 * floor, itself capped at `retryAfterMaxMs` (default maxMs).
 */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  options: { retryAfterMs?: number; retryAfterMaxMs?: number; random?: () => number } = {},
): number {
  const n = Math.max(1, Math.floor(attempt));
  const exp = Math.min(policy.maxMs, policy.initialMs * (policy.factor ?? 2) ** Math.min(n - 1, 60));
  const delay = policy.jitter ? exp / 2 + ((options.random ?? Math.random)() * exp) / 2 : exp;
  if (options.retryAfterMs === undefined || !(options.retryAfterMs > 0)) return delay;
  return Math.max(delay, Math.min(options.retryAfterMs, options.retryAfterMaxMs ?? policy.maxMs));
}

/** A failure counter over a policy: `next()` gives the delay for the next retry, `reset()` after a success. */
export class Backoff {
  private failures = 0;

  constructor(private readonly policy: BackoffPolicy) {}

  /** Failures since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  next(options?: { retryAfterMs?: number; retryAfterMaxMs?: number }): number {
    this.failures += 1;
    return backoffDelay(this.policy, this.failures, options);
  }

  reset(): void {
    this.failures = 0;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

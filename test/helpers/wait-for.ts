/**
 * The one polling helper of the tests: calls `probe` until it returns a value (anything but
 * undefined, null or false) and resolves with it. On timeout it fails naming what was awaited
 * and the last value (or error) the probe gave, so a red test says what it saw.
 */

export interface WaitForOptions {
  /** Pause between probes (ms; default 20). */
  intervalMs?: number;
  /** A probe that throws counts as "not yet" (its error is reported on timeout) instead of failing at once. */
  retryErrors?: boolean;
  /** Called before each probe: a reason to stop waiting at once (e.g. "the process exited"). */
  gaveUp?: () => string | undefined;
}

type Done<T> = Exclude<T, undefined | null | false>;

const describe = (v: unknown): string => {
  if (v instanceof Error) return `error: ${v.message}`;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 300 ? `${s.slice(0, 300)}…` : s;
  } catch {
    return String(v);
  }
};

export async function waitFor<T>(
  probe: () => T | Promise<T>,
  timeoutMs = 10_000,
  what: string | (() => string) = 'condition',
  opts: WaitForOptions = {},
): Promise<Done<T>> {
  const deadline = Date.now() + timeoutMs;
  const name = () => (typeof what === 'function' ? what() : what);
  let last: unknown;
  for (;;) {
    const stop = opts.gaveUp?.();
    if (stop) throw new Error(`gave up waiting for ${name()}: ${stop} (last seen: ${describe(last)})`);
    try {
      last = await probe();
      if (last !== undefined && last !== null && last !== false) return last as Done<T>;
    } catch (err) {
      if (!opts.retryErrors) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${name()} (last seen: ${describe(last)})`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}

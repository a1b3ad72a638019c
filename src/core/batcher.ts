/**
 * Batching pieces written once for every part that queues items and sends them in batches (the
 * InfluxDB writer, the producer's outbox, the Kafka publisher, the vehicle forwarder), after
 * Vector's sinks/util: limits of a batch, cutting a queue into batches under them, a flush run
 * once per event-loop turn however often it is asked, a once-armed timer (age bound, retries),
 * and waiters for "everything sent".
 */

/** Limits of one batch: most items, most bytes (an item larger than maxBytes goes alone). */
export interface BatchLimits {
  maxItems?: number;
  maxBytes?: number;
}

/**
 * Cuts `items`, in order, into consecutive batches within `limits` (`bytesOf` sizes an item
 * for maxBytes). A batch is never empty; an item above maxBytes forms a batch of its own.
 */
export function cutBatches<T>(items: readonly T[], limits: BatchLimits, bytesOf?: (item: T) => number): T[][] {
  const maxItems = limits.maxItems ?? Infinity;
  const maxBytes = limits.maxBytes ?? Infinity;
  const out: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = bytesOf && maxBytes !== Infinity ? bytesOf(item) : 0;
    if (batch.length > 0 && (batch.length >= maxItems || bytes + size > maxBytes)) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/**
 * Runs `flush` once, later, however many times `request()` is called before it runs: at the
 * end of the current event-loop turn (`'turn'`, setImmediate: what the callbacks of one turn
 * ask for goes out together) or after the current task (`'microtask'`).
 */
export class FlushCoalescer {
  private pending = false;

  constructor(
    private readonly flush: () => void,
    private readonly when: 'turn' | 'microtask' = 'turn',
  ) {}

  /** A flush is requested and has not run yet. */
  get scheduled(): boolean {
    return this.pending;
  }

  request(): void {
    if (this.pending) return;
    this.pending = true;
    const run = (): void => {
      this.pending = false;
      this.flush();
    };
    if (this.when === 'turn') setImmediate(run);
    else queueMicrotask(run);
  }
}

/** A timer armed at most once at a time (age bound of a batch, the wait before a retry). */
export class OnceTimer {
  private timer: NodeJS.Timeout | undefined;

  /** `unref`: the timer does not keep the process alive. */
  constructor(
    private readonly fire: () => void,
    private readonly opts: { unref?: boolean } = {},
  ) {}

  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** Fires after `ms` unless already armed (then nothing changes); returns whether it armed. */
  arm(ms: number): boolean {
    if (this.timer) return false;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, ms);
    if (this.opts.unref) this.timer.unref?.();
    return true;
  }

  /** Fires at once if armed (true), else does nothing (false). */
  fireNow(): boolean {
    if (!this.timer) return false;
    this.clear();
    this.fire();
    return true;
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Callers waiting for a queue to be empty: `wait()` resolves true on `release()`, false after its timeout. */
export class IdleWaiters {
  private waiters: Array<() => void> = [];

  get size(): number {
    return this.waiters.length;
  }

  wait(timeoutMs?: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      if (timeoutMs === undefined) {
        this.waiters.push(() => resolve(true));
        return;
      }
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Resolves every waiter so far. */
  release(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

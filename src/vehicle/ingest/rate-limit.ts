/**
 * Per-vehicle rate limit on ingested measurements: a token bucket (rate per second, burst) that
 * may go into debt, so one large batch of buffered data passes when the vehicle has been quiet
 * and the following requests wait (429 with Retry-After) until the debt is paid back.
 */
export interface RateDecision {
  ok: boolean;
  /** Seconds until a request would be allowed (when not ok). */
  retryAfterS: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_BUCKETS = 100_000;

export class VehicleRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
  ) {}

  get enabled(): boolean {
    return this.ratePerS > 0;
  }

  take(vehicleId: string, n: number, now = Date.now()): RateDecision {
    if (!this.enabled) return { ok: true, retryAfterS: 0 };
    let b = this.buckets.get(vehicleId);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) this.prune(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(vehicleId, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerS);
    b.at = now;
    if (b.tokens <= 0) return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerS)) };
    b.tokens -= n;
    return { ok: true, retryAfterS: 0 };
  }

  /** Drops buckets that have refilled completely (they equal a fresh bucket). */
  private prune(now: number): void {
    for (const [id, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.ratePerS >= this.burst) this.buckets.delete(id);
  }
}

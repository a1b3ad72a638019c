/**
 * A fixed-rate scheduler without drift: ticks fall at start + k × interval (the first one at
 * start), each timer is computed from the clock rather than chained, and ticks missed while
 * the event loop was blocked are skipped (and counted), never bunched.
 */
export class FixedRateScheduler {
  private timer: NodeJS.Timeout | undefined;
  private nextTick = 0;
  skipped = 0;

  constructor(
    private intervalMs: number,
    private readonly onTick: (tickMs: number) => void,
    /** Told of each tick's lateness (ms after its due time) and of ticks skipped before it. */
    private readonly onTiming?: (lateMs: number, skipped: number) => void,
  ) {}

  start(): void {
    this.stop();
    this.nextTick = Date.now();
    this.arm();
  }

  setInterval(intervalMs: number): void {
    if (intervalMs === this.intervalMs) return;
    this.intervalMs = intervalMs;
    if (this.timer) this.start();
  }

  get interval(): number {
    return this.intervalMs;
  }

  private arm(): void {
    const delay = Math.max(0, this.nextTick - Date.now());
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    const tick = this.nextTick;
    const now = Date.now();
    this.nextTick += this.intervalMs;
    let missed = 0;
    if (now >= this.nextTick) {
      missed = Math.floor((now - this.nextTick) / this.intervalMs) + 1;
      this.skipped += missed;
      this.nextTick += missed * this.intervalMs;
    }
    this.arm();
    this.onTiming?.(Math.max(0, now - tick), missed);
    this.onTick(tick);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

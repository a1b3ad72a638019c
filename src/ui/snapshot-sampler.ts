/**
 * What the UI's samplers share: sample at start and then every `intervalMs`, remember the last
 * snapshot and the `keep` newest ones (bounded), and tell a listener of each.
 */
export interface SamplingOptions<S> {
  intervalMs: number;
  keep: number;
  onSnapshot?: (s: S) => void;
}

export abstract class SnapshotSampler<S> {
  private timer: NodeJS.Timeout | undefined;
  /** The newest snapshots, oldest first, at most `keep` of them. */
  protected readonly history: Array<{ t: number; snap: S }> = [];
  last: S | undefined;

  constructor(private readonly sampling: SamplingOptions<S>) {}

  abstract sample(): Promise<S>;

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.sampling.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Keeps a snapshot taken at `t` (ms) and tells the listener. */
  protected record(t: number, snap: S): S {
    this.last = snap;
    this.history.push({ t, snap });
    if (this.history.length > this.sampling.keep) this.history.splice(0, this.history.length - this.sampling.keep);
    this.sampling.onSnapshot?.(snap);
    return snap;
  }
}

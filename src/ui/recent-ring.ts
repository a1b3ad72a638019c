/** A router's recent points in typed arrays: what sparklines and the first paint of charts draw. */
/** Fixed-size ring of (time, power, occupation): sparklines and the first paint of charts. */
export class RecentRing {
  readonly t: Float64Array;
  readonly power: Float32Array;
  readonly occupation: Float32Array;
  private head = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.t = new Float64Array(capacity);
    this.power = new Float32Array(capacity);
    this.occupation = new Float32Array(capacity);
  }

  get lastT(): number {
    return this.size === 0 ? -Infinity : this.t[(this.head - 1 + this.capacity) % this.capacity]!;
  }

  /** Appends a point newer than the last one (a redelivered or late point is ignored). */
  push(t: number, power: number, occupation: number): boolean {
    if (t <= this.lastT) return false;
    this.t[this.head] = t;
    this.power[this.head] = power;
    this.occupation[this.head] = occupation;
    this.head = (this.head + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
    return true;
  }

  /** Oldest first. */
  values(which: 'power' | 'occupation' | 't'): number[] {
    const src = this[which];
    const out = new Array<number>(this.size);
    const start = (this.head - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i++) out[i] = src[(start + i) % this.capacity]!;
    return out;
  }
}

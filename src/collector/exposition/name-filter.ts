/**
 * Name filtering for a parse with `names`: which sample and metadata lines can belong to a
 * wanted family (so the others are skipped unread), and the final cut of the parsed families.
 */
import { SUFFIXES } from './family-types.js';
import type { MetricFamily } from './types.js';

/** Names a name-filtered parse must look at: sample lines and metadata lines. */
export class NameIndex {
  readonly wanted: ReadonlySet<string>;
  private readonly sampleNames = new Set<string>();
  private readonly metaNames = new Set<string>();
  /** Bit 1: some sample name has this length; bit 2: some metadata name has (index ≤ 255). */
  private readonly lengths = new Uint8Array(256);

  constructor(names: Iterable<string>) {
    const wanted = new Set<string>();
    for (const n of names) wanted.add(String(n));
    this.wanted = wanted;
    for (const n of wanted) {
      this.addSample(n);
      this.addMeta(n);
      for (const [s] of SUFFIXES) {
        this.addSample(n + s);
        this.addMeta(n + s);
        if (n.length > s.length && n.endsWith(s)) this.addMeta(n.slice(0, -s.length));
      }
    }
  }

  private addSample(n: string): void {
    this.sampleNames.add(n);
    if (n.length < 256) this.lengths[n.length]! |= 1;
  }

  private addMeta(n: string): void {
    this.metaNames.add(n);
    if (n.length < 256) this.lengths[n.length]! |= 2;
  }

  /** Cheap pre-check: could a sample name of this length be wanted? */
  sampleLength(len: number): boolean {
    return len >= 256 || (this.lengths[len]! & 1) !== 0;
  }

  /** Could this sample name belong to a wanted family? */
  sample(name: string): boolean {
    return this.sampleNames.has(name);
  }

  /** Cheap pre-check: could a metadata line's name of this length be needed? */
  metaLength(len: number): boolean {
    return len >= 256 || (this.lengths[len]! & 2) !== 0;
  }

  meta(name: string): boolean {
    return this.metaNames.has(name);
  }
}

/** Keep families named in `names` whole; of the others, only samples whose name is listed. */
export function filterByNames(families: readonly MetricFamily[], names: ReadonlySet<string>): MetricFamily[] {
  const out: MetricFamily[] = [];
  for (const fam of families) {
    if (names.has(fam.name)) {
      if (fam.samples.length > 0) out.push(fam);
      continue;
    }
    const kept = fam.samples.filter((s) => names.has(s.name));
    if (kept.length > 0) out.push(kept.length === fam.samples.length ? fam : { ...fam, samples: kept });
  }
  return out;
}

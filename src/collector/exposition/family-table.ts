/**
 * The parser's table of metric families: finding or creating the family of a metadata or
 * sample line (family name, then family + type suffix), OpenMetrics contiguity of families and
 * of each metric's lines, and timestamp order within a metric.
 */
import { SUF_BARE, SUF_BUCKET, SUFFIXES, suffixList } from './family-types.js';
import { quote } from './lexer.js';
import { LineReader } from './line-reader.js';
import { NameIndex } from './name-filter.js';
import { groupKey, type SeriesRecord } from './series-keys.js';
import type { MetricFamily, MetricLabel } from './types.js';

export interface FamState extends SeriesRecord {
  fam: MetricFamily;
  mask: number;
  hasType: boolean;
  hasHelp: boolean;
  hasUnit: boolean;
  /** Created by a sample line rather than by HELP/TYPE/UNIT. */
  implicit: boolean;
  /** OpenMetrics: another family has started since this one (it may not continue). */
  closed: boolean;
  /** Duplicate detection: the greatest series key so far while keys only increased... */
  lastKey: string;
  /** ...and, once they did not, every key with its first timestamp (NaN: none)... */
  keys: Map<string, number> | null;
  /** ...and `key\0timestamp` of series exposed as several points in time. */
  points: Set<string> | null;
  /** OpenMetrics: the current metric (label set, minus le/quantile/state) and its timestamp... */
  group: string | null;
  groupTs: number | undefined;
  /** ...and every metric seen in this family with the line it started on. */
  groups: Map<string, number> | null;
}

export abstract class FamilyTable extends LineReader {
  protected readonly filter: NameIndex | null;
  protected readonly families: MetricFamily[] = [];
  protected readonly byName = new Map<string, FamState>();
  /** The previous sample's name, family and suffix bit: consecutive samples usually share them. */
  protected lastName = '';
  protected lastState: FamState | null = null;
  protected lastSuffix = 0;
  /** The family of the last HELP/TYPE/UNIT line: its samples usually follow. */
  protected lastDecl: FamState | null = null;
  /** How many families were created by sample lines (no metadata seen first). */
  protected implicitCount = 0;
  /** OpenMetrics contiguity: the family that lines currently belong to. */
  protected current: FamState | null = null;

  constructor(text: string, om: boolean, names: Iterable<string> | undefined) {
    super(text, om);
    this.filter = names === undefined ? null : new NameIndex(names);
  }

  /** OpenMetrics: HELP and UNIT, like TYPE, must come before the family's samples. */
  protected lateMetadata(hashPos: number, kw: string, st: FamState): never {
    const first = st.fam.samples[0]!;
    this.fail(hashPos, `${kw} line for ${quote(st.fam.name)} comes after its sample ${quote(first.name)}; OpenMetrics requires metadata first`);
  }

  /** Find or create the family named by a metadata line. */
  protected declare(name: string, namePos: number): FamState {
    const ld = this.lastDecl;
    let st = ld !== null && ld.fam.name === name ? ld : this.byName.get(name);
    if (st === undefined) {
      st = this.newFamily(name, false);
    }
    this.lastDecl = st;
    if (this.om) this.enter(st, namePos);
    // A new family can change how later sample names resolve.
    this.lastName = '';
    this.lastState = null;
    return st;
  }

  protected newFamily(name: string, implicit: boolean): FamState {
    const fam: MetricFamily = { name, help: '', type: this.om ? 'unknown' : 'untyped', samples: [] };
    const st: FamState = {
      fam,
      mask: SUF_BARE,
      hasType: false,
      hasHelp: false,
      hasUnit: false,
      implicit,
      closed: false,
      lastKey: '',
      keys: null,
      points: null,
      group: null,
      groupTs: undefined,
      groups: null,
    };
    this.families.push(fam);
    this.byName.set(name, st);
    if (implicit) this.implicitCount++;
    return st;
  }

  /** OpenMetrics: lines of one family must be contiguous. */
  protected enter(st: FamState, p: number): void {
    const cur = this.current;
    if (st === cur) return;
    if (st.closed) {
      this.fail(p, `metric family ${quote(st.fam.name)} is interleaved with other families (OpenMetrics requires each family's lines to be contiguous)`);
    }
    if (cur !== null) cur.closed = true;
    this.current = st;
  }


  /**
   * OpenMetrics: a metric (the sample's label set, minus `le` of histogram buckets, `quantile`
   * of summary quantiles and the state label of a stateset) is one group of lines: once another
   * metric of the family has started it may not continue, and within it timestamps do not go
   * backwards (compared at the microsecond, the precision kept), as client_python's parser (the
   * suite's reference) checks it. Unlike client_python, lines without a timestamp may sit
   * beside lines with one (the specification's own examples put `_created` without a
   * timestamp next to a timestamped `_total`).
   */
  protected metricPoint(st: FamState, suffix: number, name: string, labels: MetricLabel[], ts: number | undefined, ns: number): void {
    const type = st.fam.type;
    const drop =
      suffix === SUF_BUCKET ? 'le' : type === 'summary' && suffix === SUF_BARE ? 'quantile' : type === 'stateset' ? st.fam.name : '';
    const g = groupKey(labels, drop);
    if (g === st.group) {
      if (ts === undefined) return;
      const prev = st.groupTs;
      if (prev !== undefined && ts < prev) {
        this.fail(ns, `timestamp of ${quote(name)} goes backwards (${ts / 1000} s after ${prev / 1000} s; OpenMetrics requires a metric's timestamps in increasing order)`);
      }
      st.groupTs = ts;
      return;
    }
    const groups = (st.groups ??= new Map());
    const first = groups.get(g);
    if (first !== undefined) {
      this.fail(ns, `metric ${quote(`${st.fam.name}{${g}}`)} of family ${quote(st.fam.name)} continues after another metric started (first seen on line ${first}; OpenMetrics requires each metric's lines to be contiguous)`);
    }
    groups.set(g, this.lineNo);
    st.group = g;
    st.groupTs = ts;
  }

  /** Which family a sample name belongs to: exact family name first, then family + suffix. */
  protected resolve(name: string, ns: number): FamState {
    const ld = this.lastDecl;
    let st = ld !== null && ld.fam.name === name ? ld : this.byName.get(name);
    let suffix = SUF_BARE;
    if (st !== undefined) {
      if (!(st.mask & SUF_BARE)) {
        this.fail(ns, `sample ${quote(name)} is not a valid series of ${st.fam.type} ${quote(name)} (expected ${suffixList(st.fam.type, name)})`);
      }
    } else {
      for (const [s, bit] of SUFFIXES) {
        if (name.length > s.length && name.endsWith(s)) {
          const base = this.byName.get(name.slice(0, -s.length));
          if (base !== undefined && base.mask & bit) {
            st = base;
            suffix = bit;
            break;
          }
        }
      }
      if (st === undefined) st = this.newFamily(name, true);
    }
    if (this.om) this.enter(st, ns);
    this.lastName = name;
    this.lastState = st;
    this.lastSuffix = suffix;
    return st;
  }
}

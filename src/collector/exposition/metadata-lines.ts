/**
 * Comment lines of an exposition: HELP, TYPE and UNIT metadata (with the rules on where they
 * may appear), OpenMetrics `# EOF`, and plain comments (ignored).
 */
import { hasLabel, SUF_BARE, SUFFIXES, TYPE_MASK, TYPES } from './family-types.js';
import { FamilyTable } from './family-table.js';
import { CC, CC_NAME, CC_NAME_START, describeChar, quote, SP, TAB, unescapeHelp } from './lexer.js';

const KW_HELP = 1;
const KW_TYPE = 2;
const KW_UNIT = 3;

export abstract class MetadataLineParser extends FamilyTable {
  protected eofLine = 0;
  /** Position of the next backslash at or after the last HELP text (-1: none left). */
  protected nextBackslash = 0;

  // ---- comment lines: HELP, TYPE, UNIT, EOF, or ignored ------------------------------------

  protected comment(hashPos: number): void {
    const text = this.text;
    const end = this.end;
    const k = this.skipBlanks(hashPos + 1);
    let ke = k;
    while (ke < end) {
      const c = text.charCodeAt(ke);
      if (c === SP || c === TAB) break;
      ke++;
    }
    const kwLen = ke - k;
    let kw = 0;
    if (kwLen === 4) {
      if (text.startsWith('HELP', k)) kw = KW_HELP;
      else if (text.startsWith('TYPE', k)) kw = KW_TYPE;
      else if (this.om && text.startsWith('UNIT', k)) kw = KW_UNIT;
    } else if (kwLen === 3 && this.om && text.startsWith('EOF', k)) {
      const after = this.skipBlanks(ke);
      if (after < end) this.fail(after, "unexpected text after '# EOF'");
      this.eofLine = this.lineNo;
      return;
    }
    if (kw === 0) return; // a plain comment

    const kwText = kw === KW_HELP ? 'HELP' : kw === KW_TYPE ? 'TYPE' : 'UNIT';
    const ns = this.skipBlanks(ke);
    if (ns >= end) this.fail(ns, `expected a metric name after '# ${kwText}'`);
    let c = text.charCodeAt(ns);
    if (!(c < 128 && CC[c]! & CC_NAME_START)) {
      this.fail(ns, `invalid metric name in ${kwText} line: unexpected ${describeChar(text, ns, end)}`);
    }
    let p = ns + 1;
    while (p < end && (c = text.charCodeAt(p)) < 128 && CC[c]! & CC_NAME) p++;
    if (p < end && c !== SP && c !== TAB) {
      this.fail(p, `invalid character ${describeChar(text, p, end)} in metric name ${quote(text.slice(ns, p))} in ${kwText} line`);
    }
    // OpenMetrics: one space follows the name, also before an empty HELP text or UNIT.
    if (this.om && (p >= end || c !== SP)) {
      this.fail(p, `expected a space after ${quote(text.slice(ns, p))} in ${kwText} line, found ${describeChar(text, p, end)}`);
    }
    // HELP and TYPE of one family usually come together: reuse the declared name string, so
    // the family lookup is skipped and later name comparisons are cheap.
    const ld = this.lastDecl;
    const filter = this.filter;
    if (filter !== null && !filter.metaLength(p - ns)) return; // cannot be wanted: skip
    let name = text.slice(ns, p);
    if (ld !== null && name === ld.fam.name) {
      name = ld.fam.name;
    } else if (filter !== null && !filter.meta(name)) {
      return;
    }

    if (kw === KW_HELP) {
      // OpenMetrics: exactly one space separates name and text; Prometheus: any blanks.
      let hs = p;
      if (this.om) {
        hs++; // the one space (checked above)
      } else {
        hs = this.skipBlanks(hs);
      }
      // The next backslash in the whole input is cached so HELP lines stay O(line length).
      if (this.nextBackslash !== -1 && this.nextBackslash < hs) this.nextBackslash = text.indexOf('\\', hs);
      const help = unescapeHelp(text, hs, end, this.nextBackslash);
      const st = this.declare(name, ns);
      if (st.hasHelp) this.fail(hashPos, `duplicate HELP line for ${quote(name)}`);
      if (this.om && st.fam.samples.length > 0) this.lateMetadata(hashPos, 'HELP', st);
      st.fam.help = help;
      st.hasHelp = true;
      return;
    }

    const ts = this.skipBlanks(p);
    let te = ts;
    while (te < end && (c = text.charCodeAt(te)) !== SP && c !== TAB) te++;
    // An empty UNIT is valid OpenMetrics (no unit); an empty TYPE is not.
    if (ts === te && kw === KW_TYPE) this.fail(ts, `missing metric type after ${quote(name)} in TYPE line`);
    const token = text.slice(ts, te);
    const rest = this.skipBlanks(te);
    if (rest < end) this.fail(rest, `unexpected text after ${kw === KW_TYPE ? 'the metric type' : 'the unit'} in ${kwText} line`);

    if (kw === KW_UNIT) {
      if (token !== '' && !name.endsWith(`_${token}`)) {
        this.fail(ts, `unit ${quote(token)} is not a suffix of metric family name ${quote(name)}`);
      }
      const st = this.declare(name, ns);
      if (st.hasUnit) this.fail(hashPos, `duplicate UNIT line for ${quote(name)}`);
      if (st.fam.samples.length > 0) this.lateMetadata(hashPos, 'UNIT', st);
      if (token !== '' && (st.fam.type === 'info' || st.fam.type === 'stateset')) {
        this.fail(ts, `${st.fam.type} ${quote(name)} cannot have a unit (OpenMetrics: info and stateset families have none)`);
      }
      if (token !== '') st.fam.unit = token;
      st.hasUnit = true;
      return;
    }

    const type = TYPES.get(token) ?? TYPES.get(token.toLowerCase());
    if (type === undefined) {
      this.fail(ts, `unknown metric type ${quote(token)} for ${quote(name)} (expected one of ${[...TYPES.keys()].join(', ')})`);
    }
    // Samples that this type would own, seen before the TYPE line, went to implicit families.
    const mask = TYPE_MASK[type];
    if (this.implicitCount > 0) {
      for (const [s, bit] of SUFFIXES) {
        if (!(mask & bit)) continue;
        const orphan = this.byName.get(name + s);
        if (orphan !== undefined && orphan.implicit && !orphan.hasType && orphan.fam.samples.length > 0) {
          this.fail(hashPos, `TYPE line for ${quote(name)} comes after its sample ${quote(name + s)}; TYPE must precede the samples it describes`);
        }
      }
    }
    const st = this.declare(name, ns);
    if (this.om && st.fam.unit !== undefined && (type === 'info' || type === 'stateset')) {
      this.fail(ts, `${type} ${quote(name)} cannot have a unit (OpenMetrics: info and stateset families have none; UNIT ${quote(st.fam.unit)} was declared)`);
    }
    if (st.hasType) {
      if (st.fam.type === type) this.fail(hashPos, `duplicate TYPE line for ${quote(name)}`);
      this.fail(hashPos, `contradicting TYPE lines for ${quote(name)}: ${quote(type)} after ${quote(st.fam.type)}`);
    }
    const samples = st.fam.samples;
    if (samples.length > 0) {
      // Prometheus text allows a late TYPE only when it changes nothing about grouping.
      if (this.om) this.fail(hashPos, `TYPE line for ${quote(name)} comes after its samples; OpenMetrics requires metadata first`);
      const ok =
        (mask & SUF_BARE) !== 0 &&
        samples.every((s) => s.name === name && (type !== 'summary' || hasLabel(s.labels, 'quantile')));
      if (!ok) this.fail(hashPos, `TYPE line for ${quote(name)} comes after its samples and would regroup them`);
    }
    st.fam.type = type;
    st.mask = mask;
    st.hasType = true;
  }
}

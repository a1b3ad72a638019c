/**
 * The official OpenMetrics parser suite (tests/testdata/parsers of prometheus/OpenMetrics, 211
 * cases, vendored in test/fixtures/openmetrics/ with its origin and licence) run through
 * wattflow's exposition parser in OpenMetrics mode:
 *
 * - every valid case (`"shouldParse": true`) parses;
 * - every invalid case is either rejected with an ExpositionParseError at the line and column
 *   listed in REJECTED, or is a deliberate leniency listed in LENIENCIES with its reason (the
 *   same list is in docs/collector-json.md, "OpenMetrics conformance").
 *
 * A new case, a case that moves between the lists or a changed position fails the test, so the
 * lists always say exactly where wattflow differs from the suite.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { ExpositionParseError, parseExposition, type MetricFamily } from '../../src/collector/exposition/index.js';

const SUITE = new URL('../fixtures/openmetrics/parsers/', import.meta.url);

interface Case {
  name: string;
  text: string;
  shouldParse: boolean;
}

const cases: Case[] = readdirSync(SUITE)
  .sort()
  .map((name) => {
    const meta = JSON.parse(readFileSync(new URL(`${name}/test.json`, SUITE), 'utf8')) as { type: string; file: string; shouldParse: boolean };
    assert.equal(meta.type, 'text');
    return { name, text: readFileSync(new URL(`${name}/${meta.file}`, SUITE), 'utf8'), shouldParse: meta.shouldParse };
  });

/** Deliberate differences: invalid per the suite, accepted by wattflow, and why. */
const LENIENCIES: ReadonlyArray<{ what: string; reason: string; cases: readonly string[] }> = [
  {
    what: 'blank lines',
    reason: 'one line reader for both formats; Prometheus text allows blank lines, and they carry no data',
    cases: ['bad_blank_line'],
  },
  {
    what: 'blanks between tokens: several, none after a label set, trailing, before the #, around an exemplar',
    reason: 'one tokenizer for both formats (Prometheus text allows runs of spaces and tabs); spacing changes no value and no grouping, and rejecting it would lose a whole scrape over layout',
    cases: [
      'bad_value_1',
      'bad_value_2',
      'bad_value_3',
      'bad_invalid_labels_6',
      'bad_type_6',
      'bad_unit_5',
      'bad_help_4',
      'bad_exemplars_2',
      'bad_exemplars_3',
      'bad_exemplars_4',
      'bad_exemplars_5',
    ],
  },
  {
    what: 'a trailing comma in a label set',
    reason: 'accepted in both formats, as Prometheus text parsers do; the label set is unambiguous',
    cases: ['bad_missing_or_extra_commas_2'],
  },
  {
    what: 'comment lines other than HELP, TYPE, UNIT and EOF',
    reason: 'read as comments, as in Prometheus text; they declare nothing',
    cases: ['bad_metadata'],
  },
  {
    what: 'the type name `untyped`',
    reason: 'the type names of both formats are accepted in either (it is reported as untyped)',
    cases: ['bad_type_7'],
  },
  {
    what: 'a declared family whose name is another family\'s series name (`a_created` gauge, then counter `a`)',
    reason: 'the exact family name wins, so both families keep their samples unambiguously (client_python itself exposes such `x_created` gauges)',
    cases: ['bad_clashing_names_2'],
  },
  {
    what: 'counter-like values (`_total`, `_sum`, `_count`, `_bucket`, `_gsum`, `_gcount`, quantiles) that are NaN or negative',
    reason: 'values are passed through as written (the collector keeps the text); judging them is the consumer\'s job, and one bad value must not lose the whole scrape (the network counters the pipeline needs included)',
    cases: Array.from({ length: 20 }, (_, i) => `bad_counter_values_${i}`),
  },
  {
    what: 'histogram structure across lines: bucket order and monotonicity, `+Inf` bucket, `_count` vs `+Inf`, `_sum` with negative buckets, `_sum`/`_count` and `_gsum`/`_gcount` pairs, non-canonical `le` (`+INF`)',
    reason: 'consistency between lines is semantic, not syntax: the series are passed through unchanged; one inconsistent histogram must not lose the whole scrape',
    cases: Array.from({ length: 15 }, (_, i) => `bad_histograms_${i}`),
  },
  {
    what: 'info values other than 1, stateset values other than 0/1, a stateset sample without its state label',
    reason: 'value ranges are not validated (passed through as written); a stateset named with `:` could not carry a label of its name at all',
    cases: [
      'bad_info_and_stateset_values_0',
      'bad_info_and_stateset_values_1',
      'bad_stateset_info_values_0',
      'bad_stateset_info_values_1',
      'bad_stateset_info_values_2',
      'bad_stateset_info_values_3',
      'bad_missing_or_invalid_labels_for_a_type_7',
    ],
  },
  {
    what: 'summary `quantile` label values outside 0..1, NaN or not a number',
    reason: 'label values are not interpreted (the `quantile` label is required, its value passed through)',
    cases: [
      'bad_missing_or_invalid_labels_for_a_type_1',
      'bad_missing_or_invalid_labels_for_a_type_2',
      'bad_missing_or_invalid_labels_for_a_type_3',
      'bad_missing_or_invalid_labels_for_a_type_4',
    ],
  },
  {
    what: 'exemplars on samples other than counter `_total` and histogram `_bucket`',
    reason: 'exemplars are carried through unchanged and used by nothing in wattflow; rejecting the scrape for one would lose its data',
    cases: [
      'bad_exemplars_on_unallowed_metric_types_0',
      'bad_exemplars_on_unallowed_metric_types_1',
      'bad_exemplars_on_unallowed_metric_types_2',
      'bad_exemplars_on_unallowed_samples_0',
      'bad_exemplars_on_unallowed_samples_1',
      'bad_exemplars_on_unallowed_samples_2',
      'bad_exemplars_on_unallowed_samples_3',
    ],
  },
  {
    what: 'exemplar label sets longer than 128 code points',
    reason: 'the limit protects storage of exemplars; wattflow stores none, and the response size is limited by the collector anyway',
    cases: ['bad_exemplars_6', 'bad_exemplar_complex_chars'],
  },
];

/** Invalid cases wattflow rejects, with the line:column of the ExpositionParseError. */
const REJECTED: Readonly<Record<string, string>> = {
  bad_clashing_names_0: '2:1',
  bad_clashing_names_1: '2:1',
  bad_exemplar_timestamp_0: '2:25',
  bad_exemplar_timestamp_1: '2:25',
  bad_exemplar_timestamp_2: '2:25',
  bad_exemplars_0: '2:24',
  bad_exemplars_1: '2:21',
  bad_exemplars_10: '2:15',
  bad_exemplars_11: '2:14',
  bad_exemplars_12: '2:13',
  bad_exemplars_7: '2:28',
  bad_exemplars_8: '2:30',
  bad_exemplars_9: '2:25',
  bad_grouping_or_ordering_0: '6:1',
  bad_grouping_or_ordering_1: '3:25',
  bad_grouping_or_ordering_10: '3:1',
  bad_grouping_or_ordering_2: '4:1',
  bad_grouping_or_ordering_3: '3:1',
  bad_grouping_or_ordering_4: '3:1',
  bad_grouping_or_ordering_5: '3:1',
  bad_grouping_or_ordering_6: '3:1',
  bad_grouping_or_ordering_7: '3:1',
  bad_grouping_or_ordering_8: '3:1',
  bad_grouping_or_ordering_9: '3:1',
  bad_help_0: '1:7',
  bad_help_1: '1:8',
  bad_help_2: '1:9',
  bad_help_3: '1:9',
  bad_invalid_labels_0: '1:3',
  bad_invalid_labels_1: '1:3',
  bad_invalid_labels_2: '1:9',
  bad_invalid_labels_3: '1:8',
  bad_invalid_labels_4: '1:3',
  bad_invalid_labels_5: '1:11',
  bad_invalid_labels_7: '1:13',
  bad_invalid_labels_8: '1:10',
  bad_metadata_in_wrong_place_0: '3:1',
  bad_metadata_in_wrong_place_1: '3:1',
  bad_metadata_in_wrong_place_2: '3:1',
  bad_metric_names_0: '1:1',
  bad_metric_names_1: '1:2',
  bad_metric_names_2: '1:2',
  bad_missing_equal_or_label_value_0: '1:4',
  bad_missing_equal_or_label_value_1: '1:4',
  bad_missing_equal_or_label_value_2: '1:4',
  bad_missing_equal_or_label_value_3: '1:5',
  bad_missing_equal_or_label_value_4: '1:5',
  bad_missing_or_extra_commas_0: '1:8',
  bad_missing_or_extra_commas_1: '1:9',
  bad_missing_or_invalid_labels_for_a_type_0: '2:1',
  bad_missing_or_invalid_labels_for_a_type_5: '2:1',
  bad_missing_or_invalid_labels_for_a_type_6: '2:1',
  bad_missing_or_wrong_quotes_on_label_value_0: '1:5',
  bad_missing_or_wrong_quotes_on_label_value_1: '1:5',
  bad_missing_or_wrong_quotes_on_label_value_2: '1:5',
  bad_missing_value_0: '1:2',
  bad_missing_value_1: '1:3',
  bad_no_eof: '1:1',
  bad_repeated_metadata_0: '2:1',
  bad_repeated_metadata_1: '2:1',
  bad_repeated_metadata_2: '2:1',
  bad_repeated_metadata_3: '2:1',
  bad_text_after_eof_0: '3:1',
  bad_text_after_eof_1: '2:1',
  bad_timestamp_0: '1:5',
  bad_timestamp_1: '1:5',
  bad_timestamp_2: '1:5',
  bad_timestamp_3: '1:5',
  bad_timestamp_4: '1:5',
  bad_timestamp_5: '1:5',
  bad_timestamp_6: '1:6',
  bad_timestamp_7: '1:5',
  bad_timestamp_8: '1:5',
  bad_type_0: '1:7',
  bad_type_1: '1:8',
  bad_type_2: '1:9',
  bad_type_3: '1:9',
  bad_type_4: '1:10',
  bad_type_5: '1:10',
  bad_unit_0: '1:7',
  bad_unit_1: '1:8',
  bad_unit_2: '1:9',
  bad_unit_3: '1:9',
  bad_unit_4: '1:10',
  bad_unit_6: '2:12',
  bad_unit_7: '2:12',
  bad_value_0: '1:3',
  bad_value_10: '1:3',
  bad_value_11: '1:3',
  bad_value_12: '1:3',
  bad_value_4: '1:3',
  bad_value_5: '1:3',
  bad_value_6: '1:3',
  bad_value_7: '1:3',
  bad_value_8: '1:3',
  bad_value_9: '1:3',
};

function parse(c: Case): MetricFamily[] {
  return parseExposition(c.text, { format: 'openmetrics' });
}

const lenient = new Map<string, string>();
for (const l of LENIENCIES) for (const name of l.cases) lenient.set(name, l.what);

describe('OpenMetrics parser suite (prometheus/OpenMetrics tests/testdata/parsers)', () => {
  test('the vendored suite is complete and every invalid case is listed exactly once', () => {
    assert.equal(cases.length, 211);
    assert.equal(cases.filter((c) => c.shouldParse).length, 44);
    for (const c of cases) {
      if (c.shouldParse) {
        assert.ok(!lenient.has(c.name) && !(c.name in REJECTED), `${c.name} is valid but listed`);
        continue;
      }
      const listed = Number(lenient.has(c.name)) + Number(c.name in REJECTED);
      assert.equal(listed, 1, `${c.name}: listed ${listed} times (must be in REJECTED or in one leniency)`);
    }
    const all = new Set(cases.map((c) => c.name));
    for (const name of [...lenient.keys(), ...Object.keys(REJECTED)]) assert.ok(all.has(name), `${name} is not a suite case`);
    assert.equal(lenient.size, LENIENCIES.reduce((n, l) => n + l.cases.length, 0), 'a case is in two leniencies');
  });

  test('every valid case parses (also with the format detected from # EOF)', () => {
    for (const c of cases.filter((x) => x.shouldParse)) {
      assert.doesNotThrow(() => parse(c), (err: unknown) => `${c.name}: ${String(err)}`);
      assert.deepEqual(parseExposition(c.text), parse(c), c.name);
    }
  });

  test('every rejected case fails with an ExpositionParseError at its line and column', () => {
    for (const c of cases.filter((x) => x.name in REJECTED)) {
      let err: unknown;
      try {
        parse(c);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof ExpositionParseError, `${c.name}: expected a rejection, got ${err === undefined ? 'a parse' : String(err)}`);
      assert.equal(`${err.line}:${err.column}`, REJECTED[c.name], `${c.name}: ${err.message}`);
      assert.ok(err.reason.length > 10, `${c.name}: the reason says what is wrong`);
    }
  });

  test('every listed leniency is accepted (an expected difference, with its reason)', () => {
    for (const l of LENIENCIES) {
      assert.ok(l.reason.length > 20, `${l.what}: needs a reason`);
      for (const name of l.cases) {
        const c = cases.find((x) => x.name === name)!;
        assert.doesNotThrow(() => parse(c), (err: unknown) => `${name} (${l.what}) is listed as accepted but: ${String(err)}`);
      }
    }
  });

  test('the five valid cases rejected before issue 17 parse to the right values', () => {
    const byName = (n: string): Case => cases.find((c) => c.name === n)!;
    // escapes other than \\ \" \n in label values keep their backslash (as client_python and Prometheus read them)
    const esc = parse(byName('escaping'))[0]!;
    assert.deepEqual(
      esc.samples.map((s) => s.labels[0]!.value),
      ['b"a\nr', 'b\\a\\z', 'b"a\nr # ', 'b\\a\\z # '],
    );
    assert.equal(esc.help, 'he\n\\l\\tp');
    const le = parse(byName('label_escaping'));
    assert.equal(le.length, 10);
    assert.deepEqual(
      le.map((f) => f.samples[0]!.labels[0]!.value),
      ['foo', '\\foo', '\\foo', 'foo\\', '\\', '\n', '\\n', '\\\n', '"', '\\"'],
    );
    // timestamps equal, or distinct only below a microsecond: several points of one series
    for (const n of ['duplicate_timestamps_0', 'duplicate_timestamps_1']) {
      assert.deepEqual(parse(byName(n))[0]!.samples.map((s) => s.value), ['1', '2', '3', '4', '5'], n);
    }
    // an empty UNIT (and an empty HELP): no unit
    const [meta] = parse(byName('empty_metadata'));
    assert.equal(meta!.name, 'a');
    assert.equal(meta!.help, '');
    assert.equal(meta!.unit, undefined);
  });
});

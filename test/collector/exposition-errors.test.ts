/**
 * Parser error cases: every rejection is an ExpositionParseError with the right 1-based line,
 * column and reason.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { ExpositionParseError, parseExposition, type ParseOptions } from '../../src/collector/exposition/index.js';

interface Expect {
  line: number;
  column?: number;
  reason: RegExp | string;
}

function rejects(text: string, expected: Expect, options: ParseOptions = { format: 'prometheus' }): void {
  let caught: unknown;
  try {
    parseExposition(text, options);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ExpositionParseError, `expected ExpositionParseError for ${JSON.stringify(text)}, got ${String(caught)}`);
  assert.equal(caught.name, 'ExpositionParseError');
  assert.equal(caught.line, expected.line, `line of: ${caught.message}`);
  if (expected.column !== undefined) assert.equal(caught.column, expected.column, `column of: ${caught.message}`);
  if (typeof expected.reason === 'string') assert.equal(caught.reason, expected.reason);
  else assert.match(caught.reason, expected.reason);
  assert.equal(caught.message, `line ${caught.line}: ${caught.reason}`);
}

const OM: ParseOptions = { format: 'openmetrics' };

describe('exposition parser errors: syntax', () => {
  test("line 17: expected '=' after label name \"device\"", () => {
    const lines: string[] = [];
    for (let i = 0; i < 16; i++) lines.push(i % 2 ? `m{device="eth${i}"} ${i}` : `# HELP c${i} comment`);
    lines.push('node_network_receive_bytes_total{device:"eth2"} 1');
    rejects(lines.join('\n'), { line: 17, column: 40, reason: `expected '=' after label name "device", found ':'` });
  });

  test('line numbers count CRLF lines and blank lines', () => {
    rejects('a 1\r\n\r\n\r\nb{x="1} 2\r\nc 3\r\n', { line: 4, column: 5, reason: /^unterminated value of label "x"/ });
  });

  test('unterminated label set', () => {
    rejects('x{a="1" 2\n', { line: 1, column: 9, reason: /^expected ',' or '}' after the value of label "a", found '2'/ });
    rejects('x{a="1",\n', { line: 1, column: 9, reason: "unterminated label set (missing '}')" });
    rejects('x{\n', { line: 1, column: 3, reason: "unterminated label set (missing '}')" });
  });

  test('bad label names', () => {
    rejects('x{1a="1"} 2', { line: 1, column: 3, reason: "expected a label name or '}', found '1'" });
    rejects('x{a="1",,b="2"} 2', { line: 1, column: 9, reason: "expected a label name, found ','" });
    rejects('x{a.b="1"} 2', { line: 1, column: 4, reason: `expected '=' after label name "a", found '.'` });
    rejects('x{a=1} 2', { line: 1, column: 5, reason: `expected '"' to open the value of label "a", found '1'` });
  });

  test('a backslash before another character in a label value is kept, not an error (issue 17: one such label lost the whole scrape)', () => {
    for (const format of ['prometheus', 'openmetrics'] as const) {
      const eof = format === 'openmetrics' ? '# EOF\n' : '';
      const fams = parseExposition(`x{a="tab\\there",b="\\z\\\\\\f\\"q"} 1\n${eof}`, { format });
      assert.deepEqual(fams[0]!.samples[0]!.labels, [
        { name: 'a', value: 'tab\\there' },
        { name: 'b', value: '\\z\\\\f"q' },
      ]);
    }
    // the same value spelled two ways is the same series
    rejects('x{a="\\z"} 1\nx{a="\\\\z"} 2', { line: 2, column: 1, reason: /^duplicate series .* \(first seen on line 1\)$/ });
  });

  test('duplicate label name', () => {
    rejects('x{a="1",a="2"} 1', { line: 1, column: 9, reason: 'duplicate label name "a"' });
    const long = Array.from({ length: 20 }, (_, i) => `l${i}="v"`).join(',');
    rejects(`x{${long},l3="w"} 1`, { line: 1, column: long.length + 4, reason: 'duplicate label name "l3"' });
  });

  test('bad metric names', () => {
    rejects('x-y 1', { line: 1, column: 2, reason: `invalid character '-' in metric name "x"` });
    rejects('{a="b"} 1', { line: 1, column: 1, reason: "expected a metric name or '#', found '{'" });
    rejects('9x 1', { line: 1, column: 1, reason: "expected a metric name or '#', found '9'" });
    rejects('x\u0000 1', { line: 1, column: 2, reason: 'invalid character U+0000 in metric name "x"' });
    rejects('x\u00e9 1', { line: 1, column: 2, reason: `invalid character '\u00e9' (U+00E9) in metric name "x"` });
    rejects('a 1\n\uFEFFb 1', { line: 2, column: 1, reason: `expected a metric name or '#', found '\uFEFF' (U+FEFF)` });
  });

  test('missing or invalid values', () => {
    rejects('x\n', { line: 1, column: 2, reason: 'expected a value after metric name "x"' });
    rejects('x{a="b"}\n', { line: 1, column: 9, reason: 'expected a value after "x{a=\\"b\\"}"' });
    rejects('x{a="b"}   \n', { line: 1, reason: /^expected a value after/ });
    rejects('x abc', { line: 1, column: 3, reason: 'invalid value "abc" (expected a float, NaN, +Inf or -Inf)' });
    rejects('x 0x10', { line: 1, reason: /^invalid value "0x10"/ });
    rejects('x 1_000', { line: 1, reason: /^invalid value "1_000"/ });
    rejects('x 1e', { line: 1, reason: /^invalid value "1e"/ });
    rejects('x +NaN', { line: 1, reason: /^invalid value "\+NaN"/ });
    rejects('x .', { line: 1, reason: /^invalid value "\."/ });
  });

  test('invalid timestamps and trailing text', () => {
    rejects('x 1 1.5', { line: 1, column: 5, reason: 'invalid timestamp "1.5" (expected integer milliseconds since the epoch)' });
    rejects('x 1 2 3', { line: 1, column: 7, reason: 'unexpected text after the timestamp' });
    rejects('x 1 # {a="b"} 1', { line: 1, column: 5, reason: /^unexpected '#' after the sample value \(exemplars exist only in OpenMetrics/ });
    rejects(`x 1 1${'0'.repeat(400)}`, { line: 1, column: 5, reason: /^timestamp "1000.*" is out of range$/ });
    rejects('x 1 1e305\n# EOF\n', { line: 1, column: 5, reason: 'timestamp "1e305" is out of range' }, OM);
    rejects('x 1 NaN\n# EOF\n', { line: 1, column: 5, reason: /^invalid timestamp "NaN" \(expected seconds/ }, OM);
  });

  test('metadata line syntax', () => {
    rejects('# HELP\n', { line: 1, column: 7, reason: "expected a metric name after '# HELP'" });
    rejects('# TYPE x\n', { line: 1, column: 9, reason: 'missing metric type after "x" in TYPE line' });
    rejects('# TYPE x gauge extra\n', { line: 1, column: 16, reason: 'unexpected text after the metric type in TYPE line' });
    rejects('# TYPE x-y gauge\n', { line: 1, column: 9, reason: `invalid character '-' in metric name "x" in TYPE line` });
    rejects('# TYPE x flux\n', { line: 1, column: 10, reason: /^unknown metric type "flux" for "x" \(expected one of counter, gauge/ });
    rejects('# UNIT x_seconds bytes\n# EOF\n', { line: 1, reason: 'unit "bytes" is not a suffix of metric family name "x_seconds"' }, OM);
  });

  test('non-string input', () => {
    rejects(undefined as unknown as string, { line: 1, column: 1, reason: 'input must be a string, got undefined' });
    rejects(Buffer.from('x 1') as unknown as string, { line: 1, reason: 'input must be a string, got object' });
  });
});

describe('exposition parser errors: semantics', () => {
  test('duplicate and contradicting TYPE lines, duplicate HELP', () => {
    rejects('# TYPE x gauge\n# TYPE x gauge\n', { line: 2, column: 1, reason: 'duplicate TYPE line for "x"' });
    rejects('# TYPE x gauge\nx 1\n# TYPE x counter\n', { line: 3, reason: 'contradicting TYPE lines for "x": "counter" after "gauge"' });
    rejects('# HELP x a\n# HELP x b\n', { line: 2, reason: 'duplicate HELP line for "x"' });
  });

  test('TYPE after samples it would regroup', () => {
    rejects('x_bucket{le="1"} 1\n# TYPE x histogram\n', {
      line: 2,
      reason: 'TYPE line for "x" comes after its sample "x_bucket"; TYPE must precede the samples it describes',
    });
    rejects('x 1\n# TYPE x histogram\n', { line: 2, reason: 'TYPE line for "x" comes after its samples and would regroup them' });
    rejects('x 1\n# TYPE x summary\n', { line: 2, reason: /comes after its samples/ });
    rejects('x 1\n# TYPE x gauge\n# EOF\n', { line: 2, reason: /OpenMetrics requires metadata first/ }, OM);
  });

  test('duplicate series, also with labels in another order', () => {
    rejects('x{a="1",b="2"} 1\ny 1\nx{a="1",b="2"} 2\n', { line: 3, column: 1, reason: 'duplicate series "x{a=\\"1\\",b=\\"2\\"}" (first seen on line 1)' });
    rejects('x{b="2",a="1"} 1\nx{a="1", b="2"} 2\n', { line: 2, reason: /^duplicate series "x\{a=\\"1\\",b=\\"2\\"\}" \(first seen on line 1\)/ });
    rejects('x 1\nx{} 2\n', { line: 2, reason: 'duplicate series "x" (first seen on line 1)' });
    rejects('x{a="1"} 1 1000\nx{a="1"} 2\n', { line: 2, reason: /^duplicate series/ });
    rejects('x{a="1"} 1 1000\nx{a="1"} 2 1000\n', { line: 2, reason: /^duplicate series/ });
    rejects('x{a="1"} 1 1000\nx{a="1"} 2 2000\nx{a="1"} 3 3000\nx{a="1"} 4 2000\n', {
      line: 4,
      reason: 'duplicate series "x{a=\\"1\\"}" (first seen on line 2)',
    });
    rejects('x{a="1"} 1\nx{a="1"} 2 2000\n', { line: 2, reason: /^duplicate series/ });
    const many = ['# TYPE h histogram'];
    for (const le of ['0.1', '1', '10', '2', '+Inf']) many.push(`h_bucket{le="${le}"} 1`);
    many.push('h_sum 1', 'h_count 1', 'h_bucket{le="10"} 3');
    rejects(many.join('\n'), { line: 9, reason: 'duplicate series "h_bucket{le=\\"10\\"}" (first seen on line 4)' });
    assert.doesNotThrow(() => parseExposition('x 1\nx 1\n', { checkDuplicates: false }));
  });

  test('histogram and summary structure', () => {
    rejects('# TYPE h histogram\nh_bucket 1\n', { line: 2, column: 1, reason: 'histogram bucket "h_bucket" has no "le" label' });
    rejects('# TYPE h histogram\nh 1\n', { line: 2, reason: 'sample "h" is not a valid series of histogram "h" (expected h_bucket, h_sum, h_count, h_created)' });
    rejects('# TYPE s summary\ns 1\n', { line: 2, reason: 'summary sample "s" has no "quantile" label' });
    rejects('# TYPE g gaugehistogram\ng_bucket{x="1"} 1\n# EOF\n', { line: 2, reason: 'histogram bucket "g_bucket" has no "le" label' }, OM);
  });

  test('OpenMetrics: # EOF required, nothing after it, families contiguous', () => {
    rejects('x 1\n', { line: 2, column: 1, reason: "missing '# EOF' at the end of OpenMetrics input" }, OM);
    rejects('x 1', { line: 1, reason: "missing '# EOF' at the end of OpenMetrics input" }, OM);
    rejects('', { line: 1, reason: "missing '# EOF' at the end of OpenMetrics input" }, OM);
    rejects('x 1\n# EOF\ny 2\n', { line: 3, column: 1, reason: "unexpected content after '# EOF' (line 2)" }, OM);
    rejects('x 1\n# EOF extra\n', { line: 2, column: 7, reason: "unexpected text after '# EOF'" }, OM);
    rejects('a 1\nb 1\na{x="1"} 2\n# EOF\n', { line: 3, column: 1, reason: /^metric family "a" is interleaved with other families/ }, OM);
    rejects('# HELP a x\nb 1\n# TYPE a gauge\n# EOF\n', { line: 3, reason: /^metric family "a" is interleaved/ }, OM);
  });

  test('OpenMetrics: HELP and UNIT before samples, no UNIT on info/stateset, one space after the name (issue 17)', () => {
    rejects('# TYPE a gauge\na 1\n# HELP a gauge\n# EOF\n', { line: 3, column: 1, reason: 'HELP line for "a" comes after its sample "a"; OpenMetrics requires metadata first' }, OM);
    rejects('# TYPE a_s gauge\na_s 1\n# UNIT a_s s\n# EOF\n', { line: 3, column: 1, reason: 'UNIT line for "a_s" comes after its sample "a_s"; OpenMetrics requires metadata first' }, OM);
    rejects('# TYPE x_u info\n# UNIT x_u u\n# EOF\n', { line: 2, column: 12, reason: /^info "x_u" cannot have a unit/ }, OM);
    rejects('# UNIT x_u u\n# TYPE x_u stateset\n# EOF\n', { line: 2, column: 12, reason: /^stateset "x_u" cannot have a unit/ }, OM);
    rejects('# HELP a\n# EOF\n', { line: 1, column: 9, reason: `expected a space after "a" in HELP line, found end of line` }, OM);
    rejects('# UNIT a\t\n# EOF\n', { line: 1, column: 9, reason: `expected a space after "a" in UNIT line, found '\\t'` }, OM);
    // valid: an empty UNIT and an empty HELP (one space), a unit-less info
    const [f] = parseExposition('# HELP a \n# UNIT a \n# TYPE a info\na_info 1\n# EOF\n', OM);
    assert.equal(f!.help, '');
    assert.equal(f!.unit, undefined);
    // Prometheus text keeps reading HELP after samples and `# UNIT` as a comment
    assert.equal(parseExposition('a 1\n# HELP a late\n# UNIT a x\n')[0]!.help, 'late');
  });

  test('OpenMetrics: a metric\'s lines are contiguous and its timestamps do not go backwards (issue 17)', () => {
    const h = '# TYPE a histogram\n';
    rejects(`${h}a_sum{a="1"} 0\na_bucket{a="2",le="+Inf"} 0\na_count{a="2"} 0\na_sum{a="2"} 0\na_bucket{a="1",le="+Inf"} 0\n# EOF\n`, {
      line: 6,
      column: 1,
      reason: 'metric "a{a=\\"1\\"}" of family "a" continues after another metric started (first seen on line 2; OpenMetrics requires each metric\'s lines to be contiguous)',
    }, OM);
    rejects('# TYPE a gauge\na 0 1.1\na 0 1\n# EOF\n', { line: 3, column: 1, reason: /^timestamp of "a" goes backwards \(1 s after 1\.1 s;/ }, OM);
    rejects('# TYPE a gauge\na 0 -1\na 0 -1.1\n# EOF\n', { line: 3, reason: /goes backwards/ }, OM);
    rejects('# TYPE a counter\na_total 1 10\na_created 3\na_total 2 5\n# EOF\n', { line: 4, reason: /goes backwards/ }, OM);
    // equal timestamps, and timestamps that differ below a microsecond, are points of one series
    for (const t of [['0', '0', '0'], ['0.0000000000', '0.0000000001', '0.0000000010']]) {
      const [f] = parseExposition(`# TYPE a gauge\na{x="1"} 1 ${t[0]}\na{x="1"} 2 ${t[1]}\na{x="1"} 3 ${t[2]}\na{x="2"} 4 0\n# EOF\n`, OM);
      assert.deepEqual(f!.samples.map((s) => s.value), ['1', '2', '3', '4']);
    }
    // without timestamps the same series twice is still a duplicate; Prometheus text still wants distinct timestamps
    rejects('# TYPE a gauge\na 1\na 2\n# EOF\n', { line: 3, reason: /^duplicate series "a" \(first seen on line 2\)/ }, OM);
    rejects('a 1 5\na 2 5\n', { line: 2, reason: /^duplicate series "a"/ });
    // Prometheus text: a series may come back later (as Go's parser reads it)
    assert.equal(parseExposition('a{x="1"} 1 1\na{x="2"} 1 1\na{x="1"} 1 2\n')[0]!.samples.length, 3);
  });

  test('OpenMetrics exemplar syntax', () => {
    rejects('# TYPE c counter\nc_total 1 # trace\n# EOF\n', { line: 2, column: 13, reason: "expected '{' to start the exemplar's label set, found 't'" }, OM);
    rejects('# TYPE c counter\nc_total 1 # {a="b"}\n# EOF\n', { line: 2, reason: 'expected a value after the exemplar labels' }, OM);
    rejects('# TYPE c counter\nc_total 1 # {a="b"} x\n# EOF\n', { line: 2, reason: 'invalid exemplar value "x"' }, OM);
    rejects('# TYPE c counter\nc_total 1 # {a="b"} 1 2 3\n# EOF\n', { line: 2, reason: 'unexpected text after the exemplar' }, OM);
  });

  test('error messages quote long tokens truncated', () => {
    let err: unknown;
    try {
      parseExposition(`x ${'z'.repeat(10_000)}`);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ExpositionParseError);
    assert.ok(err.reason.length < 200, err.reason);
  });
});

/**
 * Parser corpus: tricky but valid Prometheus text 0.0.4 and OpenMetrics 1.0 inputs, each
 * checked against the exact parsed structure; plus the real node-exporter fixture.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import {
  applyFilter,
  detectFormat,
  formatFromContentType,
  parseExposition,
  type MetricFamily,
  type MetricLabel,
  type MetricSample,
} from '../../src/collector/exposition/index.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/exposition/${name}`, import.meta.url), 'utf8');

/** Labels from name/value pairs, in order. */
function L(...kv: string[]): MetricLabel[] {
  const out: MetricLabel[] = [];
  for (let i = 0; i < kv.length; i += 2) out.push({ name: kv[i]!, value: kv[i + 1]! });
  return out;
}

function S(name: string, labels: MetricLabel[], value: string, numeric: number, extra: Partial<MetricSample> = {}): MetricSample {
  return { name, labels, value, numeric, ...extra };
}

function F(name: string, type: MetricFamily['type'], help: string, samples: MetricSample[], unit?: string): MetricFamily {
  const f: MetricFamily = { name, help, type, samples };
  if (unit !== undefined) f.unit = unit;
  return f;
}

const prom = (text: string): MetricFamily[] => parseExposition(text, { format: 'prometheus' });
const om = (text: string): MetricFamily[] => parseExposition(text, { format: 'openmetrics' });

describe('exposition parser: label values and HELP text', () => {
  test('escaped \\" \\\\ and \\n in label values', () => {
    assert.deepEqual(prom('x{a="q\\"uote",b="back\\\\slash",c="new\\nline",d="\\\\n"} 1\n'), [
      F('x', 'untyped', '', [S('x', L('a', 'q"uote', 'b', 'back\\slash', 'c', 'new\nline', 'd', '\\n'), '1', 1)]),
    ]);
  });

  test('escapes in HELP text; unknown escapes kept literally', () => {
    const fams = prom('# HELP x a \\\\ b \\n c \\" d \\t e \\\n# TYPE x gauge\nx 1\n');
    assert.equal(fams[0]!.help, 'a \\ b \n c " d \\t e \\');
    assert.equal(om('# HELP y q\\"x\\\\y\\nz\n# EOF\n')[0]!.help, 'q"x\\y\nz');
  });

  test('label values containing , = { } # and spaces', () => {
    assert.deepEqual(prom('x{a="1,2",b="k=v",c="{}",d=" sp  ",e="# not a comment",f=""} 7\n'), [
      F('x', 'untyped', '', [S('x', L('a', '1,2', 'b', 'k=v', 'c', '{}', 'd', ' sp  ', 'e', '# not a comment', 'f', ''), '7', 7)]),
    ]);
  });

  test('non-ASCII label values and HELP', () => {
    assert.deepEqual(prom('# HELP x Température °C – ok\nx{city="Zürich",emoji="🚀"} 1\n'), [
      F('x', 'untyped', 'Température °C – ok', [S('x', L('city', 'Zürich', 'emoji', '🚀'), '1', 1)]),
    ]);
  });

  test('HELP without text, OpenMetrics HELP keeps leading spaces after the single separator', () => {
    assert.equal(prom('# HELP x\nx 1\n')[0]!.help, '');
    assert.equal(prom('# HELP x    spaced\nx 1\n')[0]!.help, 'spaced');
    assert.equal(om('# HELP x   spaced\nx 1\n# EOF\n')[0]!.help, '  spaced');
  });
});

describe('exposition parser: families and metadata', () => {
  test('families without HELP or TYPE are untyped (Prometheus) / unknown (OpenMetrics)', () => {
    assert.deepEqual(prom('a 1\nb{x="y"} 2\n'), [
      F('a', 'untyped', '', [S('a', [], '1', 1)]),
      F('b', 'untyped', '', [S('b', L('x', 'y'), '2', 2)]),
    ]);
    assert.deepEqual(om('a 1\n# EOF\n'), [F('a', 'unknown', '', [S('a', [], '1', 1)])]);
  });

  test('HELP after samples, TYPE after samples when it changes no grouping, metadata without samples', () => {
    assert.deepEqual(prom('x 1\n# HELP x late help\n# TYPE x gauge\n# HELP lonely only help\n# TYPE typed counter\n'), [
      F('x', 'gauge', 'late help', [S('x', [], '1', 1)]),
      F('lonely', 'untyped', 'only help', []),
      F('typed', 'counter', '', []),
    ]);
  });

  test('TYPE before HELP, and type names are case-insensitive', () => {
    assert.deepEqual(prom('# TYPE x COUNTER\n# HELP x h\nx 3\n'), [F('x', 'counter', 'h', [S('x', [], '3', 3)])]);
  });

  test('non-contiguous samples of a family are merged (Prometheus text)', () => {
    const fams = prom('# TYPE a gauge\na{i="1"} 1\nb 2\na{i="2"} 3\n');
    assert.deepEqual(
      fams.map((f) => [f.name, f.samples.map((s) => s.value)]),
      [
        ['a', ['1', '3']],
        ['b', ['2']],
      ],
    );
  });

  test('histogram and summary series are grouped under their family (Prometheus text)', () => {
    const text = [
      '# HELP rpc_seconds RPC latency.',
      '# TYPE rpc_seconds histogram',
      'rpc_seconds_bucket{le="0.1"} 2',
      'rpc_seconds_bucket{le="+Inf"} 5',
      'rpc_seconds_sum 1.25',
      'rpc_seconds_count 5',
      'rpc_seconds_created 1.7e+09',
      '# TYPE q summary',
      'q{quantile="0.5"} 0.1',
      'q{quantile="0.99"} NaN',
      'q_sum 3',
      'q_count 9',
      'other_total 1',
      '',
    ].join('\n');
    assert.deepEqual(prom(text), [
      F('rpc_seconds', 'histogram', 'RPC latency.', [
        S('rpc_seconds_bucket', L('le', '0.1'), '2', 2),
        S('rpc_seconds_bucket', L('le', '+Inf'), '5', 5),
        S('rpc_seconds_sum', [], '1.25', 1.25),
        S('rpc_seconds_count', [], '5', 5),
        S('rpc_seconds_created', [], '1.7e+09', 1.7e9),
      ]),
      F('q', 'summary', '', [
        S('q', L('quantile', '0.5'), '0.1', 0.1),
        S('q', L('quantile', '0.99'), 'NaN', NaN),
        S('q_sum', [], '3', 3),
        S('q_count', [], '9', 9),
      ]),
      F('other_total', 'untyped', '', [S('other_total', [], '1', 1)]),
    ]);
  });

  test('an explicitly typed family wins over suffix grouping (client_python style x_created gauge)', () => {
    const text = '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n# TYPE h_created gauge\nh_created 1.7e9\n';
    assert.deepEqual(
      prom(text).map((f) => [f.name, f.type, f.samples.map((s) => s.name)]),
      [
        ['h', 'histogram', ['h_bucket', 'h_sum', 'h_count']],
        ['h_created', 'gauge', ['h_created']],
      ],
    );
  });

  test('OpenMetrics fixture: counter _total/_created, histogram, gaugehistogram, summary, info, stateset, UNIT, exemplars', () => {
    const fams = om(fixture('openmetrics.txt'));
    assert.deepEqual(
      fams.map((f) => [f.name, f.type, f.unit ?? null, [...new Set(f.samples.map((s) => s.name))]]),
      [
        ['acme_http_requests', 'counter', 'requests', ['acme_http_requests_total', 'acme_http_requests_created']],
        [
          'acme_request_duration_seconds',
          'histogram',
          'seconds',
          [
            'acme_request_duration_seconds_bucket',
            'acme_request_duration_seconds_count',
            'acme_request_duration_seconds_sum',
            'acme_request_duration_seconds_created',
          ],
        ],
        ['acme_queue_depth', 'gaugehistogram', null, ['acme_queue_depth_bucket', 'acme_queue_depth_gcount', 'acme_queue_depth_gsum']],
        ['acme_rpc_seconds', 'summary', null, ['acme_rpc_seconds', 'acme_rpc_seconds_sum', 'acme_rpc_seconds_count', 'acme_rpc_seconds_created']],
        ['acme_build', 'info', null, ['acme_build_info']],
        ['acme_feature', 'stateset', null, ['acme_feature']],
        ['acme_temperature_celsius', 'gauge', 'celsius', ['acme_temperature_celsius']],
        ['acme_mystery', 'unknown', null, ['acme_mystery']],
      ],
    );
    const counter = fams[0]!;
    assert.equal(counter.help, 'Requests served, by "method" and code.\nSecond line.');
    assert.deepEqual(
      counter.samples[0],
      S('acme_http_requests_total', L('method', 'get', 'code', '200'), '1027', 1027, {
        timestampMs: 1520879607789,
        exemplar: { labels: L('trace_id', 'KOO5S4vxi0o'), value: '0.67', numeric: 0.67 },
      }),
    );
    assert.deepEqual(fams[1]!.samples[0]!.exemplar, {
      labels: L('trace_id', 'a'),
      value: '0.05',
      numeric: 0.05,
      timestampMs: 1520879607700,
    });
    assert.deepEqual(fams[4]!.samples[0]!.labels, L('version', '1.2.3', 'revision', 'a\\b"c'));
    assert.deepEqual(
      fams[6]!.samples.map((s) => [s.value, s.numeric]),
      [
        ['-Inf', -Infinity],
        ['+Inf', Infinity],
      ],
    );
  });
});

describe('exposition parser: values, timestamps, layout', () => {
  test('NaN, +Inf, -Inf and other float spellings keep their text', () => {
    const vals = ['NaN', '+Inf', '-Inf', 'Inf', 'nan', '-infinity', '2.434326851e+09', '1E-3', '-0', '.5', '5.', '+12', '007', '1234567890123456789'];
    const fams = prom(vals.map((v, i) => `v{i="${i}"} ${v}`).join('\n'));
    const got = fams[0]!.samples.map((s) => [s.value, s.numeric]);
    assert.deepEqual(got, [
      ['NaN', NaN],
      ['+Inf', Infinity],
      ['-Inf', -Infinity],
      ['Inf', Infinity],
      ['nan', NaN],
      ['-infinity', -Infinity],
      ['2.434326851e+09', 2434326851],
      ['1E-3', 0.001],
      ['-0', -0],
      ['.5', 0.5],
      ['5.', 5],
      ['+12', 12],
      ['007', 7],
      ['1234567890123456789', 1234567890123456789],
    ]);
  });

  test('timestamps: integer milliseconds (Prometheus), float seconds (OpenMetrics)', () => {
    assert.deepEqual(prom('x 1 1395066363000\ny 2 -5\n').map((f) => f.samples[0]!.timestampMs), [1395066363000, -5]);
    assert.deepEqual(
      om('x 1 1520879607.789\ny 2 1520879607\nz 3 1.5e9\n# EOF\n').map((f) => f.samples[0]!.timestampMs),
      [1520879607789, 1520879607000, 1500000000000],
    );
    assert.equal('timestampMs' in prom('x 1\n')[0]!.samples[0]!, false);
  });

  test('blank lines, whitespace lines, plain comments, CRLF, tabs, trailing commas, no final newline', () => {
    const text = [
      '',
      '   ',
      '# just a comment',
      '#',
      '#HELPish not a HELP line',
      '# help lower-case is a comment too',
      '# HELP x The x.',
      '# TYPE x gauge',
      '\tx{a="1",} 1',
      'x {a="2" , b = "3" ,}\t2\t1000',
      'x{} 3',
      '',
      'y 4',
    ].join('\r\n');
    assert.deepEqual(prom(text), [
      F('x', 'gauge', 'The x.', [
        S('x', L('a', '1'), '1', 1),
        S('x', L('a', '2', 'b', '3'), '2', 2, { timestampMs: 1000 }),
        S('x', [], '3', 3),
      ]),
      F('y', 'untyped', '', [S('y', [], '4', 4)]),
    ]);
  });

  test('a leading byte-order mark is skipped', () => {
    assert.deepEqual(prom('\uFEFF# TYPE x gauge\nx 1\n'), [F('x', 'gauge', '', [S('x', [], '1', 1)])]);
  });

  test('label order is kept as exposed', () => {
    assert.deepEqual(prom('x{z="1",a="2",m="3"} 1')[0]!.samples[0]!.labels, L('z', '1', 'a', '2', 'm', '3'));
  });

  test('repeated series with distinct timestamps are separate points', () => {
    assert.deepEqual(
      prom('x{a="1"} 1 1000\nx{a="1"} 2 2000\n')[0]!.samples.map((s) => s.timestampMs),
      [1000, 2000],
    );
  });

  test('empty input and whitespace-only input give no families', () => {
    assert.deepEqual(prom(''), []);
    assert.deepEqual(prom('\n\n  \n'), []);
    assert.deepEqual(om('# EOF'), []);
    assert.deepEqual(om('# EOF\n\n'), []);
  });

  test('huge label values and long lines are fine', () => {
    const big = 'v'.repeat(1_000_000);
    const fams = prom(`x{a="${big}"} 1\n`);
    assert.equal(fams[0]!.samples[0]!.labels[0]!.value.length, 1_000_000);
  });
});

describe('exposition parser: format selection', () => {
  test('detectFormat picks OpenMetrics iff the last line is # EOF', () => {
    assert.equal(detectFormat('x 1\n# EOF\n'), 'openmetrics');
    assert.equal(detectFormat('x 1\n# EOF'), 'openmetrics');
    assert.equal(detectFormat('x 1\r\n# EOF\r\n\r\n'), 'openmetrics');
    assert.equal(detectFormat('# EOF'), 'openmetrics');
    assert.equal(detectFormat('x 1\n'), 'prometheus');
    assert.equal(detectFormat('x 1 # EOF\n'), 'prometheus');
    assert.equal(detectFormat(''), 'prometheus');
  });

  test('auto format parses OpenMetrics timestamps and exemplars when # EOF ends the input', () => {
    const fams = parseExposition('# TYPE c counter\nc_total 1 1.5 # {a="b"} 1\n# EOF\n');
    assert.equal(fams[0]!.samples[0]!.timestampMs, 1500);
    assert.equal(fams[0]!.samples[0]!.exemplar?.value, '1');
  });

  test('# EOF is a plain comment in Prometheus text', () => {
    assert.deepEqual(prom('# EOF\nx 1\n').map((f) => f.name), ['x']);
  });

  test('formatFromContentType', () => {
    assert.equal(formatFromContentType('text/plain; version=0.0.4; charset=utf-8'), 'prometheus');
    assert.equal(formatFromContentType('application/openmetrics-text; version=1.0.0; charset=utf-8'), 'openmetrics');
    assert.equal(formatFromContentType('application/json'), 'auto');
    assert.equal(formatFromContentType(undefined), 'auto');
  });
});

describe('exposition parser: real node-exporter payload', () => {
  const text = fixture('node-exporter.txt');

  test('parses every family and sample', () => {
    const fams = parseExposition(text);
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.equal(
      fams.reduce((n, f) => n + f.samples.length, 0),
      lines.length,
    );
    const helpLines = text.split('\n').filter((l) => l.startsWith('# HELP ')).length;
    assert.equal(fams.length, helpLines);
    const rx = fams.find((f) => f.name === 'node_network_receive_bytes_total')!;
    assert.equal(rx.type, 'counter');
    assert.equal(rx.help, 'Network device statistic receive_bytes.');
    assert.deepEqual(rx.samples[0], S('node_network_receive_bytes_total', L('device', 'eth0'), '4.39795072e+08', 439795072));
    const gc = fams.find((f) => f.name === 'go_gc_duration_seconds')!;
    assert.equal(gc.type, 'summary');
    assert.deepEqual(
      gc.samples.map((s) => s.name),
      ['go_gc_duration_seconds', 'go_gc_duration_seconds', 'go_gc_duration_seconds', 'go_gc_duration_seconds', 'go_gc_duration_seconds', 'go_gc_duration_seconds_sum', 'go_gc_duration_seconds_count'],
    );
  });

  test('CRLF version parses identically', () => {
    assert.deepEqual(parseExposition(text.replace(/\n/g, '\r\n')), parseExposition(text));
  });

  test('name-filtered parse equals filtering the full parse, for every family name and some series names', () => {
    const full = parseExposition(text);
    const names = full.map((f) => f.name);
    names.push('go_gc_duration_seconds_sum', 'go_gc_duration_seconds_count', 'no_such_metric');
    for (const n of names) {
      assert.deepEqual(parseExposition(text, { names: [n] }), applyFilter(full, { names: new Set([n]) }), n);
    }
    const two = ['node_network_receive_bytes_total', 'node_network_receive_packets_total'];
    const got = parseExposition(text, { names: two });
    assert.deepEqual(
      got.map((f) => f.name),
      two,
    );
  });

  test('name-filtered parse of OpenMetrics equals filtering the full parse', () => {
    const omText = fixture('openmetrics.txt');
    const full = om(omText);
    const names = full.flatMap((f) => [f.name, ...f.samples.map((s) => s.name)]);
    for (const n of new Set(names)) {
      assert.deepEqual(om(omText).length > 0, true);
      assert.deepEqual(parseExposition(omText, { names: [n] }), applyFilter(full, { names: new Set([n]) }), n);
    }
  });
});

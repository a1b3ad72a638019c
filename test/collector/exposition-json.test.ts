/**
 * Conversion of parsed families into the collector JSON document: the reference message's
 * exact shape (byte for byte for plain counters), the real node-exporter payload, and the
 * additive extensions (series, timestamp_ms, exemplar, unit).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import {
  currentEpochSeconds,
  filterFromSearchParams,
  formatEpochSeconds,
  parseAndFilter,
  parseExposition,
  toCollectorJson,
  type CollectorDocument,
} from '../../src/collector/exposition/index.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/exposition/${name}`, import.meta.url), 'utf8');

/** The reference collector message (ACROSS examples/input_metrics.json). */
const reference = JSON.parse(fixture('across-input_metrics.json')) as CollectorDocument & Record<string, unknown>;

describe('collector JSON: reference shape', () => {
  test('an exposition of the reference metrics converts to exactly the reference metrics[] (same bytes)', () => {
    // The scrape the reference message was made from, as node_exporter writes it.
    const text = [
      '# HELP node_network_receive_bytes_total Network device statistic receive_bytes.',
      '# TYPE node_network_receive_bytes_total counter',
      'node_network_receive_bytes_total{device="eth2"} 2.434326851e+09',
      'node_network_receive_bytes_total{device="lo"} 1.2e+07',
      '# HELP node_network_receive_packets_total Network device statistic receive_packets.',
      '# TYPE node_network_receive_packets_total counter',
      'node_network_receive_packets_total{device="eth2"} 2.040682e+06',
      'node_network_receive_packets_total{device="lo"} 4000',
      '# HELP node_load1 1m load average.',
      '# TYPE node_load1 gauge',
      'node_load1 0.5',
      '',
    ].join('\n');
    const filter = filterFromSearchParams(
      new URLSearchParams('name=node_network_receive_bytes_total&name=node_network_receive_packets_total&device=eth2'),
    );
    const doc = toCollectorJson(parseAndFilter(text, filter), { nodeExporter: 'r1:9100', epochSeconds: 1745233635.2172275 });
    assert.deepEqual(doc, { node_exporter: 'r1:9100', epoch_timestamp: '1745233635.2172275', metrics: reference.metrics });
    assert.equal(JSON.stringify(doc.metrics), JSON.stringify(reference.metrics));
    assert.deepEqual(Object.keys(doc), ['node_exporter', 'epoch_timestamp', 'metrics']);
  });

  test('real node-exporter payload: node_network_receive_bytes_total has the reference structure', () => {
    const doc = toCollectorJson(parseExposition(fixture('node-exporter.txt')), {
      nodeExporter: '127.0.0.1:9100',
      epochSeconds: 1763911478.5,
    });
    assert.equal(doc.epoch_timestamp, '1763911478.5');
    const rx = doc.metrics.find((m) => m.name === 'node_network_receive_bytes_total')!;
    assert.deepEqual(rx, {
      name: 'node_network_receive_bytes_total',
      description: 'Network device statistic receive_bytes.',
      type: 'counter',
      values: [
        { labels: [{ name: 'device', value: 'eth0' }], value: '4.39795072e+08' },
        { labels: [{ name: 'device', value: 'ifb0' }], value: '0' },
        { labels: [{ name: 'device', value: 'ifb1' }], value: '0' },
      ],
    });
    // Same key order as the reference, at every level.
    const ref = reference.metrics[0]!;
    assert.deepEqual(Object.keys(rx), Object.keys(ref));
    assert.deepEqual(Object.keys(rx.values[0]!), Object.keys(ref.values[0]!));
    assert.deepEqual(Object.keys(rx.values[0]!.labels[0]!), Object.keys(ref.values[0]!.labels[0]!));
    // No counter or gauge of this Prometheus-text payload carries an extension field.
    for (const m of doc.metrics) {
      assert.ok(typeof m.description === 'string' && typeof m.type === 'string');
      if (m.type === 'counter' || m.type === 'gauge' || m.type === 'untyped') {
        for (const v of m.values) assert.deepEqual(Object.keys(v), ['labels', 'value'], m.name);
      }
    }
    assert.equal(
      doc.metrics.reduce((n, m) => n + m.values.length, 0),
      parseExposition(fixture('node-exporter.txt')).reduce((n, f) => n + f.samples.length, 0),
    );
  });

  test('the filtered document for the two network families and one device', () => {
    const filter = filterFromSearchParams(
      new URLSearchParams('name=node_network_receive_bytes_total&name=node_network_receive_packets_total&device=eth0'),
    );
    const doc = toCollectorJson(parseAndFilter(fixture('node-exporter.txt'), filter), {
      nodeExporter: 'r1:9100',
      epochSeconds: 1745233635.2172275,
    });
    assert.deepEqual(doc, {
      node_exporter: 'r1:9100',
      epoch_timestamp: '1745233635.2172275',
      metrics: [
        {
          name: 'node_network_receive_bytes_total',
          description: 'Network device statistic receive_bytes.',
          type: 'counter',
          values: [{ labels: [{ name: 'device', value: 'eth0' }], value: '4.39795072e+08' }],
        },
        {
          name: 'node_network_receive_packets_total',
          description: 'Network device statistic receive_packets.',
          type: 'counter',
          values: [{ labels: [{ name: 'device', value: 'eth0' }], value: '10840' }],
        },
      ],
    });
  });
});

describe('collector JSON: extensions', () => {
  test('summary and histogram members carry "series"; families without HELP get description ""', () => {
    const text = [
      '# TYPE h histogram',
      'h_bucket{le="1"} 1',
      'h_bucket{le="+Inf"} 2',
      'h_sum 3',
      'h_count 2',
      '# HELP s A summary.',
      '# TYPE s summary',
      's{quantile="0.5"} NaN',
      's_sum 1',
      's_count 0',
      'u 5',
      '',
    ].join('\n');
    const doc = toCollectorJson(parseExposition(text), { nodeExporter: 'n:9100', epochSeconds: 1 });
    assert.equal(doc.epoch_timestamp, '1.0');
    assert.deepEqual(doc.metrics, [
      {
        name: 'h',
        description: '',
        type: 'histogram',
        values: [
          { labels: [{ name: 'le', value: '1' }], value: '1', series: 'h_bucket' },
          { labels: [{ name: 'le', value: '+Inf' }], value: '2', series: 'h_bucket' },
          { labels: [], value: '3', series: 'h_sum' },
          { labels: [], value: '2', series: 'h_count' },
        ],
      },
      {
        name: 's',
        description: 'A summary.',
        type: 'summary',
        values: [
          { labels: [{ name: 'quantile', value: '0.5' }], value: 'NaN', series: 's' },
          { labels: [], value: '1', series: 's_sum' },
          { labels: [], value: '0', series: 's_count' },
        ],
      },
      { name: 'u', description: '', type: 'untyped', values: [{ labels: [], value: '5' }] },
    ]);
  });

  test('the real payload summary go_gc_duration_seconds keeps every series in one entry', () => {
    const doc = toCollectorJson(parseExposition(fixture('node-exporter.txt')), { nodeExporter: 'x', epochSeconds: 2 });
    const gc = doc.metrics.find((m) => m.name === 'go_gc_duration_seconds')!;
    assert.equal(gc.type, 'summary');
    assert.deepEqual(
      gc.values.map((v) => v.series),
      [...Array(5).fill('go_gc_duration_seconds'), 'go_gc_duration_seconds_sum', 'go_gc_duration_seconds_count'],
    );
  });

  test('timestamp_ms only when the exposition has one', () => {
    const doc = toCollectorJson(parseExposition('x{a="1"} 1 1700000000123\nx{a="2"} 2\n'), { nodeExporter: 'x', epochSeconds: 2 });
    assert.deepEqual(doc.metrics[0]!.values, [
      { labels: [{ name: 'a', value: '1' }], value: '1', timestamp_ms: 1700000000123 },
      { labels: [{ name: 'a', value: '2' }], value: '2' },
    ]);
  });

  test('OpenMetrics: series for _total/_created, exemplar, unit', () => {
    const doc = toCollectorJson(parseExposition(fixture('openmetrics.txt')), { nodeExporter: 'x', epochSeconds: 2 });
    const c = doc.metrics[0]!;
    assert.deepEqual(Object.keys(c), ['name', 'description', 'type', 'unit', 'values']);
    assert.equal(c.unit, 'requests');
    assert.deepEqual(c.values[0], {
      labels: [
        { name: 'method', value: 'get' },
        { name: 'code', value: '200' },
      ],
      value: '1027',
      series: 'acme_http_requests_total',
      timestamp_ms: 1520879607789,
      exemplar: { labels: [{ name: 'trace_id', value: 'KOO5S4vxi0o' }], value: '0.67' },
    });
    assert.equal(c.values[1]!.series, 'acme_http_requests_created');
    const hist = doc.metrics[1]!;
    assert.deepEqual(hist.values[0]!.exemplar, { labels: [{ name: 'trace_id', value: 'a' }], value: '0.05', timestamp_ms: 1520879607700 });
    const gauge = doc.metrics.find((m) => m.name === 'acme_temperature_celsius')!;
    assert.deepEqual(gauge.values[0], { labels: [{ name: 'sensor', value: 'cpu' }], value: '-Inf' });
    assert.equal(doc.metrics.find((m) => m.name === 'acme_mystery')!.type, 'unknown');
  });

  test('the document is a plain copy: mutating it leaves the parsed families alone', () => {
    const fams = parseExposition('x{a="1"} 1\n');
    const doc = toCollectorJson(fams, { nodeExporter: 'x', epochSeconds: 2 });
    doc.metrics[0]!.values[0]!.labels[0]!.value = 'changed';
    assert.equal(fams[0]!.samples[0]!.labels[0]!.value, '1');
  });
});

describe('collector JSON: epoch_timestamp', () => {
  test('formatted like Python str(time.time())', () => {
    assert.equal(formatEpochSeconds(1745233635.2172275), '1745233635.2172275');
    assert.equal(formatEpochSeconds(1745233631.0145035), '1745233631.0145035');
    assert.equal(formatEpochSeconds(1745233635), '1745233635.0');
    assert.equal(formatEpochSeconds(0.5), '0.5');
    assert.throws(() => formatEpochSeconds(NaN), RangeError);
  });

  test('defaults to now, with sub-millisecond precision', () => {
    const before = Date.now() / 1000;
    const doc = toCollectorJson([], { nodeExporter: 'x' });
    const after = Date.now() / 1000;
    const t = Number(doc.epoch_timestamp);
    assert.ok(t >= before - 0.01 && t <= after + 0.01, `${t} not in [${before}, ${after}]`);
    assert.match(doc.epoch_timestamp, /^\d{10}\.\d+$/);
    const from = Date.now() / 1000;
    const now = currentEpochSeconds();
    const to = Date.now() / 1000;
    assert.ok(now >= from - 0.001 && now <= to + 0.001, `currentEpochSeconds ${now} not in [${from}, ${to}]`);
  });
});

/**
 * Filters: query-string parsing, name and label filtering, dropping empty families, and the
 * equivalence of the parser's name pre-filter with filtering after a full parse.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import {
  applyFilter,
  ExpositionFilterError,
  filterFromSearchParams,
  isEmptyFilter,
  parseAndFilter,
  parseExposition,
  type MetricFamily,
} from '../../src/collector/exposition/index.js';

const nodeExporter = readFileSync(new URL('../fixtures/exposition/node-exporter.txt', import.meta.url), 'utf8');
const q = (s: string) => filterFromSearchParams(new URLSearchParams(s));
const summary = (fams: MetricFamily[]) =>
  fams.map((f) => [f.name, f.samples.map((s) => `${s.name}${s.labels.map((l) => `/${l.name}=${l.value}`).join('')}`)]);

const text = [
  '# TYPE rx counter',
  'rx{device="eth2"} 10',
  'rx{device="eth3"} 20',
  'rx{device="lo"} 30',
  '# TYPE tx counter',
  'tx{device="eth2",dir="out"} 1',
  'tx{device="eth3"} 2',
  '# TYPE h histogram',
  'h_bucket{le="1"} 1',
  'h_bucket{le="+Inf"} 2',
  'h_sum 3',
  'h_count 2',
  'load 0.5',
  '# HELP empty no samples',
  '',
].join('\n');
const families = parseExposition(text);

describe('filterFromSearchParams', () => {
  test('repeatable names, every other key a label filter', () => {
    const f = q('name=node_network_receive_bytes_total&name=node_network_receive_packets_total&device=eth2');
    assert.deepEqual(f, {
      names: new Set(['node_network_receive_bytes_total', 'node_network_receive_packets_total']),
      labels: new Map([['device', new Set(['eth2'])]]),
    });
  });

  test('comma lists and repeated label keys mean any of', () => {
    assert.deepEqual(q('device=eth2,eth3&device=lo&name=a,b'), {
      names: new Set(['a', 'b']),
      labels: new Map([['device', new Set(['eth2', 'eth3', 'lo'])]]),
    });
  });

  test('empty query is the empty filter; empty name entries are ignored; empty label value kept', () => {
    assert.deepEqual(q(''), {});
    assert.ok(isEmptyFilter(q('')));
    assert.deepEqual(q('name=&name=,a,'), { names: new Set(['a']) });
    assert.deepEqual(q('dir='), { labels: new Map([['dir', new Set([''])]]) });
    assert.ok(!isEmptyFilter(q('dir=')));
  });

  test('ignored keys and a custom name key', () => {
    assert.deepEqual(filterFromSearchParams(new URLSearchParams('target=r1&metric=x&device=eth2'), { ignore: ['target'], nameKey: 'metric' }), {
      names: new Set(['x']),
      labels: new Map([['device', new Set(['eth2'])]]),
    });
  });

  test('invalid label or metric names are rejected with ExpositionFilterError', () => {
    assert.throws(() => q('dev.ice=eth2'), (e: unknown) => e instanceof ExpositionFilterError && e.key === 'dev.ice');
    assert.throws(() => q('name=bad-name'), (e: unknown) => e instanceof ExpositionFilterError && e.key === 'name' && /bad-name/.test(e.message));
  });
});

describe('applyFilter', () => {
  test('by family names', () => {
    assert.deepEqual(summary(applyFilter(families, q('name=rx&name=tx'))), [
      ['rx', ['rx/device=eth2', 'rx/device=eth3', 'rx/device=lo']],
      ['tx', ['tx/device=eth2/dir=out', 'tx/device=eth3']],
    ]);
  });

  test('by names and label values (any of)', () => {
    assert.deepEqual(summary(applyFilter(families, q('name=rx,tx&device=eth2,eth3'))), [
      ['rx', ['rx/device=eth2', 'rx/device=eth3']],
      ['tx', ['tx/device=eth2/dir=out', 'tx/device=eth3']],
    ]);
  });

  test('labels are ANDed; an empty value matches a missing label', () => {
    assert.deepEqual(summary(applyFilter(families, q('device=eth3&dir='))), [
      ['rx', ['rx/device=eth3']],
      ['tx', ['tx/device=eth3']],
    ]);
  });

  test('series names select members of a family', () => {
    assert.deepEqual(summary(applyFilter(families, q('name=h_sum,h_count'))), [['h', ['h_sum', 'h_count']]]);
    assert.deepEqual(summary(applyFilter(families, q('name=h&le=%2BInf'))), [['h', ['h_bucket/le=+Inf']]]);
  });

  test('families without remaining samples are dropped', () => {
    assert.deepEqual(summary(applyFilter(families, q('device=nope'))), []);
    assert.deepEqual(summary(applyFilter(families, q('name=empty'))), []);
    assert.deepEqual(
      summary(applyFilter(families, {})).map((f) => f[0]),
      ['rx', 'tx', 'h', 'load'],
    );
  });

  test('untouched families are returned as is, filtered ones as copies', () => {
    const out = applyFilter(families, q('name=rx,load&device=eth2,'));
    assert.equal(out[1], families.find((f) => f.name === 'load'));
    assert.notEqual(out[0], families[0]);
    assert.equal(families[0]!.samples.length, 3);
  });
});

describe('parseAndFilter and the parser name pre-filter', () => {
  test('same result as filtering a full parse (node-exporter payload)', () => {
    const full = parseExposition(nodeExporter);
    for (const query of [
      'name=node_network_receive_bytes_total&name=node_network_receive_packets_total',
      'name=node_network_receive_bytes_total&name=node_network_receive_packets_total&device=eth0',
      'name=go_gc_duration_seconds&quantile=0.5,1',
      'name=go_gc_duration_seconds_count',
      'device=lo,eth0',
      '',
    ]) {
      const filter = q(query);
      assert.deepEqual(parseAndFilter(nodeExporter, filter), applyFilter(full, filter), query);
    }
  });

  test('the two network families via the pre-filter', () => {
    const got = parseExposition(nodeExporter, { names: ['node_network_receive_bytes_total', 'node_network_receive_packets_total'] });
    assert.deepEqual(
      got.map((f) => [f.name, f.type, f.samples.length]),
      [
        ['node_network_receive_bytes_total', 'counter', 3],
        ['node_network_receive_packets_total', 'counter', 3],
      ],
    );
  });

  test('pre-filter handles metadata of names it does not return', () => {
    // h_bucket as a wanted name must still see "# TYPE h histogram" to group correctly.
    assert.deepEqual(summary(parseExposition(text, { names: ['h_bucket'] })), [['h', ['h_bucket/le=1', 'h_bucket/le=+Inf']]]);
    // A declared family x_count wins over summary x for the name x_count.
    const t2 = '# TYPE x summary\nx{quantile="1"} 1\nx_sum 1\n# TYPE x_count gauge\nx_count 4\n';
    assert.deepEqual(parseExposition(t2, { names: ['x_count'] }), applyFilter(parseExposition(t2), q('name=x_count')));
    assert.equal(parseExposition(t2, { names: ['x_count'] })[0]!.type, 'gauge');
  });
});

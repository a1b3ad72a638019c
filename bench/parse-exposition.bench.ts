/**
 * Exposition parser benchmark: parses the saved real node-exporter payload
 * (test/fixtures/exposition/node-exporter.txt) many times after a warm-up and prints MB/s and
 * µs per payload for the full parse, the name-filtered parse (only the two network families
 * the ACROSS pipeline uses) and the whole collector path (filtered parse + collector JSON +
 * JSON.stringify). Figures are medians over batches (robust against other load on the box);
 * the best batch is shown too. Target: full parse >= 100 MB/s (exit code 1 when missed).
 *
 *   node --import tsx bench/parse-exposition.bench.ts
 */
import { readFileSync } from 'node:fs';

import { parseAndFilter, parseExposition, toCollectorJson, type ExpositionFilter } from '../src/collector/exposition/index.js';

const TARGET_MBPS = 100;
const WARMUP_MS = 700;
const MEASURE_MS = 1500;
const BATCH = 25;

const text = readFileSync(new URL('../test/fixtures/exposition/node-exporter.txt', import.meta.url), 'utf8');
const bytes = Buffer.byteLength(text, 'utf8');
const NETWORK = ['node_network_receive_bytes_total', 'node_network_receive_packets_total'];
const filter: ExpositionFilter = { names: new Set(NETWORK) };

interface Figure {
  mbps: number;
  us: number;
  bestMbps: number;
  payloads: number;
}

let sink = 0;

function measure(fn: () => number): Figure {
  const warmEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmEnd) sink += fn();
  const perPayload: number[] = [];
  const end = performance.now() + MEASURE_MS;
  let payloads = 0;
  while (performance.now() < end) {
    const t = performance.now();
    for (let i = 0; i < BATCH; i++) sink += fn();
    perPayload.push((performance.now() - t) / BATCH);
    payloads += BATCH;
  }
  perPayload.sort((a, b) => a - b);
  const median = perPayload[perPayload.length >> 1]!;
  const best = perPayload[0]!;
  return { mbps: bytes / 1e6 / (median / 1e3), us: median * 1e3, bestMbps: bytes / 1e6 / (best / 1e3), payloads };
}

const fmt = (f: Figure): string => `${f.mbps.toFixed(1)} MB/s, ${f.us.toFixed(0)} µs per payload (${bytes} bytes)`;

const full = measure(() => parseExposition(text).length);
const filtered = measure(() => parseExposition(text, { names: NETWORK }).length);
const collector = measure(
  () =>
    JSON.stringify(toCollectorJson(parseAndFilter(text, filter), { nodeExporter: 'r1:9100', epochSeconds: 1745233635.2172275 }))
      .length,
);

const families = parseExposition(text);
const samples = families.reduce((n, f) => n + f.samples.length, 0);
console.log(`payload: ${bytes} bytes, ${text.split('\n').length - 1} lines, ${families.length} families, ${samples} samples; node ${process.version}`);
console.log(`parse-exposition: ${fmt(full)} [best batch ${full.bestMbps.toFixed(1)} MB/s, ${full.payloads} payloads]`);
console.log(`parse-exposition (filtered, 2 network families): ${fmt(filtered)} [best batch ${filtered.bestMbps.toFixed(1)} MB/s]`);
console.log(`collector path (filtered parse + toCollectorJson + JSON.stringify): ${fmt(collector)}`);
const ok = full.mbps >= TARGET_MBPS;
console.log(`target full parse >= ${TARGET_MBPS} MB/s: ${ok ? 'met' : 'NOT met'}`);
if (!ok) process.exitCode = 1;
if (sink === -1) console.log('');

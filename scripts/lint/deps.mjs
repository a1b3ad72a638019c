#!/usr/bin/env node
/**
 * `npm run lint:deps`: dependency-cruiser's rules (.dependency-cruiser.cjs) over src/, and no
 * import cycle between src/'s top-level folders (dependency-cruiser's rules see files; a folder
 * cycle is found here on the graph collapsed to `src/<folder>`). Exit 1 on any violation.
 */
import { cruise, format } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

/**
 * Folder imports that close a cycle today and are being removed (the upward edge of each cycle);
 * left out of the graph before the cycles are sought. Each names its owner.
 */
const ALLOWED_FOLDER_EDGES = [
];

const options = await extractDepcruiseOptions('./.dependency-cruiser.cjs');
const result = await cruise(['src'], { ...options, validate: true }, undefined, { tsConfig: extractTSConfig('tsconfig.json') });
const report = await format(result.output, { outputType: 'err' });
process.stdout.write(report.output);

const folderOf = (path) => /^src\/[^/]+/.exec(path)?.[0];
/** folder → folder → an example `file → file` import. */
const edges = new Map();
for (const m of result.output.modules) {
  const from = folderOf(m.source);
  if (!from) continue;
  for (const d of m.dependencies) {
    const to = folderOf(d.resolved);
    if (!to || to === from || ALLOWED_FOLDER_EDGES.includes(`${from} → ${to}`)) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    if (!edges.get(from).has(to)) edges.get(from).set(to, `${m.source} → ${d.resolved}`);
  }
}

/** Strongly connected components (Tarjan): the folders that import each other, directly or around. */
function components(graph) {
  let index = 0;
  const idx = new Map(), low = new Map(), stack = [], on = new Set(), out = [];
  const visit = (v) => {
    idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do { w = stack.pop(); on.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

let folderErrors = 0;
for (const scc of components(edges)) {
  const members = new Set(scc);
  const pairs = [];
  for (const a of scc) for (const [b, example] of edges.get(a) ?? []) if (members.has(b)) pairs.push({ a, b, example });
  const name = scc.join(' ↔ ');
  folderErrors++;
  console.log(`\n  error no-folder-cycle: ${name}`);
  for (const p of pairs) console.log(`      ${p.a} → ${p.b}   (e.g. ${p.example})`);
}
// an allowed edge that no longer exists: the allow-list shrinks with the fixes
const seen = new Set();
for (const m of result.output.modules) for (const d of m.dependencies) seen.add(`${folderOf(m.source)} → ${folderOf(d.resolved)}`);
for (const e of ALLOWED_FOLDER_EDGES.filter((e) => !seen.has(e))) {
  folderErrors++;
  console.log(`\n  error stale-allowance: ${e} is gone: remove it from ALLOWED_FOLDER_EDGES (scripts/lint/deps.mjs)`);
}
if (folderErrors > 0) console.log(`\nx ${folderErrors} folder-level problem(s) (cycles between src/'s top-level folders, stale allowances).`);
process.exitCode = report.exitCode !== 0 || folderErrors > 0 ? 1 : 0;

/**
 * The web UI's files, served from the package itself (no CDN, no external font): the browser
 * code in src/ui/static/ (plain ES modules, type-checked by tsc with checkJs; docs/ui.md) and
 * uPlot's minified build from node_modules. Read once at start, kept in memory with a gzip
 * copy and a strong ETag.
 *
 * Caching: the assets live under a versioned path `/ui/<version>/…`, the version being a hash
 * of every file's content, so they are served `immutable` for a year and a new release changes
 * every URL; the page itself (`/`) is `no-cache` (revalidated with its ETag each time). Modules
 * import each other relatively, so they stay within one version.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
};

export interface StaticFile {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
}

export interface StaticBundle {
  version: string;
  /** Path under /ui/<version>/ → file. */
  files: Map<string, StaticFile>;
  index: StaticFile;
}

/** Where the browser code lives (the same from src/ and from dist/: the package ships src/ui/static). */
export const STATIC_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'ui', 'static');

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full));
    else out.push(full);
  }
  return out;
}

/** Files of the source directory that are not served: type declarations and the type-check config. */
const hidden = (rel: string) => rel.endsWith('.d.ts') || /(^|\/)tsconfig[^/]*\.json$/.test(rel) || rel === 'index.html';

function file(body: Buffer, type: string): StaticFile {
  const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 512;
  return { body, gzip: compressible ? gzipSync(body, { level: 9 }) : undefined, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

export function loadStaticBundle(dir = STATIC_DIR): StaticBundle {
  const files = new Map<string, StaticFile>();
  for (const full of walk(dir)) {
    const rel = relative(dir, full).split(sep).join('/');
    if (hidden(rel)) continue;
    const type = TYPES[extname(rel)];
    if (!type) continue;
    files.set(rel, file(readFileSync(full), type));
  }
  // uPlot, from the package (minified IIFE: ~51 KB, ~22 KB gzipped; it defines the global uPlot)
  const require = createRequire(import.meta.url);
  const uplotDir = dirname(require.resolve('uplot/package.json'));
  files.set('vendor/uplot.js', file(readFileSync(join(uplotDir, 'dist', 'uPlot.iife.min.js')), TYPES['.js']!));
  // one stylesheet: uPlot's (2 KB) then ours — one request fewer on a cold load
  files.set('app.css', file(Buffer.concat([readFileSync(join(uplotDir, 'dist', 'uPlot.min.css')), Buffer.from('\n'), readFileSync(join(dir, 'app.css'))]), TYPES['.css']!));
  const h = createHash('sha256');
  for (const [rel, f] of [...files.entries()].sort(([a], [b]) => a.localeCompare(b))) h.update(rel).update(f.etag);
  const template = readFileSync(join(dir, 'index.html'), 'utf8');
  h.update(template);
  const version = h.digest('hex').slice(0, 12);
  // every module is preloaded from the page: the browser fetches them in parallel instead of
  // discovering them import by import (the views are small; a cold load is one round of requests)
  const modules = [...files.keys()].filter((rel) => rel.endsWith('.js') && rel !== 'app.js' && !rel.startsWith('vendor/')).sort();
  const preload = modules.map((rel) => `<link rel="modulepreload" href="/ui/{{VERSION}}/${rel}">`).join('\n');
  const index = file(Buffer.from(template.split('{{MODULEPRELOAD}}').join(preload).split('{{VERSION}}').join(version)), TYPES['.html']!);
  return { version, files, index };
}

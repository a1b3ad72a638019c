/**
 * Reading wattflow's Grafana dashboards for the tests: their panels, queries and variables, and
 * Grafana's macro and variable substitution (what Grafana does before sending a query).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../e2e/helpers.js';

export const GRAFANA_DIR = join(ROOT, 'deploy', 'grafana');
export const DASHBOARD_FILES = ['wattflow-routers.json', 'wattflow-vehicles.json', 'wattflow-energy.json', 'wattflow-pipeline.json'];

export interface Target {
  refId?: string;
  datasource?: { type: string; uid: string };
  expr?: string;
  query?: string;
  rawQuery?: boolean;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  links?: Array<{ url?: string }>;
}

export interface Variable {
  type: string;
  name: string;
  query?: string | { query: string };
  datasource?: { type: string; uid: string };
  multi?: boolean;
  includeAll?: boolean;
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
  links?: Array<{ url?: string }>;
  tags: string[];
}

export function loadDashboards(): Array<{ file: string; d: Dashboard }> {
  return DASHBOARD_FILES.map((file) => ({ file, d: JSON.parse(readFileSync(join(GRAFANA_DIR, 'dashboards', file), 'utf8')) as Dashboard }));
}

export const variableQuery = (v: Variable): string => (typeof v.query === 'string' ? v.query : (v.query?.query ?? ''));

/** Every query of a dashboard: kind, panel, refId, text. */
export function queriesOf(d: Dashboard): Array<{ kind: 'promql' | 'influxql'; panel: Panel; refId: string; text: string }> {
  const out: Array<{ kind: 'promql' | 'influxql'; panel: Panel; refId: string; text: string }> = [];
  for (const p of d.panels) {
    for (const t of p.targets ?? []) {
      if (t.expr !== undefined) out.push({ kind: 'promql', panel: p, refId: t.refId ?? '', text: t.expr });
      else if (t.query !== undefined) out.push({ kind: 'influxql', panel: p, refId: t.refId ?? '', text: t.query });
    }
  }
  return out;
}

/** Grafana's built-in macros and variables: left alone by the variable check. */
export const BUILTINS = new Set(['timeFilter', '__interval', '__interval_ms', '__rate_interval', '__range', '__range_s', '__range_ms', 'col']);
const VAR_RE = /\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** Names of the variables a text refers to ($x, ${x}, ${x:fmt}); built-ins and $tag_… left out. */
export function variablesIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(VAR_RE)) {
    const name = m[1] ?? m[2]!;
    if (BUILTINS.has(name) || name.startsWith('tag_')) continue;
    out.push(name);
  }
  return out;
}

/** Grafana's substitution: macros with fixed values, variables with a regex alternation of their values (`.*` when not given). */
export function substitute(text: string, kind: 'promql' | 'influxql', values: Record<string, string[]> = {}): string {
  const macros: Record<string, string> =
    kind === 'promql' ? { __rate_interval: '30s', __interval: '15s', __range: '1h', __range_s: '3600', __interval_ms: '15000' } : { timeFilter: 'time > now() - 1h', __interval: '10s', __interval_ms: '10000' };
  return text.replace(VAR_RE, (whole, braced: string | undefined, plain: string | undefined) => {
    const name = braced ?? plain!;
    if (macros[name] !== undefined) return macros[name]!;
    if (name.startsWith('tag_') || name === 'col') return whole;
    const v = values[name];
    if (!v || v.length === 0) return '.*';
    // InfluxQL: inside /…/ (regex-escaped); PromQL: inside "…" ("." matching any character is harmless there)
    const esc = kind === 'influxql' ? v.map((x) => x.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')) : v;
    return esc.length === 1 ? esc[0]! : `(${esc.join('|')})`;
  });
}

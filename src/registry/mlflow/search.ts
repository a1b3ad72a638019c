/**
 * MLflow search requests: the subset of its filter grammar wattflow understands, `order_by`, and
 * page tokens.
 */
import { invalidParam, MlflowError } from './errors.js';

/**
 * The subset of MLflow's search filter grammar wattflow understands: conditions
 * `<key> = 'v'`, `!=`, `LIKE`, `ILIKE` (`%` and `_` wildcards), `IN ('a', 'b')`, joined by AND.
 * Anything else is refused naming what was not understood.
 */
export function nameFilter(filter: string | undefined, keys: readonly string[]): (row: Record<string, string>) => boolean {
  const f = (filter ?? '').trim();
  if (f === '') return () => true;
  const parts = f.split(/\s+AND\s+/i);
  const conds = parts.map((p) => {
    const m = /^\s*([A-Za-z_.`"]+)\s*(=|!=|LIKE|ILIKE|IN)\s*(.+?)\s*$/i.exec(p);
    if (!m) throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid filter '${f}': could not parse "${p.trim()}" (wattflow supports <key> = 'value', !=, LIKE, ILIKE, IN ('a', 'b') joined by AND; keys: ${keys.join(', ')})`);
    const key = m[1]!.replace(/[`"]/g, '');
    if (!keys.includes(key)) throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid filter '${f}': unsupported key "${key}" (keys: ${keys.join(', ')})`);
    const op = m[2]!.toUpperCase();
    const values = op === 'IN' ? parseInList(m[3]!, f) : [parseLiteral(m[3]!, f)];
    return { key, op, values };
  });
  return (row) =>
    conds.every(({ key, op, values }) => {
      const have = row[key] ?? '';
      switch (op) {
        case '=':
          return have === values[0];
        case '!=':
          return have !== values[0];
        case 'IN':
          return values.includes(have);
        default:
          return likeToRegExp(values[0]!, op === 'ILIKE').test(have);
      }
    });
}

function parseLiteral(s: string, f: string): string {
  const m = /^'((?:[^']|'')*)'$|^"((?:[^"]|"")*)"$|^(\d+)$/.exec(s.trim());
  if (!m) throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid filter '${f}': value ${s.trim()} must be a quoted string`);
  return m[1] !== undefined ? m[1].replace(/''/g, "'") : m[2] !== undefined ? m[2].replace(/""/g, '"') : m[3]!;
}

function parseInList(s: string, f: string): string[] {
  const m = /^\((.*)\)$/.exec(s.trim());
  if (!m) throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid filter '${f}': IN needs a list ('a', 'b')`);
  return m[1]!.split(',').map((x) => parseLiteral(x, f));
}

function likeToRegExp(pattern: string, insensitive: boolean): RegExp {
  const re = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
  return new RegExp(`^${re}$`, insensitive ? 'is' : 's');
}

export function sortBy<T>(rows: T[], orderBy: readonly string[], columns: Record<string, (r: T) => string | number>, tiebreak: string): T[] {
  const keys = orderBy.map((o) => {
    const m = /^\s*([A-Za-z_]+)(?:\s+(ASC|DESC))?\s*$/i.exec(o);
    const col = m?.[1];
    if (!m || !col || !Object.hasOwn(columns, col)) throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid order_by clause '${o}' (columns: ${Object.keys(columns).join(', ')}, with ASC or DESC)`);
    return { get: columns[col]!, desc: (m[2] ?? 'ASC').toUpperCase() === 'DESC' };
  });
  keys.push({ get: columns[tiebreak]!, desc: false });
  return [...rows].sort((a, b) => {
    for (const k of keys) {
      const x = k.get(a);
      const y = k.get(b);
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), 'en', { numeric: true });
      if (c !== 0) return k.desc ? -c : c;
    }
    return 0;
  });
}

export function paginate<T>(rows: T[], maxResults: number, token: string | undefined, limit: number): { page: T[]; next?: string } {
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > limit) throw invalidParam('max_results', maxResults, `an integer 1..${limit}`);
  let offset = 0;
  if (token) {
    try {
      offset = (JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset: number }).offset;
    } catch {
      offset = NaN;
    }
    if (!Number.isInteger(offset) || offset < 0) throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid page token, could not base64-decode it: ${token.slice(0, 100)}`);
  }
  const page = rows.slice(offset, offset + maxResults);
  const next = offset + maxResults < rows.length ? Buffer.from(JSON.stringify({ offset: offset + maxResults })).toString('base64') : undefined;
  return { page, ...(next ? { next } : {}) };
}

/**
 * How the registry's commands print: tables, deployment records (with the routers a broad scope
 * does not reach), and `models status`.
 */
import type { PublicRecord, RegistryClient } from '../client.js';
import type { StatusReport } from '../worker-status.js';

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export const fmt = (v: number | null | undefined, d = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '-');

export const scopeLabel = (s: PublicRecord['scope']): string => (s.kind === 'router' ? `router:${s.router}` : s.kind === 'router_type' ? `type:${s.router_type}` : 'all');
export const targetText = (t: PublicRecord['target'] | undefined): string =>
  !t ? '(cleared: broader scope or experiment default)' : t.kind === 'dummy' ? 'dummy (formula)' : `${t.model}@${t.version}${t.alias ? ` (follows @${t.alias})` : ''}`;

/** Same target: both cleared, both the formula, or the same model version followed the same way. */
function sameTarget(a: PublicRecord['target'] | null | undefined, b: PublicRecord['target'] | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  if (a.kind === 'dummy' || b.kind === 'dummy') return a.kind === b.kind;
  return a.model === b.model && a.version === b.version && (a.alias ?? '') === (b.alias ?? '');
}

function recordLines(records: PublicRecord[], verb: string): string[] {
  return records.map((r) => {
    const was = r.previous === undefined ? '' : sameTarget(r.target, r.previous) ? '   (unchanged: it already was the target)' : `   (was ${r.previous === null ? 'not set' : targetText(r.previous)})`;
    return `${verb} ${scopeLabel(r.scope).padEnd(16)} → ${targetText(r.target)}${was}`;
  });
}

const APPLY_LINE = 'inference workers apply it within seconds: `wattflow models status` shows desired vs actual';

export function printRecords(records: PublicRecord[], verb: string): void {
  for (const l of recordLines(records, verb)) console.log(l);
  console.log(APPLY_LINE);
}

/**
 * A deployment's records, plus the routers a broad scope does not reach: a router uses the
 * narrowest scope with a target (router > router type > all), so `deploy … --all` or
 * `rollback --all` leaves a router with its own deployment where it is — said, not hidden.
 */
export async function printDeployment(client: RegistryClient, records: PublicRecord[], verb: string): Promise<void> {
  for (const l of recordLines(records, verb)) console.log(l);
  const broad = records.filter((r) => r.target && r.scope.kind !== 'router');
  if (broad.length > 0) {
    let rows: StatusReport['routers'] = [];
    try {
      rows = (await client.status()).routers;
    } catch {
      /* the status is a courtesy here */
    }
    for (const r of broad) {
      const key = scopeLabel(r.scope);
      const kept = rows.filter(
        (row) =>
          row.desired_scope !== '' &&
          row.desired_scope !== key &&
          (r.scope.kind === 'all' || (r.scope.kind === 'router_type' && row.router_type === r.scope.router_type && row.desired_scope.startsWith('router:'))),
      );
      for (const row of kept) {
        console.log(
          `  ${row.router} stays on ${row.desired} (its narrower deployment ${row.desired_scope} wins: ` +
            `\`wattflow models undeploy --routers ${row.router}\` to let ${key} apply, or \`wattflow models switch …\` to set every router of ${key})`,
        );
      }
    }
  }
  console.log(APPLY_LINE);
}

export function formatStatus(s: StatusReport): string {
  const out: string[] = ['desired:'];
  if (s.desired.length === 0) out.push('  (nothing deployed: every router uses its experiment default)');
  else out.push(table(s.desired.map((d) => [`  ${d.scope}`, d.target, d.deployed_at])));
  out.push('', 'workers:');
  if (s.workers.length === 0) out.push('  (no inference worker has reported yet)');
  else
    out.push(
      table(
        s.workers.map((w) => [
          `  ${w.worker}`,
          w.reachable === false ? 'unreachable' : w.state,
          `status changed ${w.stale_seconds} s ago`,
          w.models.map((m) => `${m.model}@${m.version}`).join(', ') || 'no models',
          w.errors.length ? `last error: ${w.errors[w.errors.length - 1]!.code} ${w.errors[w.errors.length - 1]!.error}` : '',
        ]),
      ),
    );
  const running = s.workers.filter((w) => w.state === 'running' && w.reachable !== false).map((w) => w.worker);
  out.push('', 'routers (✓ = serving the desired model):');
  const rows = [['  ROUTER', 'TYPE', 'DESIRED', 'FROM', ...running]];
  for (const r of s.routers) {
    rows.push([
      `  ${r.router}`,
      r.router_type,
      r.desired,
      r.desired_scope || 'experiment',
      ...running.map((w) => {
        const a = r.workers[w];
        return !a ? '-' : `${a.actual} ${a.ok ? '✓' : '✗'}${a.error ? ` (${a.error})` : ''}`;
      }),
    ]);
  }
  out.push(table(rows));
  return out.join('\n');
}

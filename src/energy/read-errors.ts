/**
 * Unreadable or malformed sysfs/procfs files: the reader skips them, counts them by kind
 * (wattflow_energy_read_errors_total{file_kind}) and logs the first one of each kind, so a
 * broken file never stops the exporter nor floods the log.
 */
import type { Logger } from '../core/logger.js';

export type FileKind =
  | 'rapl_name'
  | 'rapl_energy'
  | 'rapl_max_energy'
  | 'proc_stat'
  | 'proc_meminfo'
  | 'proc_cpuinfo'
  | 'proc_pid_stat'
  | 'proc_pid_cgroup'
  | 'proc_pid_cmdline'
  | 'proc_pid_exe'
  | 'kube_logs'
  | 'docker_config';

export class ReadErrors {
  readonly counts = new Map<FileKind, number>();
  private readonly logged = new Set<FileKind>();

  constructor(private readonly logger?: Logger) {}

  /** `level`: 'info' for what is expected without privileges (another user's executable link). */
  record(kind: FileKind, path: string, reason: string, level: 'warn' | 'info' = 'warn'): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    if (this.logged.has(kind)) return;
    this.logged.add(kind);
    this.logger?.[level](
      { file_kind: kind, path, reason },
      'energy: unreadable or malformed file skipped (logged once per kind; all counted in wattflow_energy_read_errors_total)',
    );
  }

  count(kind: FileKind): number {
    return this.counts.get(kind) ?? 0;
  }

  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
}

/** The errno code of a failed read, or the message. */
export function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? e?.message ?? String(err);
}

/** A process that exited between the directory listing and the read: not an error. */
export function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ESRCH';
}

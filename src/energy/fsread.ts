/**
 * Small synchronous reads of kernel pseudo-files (/proc/<pid>/stat, energy_uj, …): open, one
 * read into a reused buffer, close — three system calls and no stream, which is what reading
 * thousands of tiny files per interval needs. Pseudo-files report size 0, so fs.readFileSync's
 * size-based path does not help; this reads up to the buffer's size (larger files use
 * readFileSync).
 */
import { closeSync, openSync, readSync } from 'node:fs';

const buf = Buffer.allocUnsafe(16 * 1024);

/** The file's text (up to 16 KiB); throws the fs error (ENOENT, EACCES, …). */
export function readSmall(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n === buf.length) break;
    }
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}

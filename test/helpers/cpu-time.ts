/**
 * CPU time this process spends (ms): for tests bounding the cost of a computation (linear, not
 * exponential), unlike wall-clock time it does not grow when other processes load the machine.
 */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs `fn` and returns its result with the CPU milliseconds it took. */
export function withCpuMs<T>(fn: () => T): { result: T; ms: number } {
  const t0 = cpuMs();
  const result = fn();
  return { result, ms: cpuMs() - t0 };
}

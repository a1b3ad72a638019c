/**
 * Kepler's attribution model, as pure functions (monitor.ts applies them each interval):
 *
 *  - node: each zone's energy ΔE splits into active = ΔE × u and idle = ΔE × (1 − u), u the
 *    interval's CPU usage ratio ((Δtotal − Δidle − Δiowait) / Δtotal from /proc/stat); idle
 *    energy stays at the node;
 *  - a workload (process, container, pod) gets active × (its CPU-time Δ / node CPU-time Δ),
 *    the node CPU-time Δ being the sum of every process's Δ (so the shares add up to 1 and the
 *    attributed energy to the node's active energy); a container's Δ is the sum of its
 *    processes', a pod's the sum of its containers';
 *  - in one process running several stages (`wattflow up`), the process's energy splits by the
 *    stages' measured CPU time (stage-cpu.ts), the rest to the process's own role.
 */

/** The interval's CPU usage ratio from two /proc/stat readings (0 when no time passed). */
export function usageRatio(prev: { total: number; active: number }, cur: { total: number; active: number }): number {
  const dTotal = cur.total - prev.total;
  if (!(dTotal > 0)) return 0;
  return Math.min(1, Math.max(0, (cur.active - prev.active) / dTotal));
}

/** Active and idle parts of a zone's energy. */
export function splitActiveIdle(deltaJ: number, usage: number): { active: number; idle: number } {
  const active = deltaJ * usage;
  return { active, idle: deltaJ - active };
}

/** A workload's share of the node's active energy. */
export function cpuShare(workloadCpuDelta: number, nodeCpuDelta: number): number {
  return nodeCpuDelta > 0 && workloadCpuDelta > 0 ? workloadCpuDelta / nodeCpuDelta : 0;
}

/**
 * Splits one process's energy over the stages it runs by their CPU time in the interval (each
 * stage's CPU Δ / the process's CPU Δ; if measurement noise makes the stages add up to more
 * than the process, they are scaled down to it); what remains goes to the process itself.
 */
export function splitByStages(processJ: number, processCpuS: number, stageCpuS: ReadonlyMap<string, number>): { stages: Map<string, number>; rest: number } {
  const stages = new Map<string, number>();
  let sum = 0;
  for (const v of stageCpuS.values()) sum += Math.max(0, v);
  const denom = Math.max(processCpuS, sum);
  let given = 0;
  for (const [stage, cpu] of stageCpuS) {
    const j = denom > 0 ? processJ * (Math.max(0, cpu) / denom) : 0;
    stages.set(stage, j);
    given += j;
  }
  return { stages, rest: Math.max(0, processJ - given) };
}

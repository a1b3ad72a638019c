/**
 * Power coefficients of the estimator (used where RAPL is absent: VMs, most clouds).
 *
 * Source: Cloud Carbon Footprint (CCF) methodology, "Energy Estimate (Watt-Hours)"
 * (https://www.cloudcarbonfootprint.org/docs/methodology/#energy-estimate-watt-hours): average
 * minimum and maximum watts per vCPU over each provider's CPU microarchitectures, from SPECpower
 * results, and 0.392 W per GB of memory (the same for every provider). They are averages over
 * fleets, not measurements of one machine: the estimator's figures are estimates.
 */

export type Platform = 'aws' | 'gcp' | 'azure' | 'custom';

export interface Coefficients {
  /** Watts of one vCPU at 0 % utilisation. */
  minWattsPerVcpu: number;
  /** Watts of one vCPU at 100 % utilisation. */
  maxWattsPerVcpu: number;
  /** Watts per GB of memory (constant: memory power does not follow CPU utilisation in this model). */
  memoryWattsPerGb: number;
}

export const CCF_MEMORY_WATTS_PER_GB = 0.392;

/** CCF's published averages per cloud provider. */
export const CCF_COEFFICIENTS: Record<Exclude<Platform, 'custom'>, Coefficients> = {
  aws: { minWattsPerVcpu: 0.74, maxWattsPerVcpu: 3.5, memoryWattsPerGb: CCF_MEMORY_WATTS_PER_GB },
  gcp: { minWattsPerVcpu: 0.71, maxWattsPerVcpu: 4.26, memoryWattsPerGb: CCF_MEMORY_WATTS_PER_GB },
  azure: { minWattsPerVcpu: 0.78, maxWattsPerVcpu: 3.76, memoryWattsPerGb: CCF_MEMORY_WATTS_PER_GB },
};

/**
 * The coefficients in use: the platform's, each overridable; `custom` takes the overrides only
 * (min and max watts per vCPU are then required; memory defaults to CCF's 0.392 W/GB).
 * Throws with the missing or inconsistent setting named.
 */
export function resolveCoefficients(platform: Platform, overrides: Partial<Coefficients> = {}): Coefficients {
  const base: Partial<Coefficients> = platform === 'custom' ? { memoryWattsPerGb: CCF_MEMORY_WATTS_PER_GB } : CCF_COEFFICIENTS[platform];
  const c = { ...base, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) } as Partial<Coefficients>;
  if (c.minWattsPerVcpu === undefined) throw new Error('platform "custom" needs estimator.minWattsPerVcpu');
  if (c.maxWattsPerVcpu === undefined) throw new Error('platform "custom" needs estimator.maxWattsPerVcpu');
  if (c.memoryWattsPerGb === undefined) c.memoryWattsPerGb = CCF_MEMORY_WATTS_PER_GB;
  if (c.maxWattsPerVcpu < c.minWattsPerVcpu) {
    throw new Error(`estimator.maxWattsPerVcpu (${c.maxWattsPerVcpu}) is below estimator.minWattsPerVcpu (${c.minWattsPerVcpu})`);
  }
  return c as Coefficients;
}

/** Shapes of MLflow's JSON answers: times in ms, empty fields left out. */

export const ms = (iso: string): number => Date.parse(iso);

export const omitEmpty = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))) as T;

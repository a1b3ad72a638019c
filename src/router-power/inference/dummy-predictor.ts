/**
 * The formula "dummy" power model of the reference (ML dummy): one formula file per router
 * type (models/dummy/<router_type>.txt, else default.txt; or a configured directory), loaded
 * and compiled once at start-up so a bad formula fails the start with file and position.
 */
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundledFormulaPath, loadFormulaFileSync, type DummyFormula } from '../../ml/formula/index.js';
import type { PowerFeatures, PowerPrediction, PowerPredictor } from './predictor.js';

export class DummyPredictor implements PowerPredictor {
  readonly info;

  constructor(
    readonly routerType: string,
    private readonly formula: DummyFormula,
  ) {
    const digest = createHash('sha256').update(readFileSync(formula.source)).digest('hex').slice(0, 12);
    this.info = { model_type: 'dummy', model: `dummy:${routerType}`, version: digest, router_type: routerType };
  }

  async predict(rows: PowerFeatures[]): Promise<PowerPrediction[]> {
    const f = this.formula;
    return rows.map((r) => ({
      power: f.energy(r.occupation, r.packetLength),
      dPowerDOccupation: f.dzdx(r.occupation, r.packetLength),
      dPowerDPacketLength: f.dzdy(r.occupation, r.packetLength),
    }));
  }
}

/** Formula file of a router type: `<dir>/<type>.txt`, `<dir>/default.txt`, else the bundled one. */
export function formulaPathFor(routerType: string, dir?: string): string {
  if (dir) {
    for (const name of [`${routerType}.txt`, 'default.txt']) {
      const p = join(dir, name);
      if (existsSync(p)) return p;
    }
  }
  return bundledFormulaPath(routerType);
}

/** Caches one DummyPredictor per router type; loading fails loudly (FormulaError). */
export class DummyPredictors {
  private readonly byType = new Map<string, DummyPredictor>();
  constructor(private readonly dir?: string) {}

  get(routerType: string): DummyPredictor {
    let p = this.byType.get(routerType);
    if (!p) {
      p = new DummyPredictor(routerType, loadFormulaFileSync(formulaPathFor(routerType, this.dir)));
      this.byType.set(routerType, p);
    }
    return p;
  }

  /** Loads every router type now (start-up validation). */
  preload(routerTypes: Iterable<string>): void {
    for (const t of routerTypes) this.get(t);
  }
}

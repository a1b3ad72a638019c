/**
 * The registry's side of the control topic: announces deployment records (one batch, then
 * recorded in the catalog) and, at start, reconciles the topic with the recorded desired state.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../core/logger.js';
import { counter } from '../core/metrics.js';
import type { Fabric } from '../fabric/fabric.js';
import type { ModelCatalog } from './catalog.js';
import { parseDeploymentRecord, scopeKey, targetLabel, type DeploymentRecord } from './control.js';
import { deploymentRecords, type DeploymentChange } from './deployment-resolution.js';
import { RegistryError } from './errors.js';

const deployments = counter<'target'>({
  name: 'wattflow_registry_deployments_total',
  help: 'Deployment records announced on the control channel, per target kind (model|dummy|cleared)',
  labelNames: ['target'],
});

export class ControlAnnouncer {
  constructor(
    private readonly o: {
      catalog: ModelCatalog;
      fabric: Fabric | undefined;
      controlTopic: string;
      statusTopic: string;
      logger: Logger;
      now: () => Date;
    },
  ) {}

  /** Creates the control and status topics. */
  async ensureTopics(): Promise<void> {
    await this.o.fabric?.ensureTopics([
      { name: this.o.controlTopic, compacted: true },
      { name: this.o.statusTopic, compacted: true },
    ]);
  }

  /**
   * Reconciles the control topic with the recorded desired state: per scope the newer record
   * wins (a restart between recording and announcing re-announces; records announced by another
   * registry instance are adopted).
   */
  async reconcile(): Promise<void> {
    const fabric = this.o.fabric;
    if (!fabric) return;
    const onTopic = new Map<string, DeploymentRecord>();
    for (const m of await fabric.readAll(this.o.controlTopic)) {
      const r = parseDeploymentRecord(m.key, m.value);
      if (r) onTopic.set(m.key, r);
    }
    const recorded = await this.o.catalog.listDeployments();
    const republish: Array<[string, DeploymentRecord]> = [];
    for (const [key, r] of recorded) {
      const t = onTopic.get(key);
      if (!t || (t.id !== r.id && r.deployed_at > t.deployed_at)) republish.push([key, r]);
    }
    for (const [key, t] of onTopic) {
      const r = recorded.get(key);
      if (!r || (t.id !== r.id && t.deployed_at > r.deployed_at)) await this.o.catalog.putDeployment(key, t);
    }
    if (republish.length > 0) {
      await fabric.publishBatch(republish.map(([key, r]) => ({ topic: this.o.controlTopic, key, value: JSON.stringify(r) })));
      this.o.logger.info({ scopes: republish.map(([k]) => k) }, 're-announced recorded deployments on the control topic');
    }
  }

  /** Records then announces new targets (one batch on the control topic). */
  async announce(changes: DeploymentChange[], desired: ReadonlyMap<string, DeploymentRecord>): Promise<DeploymentRecord[]> {
    const records = deploymentRecords(changes, desired, this.o.now().toISOString(), randomUUID);
    if (this.o.fabric) {
      try {
        await this.o.fabric.publishBatch(records.map((r) => ({ topic: this.o.controlTopic, key: scopeKey(r.scope), value: JSON.stringify(r) })));
      } catch (err) {
        throw new RegistryError('UNAVAILABLE', `cannot announce the deployment on ${this.o.controlTopic}: ${(err as Error).message}`, undefined, { cause: err });
      }
    }
    for (const r of records) {
      await this.o.catalog.putDeployment(scopeKey(r.scope), r);
      deployments.inc({ target: r.target ? r.target.kind : 'cleared' });
    }
    this.o.logger.info({ deployments: records.map((r) => `${scopeKey(r.scope)} → ${targetLabel(r.target)}`) }, 'deployment announced');
    return records;
  }
}

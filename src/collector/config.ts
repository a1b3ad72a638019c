/**
 * The `collector` section of the app configuration: which exporters the collector may scrape,
 * and its timeout and response-size limit.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigSection } from '../core/config.js';

export const collectorSection = ConfigSection({
  /** host:port targets the collector may scrape (no arbitrary outbound requests). */
  allowTargets: Type.Array(Type.String({ pattern: '^[^\\s/]+:\\d+$' }), { default: ['127.0.0.1:9100', 'localhost:9100'] }),
  /** Allow any target (only for trusted networks). */
  allowAnyTarget: Type.Boolean({ default: false }),
  timeoutMs: Type.Integer({ minimum: 1, default: 5000 }),
  maxResponseBytes: Type.Integer({ minimum: 1024, default: 16 * 1024 * 1024 }),
});
export type CollectorConfig = Static<typeof collectorSection>;

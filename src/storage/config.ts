/**
 * The `storage` section of the app configuration: the embedded storage's directory and retention.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigSection } from '../core/config.js';

export const storageSection = ConfigSection({
  /** Directory of the embedded storage (SQLite file etc.). */
  dir: Type.String({ default: '.wattflow' }),
  /** History kept per series, in hours. */
  retentionHours: Type.Number({ exclusiveMinimum: 0, default: 24 }),
});
export type StorageConfig = Static<typeof storageSection>;

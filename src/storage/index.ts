/**
 * The embedded storage: the TimeSeriesStore interface and its two implementations, and
 * `openTimeSeriesStore(config.storage)`: SQLite in `<dir>/wattflow.db` when a directory is
 * configured, in memory when `dir` is '' or ':memory:'. See types.ts for the semantics and
 * docs/storage.md for the choice of node-sqlite3-wasm.
 */
import { MemoryStore } from './memory-store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { StoreOptions, TimeSeriesStore } from './types.js';

export * from './types.js';
export { MemoryStore } from './memory-store.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';

export { storageSection, type StorageConfig } from './config.js';

export interface OpenStoreOptions extends StoreOptions {
  /** Directory of the SQLite file; '' or ':memory:' (or absent) → in memory. */
  dir?: string;
  file?: string;
  synchronous?: SqliteStoreOptions['synchronous'];
}

export async function openTimeSeriesStore(opts: OpenStoreOptions): Promise<TimeSeriesStore> {
  const dir = opts.dir?.trim() ?? '';
  if (dir === '' || dir === ':memory:') return new MemoryStore(opts);
  return new SqliteStore({ ...opts, dir });
}

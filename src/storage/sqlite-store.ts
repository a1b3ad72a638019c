/**
 * The SQLite TimeSeriesStore (node-sqlite3-wasm: SQLite compiled to WebAssembly, reading and
 * writing a real file through Node's fs — no native build; see docs/storage.md for the
 * choice). One file `<dir>/wattflow.db`:
 *
 *   series(id, name UNIQUE, latest_ts, latest_fields JSON, latest_tags JSON, latest_doc)
 *   samples(series_id, ts, fields JSON)   PRIMARY KEY (series_id, ts), WITHOUT ROWID
 *   kv(key PRIMARY KEY, value JSON, updated_ms)
 *   meta(key PRIMARY KEY, value)           schema version
 *
 * One row per appended message (fields as a JSON object) keeps writes cheap — one insert per
 * message, one transaction per append() — and the primary key makes redelivered messages
 * replace themselves. range() reads one field with `->>` (or json_each for keys that are not
 * plain identifiers).
 *
 * Journal: WAL with `locking_mode=EXCLUSIVE` (the WASM VFS has no shared memory, and WAL
 * without shared memory needs exclusive mode) and `synchronous=NORMAL` by default: a commit
 * survives a process crash; an OS crash or power loss may lose the last commits but never
 * corrupts the file. `synchronous: 'FULL'` makes every commit durable against power loss too
 * (one fsync per append). Exclusive mode means one process at a time: the VFS locks with a
 * `<file>.lock` directory, which a crashed process leaves behind; so the store also writes
 * `<file>.pid` and, on open, removes a lock whose owner process is gone (or refuses with the
 * owner's pid when it is alive).
 *
 * The WASM calls are synchronous: each method runs to completion on the event loop; retention
 * deletes in chunks of 5,000 rows and yields between chunks.
 */
import { mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import sqlite from 'node-sqlite3-wasm';
import { OperatorError, runningUp, shortPath } from '../core/instance.js';
import {
  DEFAULT_RANGE_LIMIT,
  finiteFields,
  pruneInterval,
  validateRow,
  type KvEntry,
  type LatestRow,
  type RangePoint,
  type SeriesInfo,
  type SeriesRow,
  type StoreOptions,
  type TimeSeriesStore,
} from './types.js';

type Database = InstanceType<typeof sqlite.Database>;
type Statement = ReturnType<Database['prepare']>;
type Row = Record<string, unknown>;

export interface SqliteStoreOptions extends StoreOptions {
  /** Directory of the database (created when missing). */
  dir: string;
  /** File name inside `dir` (default wattflow.db). */
  file?: string;
  /** NORMAL (default): durable across process crashes; FULL: across power loss too. */
  synchronous?: 'NORMAL' | 'FULL';
}

const SCHEMA_VERSION = '1';
const PRUNE_CHUNK = 5000;
/** Rows written per transaction (and per event-loop turn) by append(). */
const APPEND_CHUNK = 100;
const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The storage file belongs to another live process (an expected operator error: one line, exit
 * 2). Names the owner — a running `wattflow up` with its URL when it is one — and the ways out.
 */
export class StorageInUseError extends OperatorError {
  constructor(
    readonly file: string,
    readonly owner: number,
  ) {
    const up = runningUp(dirname(file));
    const who = up?.pid === owner ? `wattflow up (pid ${owner}, ${up.url})` : `process ${owner}`;
    super(
      `storage ${shortPath(file)} is in use by ${who}: one process at a time — stop it, or give this process its own storage ` +
        `(WATTFLOW__storage__dir=DIR or storage.dir in --config)${up?.pid === owner ? '' : `; if process ${owner} is not wattflow, delete ${shortPath(`${file}.pid`)}`}`,
    );
  }
}

/** Paths opened by this process (a second open would hit the VFS lock with a vaguer error). */
const openPaths = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes ownership of a database file: `<file>.pid`, removing a lock left by a dead owner. */
function acquire(file: string): void {
  const pidFile = `${file}.pid`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(pidFile, `${process.pid}\n`, { flag: 'wx' });
      // We own the file now: a lock directory left behind is stale (its owner crashed).
      rmSync(`${file}.lock`, { recursive: true, force: true });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = NaN;
    try {
      owner = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    } catch {
      /* vanished or unreadable: treat as stale */
    }
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
      throw new StorageInUseError(file, owner);
    }
    try {
      unlinkSync(pidFile);
    } catch {
      /* someone else removed it */
    }
  }
  throw new Error(`storage ${file}: another process took it over while opening`);
}

function release(file: string): void {
  try {
    const owner = Number.parseInt(readFileSync(`${file}.pid`, 'utf8'), 10);
    if (owner === process.pid) unlinkSync(`${file}.pid`);
  } catch {
    /* already gone */
  }
}

export class SqliteStore implements TimeSeriesStore {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  private readonly db: Database;
  private readonly stmts: Statement[] = [];
  private readonly insertSample: Statement;
  private readonly insertSeries: Statement;
  private readonly updateLatest: Statement;
  private readonly selectSeriesId: Statement;
  private readonly seriesIds = new Map<string, number>();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly firstPrune: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private closed = false;
  private pruning: Promise<number> | undefined;

  constructor(private readonly opts: SqliteStoreOptions) {
    this.now = opts.now ?? Date.now;
    mkdirSync(opts.dir, { recursive: true });
    this.path = resolve(join(opts.dir, opts.file ?? 'wattflow.db'));
    if (openPaths.has(this.path)) throw new Error(`storage ${this.path} is already open in this process`);
    acquire(this.path);
    let db: Database | undefined;
    try {
      db = new sqlite.Database(this.path);
      db.exec('PRAGMA locking_mode=EXCLUSIVE');
      const mode = db.get('PRAGMA journal_mode=WAL') as Row | null;
      if (String(mode?.journal_mode).toLowerCase() !== 'wal') throw new Error(`cannot enable WAL (journal_mode=${String(mode?.journal_mode)})`);
      db.exec(`PRAGMA synchronous=${opts.synchronous ?? 'NORMAL'}`);
      db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS series (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL UNIQUE,
          latest_ts INTEGER NOT NULL,
          latest_fields TEXT NOT NULL,
          latest_tags TEXT NOT NULL,
          latest_doc TEXT
        );
        CREATE TABLE IF NOT EXISTS samples (
          series_id INTEGER NOT NULL,
          ts INTEGER NOT NULL,
          fields TEXT NOT NULL,
          PRIMARY KEY (series_id, ts)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_ms INTEGER NOT NULL) WITHOUT ROWID;
      `);
      const version = (db.get(`SELECT value FROM meta WHERE key = 'schema_version'`) as Row | null)?.value;
      if (version === undefined) db.run(`INSERT INTO meta (key, value) VALUES ('schema_version', ?)`, SCHEMA_VERSION);
      else if (version !== SCHEMA_VERSION) throw new Error(`unsupported schema version ${String(version)} (this build reads ${SCHEMA_VERSION})`);
    } catch (err) {
      try {
        db?.close();
      } catch {
        /* ignore */
      }
      release(this.path);
      throw new Error(`cannot open storage ${this.path}: ${(err as Error).message}`);
    }
    this.db = db;
    openPaths.add(this.path);
    this.insertSample = this.prepare('INSERT OR REPLACE INTO samples (series_id, ts, fields) VALUES (?, ?, ?)');
    this.insertSeries = this.prepare(
      'INSERT INTO series (name, latest_ts, latest_fields, latest_tags, latest_doc) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING',
    );
    this.selectSeriesId = this.prepare('SELECT id FROM series WHERE name = ?');
    this.updateLatest = this.prepare(
      'UPDATE series SET latest_ts = ?, latest_fields = ?, latest_tags = ?, latest_doc = ? WHERE id = ? AND latest_ts <= ?',
    );
    const every = pruneInterval(opts);
    if (every > 0) {
      // A first pass soon after opening (rows may have aged while the process was down).
      this.firstPrune = setTimeout(() => void this.prune().catch(() => undefined), Math.min(every, 5000));
      this.firstPrune.unref();
      this.timer = setInterval(() => void this.prune().catch(() => undefined), every);
      this.timer.unref();
    }
  }

  private prepare(sql: string): Statement {
    const st = this.db.prepare(sql);
    this.stmts.push(st);
    return st;
  }

  private check(): void {
    if (this.closed) throw new Error('store is closed');
  }

  private transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async append(rows: readonly SeriesRow[]): Promise<void> {
    this.check();
    if (rows.length === 0) return;
    for (const row of rows) validateRow(row);
    // the WASM calls block the event loop: a large batch goes in chunks, one transaction and
    // one event-loop turn each (rows replace themselves, so a batch redelivered after a failed
    // chunk is harmless; latest_* only moves forward)
    for (let i = 0; i < rows.length; i += APPEND_CHUNK) {
      if (i > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.check();
      }
      this.appendChunk(rows.length <= APPEND_CHUNK ? rows : rows.slice(i, i + APPEND_CHUNK));
    }
  }

  private appendChunk(rows: readonly SeriesRow[]): void {
    // The latest state is written once per series (its newest row), the samples all.
    const newest = new Map<string, SeriesRow>();
    for (const row of rows) {
      const cur = newest.get(row.series);
      if (!cur || Math.round(row.tsMs) >= Math.round(cur.tsMs)) newest.set(row.series, row);
    }
    this.transaction(() => {
      for (const [series, row] of newest) {
        const ts = Math.round(row.tsMs);
        const fields = JSON.stringify(finiteFields(row.fields));
        const tags = JSON.stringify(row.tags ?? {});
        const doc = row.doc ?? null;
        let id = this.seriesIds.get(series);
        if (id === undefined) {
          const ins = this.insertSeries.run([series, ts, fields, tags, doc]);
          if (ins.changes > 0) id = Number(ins.lastInsertRowid);
          else {
            id = Number((this.selectSeriesId.get(series) as Row).id);
            this.updateLatest.run([ts, fields, tags, doc, id, ts]);
          }
          this.seriesIds.set(series, id);
        } else this.updateLatest.run([ts, fields, tags, doc, id, ts]);
      }
      for (const row of rows) this.insertSample.run([this.seriesIds.get(row.series)!, Math.round(row.tsMs), JSON.stringify(finiteFields(row.fields))]);
    });
  }

  async latest(series: string): Promise<LatestRow | undefined> {
    this.check();
    const r = this.db.get('SELECT latest_ts, latest_fields, latest_tags, latest_doc FROM series WHERE name = ?', series) as Row | null;
    if (!r) return undefined;
    const out: LatestRow = {
      tsMs: Number(r.latest_ts),
      fields: JSON.parse(String(r.latest_fields)) as Record<string, number>,
      tags: JSON.parse(String(r.latest_tags)) as Record<string, string>,
    };
    if (r.latest_doc !== null && r.latest_doc !== undefined) out.doc = String(r.latest_doc);
    return out;
  }

  async listSeries(prefix = ''): Promise<SeriesInfo[]> {
    this.check();
    const rows = this.db.all(
      'SELECT name, latest_ts FROM series WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name',
      [prefix],
    ) as Row[];
    return rows.map((r) => ({ series: String(r.name), latestTsMs: Number(r.latest_ts) }));
  }

  async range(series: string, field: string, fromMs: number, toMs: number, limit = DEFAULT_RANGE_LIMIT): Promise<RangePoint[]> {
    this.check();
    const id = this.seriesIds.get(series) ?? (this.db.get('SELECT id FROM series WHERE name = ?', series) as Row | null)?.id;
    if (id === undefined || id === null) return [];
    const from = Math.max(Number.MIN_SAFE_INTEGER, Math.ceil(fromMs));
    const to = Math.min(Number.MAX_SAFE_INTEGER, Math.floor(toMs));
    const n = Math.max(0, Math.floor(limit));
    const rows = (
      SIMPLE_KEY.test(field)
        ? this.db.all(
            `SELECT ts, fields ->> ? AS v FROM samples WHERE series_id = ? AND ts BETWEEN ? AND ? AND v IS NOT NULL ORDER BY ts LIMIT ?`,
            [`$.${field}`, Number(id), from, to, n],
          )
        : this.db.all(
            `SELECT s.ts AS ts, j.value AS v FROM samples s, json_each(s.fields) j
             WHERE s.series_id = ? AND s.ts BETWEEN ? AND ? AND j.key = ? AND j.value IS NOT NULL ORDER BY s.ts LIMIT ?`,
            [Number(id), from, to, field, n],
          )
    ) as Row[];
    return rows.map((r) => ({ tsMs: Number(r.ts), value: Number(r.v) }));
  }

  async prune(nowMs = this.now()): Promise<number> {
    if (this.closed) return 0;
    // One retention pass at a time (the timer and an explicit call may overlap).
    this.pruning ??= this.pruneNow(nowMs).finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  private async pruneNow(nowMs: number): Promise<number> {
    const cutoff = Math.floor(nowMs - this.opts.retentionHours * 3_600_000);
    let deleted = 0;
    const ids = (this.db.all('SELECT id FROM series') as Row[]).map((r) => Number(r.id));
    for (const id of ids) {
      for (;;) {
        if (this.closed) return deleted;
        const { changes } = this.db.run(
          `DELETE FROM samples WHERE series_id = ?1 AND ts IN (SELECT ts FROM samples WHERE series_id = ?1 AND ts < ?2 ORDER BY ts LIMIT ${PRUNE_CHUNK})`,
          [id, cutoff],
        );
        deleted += changes;
        if (changes < PRUNE_CHUNK) break;
        await new Promise((r) => setImmediate(r));
      }
    }
    if (this.closed) return deleted;
    const gone = this.db.all('SELECT name FROM series WHERE latest_ts < ?', cutoff) as Row[];
    if (gone.length > 0) {
      this.transaction(() => {
        this.db.run('DELETE FROM samples WHERE series_id IN (SELECT id FROM series WHERE latest_ts < ?)', cutoff);
        this.db.run('DELETE FROM series WHERE latest_ts < ?', cutoff);
      });
      for (const r of gone) this.seriesIds.delete(String(r.name));
    }
    return deleted;
  }

  async kvGet<T = unknown>(key: string): Promise<T | undefined> {
    this.check();
    const r = this.db.get('SELECT value FROM kv WHERE key = ?', key) as Row | null;
    return r ? (JSON.parse(String(r.value)) as T) : undefined;
  }

  async kvPut(key: string, value: unknown): Promise<void> {
    this.check();
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`kvPut ${key}: value is not JSON-serialisable`);
    this.db.run(
      'INSERT INTO kv (key, value, updated_ms) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms',
      [key, json, Math.round(this.now())],
    );
  }

  async kvDelete(key: string): Promise<boolean> {
    this.check();
    return this.db.run('DELETE FROM kv WHERE key = ?', key).changes > 0;
  }

  async kvList<T = unknown>(prefix = ''): Promise<Array<KvEntry<T>>> {
    this.check();
    const rows = this.db.all('SELECT key, value, updated_ms FROM kv WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key', [prefix]) as Row[];
    return rows.map((r) => ({ key: String(r.key), value: JSON.parse(String(r.value)) as T, updatedMs: Number(r.updated_ms) }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.firstPrune) clearTimeout(this.firstPrune);
    await this.pruning?.catch(() => undefined);
    for (const st of this.stmts) if (!st.isFinalized) st.finalize();
    try {
      this.db.close();
    } finally {
      openPaths.delete(this.path);
      release(this.path);
    }
  }
}

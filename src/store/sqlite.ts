// The embedded backend: SQLite through better-sqlite3, WAL journal, synchronous=FULL so a
// transaction is on disk (WAL fsynced) when COMMIT returns, before any caller hears of it.
// `:memory:` gives the same store without a file (the agent's -dev mode).
import Database from 'better-sqlite3';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { BaseStore, type CommittedTx } from './base.js';
import { IndexMarker, StoreDamagedError, howToProceed, moveAside } from './integrity.js';
import { TABLES, type TableName } from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rows (
  tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  create_index INTEGER NOT NULL, modify_index INTEGER NOT NULL,
  PRIMARY KEY (tbl, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS table_index (tbl TEXT PRIMARY KEY, idx INTEGER NOT NULL) WITHOUT ROWID;
`;

interface RowRecord {
  tbl: string;
  key: string;
  value: string;
  create_index: number;
  modify_index: number;
}

export interface SqliteStoreOptions {
  /**
   * Start from what is left of a damaged data dir instead of refusing it: a database that fails
   * its check is moved aside and a new one begun; one that lost acknowledged writes is served as
   * it is. Off by default: the operator decides, after reading the refusal.
   */
  readonly acceptLoss?: boolean;
}

/** What was loaded, for the startup log line. */
export interface StoreLoadReport {
  readonly path: string;
  readonly index: number;
  /** Loaded rows per table. */
  readonly rows: Readonly<Record<string, number>>;
  /** What was given up to start, when `acceptLoss` was needed. */
  readonly recovered?: string;
}

export class SqliteStore extends BaseStore {
  private readonly db: Database.Database;
  private readonly commit: (group: readonly CommittedTx[]) => void;
  private readonly marker: IndexMarker | undefined;
  readonly loaded: StoreLoadReport;

  /** `path` is a file (its folder is created) or `:memory:`. */
  constructor(
    readonly path: string,
    opts: SqliteStoreOptions = {},
  ) {
    super();
    const durable = path !== ':memory:';
    let recovered: string | undefined;
    this.marker = durable ? new IndexMarker(`${path}.index`) : undefined;
    const acknowledged = this.marker?.read() ?? 0;
    let rows: Record<string, number>;
    try {
      if (durable) prepareFile(path);
      this.db = openChecked(path);
      rows = this.load();
    } catch (err) {
      if (!(err instanceof StoreDamagedError)) throw err;
      if (!opts.acceptLoss) throw new StoreDamagedError(`${err.message}; ${howToProceed(path, true)}`);
      const aside = moveAside(path);
      recovered = `the damaged database was moved to ${aside} and a new one begun (${err.message})`;
      prepareFile(path);
      this.db = openChecked(path);
      rows = this.load();
    }
    const index = this.state.index;
    if (index < acknowledged && recovered === undefined) {
      const what = index === 0 ? `it held a cluster (index ${acknowledged}) and now holds none` : `it acknowledged writes up to index ${acknowledged} and the database holds only index ${index} (a truncated or damaged WAL, or a database file replaced)`;
      if (!opts.acceptLoss) {
        this.db.close();
        throw new StoreDamagedError(`the data dir ${dirname(path)} has lost acknowledged writes: ${what}; ${howToProceed(path, false)}`);
      }
      recovered = `serving index ${index}, below the acknowledged ${acknowledged}: ${what}`;
    }
    this.marker?.write(index);
    this.loaded = { path, index, rows, ...(recovered !== undefined && { recovered }) };
    const upsert = this.db.prepare(
      'INSERT INTO rows (tbl, key, value, create_index, modify_index) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value, modify_index = excluded.modify_index',
    );
    const remove = this.db.prepare('DELETE FROM rows WHERE tbl = ? AND key = ?');
    const setTable = this.db.prepare('INSERT INTO table_index (tbl, idx) VALUES (?, ?) ON CONFLICT (tbl) DO UPDATE SET idx = excluded.idx');
    const setIndex = this.db.prepare("INSERT INTO meta (key, value) VALUES ('index', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    this.commit = this.db.transaction((group: readonly CommittedTx[]) => {
      for (const { index, changes } of group) {
        const tables = new Set<TableName>();
        for (const c of changes) {
          if (c.row) upsert.run(c.table, c.key, JSON.stringify(c.row.value), c.row.createIndex, c.row.modifyIndex);
          else remove.run(c.table, c.key);
          tables.add(c.table);
        }
        for (const t of tables) setTable.run(t, index);
        setIndex.run(index);
      }
    });
  }

  protected persist(group: readonly CommittedTx[]): void {
    this.commit(group);
    const last = group.at(-1);
    if (last) this.marker?.write(last.index);
  }

  /** Loads every row into memory; the rows per table. A row that is not JSON is damage. */
  private load(): Record<string, number> {
    const counts: Record<string, number> = {};
    const index = this.db.prepare("SELECT value FROM meta WHERE key = 'index'").pluck().get() as number | undefined;
    this.state.index = index ?? 0;
    for (const r of this.db.prepare('SELECT tbl, key, value, create_index, modify_index FROM rows').iterate() as Iterable<RowRecord>) {
      if (!(TABLES as readonly string[]).includes(r.tbl)) continue;
      let value: unknown;
      try {
        value = JSON.parse(r.value) as unknown;
      } catch {
        this.db.close();
        throw new StoreDamagedError(`the database ${this.path} is damaged: the ${r.tbl} record "${r.key}" is not valid JSON`);
      }
      this.state.load(r.tbl as TableName, { key: r.key, value, createIndex: r.create_index, modifyIndex: r.modify_index });
      counts[r.tbl] = (counts[r.tbl] ?? 0) + 1;
    }
    for (const r of this.db.prepare('SELECT tbl, idx FROM table_index').all() as { tbl: string; idx: number }[]) {
      if ((TABLES as readonly string[]).includes(r.tbl)) this.state.setTableIndex(r.tbl as TableName, r.idx);
    }
    return counts;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
    this.marker?.close();
  }

  /**
   * A copy of the committed state in a new in-memory store, at the same index: what-if writes
   * (a dry-run config write) go there and never reach this store. Close it when done.
   */
  forkInMemory(): SqliteStore {
    const fork = new SqliteStore(':memory:');
    for (const table of TABLES) {
      for (const row of this.state.stored.list(table)) fork.state.load(table, row);
      fork.state.setTableIndex(table, this.state.tableIndex(table));
    }
    fork.state.index = this.state.index;
    return fork;
  }
}

/**
 * One agent per data dir. Each agent serves reads from its own memory and numbers writes from
 * its own index, so a second one on the same file would answer from a stale copy and write
 * over the first one's acknowledged rows. The database is held exclusively (taken before WAL
 * is entered, so no shared-memory index is used) until close; a second opener fails here.
 */
function lock(db: Database.Database, path: string): void {
  db.pragma('locking_mode = EXCLUSIVE');
  try {
    db.exec('BEGIN IMMEDIATE; COMMIT;');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new Error(`${path} is in use by another Switchyard agent (one agent per data dir)`);
    throw err;
  }
}

/**
 * Opens the database, takes the lock and checks it (`PRAGMA quick_check`, after SQLite has
 * replayed the WAL): a file that is not a database, or one whose pages do not hold together, is
 * StoreDamagedError naming the file and the first problems SQLite found.
 */
function openChecked(path: string): Database.Database {
  // The busy timeout only matters for taking the lock (nothing else shares the file): an agent
  // that is still exiting gets a moment to let go of it.
  const db = new Database(path, { timeout: 2000 });
  try {
    if (path !== ':memory:') lock(db, path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const problems = (db.pragma('quick_check(5)') as { quick_check: string }[]).map((r) => r.quick_check).filter((p) => p !== 'ok');
    if (problems.length > 0) throw new StoreDamagedError(`the database ${path} is damaged: ${problems.join('; ')}`);
    db.exec(SCHEMA);
    return db;
  } catch (err) {
    if (db.open) db.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') throw new StoreDamagedError(`the database ${path} is damaged: ${(err as Error).message}`);
    throw err;
  }
}

/**
 * Creates the data dir and the database file, or says what stands in the way and where: a
 * read-only file system makes `mkdir -p` report ENOENT, which named nothing useful.
 */
function prepareFile(path: string): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`cannot create the data dir ${dir}: ${whyNotWritable(dir) ?? (err as Error).message}`);
  }
  try {
    closeSync(openSync(path, 'a', 0o600));
  } catch (err) {
    throw new Error(`cannot open the database ${path} for writing: ${whyNotWritable(path) ?? whyNotWritable(dir) ?? (err as Error).message}`);
  }
}

/** Why `path` (or, when it does not exist, its nearest existing folder) cannot be written, if it cannot. */
function whyNotWritable(path: string): string | undefined {
  let at = path;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  try {
    accessSync(at, constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as { code?: string }).code;
    const what = code === 'EROFS' ? 'is on a read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'is not writable by this user' : `cannot be written (${code})`;
    return `${at} ${what}; the agent writes every change there before acknowledging it (choose a writable -data-dir)`;
  }
}

/** Opens the durable store in `dataDir` (`<dataDir>/switchyard.db`), or an in-memory one. */
export function openStore(dataDir: string | undefined, opts: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(dataDir ? `${dataDir.replace(/\/$/, '')}/switchyard.db` : ':memory:', opts);
}

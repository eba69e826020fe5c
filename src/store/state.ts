// The committed state every backend keeps in memory: rows by table, each table's last-change
// index, and the listeners of each table. Backends persist first, then `apply` a committed
// change here, which wakes only the listeners of the tables it touched. Reads never touch disk.
import type { ChangeBatch, ReadTx, Row, RowChange, TableName } from './types.js';
import { Quarantine, UnservableRecordError, unservableReason, type UnservableRecord } from './unservable.js';

export interface Change {
  readonly table: TableName;
  readonly key: string;
  /** Undefined: the row was deleted. */
  readonly row: Row | undefined;
}

/** Called with the changes of one committed transaction (to the tables it listens to, and maybe others). */
type Listener = (index: number, batch: ChangeBatch) => void;

function changeBatch(changes: readonly RowChange[]): ChangeBatch {
  const derived = new Map<string, unknown>();
  return {
    changes,
    derive<T>(key: string, compute: (changes: readonly RowChange[]) => T): T {
      if (!derived.has(key)) derived.set(key, compute(changes));
      return derived.get(key) as T;
    },
  };
}

export class CommittedState implements ReadTx {
  private readonly tables = new Map<TableName, Map<string, Row>>();
  private readonly indexes = new Map<TableName, number>();
  private readonly listeners = new Map<TableName, Set<Listener>>();
  /** Each table's rows sorted by key, rebuilt lazily after a change. */
  private readonly sorted = new Map<TableName, readonly Row[]>();
  private readonly quarantine = new Quarantine();
  index = 0;

  /**
   * What write transactions read: every row as stored, those that cannot be served included,
   * so that a write can replace or delete them.
   */
  readonly stored: ReadTx = {
    get: <T>(table: TableName, key: string) => this.tables.get(table)?.get(key) as Row<T> | undefined,
    list: <T>(table: TableName, prefix = '') => this.sortedRows<T>(table, prefix),
    tableIndex: (...tables: TableName[]) => this.tableIndex(...tables),
  };

  /** Throws UnservableRecordError for a row that cannot be served. */
  get<T>(table: TableName, key: string): Row<T> | undefined {
    const bad = this.quarantine.get(table, key);
    if (bad) throw new UnservableRecordError(bad);
    return this.stored.get<T>(table, key);
  }

  /** Rows that cannot be served are left out. */
  list<T>(table: TableName, prefix = ''): readonly Row<T>[] {
    const rows = this.sortedRows<T>(table, prefix);
    return this.quarantine.holds(table) ? rows.filter((r) => !this.quarantine.get(table, r.key)) : rows;
  }

  private sortedRows<T>(table: TableName, prefix: string): readonly Row<T>[] {
    let rows = this.sorted.get(table);
    if (!rows) {
      rows = [...(this.tables.get(table)?.values() ?? [])].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      this.sorted.set(table, rows);
    }
    return (prefix === '' ? rows : rows.filter((r) => r.key.startsWith(prefix))) as readonly Row<T>[];
  }

  /** The rows loaded at startup that cannot be served (until a write replaces or deletes them). */
  unservable(): UnservableRecord[] {
    return this.quarantine.list();
  }

  tableIndex(...tables: TableName[]): number {
    return Math.max(0, ...tables.map((t) => this.indexes.get(t) ?? 0));
  }

  /** Loads a row at startup (no notification); one that cannot be served is set apart. */
  load(table: TableName, row: Row): void {
    this.rowsOf(table).set(row.key, row);
    this.sorted.delete(table);
    const reason = unservableReason(table, row);
    if (reason) this.quarantine.add({ table, key: row.key, reason });
  }

  setTableIndex(table: TableName, index: number): void {
    this.indexes.set(table, index);
  }

  /** Applies one committed transaction and wakes the listeners of the tables it touched. */
  apply(index: number, changes: readonly Change[]): void {
    this.index = index;
    const touched = new Set<TableName>();
    const events: RowChange[] = [];
    for (const c of changes) {
      events.push({ ...c, prev: this.rowsOf(c.table).get(c.key) });
      this.quarantine.release(c.table, c.key);
      if (c.row) this.rowsOf(c.table).set(c.key, c.row);
      else this.rowsOf(c.table).delete(c.key);
      touched.add(c.table);
      this.indexes.set(c.table, index);
      this.sorted.delete(c.table);
    }
    const woken = new Set<Listener>();
    for (const t of touched) for (const l of this.listeners.get(t) ?? []) woken.add(l);
    const batch = changeBatch(events);
    for (const l of woken) l(index, batch);
  }

  /** Calls `fn` after every commit touching one of `tables`; returns the unsubscribe. */
  listen(tables: readonly TableName[], fn: Listener): () => void {
    for (const t of tables) {
      let set = this.listeners.get(t);
      if (!set) this.listeners.set(t, (set = new Set()));
      set.add(fn);
    }
    return () => {
      for (const t of tables) this.listeners.get(t)?.delete(fn);
    };
  }

  private rowsOf(table: TableName): Map<string, Row> {
    let rows = this.tables.get(table);
    if (!rows) this.tables.set(table, (rows = new Map()));
    return rows;
  }
}

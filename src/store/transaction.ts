// A write transaction: changes are staged over the committed state and over the changes of the
// transactions committed before it in the same group commit, and handed to the backend as one list.
import type { Change } from './state.js';
import type { ReadTx, Row, TableName, WriteTx } from './types.js';

const slot = (table: TableName, key: string) => `${table}\u0000${key}`;
const byKey = (a: Row, b: Row) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * The changes of a group commit's transactions so far, by table, which the next transaction of
 * the group reads through. One flat overlay (not a chain of transactions), so a read costs the
 * same for the hundredth transaction of a group as for the first.
 */
export class GroupChanges {
  readonly byTable = new Map<TableName, Map<string, Change>>();
  readonly indexes = new Map<TableName, number>();

  add(index: number, changes: readonly Change[]): void {
    for (const c of changes) {
      let rows = this.byTable.get(c.table);
      if (!rows) this.byTable.set(c.table, (rows = new Map()));
      rows.set(c.key, c);
      this.indexes.set(c.table, index);
    }
  }
}

/** Two arrays sorted by key, merged (keys are distinct). */
function mergeSorted(a: readonly Row[], b: readonly Row[]): Row[] {
  const out: Row[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(byKey(a[i] as Row, b[j] as Row) <= 0 ? (a[i++] as Row) : (b[j++] as Row));
  return out.concat(a.slice(i), b.slice(j));
}

export class StagedTransaction implements WriteTx {
  private readonly staged = new Map<string, Change>();

  constructor(
    private readonly state: ReadTx,
    readonly index: number,
    private readonly group: GroupChanges = new GroupChanges(),
  ) {}

  private overlaid(table: TableName, key: string): Change | undefined {
    return this.staged.get(slot(table, key)) ?? this.group.byTable.get(table)?.get(key);
  }

  get<T>(table: TableName, key: string): Row<T> | undefined {
    const change = this.overlaid(table, key);
    return change ? (change.row as Row<T> | undefined) : this.state.get<T>(table, key);
  }

  list<T>(table: TableName, prefix = ''): readonly Row<T>[] {
    const overlay = new Map<string, Change>();
    for (const [key, c] of this.group.byTable.get(table) ?? []) if (key.startsWith(prefix)) overlay.set(key, c);
    for (const c of this.staged.values()) if (c.table === table && c.key.startsWith(prefix)) overlay.set(c.key, c);
    const base = this.state.list<T>(table, prefix);
    if (overlay.size === 0) return base;
    // One pass over the committed rows (already sorted), replacing or dropping the changed ones;
    // rows that are new are sorted among themselves and merged in.
    const out: Row[] = [];
    for (const row of base) {
      const c = overlay.get(row.key);
      if (!c) out.push(row);
      else {
        overlay.delete(row.key);
        if (c.row) out.push(c.row);
      }
    }
    const added = [...overlay.values()].flatMap((c) => (c.row ? [c.row] : [])).sort(byKey);
    return (added.length > 0 ? mergeSorted(out, added) : out) as Row<T>[];
  }

  tableIndex(...tables: TableName[]): number {
    if ([...this.staged.values()].some((c) => tables.includes(c.table))) return this.index;
    const inGroup = Math.max(0, ...tables.map((t) => this.group.indexes.get(t) ?? 0));
    return inGroup || this.state.tableIndex(...tables);
  }

  put<T>(table: TableName, key: string, value: T): void {
    const before = this.get(table, key);
    // Stored as JSON: what a reader sees now is exactly what it will see after a restart.
    const normalised = JSON.parse(JSON.stringify(value)) as unknown;
    const row: Row = { key, value: normalised, createIndex: before?.createIndex ?? this.index, modifyIndex: this.index };
    this.staged.set(slot(table, key), { table, key, row });
  }

  delete(table: TableName, key: string): boolean {
    if (!this.get(table, key)) return false;
    this.staged.set(slot(table, key), { table, key, row: undefined });
    return true;
  }

  changes(): readonly Change[] {
    return [...this.staged.values()];
  }
}

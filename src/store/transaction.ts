// A write transaction: changes are staged over what it reads from (the committed state, or an
// earlier transaction of the same group commit) and handed to the backend as one list.
import type { Change } from './state.js';
import type { ReadTx, Row, TableName, WriteTx } from './types.js';

const slot = (table: TableName, key: string) => `${table}\u0000${key}`;

export class StagedTransaction implements WriteTx {
  private readonly staged = new Map<string, Change>();

  constructor(
    private readonly state: ReadTx,
    readonly index: number,
  ) {}

  get<T>(table: TableName, key: string): Row<T> | undefined {
    const change = this.staged.get(slot(table, key));
    return change ? (change.row as Row<T> | undefined) : this.state.get<T>(table, key);
  }

  list<T>(table: TableName, prefix = ''): readonly Row<T>[] {
    const rows = new Map(this.state.list<T>(table, prefix).map((r) => [r.key, r]));
    for (const c of this.staged.values()) {
      if (c.table !== table || !c.key.startsWith(prefix)) continue;
      if (c.row) rows.set(c.key, c.row as Row<T>);
      else rows.delete(c.key);
    }
    return [...rows.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  tableIndex(...tables: TableName[]): number {
    const touched = [...this.staged.values()].some((c) => tables.includes(c.table));
    return touched ? this.index : this.state.tableIndex(...tables);
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

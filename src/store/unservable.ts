// Records already in a data dir that the agent cannot serve: written before the bounds on JSON
// bodies existed (a Config nested 4,150 deep was stored, and every read of it then overflowed
// the call stack). At load each catalog row is checked against the bound every value serving
// relies on (nesting depth); a row past it is kept in memory and on disk as it is (nothing is
// lost, and it can be replaced or deleted), reported once at startup, and never served: reading
// it throws UnservableRecordError (a 500 for that record only), and lists leave it out.
import { JSON_LIMITS, jsonBoundsIssue } from '../core/json-bounds.js';
import type { Row, TableName } from './types.js';

export interface UnservableRecord {
  readonly table: TableName;
  readonly key: string;
  /** Where the value leaves the bound, and how. */
  readonly reason: string;
}

export class UnservableRecordError extends Error {
  override readonly name = 'UnservableRecordError';
  constructor(readonly record: UnservableRecord) {
    super(`stored record ${record.table} "${record.key}" cannot be served: ${record.reason} (it was written before this limit existed; replace it or delete it)`);
  }
}

/**
 * The CA's documents are loaded as they are: the CA must never start over (a new root and
 * trust domain) because one of them could not be read; serving them is guarded by the HTTP
 * server, which answers 500 for a reply it cannot serialize.
 */
const CHECKED: ReadonlySet<TableName> = new Set(['nodes', 'services', 'checks', 'config_entries']);

/** Why a loaded row cannot be served, or undefined when it can. */
export function unservableReason(table: TableName, row: Row): string | undefined {
  if (!CHECKED.has(table)) return undefined;
  const issue = jsonBoundsIssue(row.value, { maxDepth: JSON_LIMITS.maxDepth });
  return issue && (issue.path ? `${issue.path}: ${issue.message}` : issue.message);
}

/** The unservable rows of a store, by table and key. */
export class Quarantine {
  private readonly byTable = new Map<TableName, Map<string, UnservableRecord>>();

  add(record: UnservableRecord): void {
    let rows = this.byTable.get(record.table);
    if (!rows) this.byTable.set(record.table, (rows = new Map()));
    rows.set(record.key, record);
  }

  /** A write replaced or deleted the row: it is an ordinary row again (or none). */
  release(table: TableName, key: string): void {
    this.byTable.get(table)?.delete(key);
  }

  get(table: TableName, key: string): UnservableRecord | undefined {
    return this.byTable.get(table)?.get(key);
  }

  holds(table: TableName): boolean {
    return (this.byTable.get(table)?.size ?? 0) > 0;
  }

  list(): UnservableRecord[] {
    return [...this.byTable.values()].flatMap((rows) => [...rows.values()]);
  }
}

// The state store's contract. One global index orders every write; each row carries the
// index that created it and the one that last modified it; each table remembers the index of
// its last change (including deletes). The shape maps onto etcd: a table is a key prefix, the
// global index is the etcd revision, CreateIndex/ModifyIndex are create_revision/mod_revision,
// and a table's index is the highest mod revision seen under its prefix (deletes included).
import type { Observable } from 'rxjs';

/** The logical tables. Intentions live in `config_entries` as `service-intentions` entries. */
export const TABLES = ['nodes', 'services', 'checks', 'config_entries', 'ca_state', 'federation_states', 'wan_addresses', 'acl_tokens', 'acl_policies', 'acl_roles', 'acl_meta'] as const;
export type TableName = (typeof TABLES)[number];

export interface Row<T = unknown> {
  readonly key: string;
  readonly value: T;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** One row's change in a committed write, as watches see it. */
export interface RowChange {
  readonly table: TableName;
  readonly key: string;
  /** The row after the write; undefined when it was deleted. */
  readonly row: Row | undefined;
  /** The row before the write; undefined when it was created. */
  readonly prev: Row | undefined;
}

/** The changes of one committed transaction, as watches see them. */
export interface ChangeBatch {
  readonly changes: readonly RowChange[];
  /**
   * A value computed from this batch once and shared by every watch asking for it under `key`
   * (an index of what the batch touched), so deciding relevance costs each watch a lookup
   * instead of a pass over the changes.
   */
  derive<T>(key: string, compute: (changes: readonly RowChange[]) => T): T;
}

/**
 * Whether a committed transaction can alter a watch's result (`tx` is the state after it). A
 * watch re-runs its query only for transactions this accepts, so one write costs the watches
 * it concerns, not every watch on the table: answering false for a change that matters loses
 * an update, answering true too often only costs a query.
 */
export type Relevance = (batch: ChangeBatch, tx: ReadTx) => boolean;

/** A value and the store index of the last change to what it depends on (>= 1). */
export interface Indexed<T> {
  readonly index: number;
  readonly value: T;
}

export interface ReadTx {
  get<T>(table: TableName, key: string): Row<T> | undefined;
  /** Rows whose key starts with `prefix` (all rows without one), sorted by key. */
  list<T>(table: TableName, prefix?: string): readonly Row<T>[];
  /** The index of the last change to any of `tables` (0 when none has changed yet). */
  tableIndex(...tables: TableName[]): number;
}

export interface WriteTx extends ReadTx {
  /** Creates or replaces a row; it takes the transaction's index as ModifyIndex. */
  put<T>(table: TableName, key: string, value: T): void;
  /** Returns whether a row was there. */
  delete(table: TableName, key: string): boolean;
  /** The index this transaction will commit at. */
  readonly index: number;
}

export interface WriteResult<T> {
  /** The index the transaction committed at (the current index when it changed nothing). */
  readonly index: number;
  readonly result: T;
}

export interface Store {
  /** The highest committed index. */
  currentIndex(): number;
  /** A consistent read of the committed state. */
  read<T>(fn: (tx: ReadTx) => T): T;
  /**
   * Runs `fn` as one transaction. Either every change commits durably, at one new index,
   * before the promise resolves, or (when `fn` throws) nothing does and the promise rejects.
   * A transaction that changes nothing commits nothing and does not move the index.
   */
  write<T>(fn: (tx: WriteTx) => T): Promise<WriteResult<T>>;
  /**
   * Runs `query` now and again after every write to one of `tables` (that `relevant` accepts, when
   * given), emitting when its result differs (deep equality). Watches with the same `key` share
   * one subscription.
   */
  watch<T>(key: string, tables: readonly TableName[], query: (tx: ReadTx) => T, relevant?: Relevance): Observable<Indexed<T>>;
  /** Named JSON documents (the CA's cluster id, roots, keys, config) in the `ca_state` table. */
  getDoc<T>(key: string): Row<T> | undefined;
  putDoc<T>(key: string, value: T): Promise<number>;
  watchDoc<T>(key: string): Observable<Indexed<T | undefined>>;
  close(): void;
}

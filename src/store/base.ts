// What every backend shares: serialised write transactions over the in-memory committed state,
// watches that re-run a query only when a change it may depend on commits, and the CA's documents.
// A backend supplies `persist`, which must be durable when it returns (or resolves).
import { isDeepStrictEqual } from 'node:util';
import { Observable } from 'rxjs';
import { SharedQueries } from './shared.js';
import { CommittedState, type Change } from './state.js';
import { GroupChanges, StagedTransaction } from './transaction.js';
import type { Indexed, ReadTx, Relevance, Row, Store, TableName, WriteResult, WriteTx } from './types.js';
import type { UnservableRecord } from './unservable.js';

export interface CommittedTx {
  readonly index: number;
  readonly changes: readonly Change[];
}

interface PendingWrite {
  readonly fn: (tx: WriteTx) => unknown;
  readonly resolve: (r: WriteResult<unknown>) => void;
  readonly reject: (err: unknown) => void;
}

export abstract class BaseStore implements Store {
  protected readonly state = new CommittedState();
  private readonly queries = new SharedQueries();
  private pending: PendingWrite[] = [];
  private draining: Promise<void> | undefined;
  protected closed = false;
  private commitObserver: { readonly observe: (ms: number) => void; readonly now: () => number } | undefined;

  /** Reports how long each group commit took to persist (the metrics' store commit latency). */
  observeCommits(observe: (ms: number) => void, now: () => number): void {
    this.commitObserver = { observe, now };
  }

  /** Persists committed transactions, in order, durably, all or none. */
  protected abstract persist(group: readonly CommittedTx[]): void | Promise<void>;
  abstract close(): void;

  currentIndex(): number {
    return this.state.index;
  }

  unservable(): UnservableRecord[] {
    return this.state.unservable();
  }

  read<T>(fn: (tx: ReadTx) => T): T {
    return fn(this.state);
  }

  write<T>(fn: (tx: WriteTx) => T): Promise<WriteResult<T>> {
    return new Promise<WriteResult<T>>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (r: WriteResult<unknown>) => void, reject });
      if (!this.draining) this.draining = this.drainPending();
    });
  }

  /**
   * Group commit: the transactions queued while the previous group was being persisted run one
   * after another (each sees the ones before it), each at its own index, and are persisted
   * together (one fsync); none is acknowledged before the group is durable.
   */
  private async drainPending(): Promise<void> {
    // setImmediate, not a microtask: requests read in the same turn of the event loop join the group.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const queued = this.pending.splice(0);
      const group: { tx: StagedTransaction; write: PendingWrite; result: unknown }[] = [];
      // Transactions that changed nothing answer once what they read is durable too.
      const unchanged: { index: number; write: PendingWrite; result: unknown }[] = [];
      const earlier = new GroupChanges();
      for (const write of queued) {
        if (this.closed) {
          write.reject(new Error('the store is closed'));
          continue;
        }
        const tx = new StagedTransaction(this.state.stored, this.state.index + group.length + 1, earlier);
        try {
          const result = write.fn(tx);
          if (tx.changes().length === 0) {
            unchanged.push({ index: tx.index - 1, write, result });
            continue;
          }
          group.push({ tx, write, result });
          earlier.add(tx.index, tx.changes());
        } catch (err) {
          write.reject(err);
        }
      }
      try {
        if (group.length > 0) {
          const observer = this.commitObserver;
          const started = observer?.now() ?? 0;
          await this.persist(group.map((g) => ({ index: g.tx.index, changes: g.tx.changes() })));
          observer?.observe(observer.now() - started);
        }
      } catch (err) {
        for (const g of [...group, ...unchanged]) g.write.reject(err);
        continue;
      }
      for (const g of group) this.state.apply(g.tx.index, g.tx.changes());
      for (const g of group) g.write.resolve({ index: g.tx.index, result: g.result });
      for (const u of unchanged) u.write.resolve({ index: u.index, result: u.result });
    }
    this.draining = undefined;
  }

  watch<T>(key: string, tables: readonly TableName[], query: (tx: ReadTx) => T, relevant?: Relevance): Observable<Indexed<T>> {
    return this.queries.get(key, () => new Observable<Indexed<T>>((subscriber) => {
      let last: { value: T } | undefined;
      const run = () => {
        const value = query(this.state);
        if (last && isDeepStrictEqual(last.value, value)) return;
        last = { value };
        subscriber.next({ index: Math.max(1, this.state.tableIndex(...tables)), value });
      };
      const stop = this.state.listen(tables, (_index, batch) => {
        if (relevant && !relevant(batch, this.state)) return;
        try {
          run();
        } catch (err) {
          subscriber.error(err);
        }
      });
      run();
      return stop;
    }));
  }

  getDoc<T>(key: string): Row<T> | undefined {
    return this.state.get<T>('ca_state', key);
  }

  async putDoc<T>(key: string, value: T): Promise<number> {
    return (await this.write((tx) => tx.put('ca_state', key, value))).index;
  }

  watchDoc<T>(key: string): Observable<Indexed<T | undefined>> {
    return this.watch(`doc:${key}`, ['ca_state'], (tx) => tx.get<T>('ca_state', key)?.value, (batch) => batch.changes.some((c) => c.table === 'ca_state' && c.key === key));
  }

  /** How many distinct watch queries are live (for tests and metrics). */
  get liveQueries(): number {
    return this.queries.size;
  }

  /** Resolves once every write queued so far has finished. */
  async drain(): Promise<void> {
    while (this.draining) await this.draining;
  }
}

// What every backend shares: serialised write transactions over the in-memory committed state,
// watches that re-run a query only when a table it reads changes, and the CA's documents.
// A backend supplies `persist`, which must be durable when it returns (or resolves).
import { isDeepStrictEqual } from 'node:util';
import { Observable } from 'rxjs';
import { SharedQueries } from './shared.js';
import { CommittedState, type Change } from './state.js';
import { StagedTransaction } from './transaction.js';
import type { Indexed, ReadTx, Row, Store, TableName, WriteResult, WriteTx } from './types.js';

export abstract class BaseStore implements Store {
  protected readonly state = new CommittedState();
  private readonly queries = new SharedQueries();
  private queue: Promise<unknown> = Promise.resolve();
  protected closed = false;

  protected abstract persist(index: number, changes: readonly Change[]): void | Promise<void>;
  abstract close(): void;

  currentIndex(): number {
    return this.state.index;
  }

  read<T>(fn: (tx: ReadTx) => T): T {
    return fn(this.state);
  }

  write<T>(fn: (tx: WriteTx) => T): Promise<WriteResult<T>> {
    const run = async (): Promise<WriteResult<T>> => {
      if (this.closed) throw new Error('the store is closed');
      const tx = new StagedTransaction(this.state, this.state.index + 1);
      const result = fn(tx);
      const changes = tx.changes();
      if (changes.length === 0) return { index: this.state.index, result };
      await this.persist(tx.index, changes);
      this.state.apply(tx.index, changes);
      return { index: tx.index, result };
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  watch<T>(key: string, tables: readonly TableName[], query: (tx: ReadTx) => T): Observable<Indexed<T>> {
    return this.queries.get(key, () => new Observable<Indexed<T>>((subscriber) => {
      let last: { value: T } | undefined;
      const run = () => {
        const value = query(this.state);
        if (last && isDeepStrictEqual(last.value, value)) return;
        last = { value };
        subscriber.next({ index: Math.max(1, this.state.tableIndex(...tables)), value });
      };
      const stop = this.state.listen(tables, () => {
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
    return this.watch(`doc:${key}`, ['ca_state'], (tx) => tx.get<T>('ca_state', key)?.value);
  }

  /** How many distinct watch queries are live (for tests and metrics). */
  get liveQueries(): number {
    return this.queries.size;
  }

  /** Resolves once every write queued so far has finished. */
  async drain(): Promise<void> {
    await this.queue;
  }
}

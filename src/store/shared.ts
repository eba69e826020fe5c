// One subscription per query: every subscriber of the same key shares it, late subscribers get
// the latest value, and the query is torn down (and forgotten) when its last subscriber leaves.
import { defer, finalize, shareReplay, type Observable } from 'rxjs';

export class SharedQueries {
  private readonly live = new Map<string, Observable<unknown>>();

  get<T>(key: string, make: () => Observable<T>): Observable<T> {
    const found = this.live.get(key);
    if (found) return found as Observable<T>;
    const shared: Observable<T> = defer(make).pipe(
      finalize(() => {
        if (this.live.get(key) === shared) this.live.delete(key);
      }),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
    this.live.set(key, shared);
    return shared;
  }

  /** Keys of the queries open right now, sorted (for tests and status). */
  keys(): string[] {
    return [...this.live.keys()].sort();
  }

  /** How many distinct queries have subscribers or are being set up (for tests). */
  get size(): number {
    return this.live.size;
  }
}

// Spreads the fan-out of one shared change over the event loop. A change every proxy watches (the
// roots rotated, proxy-defaults written) reaches every proxy's pipeline from one emission; carried
// through synchronously, every proxy's coalescing timer and snapshot build ran inside that one
// emission, which held the event loop for about 85 ms per 1,000 proxies (nearly a second at
// 10,000). Through `spread`, the emission only records each pipeline's latest inputs; the rest
// runs in slices of at most `sliceMs`, yielding between slices. Latest wins: inputs that change
// again before their pipeline's turn are delivered once.
import { Observable, type MonoTypeOperatorFunction } from 'rxjs';

export class SpreadQueue {
  private readonly queue = new Set<() => void>();
  private scheduled = false;

  constructor(private readonly sliceMs = 5) {}

  add(task: () => void): void {
    this.queue.add(task);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.drain);
  }

  delete(task: () => void): void {
    this.queue.delete(task);
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    const end = performance.now() + this.sliceMs;
    for (const task of this.queue) {
      this.queue.delete(task);
      task();
      if (performance.now() >= end) break;
    }
    if (this.queue.size > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  };
}

const NONE = Symbol('none');

/**
 * Each value goes on in the queue's next slice, latest wins; a completion or error delivers the
 * value still waiting first. Without a queue, values pass through synchronously (virtual-time tests).
 */
export function spread<T>(queue: SpreadQueue | undefined): MonoTypeOperatorFunction<T> {
  if (!queue) return (source) => source;
  return (source) =>
    new Observable<T>((subscriber) => {
      let latest: T | typeof NONE = NONE;
      const deliver = () => {
        const value = latest;
        latest = NONE;
        if (value !== NONE) subscriber.next(value);
      };
      const inner = source.subscribe({
        next: (value) => {
          latest = value;
          queue.add(deliver);
        },
        error: (err: unknown) => {
          queue.delete(deliver);
          deliver();
          subscriber.error(err);
        },
        complete: () => {
          queue.delete(deliver);
          deliver();
          subscriber.complete();
        },
      });
      return () => {
        queue.delete(deliver);
        inner.unsubscribe();
      };
    });
}

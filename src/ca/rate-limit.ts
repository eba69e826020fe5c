// CSR rate limiting with Consul's settings: `csr_max_concurrent` (when non-zero, a cap on
// signings in flight, taking precedence) or `csr_max_per_second` (a token bucket whose burst is
// one second's worth). Over the limit a request waits in one queue and is served in arrival
// order: no retries, so no request can be overtaken by later ones however long the storm lasts.
// A waiter whose caller goes away (its signal aborts) leaves the queue.
import type { Clock } from '../core/clock.js';

export interface CsrLimits {
  readonly CSRMaxPerSecond: number;
  readonly CSRMaxConcurrent: number;
}

interface Waiter {
  readonly grant: (release: () => void) => void;
}

const noop = (): void => undefined;

export class CsrLimiter {
  private tokens: number;
  private last: number;
  private inFlight = 0;
  /** In arrival order (a Set keeps insertion order and drops a leaver in O(1)). */
  private readonly queue = new Set<Waiter>();
  private cancelTimer: (() => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private limits: CsrLimits,
  ) {
    this.tokens = this.burst;
    this.last = clock.now();
  }

  private get burst(): number {
    return Math.max(1, Math.ceil(this.limits.CSRMaxPerSecond));
  }

  update(limits: CsrLimits): void {
    this.refill();
    this.limits = limits;
    this.tokens = Math.min(this.tokens, this.burst);
    this.serve();
  }

  /** Requests waiting for their turn. */
  get waiting(): number {
    return this.queue.size;
  }

  /**
   * How long (ms) a request arriving now would wait for its turn, or undefined when that cannot
   * be told (csr_max_concurrent with every slot taken: it depends on how long signings take).
   */
  expectedWaitMs(): number | undefined {
    const { CSRMaxConcurrent: maxConcurrent, CSRMaxPerSecond: perSecond } = this.limits;
    if (maxConcurrent > 0) return this.queue.size === 0 && this.inFlight < maxConcurrent ? 0 : undefined;
    if (perSecond <= 0) return 0;
    const tokens = Math.min(this.burst, this.tokens + ((this.clock.now() - this.last) / 1000) * perSecond);
    return Math.max(0, ((this.queue.size + 1 - tokens) / perSecond) * 1000);
  }

  /**
   * Resolves when it is this request's turn, with the function to call when its signing ends;
   * rejects with the signal's reason if the signal aborts first (the request leaves the queue).
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.queue.delete(waiter);
        reject(signal?.reason);
        this.serve();
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.add(waiter);
      this.serve();
    });
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.limits.CSRMaxPerSecond);
    this.last = now;
  }

  /** Grants turns from the head of the queue while the limits allow, then waits for a token or a slot. */
  private serve(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const { CSRMaxConcurrent: maxConcurrent, CSRMaxPerSecond: perSecond } = this.limits;
    for (const waiter of this.queue) {
      if (maxConcurrent > 0) {
        // A released slot serves the queue again.
        if (this.inFlight >= maxConcurrent) return;
        this.inFlight++;
        this.grant(waiter, this.releaseSlot());
        continue;
      }
      if (perSecond > 0) {
        this.refill();
        if (this.tokens < 1) {
          this.cancelTimer = this.clock.setTimeout(() => this.serve(), Math.ceil(((1 - this.tokens) / perSecond) * 1000));
          return;
        }
        this.tokens -= 1;
      }
      this.grant(waiter, noop);
    }
  }

  private grant(waiter: Waiter, release: () => void): void {
    this.queue.delete(waiter);
    waiter.grant(release);
  }

  private releaseSlot(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.serve();
    };
  }
}

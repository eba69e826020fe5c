// Capped, jittered exponential backoff for calls to another datacenter: a failed attempt waits
// base * 2^n (capped), times a random factor in [0.5, 1), so secondaries do not retry in step.
import type { Clock } from '../core/clock.js';

export interface BackoffOptions {
  readonly clock: Clock;
  /** Uniform in [0, 1); Math.random by default. */
  readonly random?: () => number;
  readonly baseMs?: number;
  readonly maxMs?: number;
}

export const BACKOFF_BASE_MS = 250;
export const BACKOFF_MAX_MS = 30_000;

/** The wait before attempt `failures + 1`. */
export function backoffDelay(failures: number, opts: Omit<BackoffOptions, 'clock'> = {}): number {
  const base = opts.baseMs ?? BACKOFF_BASE_MS;
  const max = opts.maxMs ?? BACKOFF_MAX_MS;
  const raw = Math.min(max, base * 2 ** Math.min(Math.max(0, failures - 1), 30));
  return raw * (0.5 + (opts.random ?? Math.random)() / 2);
}

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when it aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      cancel();
      reject(signal?.reason);
    };
    const cancel = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions extends BackoffOptions {
  readonly signal?: AbortSignal;
  /** Whether a failure is worth another attempt (a refusal is not). */
  readonly transient: (err: unknown) => boolean;
  /** Told of every failure that will be retried. */
  readonly onRetry?: (err: unknown, delayMs: number, failures: number) => void;
}

/** Runs `attempt` until it succeeds, fails for good, or the signal aborts. */
export async function retrying<T>(attempt: () => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let failures = 1; ; failures++) {
    try {
      return await attempt();
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (!opts.transient(err)) throw err;
      const delay = backoffDelay(failures, opts);
      opts.onRetry?.(err, delay, failures);
      await sleep(opts.clock, delay, opts.signal);
    }
  }
}

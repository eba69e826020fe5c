// Consul blocking queries over any indexed stream: `?index=N&wait=Ds` returns as soon as the
// stream's index passes N, or after `wait` with the current value; every answer carries
// X-Consul-Index.
import type { Observable, Subscription } from 'rxjs';
import { systemClock, type Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import type { ApiRequest, ApiResponse } from './route.js';

export interface Indexed<T> {
  /** The store index of the last change to what `value` depends on (>= 1). */
  readonly index: number;
  readonly value: T;
}

export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

export interface BlockingParams {
  /** Undefined: answer at once. */
  readonly index?: number;
  readonly waitMs: number;
}

export { parseDuration };

export function parseBlocking(query: URLSearchParams): BlockingParams {
  const rawIndex = query.get('index');
  const rawWait = query.get('wait');
  let index: number | undefined;
  if (rawIndex !== null && rawIndex !== '') {
    if (!/^\d+$/.test(rawIndex)) throw ValidationError.of('index', `must be a non-negative integer, got "${rawIndex}"`);
    index = Number(rawIndex);
  }
  // As in Consul, no wait and a zero wait both mean the default.
  const wait = rawWait ? parseDuration('wait', rawWait) : 0;
  const waitMs = wait > 0 ? Math.min(wait, MAX_WAIT_MS) : DEFAULT_WAIT_MS;
  return { index, waitMs };
}

/**
 * Answers a (possibly blocking) read. `source` must emit its current value on subscribe and
 * again whenever its index moves. An index of 0 or one ahead of the store answers at once, as
 * in Consul (so a client whose index is from before a restore never hangs).
 */
export function blockingRead<T>(req: ApiRequest, source: Observable<Indexed<T>>, clock: Clock = systemClock): Promise<Indexed<T>> {
  const { index, waitMs } = parseBlocking(req.query);
  // The first value answers at once unless the caller already holds exactly its index.
  return block(req, source, waitMs, clock, (v) => index !== undefined && index !== 0 && v.index === index);
}

/**
 * Answers a read that blocks on a content hash (Consul's `?hash=H&wait=D`, used where it answers
 * X-Consul-ContentHash): at once when the current value's hash is not H, else when it changes or
 * `wait` has passed. Without `?hash`, a read blocking on the index as blockingRead does.
 */
export function hashBlockingRead<T>(req: ApiRequest, source: Observable<Indexed<T>>, hashOf: (v: T) => string, clock: Clock = systemClock): Promise<Indexed<T>> {
  const hash = req.query.get('hash');
  if (hash === null || hash === '') return blockingRead(req, source, clock);
  const { waitMs } = parseBlocking(req.query);
  return block(req, source, waitMs, clock, (v) => hashOf(v.value) === hash);
}

/** Resolves with the first value that is not `current`, or the latest when `waitMs` passes or the client leaves. */
function block<T>(req: ApiRequest, source: Observable<Indexed<T>>, waitMs: number, clock: Clock, current: (v: Indexed<T>) => boolean): Promise<Indexed<T>> {
  return new Promise<Indexed<T>>((resolve, reject) => {
    let latest: Indexed<T> | undefined;
    let settled = false;
    let cancelTimer: (() => void) | undefined;
    // Set after subscribe returns; a synchronous first value settles before it exists.
    const held: { sub?: Subscription } = {};
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      cancelTimer?.();
      held.sub?.unsubscribe();
      req.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const finish = () => settle(() => resolve(latest as Indexed<T>));
    const onAbort = () => finish();
    const sub = source.subscribe({
      next: (v) => {
        latest = v;
        if (!current(v)) finish();
        else cancelTimer ??= clock.setTimeout(finish, waitMs);
      },
      error: (err: unknown) => settle(() => reject(err)),
    });
    held.sub = sub;
    if (settled) sub.unsubscribe();
    // A signal aborted already (the client left while the handler was busy) fires no event.
    else if (req.signal.aborted) finish();
    else req.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A JSON answer with X-Consul-Index (never 0). */
/**
 * A read's answer with Consul's query metadata: the index to block on next, and (as a Consul
 * server answering itself) a known leader that was in contact 0 ms ago.
 */
export function indexed<T>(result: Indexed<T>, body: unknown = result.value): ApiResponse {
  return { body, headers: { 'X-Consul-Index': String(Math.max(1, result.index)), 'X-Consul-KnownLeader': 'true', 'X-Consul-LastContact': '0' } };
}

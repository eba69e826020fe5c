// The link from a secondary datacenter to the primary: plain HTTP to the primary agent's API
// (Switchyard has no serf; `retry_join_wan` lists the addresses), one request at a time per
// caller, each tried against the addresses in turn. Followers (`follow`) hold a blocking query
// and, when it fails, retry with capped, jittered exponential backoff, so the link survives the
// primary's restart and a loss of the network. What the link knows is in `status()`.
import { systemClock, type Clock } from '../../core/clock.js';
import { errorMessage } from '../../core/errors.js';
import { nullLogger, type Logger } from '../../core/logger.js';

export interface Backoff {
  /** The first retry's delay (before jitter). */
  readonly initialMs: number;
  /** The most any retry waits. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 5000 };
/** How long a follower's blocking query waits at the primary before it answers anyway. */
export const FOLLOW_WAIT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;

export interface WanLinkOptions {
  /** The primary datacenter's name (for messages). */
  readonly primaryDatacenter: string;
  /** The primary agents' HTTP addresses, `host:port`. */
  readonly addresses: readonly string[];
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly backoff?: Backoff;
  /** In [0, 1): the jitter's source. */
  readonly random?: () => number;
  /** The agent's token (`acl.tokens.agent`), sent with the link's own requests; a forwarded request sends its caller's instead. */
  readonly token?: string;
}

/** The primary's answer to one request, whatever its status. */
export interface LinkReply {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  /** X-Consul-Index, or 0. */
  readonly index: number;
}

/** The primary could not be reached at any of its addresses (nothing was answered). */
export class PrimaryUnreachableError extends Error {
  override readonly name = 'PrimaryUnreachableError';
}

export interface WanLinkStatus {
  readonly PrimaryDatacenter: string;
  readonly Addresses: readonly string[];
  /** The address last answered from (or to be tried next). */
  readonly Address: string;
  readonly Reachable: boolean;
  /** When the primary last answered (RFC 3339), or null. */
  readonly LastContact: string | null;
  readonly LastError: string | null;
  readonly LastErrorAt: string | null;
  /** Failed attempts since the last answer. */
  readonly ConsecutiveFailures: number;
  /** The primary's index of its config entries last applied here (0 before the first). */
  readonly ReplicatedIndex: number;
  /** The primary's index of its federation states last applied here. */
  readonly FederationStatesIndex: number;
}

export interface RequestOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One HTTP request to an agent at `address` (`host:port`); any status is an answer, a failure
 * to get one throws (with the network's reason).
 */
export async function httpCall(address: string, method: string, path: string, body: unknown, opts: RequestOptions = {}): Promise<LinkReply> {
  const signals = [AbortSignal.timeout(opts.timeoutMs ?? REQUEST_TIMEOUT_MS), ...(opts.signal ? [opts.signal] : [])];
  try {
    const res = await fetch(`http://${address}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...opts.headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.any(signals),
    });
    const text = await res.text();
    return { status: res.status, text, headers: res.headers, index: Number(res.headers.get('x-consul-index') ?? 0) };
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new Error(errorMessage((err as { cause?: unknown }).cause ?? err), { cause: err });
  }
}

export class WanLink {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private current = 0;
  private reachable = false;
  private lastContact: number | undefined;
  private lastError: { message: string; at: number } | undefined;
  private failures = 0;
  private replicated = { config: 0, federation: 0 };
  private readonly replicatedWaiters = new Set<() => void>();
  private readonly stopped = new AbortController();

  constructor(private readonly opts: WanLinkOptions) {
    if (opts.addresses.length === 0) throw new Error('a WAN link needs at least one address of the primary');
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? nullLogger;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.random = opts.random ?? Math.random;
  }

  get primaryDatacenter(): string {
    return this.opts.primaryDatacenter;
  }

  /**
   * One request to the primary, tried against each of its addresses until one answers (any
   * status is an answer). `path` includes the query string; `body` is sent as JSON. Throws
   * PrimaryUnreachableError when none answers. This is the call the rest of the agent (the CA's
   * intermediate signing included) uses to talk to the primary.
   */
  async request(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<LinkReply> {
    const errors: string[] = [];
    for (let tried = 0; tried < this.opts.addresses.length; tried++) {
      const address = this.opts.addresses[this.current] as string;
      try {
        const headers = { ...(this.opts.token ? { 'X-Consul-Token': this.opts.token } : {}), ...opts.headers };
        const reply = await httpCall(address, method, path, body, { ...opts, headers, signal: opts.signal ? AbortSignal.any([opts.signal, this.stopped.signal]) : this.stopped.signal });
        this.answered();
        return reply;
      } catch (err) {
        if (opts.signal?.aborted || this.stopped.signal.aborted) throw err;
        errors.push(`${address}: ${errorMessage(err)}`);
        this.current = (this.current + 1) % this.opts.addresses.length;
      }
    }
    const message = `cannot reach the primary datacenter "${this.opts.primaryDatacenter}" (${errors.join('; ')})`;
    this.failed(message);
    throw new PrimaryUnreachableError(message);
  }

  /**
   * Runs `fn` until it resolves, waiting the backoff after each failure (recorded in status());
   * undefined when `signal` or close() stops it first.
   */
  async retry<T>(what: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
    const stop = signal ? AbortSignal.any([signal, this.stopped.signal]) : this.stopped.signal;
    for (let attempt = 0; !stop.aborted; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (stop.aborted) return undefined;
        if (!(err instanceof PrimaryUnreachableError)) this.failed(`${what}: ${errorMessage(err)}`);
        const ms = this.delay(attempt);
        this.logger.warn({ what, err: errorMessage(err), retryInMs: ms }, 'a call to the primary failed; retrying');
        await this.sleep(ms, stop);
      }
    }
    return undefined;
  }

  /**
   * Follows `path` on the primary with blocking queries until `signal` (or close()) stops it:
   * every answer whose index moved (and the first) is handed to `apply`, in order; a failure
   * (the primary unreachable, a non-200 answer, `apply` throwing) is recorded and retried after
   * the backoff. An index that goes backwards (a primary restored from an older copy) starts
   * over from 0, as Consul's clients do.
   */
  async follow(path: string, apply: (body: unknown, index: number) => Promise<void>, signal?: AbortSignal): Promise<void> {
    const stop = signal ? AbortSignal.any([signal, this.stopped.signal]) : this.stopped.signal;
    const sep = path.includes('?') ? '&' : '?';
    let index = 0;
    while (!stop.aborted) {
      await this.retry(
        `GET ${path}`,
        async () => {
          const reply = await this.request('GET', `${path}${sep}index=${index}&wait=${FOLLOW_WAIT_MS / 1000}s`, undefined, { signal: stop, timeoutMs: FOLLOW_WAIT_MS + REQUEST_TIMEOUT_MS });
          if (reply.status !== 200) throw new Error(`${reply.status}: ${reply.text.trim()}`);
          const next = reply.index < index ? 0 : reply.index;
          if (next !== index || index === 0) await apply(JSON.parse(reply.text), reply.index);
          index = next;
        },
        stop,
      );
    }
  }

  /** Records the primary's index last applied here (of config entries, or of federation states). */
  noteReplicated(what: 'config' | 'federation', index: number): void {
    this.replicated = { ...this.replicated, [what]: index };
    for (const w of [...this.replicatedWaiters]) w();
  }

  /** Resolves true once config entries up to the primary's `index` are applied here, false after `timeoutMs`. */
  waitReplicated(index: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.replicated.config < index && !this.stopped.signal.aborted) return;
        done(true);
      };
      const done = (ok: boolean) => {
        cancel();
        this.replicatedWaiters.delete(check);
        resolve(ok);
      };
      const cancel = this.clock.setTimeout(() => done(false), timeoutMs);
      this.replicatedWaiters.add(check);
      check();
    });
  }

  status(): WanLinkStatus {
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return {
      PrimaryDatacenter: this.opts.primaryDatacenter,
      Addresses: this.opts.addresses,
      Address: this.opts.addresses[this.current] as string,
      Reachable: this.reachable,
      LastContact: iso(this.lastContact),
      LastError: this.lastError?.message ?? null,
      LastErrorAt: iso(this.lastError?.at),
      ConsecutiveFailures: this.failures,
      ReplicatedIndex: this.replicated.config,
      FederationStatesIndex: this.replicated.federation,
    };
  }

  /** Stops every follower and request in flight. */
  close(): void {
    this.stopped.abort();
  }

  /** Exponential from initialMs, capped at maxMs, with "equal jitter": between half and all of it. */
  private delay(attempt: number): number {
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(attempt, 30));
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        cancel();
        signal.removeEventListener('abort', done);
        resolve();
      };
      const cancel = this.clock.setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private answered(): void {
    if (!this.reachable && this.failures > 0) this.logger.info({ primary: this.opts.primaryDatacenter, address: this.opts.addresses[this.current] }, 'primary datacenter reachable again');
    this.reachable = true;
    this.failures = 0;
    this.lastContact = this.clock.now();
  }

  private failed(message: string): void {
    if (this.reachable || this.failures === 0) this.logger.warn({ primary: this.opts.primaryDatacenter, err: message }, 'primary datacenter unreachable');
    this.reachable = false;
    this.failures++;
    this.lastError = { message, at: this.clock.now() };
  }
}

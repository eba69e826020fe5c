// The agent side of leaf certificates: per service identity it makes a key, asks the CA to sign
// a CSR for it, and keeps the leaf fresh: renewal at a random point between 60% and 90% of its
// lifetime, re-issue (spread over a jitter window) after the active root changes. Each leaf is
// a stream shared by all its subscribers; the leaf stays cached when they go away, so coming
// back does not sign again needlessly. Over the CSR rate limit an issuance waits for its turn
// in the CA's queue (arrival order); it leaves the queue when nobody waits for that leaf any
// more. Structurally a proxycfg CASource.
import { defer, distinctUntilChanged, filter, finalize, map, type Observable, type Subscription, BehaviorSubject } from 'rxjs';
import type { Clock } from '../core/clock.js';
import { errorMessage, RateLimitError, UnavailableError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { DEFAULT_NAMESPACE, spiffeServiceUri } from '../core/names.js';
import type { CsrQueueState, LeafCsr, LeafSignRequest, SignedLeaf, SignWaitOptions } from './ca-service.js';
import { nameCN } from './certs.js';
import { buildCsr } from './csr.js';
import { generateKey, signerFor, type GeneratedKey, type KeySpec } from './keys.js';
import { toPem } from './pem.js';
import { isoSeconds } from './roots.js';
import type { CARoots, LeafCert } from './types.js';

/** What the leaf manager needs of the CA (CAService provides it). */
export interface LeafIssuer {
  readonly trustDomain: string;
  readonly datacenter: string;
  watchRoots(): Observable<CARoots>;
  leafKeySpec(): KeySpec;
  signLeaf(csr: LeafCsr, req: LeafSignRequest, opts?: SignWaitOptions): Promise<SignedLeaf>;
  /** CSRs per second the CA accepts (0: unlimited); sizes the re-issue jitter window. */
  csrRate?(): number;
  /** The CSR queue, for a caller that waits only so long (getLeaf with maxWaitMs). */
  csrQueue?(): CsrQueueState;
  /** Why no leaf can be signed now (a secondary CA without an intermediate), or undefined. */
  signingProblem?(): string | undefined;
}

/** How long a caller of getLeaf waits for a leaf that is not issued yet. */
export interface LeafWaitOptions {
  /** Aborted when the caller goes away: it stops waiting (and the CSR leaves the queue if nobody else waits for it). */
  readonly signal?: AbortSignal;
  /**
   * The longest wait for a turn in the CSR queue: refused at once (RateLimitError, nothing queued)
   * when the queue is already longer than that, and with a RateLimitError when it passes.
   */
  readonly maxWaitMs?: number;
}

export interface LeafManagerDeps {
  readonly ca: LeafIssuer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly namespace?: string;
  /** Uniform in [0, 1); Math.random by default. */
  readonly random?: () => number;
  /** Smallest window over which re-issues after a root change are spread (default 30s). */
  readonly reissueJitterMs?: number;
  /**
   * How long a leaf nobody watches stays cached (default 72h). Then it is dropped, private key
   * and all, so names asked for once (for example over HTTP) do not accumulate.
   */
  readonly idleEvictMs?: number;
}

interface Cached {
  readonly cert: LeafCert;
  readonly rootId: string;
  readonly notAfter: number;
  readonly renewAt: number;
}

interface IssuanceState {
  /** Takes the CSR out of the CA's queue (once nobody waits for the leaf). */
  readonly abort: AbortController;
  /** Still waiting for its turn (not signing yet). */
  queued: boolean;
  /** getLeaf callers waiting for it; watchers count through Entry.subscribers. */
  askers: number;
}

/** One issuance of a leaf, shared by everyone waiting for it. */
interface Issuance extends IssuanceState {
  readonly done: Promise<Cached>;
}

interface Entry {
  readonly service: string;
  readonly leaf$: BehaviorSubject<Cached | undefined>;
  subscribers: number;
  issuing?: Issuance;
  cancelTimer: () => void;
  failures: number;
}

const RENEW_FROM = 0.6;
const RENEW_TO = 0.9;
const MAX_BACKOFF_MS = 60_000;
const IDLE_EVICT_MS = 72 * 3_600_000;
const REISSUE_JITTER_MS = 30_000;

export class LeafManager {
  private readonly entries = new Map<string, Entry>();
  private readonly random: () => number;
  private readonly log: Logger;
  private activeRootId = '';
  private index = 0;
  private readonly rootsSub: Subscription;

  constructor(private readonly deps: LeafManagerDeps) {
    this.random = deps.random ?? Math.random;
    this.log = deps.logger.child({ component: 'leaf-manager' });
    this.rootsSub = deps.ca.watchRoots().subscribe((roots) => this.onRoots(roots));
  }

  stop(): void {
    this.rootsSub.unsubscribe();
    for (const e of this.entries.values()) e.cancelTimer();
  }

  watchRoots(): Observable<CARoots> {
    return this.deps.ca.watchRoots();
  }

  /** The service's leaf: issued on first subscription, then every renewal or re-issue. */
  watchLeaf(service: string): Observable<LeafCert> {
    return defer(() => {
      const entry = this.entry(service);
      entry.subscribers++;
      this.refresh(entry);
      return entry.leaf$.pipe(
        filter((c): c is Cached => c !== undefined),
        map((c) => c.cert),
        distinctUntilChanged(),
        finalize(() => {
          entry.subscribers--;
          // The last watcher gone: stop renewing (or waiting to), and drop the entry once it has been idle.
          if (entry.subscribers === 0) {
            this.letGo(entry);
            this.schedule(entry, 0);
          }
        }),
      );
    });
  }

  /**
   * The current leaf, issuing one when there is none usable (waiting for its turn in the CSR
   * queue, within `opts`); a refused CSR rejects (a RateLimitError when the wait is too long).
   */
  async getLeaf(service: string, opts: LeafWaitOptions = {}): Promise<LeafCert> {
    const known = this.entries.get(service);
    const cached = known?.leaf$.value;
    if (cached && this.usable(cached)) return cached.cert;
    if (!known?.issuing && opts.maxWaitMs !== undefined) this.refuseLongWait(opts.maxWaitMs);
    const entry = known ?? this.entry(service);
    const issuance = this.issue(entry);
    issuance.askers++;
    try {
      return (await this.waitFor(issuance, opts)).cert;
    } finally {
      issuance.askers--;
      this.letGo(entry);
    }
  }

  /** A caller that waits at most `maxWaitMs` is refused at once when the CSR queue is longer. */
  private refuseLongWait(maxWaitMs: number): void {
    const queue = this.deps.ca.csrQueue?.();
    const wait = queue?.expectedWaitMs;
    if (queue && wait !== undefined && wait > maxWaitMs) {
      throw new RateLimitError(`rate limit reached: ${queue.waiting} certificate signing requests are waiting for their turn (about ${Math.ceil(wait / 1000)} s at csr_max_per_second), try again later`, wait);
    }
  }

  /** The issuance's leaf, or the caller's signal's reason, or a RateLimitError when its turn has not come within maxWaitMs. */
  private waitFor(issuance: Issuance, { signal, maxWaitMs }: LeafWaitOptions): Promise<Cached> {
    if (!signal && maxWaitMs === undefined) return issuance.done;
    return new Promise<Cached>((resolve, reject) => {
      let cancelTimer = (): void => undefined;
      const settle = (fn: () => void) => {
        cancelTimer();
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = () => settle(() => reject(signal?.reason));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      if (maxWaitMs !== undefined) {
        cancelTimer = this.deps.clock.setTimeout(() => {
          // Its turn has come and it is being signed: that finishes soon.
          if (!issuance.queued) return;
          const problem = this.deps.ca.signingProblem?.();
          if (problem !== undefined) return settle(() => reject(new UnavailableError(`no leaf certificate after ${Math.round(maxWaitMs / 1000)} s: ${problem}`)));
          const queue = this.deps.ca.csrQueue?.();
          const message = `rate limit reached: the certificate signing request waited ${Math.round(maxWaitMs / 1000)} s for its turn${queue ? ` (${queue.waiting} waiting)` : ''}, try again later`;
          settle(() => reject(new RateLimitError(message, queue?.expectedWaitMs ?? maxWaitMs)));
        }, maxWaitMs);
      }
      issuance.done.then(
        (cached) => settle(() => resolve(cached)),
        (err: unknown) => settle(() => reject(err)),
      );
    });
  }

  /** Nobody waits for the entry's leaf any more: a CSR still queued for it leaves the queue. */
  private letGo(entry: Entry): void {
    const issuance = entry.issuing;
    if (!issuance || !issuance.queued || issuance.askers > 0 || entry.subscribers > 0) return;
    entry.issuing = undefined;
    issuance.abort.abort(new Error(`nobody waits for the leaf certificate of ${entry.service} any more`));
    if (!entry.leaf$.value && entry.subscribers === 0) this.evict(entry);
  }

  private entry(service: string): Entry {
    let e = this.entries.get(service);
    if (!e) {
      e = { service, leaf$: new BehaviorSubject<Cached | undefined>(undefined), subscribers: 0, cancelTimer: () => undefined, failures: 0 };
      this.entries.set(service, e);
    }
    return e;
  }

  private usable(c: Cached): boolean {
    return c.rootId === this.activeRootId && this.deps.clock.now() < c.renewAt;
  }

  /** Issues now if the cached leaf is missing or stale, else schedules its renewal. */
  private refresh(entry: Entry): void {
    const cached = entry.leaf$.value;
    if (cached && this.usable(cached)) this.schedule(entry, cached.renewAt - this.deps.clock.now());
    else if (!entry.issuing) this.background(entry);
  }

  /** Renewal (or retry) in `delayMs` while watched; eviction after the idle period while not. */
  private schedule(entry: Entry, delayMs: number): void {
    entry.cancelTimer();
    if (entry.subscribers === 0) {
      entry.cancelTimer = this.deps.clock.setTimeout(() => this.evict(entry), this.deps.idleEvictMs ?? IDLE_EVICT_MS);
      return;
    }
    entry.cancelTimer = this.deps.clock.setTimeout(() => this.background(entry), Math.max(0, delayMs));
  }

  private evict(entry: Entry): void {
    if (entry.subscribers > 0 || entry.issuing) return;
    if (this.entries.get(entry.service) === entry) this.entries.delete(entry.service);
    this.log.debug({ service: entry.service }, 'idle leaf certificate dropped');
  }

  /** Service names with a cached leaf (for tests and status). */
  cachedServices(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** Issues (a failure is retried by issue() while the leaf is watched). */
  private background(entry: Entry): void {
    this.issue(entry);
  }

  /**
   * Whoever started it (a watcher, a renewal, an HTTP request), a failed issuance of a watched
   * leaf is retried with jittered exponential backoff: a watcher may have joined an issuance an
   * HTTP request started, and would otherwise wait for a leaf forever. (Waiting for the CSR rate
   * limit is not a failure: the issuance waits in the CA's queue until its turn.)
   */
  private issue(entry: Entry): Issuance {
    if (entry.issuing) return entry.issuing;
    const state: IssuanceState = { abort: new AbortController(), queued: true, askers: 0 };
    const done = this.sign(entry, state).catch((err: unknown) => {
      if (entry.issuing === issuance) entry.issuing = undefined;
      if (!state.abort.signal.aborted && entry.subscribers > 0) this.retryLater(entry, err);
      throw err;
    });
    // Watchers hear of a failure through the retry; callers waiting on `done` through it.
    done.catch(() => undefined);
    const issuance: Issuance = Object.assign(state, { done });
    entry.issuing = issuance;
    return issuance;
  }

  private retryLater(entry: Entry, err: unknown): void {
    entry.failures++;
    const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(entry.failures - 1, 6)) * (0.5 + this.random() / 2);
    this.log.warn({ service: entry.service, retryInMs: Math.round(backoff), err: errorMessage(err) }, 'leaf certificate issuance failed; retrying');
    this.schedule(entry, backoff);
  }

  private async sign(entry: Entry, issuance: IssuanceState): Promise<Cached> {
    const { ca } = this.deps;
    const namespace = this.deps.namespace ?? DEFAULT_NAMESPACE;
    let key: GeneratedKey | undefined;
    // The key is made when the CSR's turn comes, of the key type in force then, for the trust
    // domain known then (a secondary learns it from the primary).
    const csr = async () => {
      issuance.queued = false;
      const uri = spiffeServiceUri({ trustDomain: ca.trustDomain, namespace, datacenter: ca.datacenter, service: entry.service });
      const spec = ca.leafKeySpec();
      key = await generateKey(spec);
      return buildCsr(nameCN(entry.service), key.spki, [uri], signerFor(spec, key.pkcs8));
    };
    const signed = await ca.signLeaf(csr, { service: entry.service, namespace }, { signal: issuance.abort.signal });
    const prev = entry.leaf$.value;
    const index = ++this.index;
    const cert: LeafCert = {
      SerialNumber: signed.serialNumber,
      CertPEM: signed.certPem,
      PrivateKeyPEM: toPem('PRIVATE KEY', (key as GeneratedKey).pkcs8),
      Service: entry.service,
      ServiceURI: signed.serviceUri,
      ValidAfter: isoSeconds(signed.notBefore),
      ValidBefore: isoSeconds(signed.notAfter),
      CreateIndex: prev?.cert.CreateIndex ?? index,
      ModifyIndex: index,
    };
    const lifetime = signed.notAfter - signed.notBefore;
    const renewAt = signed.notBefore + lifetime * (RENEW_FROM + (RENEW_TO - RENEW_FROM) * this.random());
    const cached: Cached = { cert, rootId: signed.rootId, notAfter: signed.notAfter, renewAt };
    entry.failures = 0;
    // Done before subscribers hear of it, so one reacting at once (a timer) can issue again.
    if (entry.issuing === issuance) entry.issuing = undefined;
    entry.leaf$.next(cached);
    this.log.debug({ service: entry.service, serial: cert.SerialNumber, validBefore: cert.ValidBefore }, 'leaf certificate issued');
    // Signed by a root that stopped being active while the CSR was out (onRoots found nothing to
    // re-issue yet): re-issue within the jitter window, as for every other leaf, not at renewal.
    const stale = this.activeRootId !== '' && cached.rootId !== this.activeRootId;
    this.schedule(entry, stale ? this.random() * this.reissueWindow(1) : renewAt - this.deps.clock.now());
    return cached;
  }

  /** The window `leaves` re-issues after a root change are spread over (within the CSR rate, with room). */
  private reissueWindow(leaves: number): number {
    const rate = this.deps.ca.csrRate?.() ?? 0;
    return Math.max(this.deps.reissueJitterMs ?? REISSUE_JITTER_MS, rate > 0 ? (leaves / rate) * 2000 : 0);
  }

  private onRoots(roots: CARoots): void {
    // No active root (a secondary between trust domains): keep the leaves until there is one.
    if (roots.ActiveRootID === '') return;
    const changed = this.activeRootId !== '' && roots.ActiveRootID !== this.activeRootId;
    this.activeRootId = roots.ActiveRootID;
    if (!changed) return;
    const watched = [...this.entries.values()].filter((e) => e.subscribers > 0 && e.leaf$.value?.rootId !== roots.ActiveRootID);
    const window = this.reissueWindow(watched.length);
    this.log.info({ leaves: watched.length, windowMs: Math.round(window) }, 'active CA root changed; re-issuing leaves');
    for (const e of watched) this.schedule(e, this.random() * window);
  }
}

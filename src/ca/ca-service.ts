// The CA as the rest of Switchyard sees it: starts (or resumes) the provider and its root,
// publishes the roots as a stream, applies configuration changes (rotating the root when the
// key settings change, cross-signed by the old one), prunes old roots once their leaves have
// expired, and signs validated, rate-limited leaf CSRs.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { BehaviorSubject, filter, type Observable } from 'rxjs';
import type { Clock } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import { ConflictError, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { trustDomainFor } from '../core/names.js';
import { BuiltinProvider } from './builtin/builtin-provider.js';
import { readCert } from './cert-info.js';
import { DEFAULT_CA_CONFIG, leafTtlMs, LEAF_TTL_MIN_MS, needsNewRoot, parseCAConfig, parseCAConfigRequest, type CAConfig } from './config.js';
import type { KeySpec } from './keys.js';
import { validateLeafCsr } from './leaf-validation.js';
import { certPem, colonHex } from './pem.js';
import type { CAProvider } from './provider.js';
import { CsrLimiter } from './rate-limit.js';
import { nextPruneAt, pruneRoots, publicRoots, rootRecord, rotateRoots } from './roots.js';
import type { CAStateStore, PersistedCAState } from './state-store.js';
import type { CARoots } from './types.js';

export interface CAServiceDeps {
  readonly store: CAStateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly datacenter: string;
  /** The configuration used the first time (later, the persisted one wins). Consul's shape. */
  readonly initialConfig?: unknown;
  /** Makes a provider for a configuration; the built-in one by default. */
  readonly newProvider?: (config: CAConfig) => CAProvider;
  readonly newClusterId?: () => string;
}

/** What GET /v1/connect/ca/configuration answers. */
export interface CAConfigurationView extends CAConfig {
  readonly ClusterID: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface LeafSignRequest {
  readonly service?: string;
  readonly namespace?: string;
  /** Defaults to the configured LeafCertTTL. */
  readonly ttlMs?: number;
}

/**
 * A CSR, or what makes one when the request's turn in the CSR queue comes (so the key is made
 * then, with the key type in force then, and requests queue in the order they were made).
 */
export type LeafCsr = Uint8Array | (() => Promise<Uint8Array>);

export interface SignWaitOptions {
  /** Aborting it while the request waits for its turn takes it out of the queue (rejects with the reason). */
  readonly signal?: AbortSignal;
}

/** The CSR queue as a caller deciding whether to join it sees it. */
export interface CsrQueueState {
  /** Requests waiting for their turn. */
  readonly waiting: number;
  /** How long a request joining now would wait (ms); undefined when that cannot be told (csr_max_concurrent). */
  readonly expectedWaitMs: number | undefined;
}

export interface SignedLeaf {
  /** The leaf, then any intermediates up to (not including) the root. */
  readonly certPem: string;
  readonly serialNumber: string;
  readonly serviceUri: string;
  readonly service: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly rootId: string;
}

/** How long a leaf signed under the active root can live. */
function maxLeafTtlMs(s: PersistedCAState): number {
  return Math.max(s.activeRootMaxLeafTtlMs ?? 0, leafTtlMs(s.config));
}

export class CAService {
  private state?: PersistedCAState;
  private provider?: CAProvider;
  private readonly roots$ = new BehaviorSubject<CARoots | undefined>(undefined);
  private limiter?: CsrLimiter;
  private cancelPrune = (): void => undefined;
  /** Serialises changes to the state (rotation, pruning). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly deps: CAServiceDeps) {
    this.log = deps.logger.child({ component: 'ca' });
  }

  private newProvider(config: CAConfig): CAProvider {
    return this.deps.newProvider ? this.deps.newProvider(config) : new BuiltinProvider(this.deps.clock);
  }

  private providerConfig(config: CAConfig, state?: Readonly<Record<string, string>>) {
    const clusterId = this.current.clusterId;
    return { clusterId, isPrimary: true, datacenter: this.deps.datacenter, rawConfig: { ...config.Config }, state };
  }

  private get current(): PersistedCAState {
    if (!this.state) throw new Error('CA used before start()');
    return this.state;
  }

  /** Loads the persisted CA, or creates the cluster id and first root and persists them. */
  async start(): Promise<void> {
    const loaded = await this.deps.store.load();
    if (loaded) {
      this.state = loaded;
      this.provider = this.newProvider(loaded.config);
      await this.provider.configure(this.providerConfig(loaded.config, loaded.providerState));
      this.log.info({ trustDomain: this.trustDomain, activeRoot: loaded.roots.find((r) => r.Active)?.ID }, 'CA resumed');
    } else {
      const config = this.deps.initialConfig === undefined ? DEFAULT_CA_CONFIG : parseCAConfig(this.deps.initialConfig);
      const clusterId = (this.deps.newClusterId ?? randomUUID)();
      this.state = { version: 1, clusterId, config, configCreateIndex: 1, configModifyIndex: 1, providerState: {}, roots: [], index: 1 };
      const provider = this.newProvider(config);
      await provider.configure(this.providerConfig(config));
      const chain = await provider.generateRoot();
      const root = rootRecord({ chain, signingCert: await provider.activeLeafSigningCert(), config, clusterId, index: 1 });
      const next: PersistedCAState = { ...this.state, providerState: await provider.state(), roots: [root] };
      await this.deps.store.save(next);
      this.state = next;
      this.provider = provider;
      this.log.info({ trustDomain: this.trustDomain, activeRoot: root.ID }, 'CA initialised');
    }
    this.limiter = new CsrLimiter(this.deps.clock, this.current.config.Config);
    this.publish();
  }

  stop(): void {
    this.cancelPrune();
    this.roots$.complete();
  }

  get clusterId(): string {
    return this.current.clusterId;
  }

  get trustDomain(): string {
    return trustDomainFor(this.current.clusterId);
  }

  get datacenter(): string {
    return this.deps.datacenter;
  }

  roots(): CARoots {
    return publicRoots(this.current.roots, this.trustDomain, this.current.index);
  }

  /** The current roots on subscribe, then after every change. */
  watchRoots(): Observable<CARoots> {
    return this.roots$.pipe(filter((r): r is CARoots => r !== undefined));
  }

  configuration(): CAConfigurationView {
    const s = this.current;
    return { ...s.config, ClusterID: s.clusterId, CreateIndex: s.configCreateIndex, ModifyIndex: s.configModifyIndex };
  }

  /** The key type leaves should use: the configured one, as Consul does. */
  leafKeySpec(): KeySpec {
    return { type: this.current.config.Config.PrivateKeyType, bits: this.current.config.Config.PrivateKeyBits };
  }

  csrQueue(): CsrQueueState {
    const limiter = this.limiter as CsrLimiter;
    return { waiting: limiter.waiting, expectedWaitMs: limiter.expectedWaitMs() };
  }

  csrRate(): number {
    const c = this.current.config.Config;
    return c.CSRMaxConcurrent > 0 ? 0 : c.CSRMaxPerSecond;
  }

  private publish(): void {
    this.roots$.next(this.roots());
    this.schedulePrune();
  }

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Validates and applies a configuration request (Consul's body); a change of key settings
   * rotates the root, and the configuration in force sent back (a read-modify-write) writes nothing.
   */
  async setConfiguration(input: unknown): Promise<CAConfigurationView> {
    const { config, clusterId } = parseCAConfigRequest(input);
    return this.serialise(async () => {
      const s = this.current;
      if (clusterId !== undefined && clusterId !== s.clusterId) {
        throw ValidationError.of('ClusterID', `cannot be changed (this cluster is "${s.clusterId}"); leave it out or send back what GET answers`, 'invalid CA configuration');
      }
      if (isDeepStrictEqual(config, s.config)) return this.configuration();
      const index = s.index + 1;
      if (!needsNewRoot(s.config, config)) {
        const activeRootMaxLeafTtlMs = Math.max(maxLeafTtlMs(s), leafTtlMs(config));
        await this.commit({ ...s, config, configModifyIndex: index, index, activeRootMaxLeafTtlMs });
        this.limiter?.update(config.Config);
        this.log.info({ index }, 'CA configuration updated');
        return this.configuration();
      }
      await this.rotate(config, index);
      return this.configuration();
    });
  }

  private async rotate(config: CAConfig, index: number): Promise<void> {
    const s = this.current;
    const old = this.provider as CAProvider;
    const next = this.newProvider(config);
    await next.configure(this.providerConfig(config));
    const chain = await next.generateRoot();
    let crossSigned: Uint8Array | undefined;
    if (!config.ForceWithoutCrossSigning) {
      if (!(await old.supportsCrossSigning())) {
        throw new ConflictError('the current CA provider cannot cross-sign the new root; set ForceWithoutCrossSigning to rotate anyway');
      }
      crossSigned = await old.crossSignCA(chain.root);
    }
    const root = rootRecord({ chain, signingCert: await next.activeLeafSigningCert(), crossSigned, config, clusterId: s.clusterId, index });
    // Not only the current LeafCertTTL: a longer one in force earlier signed leaves that live on.
    const roots = rotateRoots(s.roots, root, this.deps.clock.now(), maxLeafTtlMs(s), index);
    // The new provider signs from the moment the new roots are visible: a leaf asked for by
    // whoever sees them must be signed by the root it is labelled with.
    await this.commit({ ...s, config, configModifyIndex: index, providerState: await next.state(), roots, index, activeRootMaxLeafTtlMs: leafTtlMs(config) }, () => {
      this.provider = next;
    });
    this.limiter?.update(config.Config);
    await old.cleanup(false, { ...config.Config }).catch((err: unknown) => this.log.warn({ err: String(err) }, 'old CA provider cleanup failed'));
    this.log.info({ index, activeRoot: root.ID, keyType: config.Config.PrivateKeyType, keyBits: config.Config.PrivateKeyBits }, 'CA root rotated');
  }

  /** Durable first, then visible; `apply` switches what must change with it before anyone sees it. */
  private async commit(next: PersistedCAState, apply?: () => void): Promise<void> {
    await this.deps.store.save(next);
    this.state = next;
    apply?.();
    this.publish();
  }

  private schedulePrune(): void {
    this.cancelPrune();
    const at = nextPruneAt(this.current.roots);
    if (at === undefined) return;
    this.cancelPrune = this.deps.clock.setTimeout(() => {
      void this.serialise(async () => {
        const roots = pruneRoots(this.current.roots, this.deps.clock.now());
        if (!roots) return this.schedulePrune();
        const index = this.current.index + 1;
        await this.commit({ ...this.current, roots, index });
        this.log.info({ index, roots: roots.length }, 'pruned CA roots whose leaves have all expired');
      }).catch((err: unknown) => this.log.error({ err: String(err) }, 'pruning CA roots failed'));
    }, at - this.deps.clock.now());
  }

  /**
   * Validates a leaf CSR (identity, trust domain, key) and signs it, within the CSR rate limit:
   * over the limit it waits for its turn, in arrival order.
   */
  async signLeaf(csr: LeafCsr, req: LeafSignRequest = {}, opts: SignWaitOptions = {}): Promise<SignedLeaf> {
    const release = await (this.limiter as CsrLimiter).acquire(opts.signal);
    try {
      // Never longer than LeafCertTTL: a rotated-out root is pruned one LeafCertTTL after rotation.
      const maxTtl = leafTtlMs(this.current.config);
      const ttlMs = req.ttlMs ?? maxTtl;
      if (!(ttlMs >= LEAF_TTL_MIN_MS && ttlMs <= maxTtl)) {
        throw ValidationError.of('TTL', `must be between ${formatDuration(LEAF_TTL_MIN_MS)} and LeafCertTTL (${formatDuration(maxTtl)}), got ${formatDuration(ttlMs)}`);
      }
      const der = typeof csr === 'function' ? await csr() : csr;
      const { identity, uri } = validateLeafCsr(der, { trustDomain: this.trustDomain, datacenter: this.deps.datacenter, service: req.service, namespace: req.namespace });
      const provider = this.provider as CAProvider;
      const active = this.current.roots.find((r) => r.Active);
      const signed = await provider.sign(der, { ttlMs });
      const leaf = readCert(signed);
      return {
        certPem: certPem(signed) + (active?.IntermediateCerts ?? []).join(''),
        serialNumber: colonHex(leaf.serial),
        serviceUri: uri,
        service: identity.service,
        notBefore: leaf.notBefore,
        notAfter: leaf.notAfter,
        rootId: active?.ID ?? '',
      };
    } finally {
      release();
    }
  }
}

// The CA as the rest of Switchyard sees it: starts (or resumes) the provider and its root,
// publishes the roots as a stream, applies configuration changes (rotating the root when the
// key settings change, cross-signed by the old one), prunes old roots once their leaves have
// expired, and signs validated, rate-limited leaf CSRs. In the primary datacenter it owns the
// root and signs secondaries' intermediates; in a secondary it makes no root: it follows the
// primary's roots (one trust domain) and signs leaves with an intermediate the primary signed.
import { randomUUID, X509Certificate } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { BehaviorSubject, filter, type Observable, type Subscription } from 'rxjs';
import type { Clock } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import { ConflictError, UnavailableError, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { spiffeRootUri, trustDomainFor } from '../core/names.js';
import { backoffDelay } from './backoff.js';
import { BuiltinProvider } from './builtin/builtin-provider.js';
import { PluginProvider } from './plugin/plugin-provider.js';
import { VaultProvider } from './vault/vault-provider.js';
import { readCert } from './cert-info.js';
import { IntermediateRenewer, intermediateRenewAt, leafChain, nextIntermediateExpiry, renewedRoot } from './intermediate-renewal.js';
import { parseCsr } from './csr.js';
import { validateIntermediateCsr } from './intermediate-validation.js';
import { DEFAULT_CA_CONFIG, leafTtlMs, LEAF_TTL_MIN_MS, needsNewRoot, parseCAConfig, parseCAConfigRequest, withoutSecrets, type CAConfig } from './config.js';
import type { KeySpec } from './keys.js';
import { validateLeafCsr } from './leaf-validation.js';
import { certDer, certPem, colonHex, toPem } from './pem.js';
import type { PrimaryCA, SignedIntermediate } from './primary-ca.js';
import type { CAProvider, ProviderConfig } from './provider.js';
import { CsrLimiter } from './rate-limit.js';
import { isoSeconds, nextPruneAt, pruneRoots, publicRoots, rechainedRoot, rootRecord, rotateRoots } from './roots.js';
import { SecondaryFollower, type PendingIntermediate, type SecondaryHost } from './secondary-ca.js';
import { secondaryChain, secondaryRoots, type LocalSigning } from './secondary-roots.js';
import type { CAStateStore, PersistedCAState } from './state-store.js';
import type { CARoots } from './types.js';

export interface CAServiceDeps {
  readonly store: CAStateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly datacenter: string;
  /** The configuration used the first time (later, the persisted one wins). Consul's shape. */
  readonly initialConfig?: unknown;
  /** Makes a provider for a configuration; by default the one its Provider names. */
  readonly newProvider?: (config: CAConfig) => CAProvider;
  readonly newClusterId?: () => string;
  /** The primary datacenter (default: this one). When it is another, this CA is a secondary. */
  readonly primaryDatacenter?: string;
  /** How a secondary reaches the primary's CA; required when this is a secondary. */
  readonly primary?: PrimaryCA;
  /** Uniform in [0, 1), for the secondary's retry jitter; Math.random by default. */
  readonly random?: () => number;
}

/** What the primary answers a secondary's intermediate CSR with. */
export interface SignedIntermediateView {
  readonly IntermediatePEM: string;
  /** The root that signed it (the active one). */
  readonly RootID: string;
}

/** What GET /v1/connect/ca/configuration answers. */
export type CAConfigurationView = CAConfig & {
  readonly ClusterID: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
};

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

export class CAService implements SecondaryHost {
  private state?: PersistedCAState;
  private follower?: SecondaryFollower;
  private provider?: CAProvider;
  private readonly roots$ = new BehaviorSubject<CARoots | undefined>(undefined);
  private limiter?: CsrLimiter;
  private renewer?: IntermediateRenewer;
  /** Per provider, the signing calls in flight (see track). */
  private readonly inFlight = new Map<CAProvider, Set<Promise<void>>>();
  private cancelPrune = (): void => undefined;
  private cancelRetry = (): void => undefined;
  /** Serialises changes to the state (rotation, pruning). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly deps: CAServiceDeps) {
    this.log = deps.logger.child({ component: 'ca' });
  }

  private newProvider(config: CAConfig): CAProvider {
    if (this.deps.newProvider) return this.deps.newProvider(config);
    switch (config.Provider) {
      case 'vault':
        return new VaultProvider({ clock: this.deps.clock, logger: this.log });
      case 'plugin':
        return new PluginProvider({ clock: this.deps.clock, logger: this.deps.logger });
      default:
        return new BuiltinProvider(this.deps.clock);
    }
  }

  private providerConfig(config: CAConfig, state?: Readonly<Record<string, string>>): ProviderConfig {
    const clusterId = this.current.clusterId;
    return { clusterId, isPrimary: this.isPrimary, datacenter: this.deps.datacenter, rawConfig: { ...config.Config }, state };
  }

  /**
   * The persisted provider, configured again. The built-in one holds its keys here, so a failure
   * is fatal; one backed by a service (Vault down, its token revoked while the agent was stopped)
   * must not keep the agent from starting: the failure is logged, signing fails with the
   * provider's error (leaves already issued are still served), and configuring is retried with
   * backoff until it works or the configuration is replaced.
   */
  private async resumeProvider(config: CAConfig, state: Readonly<Record<string, string>>): Promise<CAProvider> {
    const provider = this.newProvider(config);
    try {
      await provider.configure(this.providerConfig(config, state));
    } catch (err) {
      if (config.Provider === 'consul') throw err;
      this.log.error({ err: String(err), provider: config.Provider }, 'the CA provider could not be configured: leaves cannot be signed until it can (retrying)');
      this.retryConfigure(provider, config, state, 1);
    }
    return provider;
  }

  private retryConfigure(provider: CAProvider, config: CAConfig, state: Readonly<Record<string, string>>, failures: number): void {
    this.cancelRetry = this.deps.clock.setTimeout(() => {
      if (this.provider !== provider) return;
      provider.configure(this.providerConfig(config, state)).then(
        () => this.log.info({ provider: config.Provider, failures }, 'the CA provider is configured again'),
        (err: unknown) => {
          this.log.warn({ err: String(err), provider: config.Provider, failures }, 'configuring the CA provider failed again');
          this.retryConfigure(provider, config, state, failures + 1);
        },
      );
    }, backoffDelay(failures, { random: this.deps.random, baseMs: 1000, maxMs: 60_000 }));
  }

  /** Whether this datacenter is the primary (owns the root). */
  get isPrimary(): boolean {
    return this.primaryDatacenter === this.deps.datacenter;
  }

  get primaryDatacenter(): string {
    return this.deps.primaryDatacenter ?? this.deps.datacenter;
  }

  private get current(): PersistedCAState {
    if (!this.state) throw new Error('CA used before start()');
    return this.state;
  }

  /** Loads the persisted CA, or creates the cluster id and first root and persists them. */
  async start(): Promise<void> {
    const loaded = await this.deps.store.load();
    if (!this.isPrimary) return this.startSecondary(loaded);
    if (loaded?.primaryDatacenter !== undefined) {
      throw new Error(`the data dir holds the CA of a secondary datacenter (its primary is ${loaded.primaryDatacenter}); it cannot become the primary CA`);
    }
    if (loaded) {
      this.state = loaded;
      this.provider = await this.resumeProvider(loaded.config, loaded.providerState);
      this.log.info({ trustDomain: this.trustDomain, activeRoot: loaded.roots.find((r) => r.Active)?.ID }, 'CA resumed');
    } else {
      const config = this.deps.initialConfig === undefined ? DEFAULT_CA_CONFIG : parseCAConfig(this.deps.initialConfig);
      const clusterId = (this.deps.newClusterId ?? randomUUID)();
      this.state = { version: 1, clusterId, config, configCreateIndex: 1, configModifyIndex: 1, providerState: {}, roots: [], index: 1 };
      const provider = await this.configured(config);
      let next: PersistedCAState;
      try {
        const chain = await provider.generateRoot();
        const root = rootRecord({ chain, signingCert: await provider.activeLeafSigningCert(), config, clusterId, index: 1 });
        next = { ...this.state, providerState: await provider.state(), roots: [root] };
        await this.deps.store.save(next);
      } catch (err) {
        // The agent does not start: what the provider runs (a plugin process) goes too.
        await provider.close?.();
        throw err;
      }
      const root = next.roots[0] as (typeof next.roots)[number];
      this.state = next;
      this.provider = provider;
      this.log.info({ trustDomain: this.trustDomain, activeRoot: root.ID }, 'CA initialised');
    }
    this.renewer = new IntermediateRenewer({ clock: this.deps.clock, logger: this.log, random: this.deps.random, dueAt: () => this.intermediateDueAt(), renew: () => this.renewPrimaryIntermediate() });
    this.limiter = new CsrLimiter(this.deps.clock, this.current.config.Config);
    this.publish();
  }

  /** Stops the CA's timers and lets go of the provider (a plugin process is shut down: awaited). */
  async stop(): Promise<void> {
    this.cancelPrune();
    this.cancelRetry();
    this.renewer?.stop();
    void this.follower?.stop();
    this.roots$.complete();
    await this.provider?.close?.();
  }

  get clusterId(): string {
    return this.current.clusterId;
  }

  /** Empty in a secondary that has not heard from the primary yet. */
  get trustDomain(): string {
    return this.current.clusterId === '' ? '' : trustDomainFor(this.current.clusterId);
  }

  get datacenter(): string {
    return this.deps.datacenter;
  }

  roots(): CARoots {
    return publicRoots(this.current.roots, this.trustDomain, this.current.index);
  }

  /**
   * The current roots on subscribe, then after every change; in a secondary, from when the
   * primary's are known (before, there is no trust domain to build anything with).
   */
  watchRoots(): Observable<CARoots> {
    return this.roots$.pipe(filter((r): r is CARoots => r !== undefined && r.TrustDomain !== ''));
  }

  /** The roots as published (GET /v1/connect/ca/roots): also the empty set of a secondary that has none yet. */
  watchPublishedRoots(): Observable<CARoots> {
    return this.roots$.pipe(filter((r): r is CARoots => r !== undefined));
  }

  configuration(): CAConfigurationView {
    const s = this.current;
    return { ...withoutSecrets(s.config), ClusterID: s.clusterId, CreateIndex: s.configCreateIndex, ModifyIndex: s.configModifyIndex };
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
    this.renewer?.schedule();
  }

  /** Primary: when the leaf-signing intermediate is half way through its life, or a former one expires. */
  private intermediateDueAt(): number | undefined {
    const active = this.current.roots.find((r) => r.Active);
    if (!active || !this.provider?.generateLeafSigningCert) return undefined;
    const times = [intermediateRenewAt(active), nextIntermediateExpiry(active)].filter((t): t is number => t !== undefined);
    return times.length ? Math.min(...times) : undefined;
  }

  /** Primary: a new intermediate from the provider once the current one is half way through its life, published beside the old one. */
  private renewPrimaryIntermediate(): Promise<void> {
    return this.serialise(async () => {
      const s = this.current;
      const active = s.roots.find((r) => r.Active);
      const provider = this.provider;
      if (!active || !provider?.generateLeafSigningCert) return;
      const now = this.deps.clock.now();
      const due = intermediateRenewAt(active);
      const renewed = due !== undefined && due <= now ? await provider.generateLeafSigningCert() : undefined;
      const index = s.index + 1;
      const root = renewedRoot(active, renewed, now, index);
      if (renewed && (!root || root.SigningKeyID === active.SigningKeyID)) this.log.warn({ provider: s.config.Provider }, 'the CA provider was asked for a new intermediate and answered with the one it has');
      if (!root) return;
      await this.commit({ ...s, roots: s.roots.map((r) => (r.Active ? root : r)), index });
      const fields = { index, root: root.ID, intermediates: root.IntermediateCerts.length };
      if (root.SigningKeyID !== active.SigningKeyID) this.log.info({ ...fields, signingKeyId: root.SigningKeyID, validBefore: isoSeconds(readCert(renewed as Uint8Array).notAfter) }, 'renewed the intermediate that signs leaves (the old one was half way through its life; it stays published until it expires)');
      else this.log.info(fields, 'unpublished an expired intermediate');
    });
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
      if (!this.isPrimary || !needsNewRoot(s.config, config)) {
        const activeRootMaxLeafTtlMs = Math.max(maxLeafTtlMs(s), leafTtlMs(config));
        // A provider holding no keys of its own (Vault) takes its new settings (a token) from now on.
        const next = this.isPrimary && config.Provider !== 'consul' ? await this.configured(config, s.providerState) : undefined;
        const old = this.provider;
        await this.commit({ ...s, config, configModifyIndex: index, index, activeRootMaxLeafTtlMs }, () => {
          if (next) this.provider = next;
        });
        if (next && old) {
          await this.drained(old);
          await old.close?.();
        }
        this.limiter?.update(config.Config);
        this.log.info({ index }, 'CA configuration updated');
        // A secondary's key settings are its intermediate's: it has a new one signed.
        if (!this.isPrimary && needsNewRoot(s.config, config)) this.follower?.requestRenewal();
        return this.configuration();
      }
      await this.rotate(config, index);
      return this.configuration();
    });
  }

  /** A new provider for `config`, configured; stopped again when configuring fails. */
  private async configured(config: CAConfig, state?: Readonly<Record<string, string>>): Promise<CAProvider> {
    const next = this.newProvider(config);
    try {
      await next.configure(this.providerConfig(config, state));
      return next;
    } catch (err) {
      await next.close?.();
      throw err;
    }
  }

  private async rotate(config: CAConfig, index: number): Promise<void> {
    const next = await this.configured(config);
    try {
      await this.rotateTo(next, config, index);
    } catch (err) {
      // Refused (no cross-signing) or failed before the switch: what the new provider made for
      // it (a Vault intermediate mount) is released, as Consul cleans up the new provider, and
      // the provider is let go. Nothing of the one in force is touched.
      if (this.provider !== next) await this.discard(next, config);
      throw err;
    }
  }

  private async discard(next: CAProvider, config: CAConfig): Promise<void> {
    await next.cleanup(config.Provider !== this.current.config.Provider, { ...config.Config }).catch((err: unknown) => this.log.warn({ err: String(err), provider: config.Provider }, 'cleaning up the CA provider that was not switched to failed'));
    await next.close?.();
  }

  private async rotateTo(next: CAProvider, config: CAConfig, index: number): Promise<void> {
    const s = this.current;
    const old = this.provider as CAProvider;
    const chain = await next.generateRoot();
    const providerTypeChange = s.config.Provider !== config.Provider;
    const active = s.roots.find((r) => r.Active);
    if (active && rootRecord({ chain, signingCert: chain.root, config, clusterId: s.clusterId, index }).ID === active.ID) {
      return this.keepRoot(config, index, next, old, chain, providerTypeChange);
    }
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
    await this.retire(old, providerTypeChange, config.Config);
    this.log.info({ index, activeRoot: root.ID, provider: config.Provider, keyType: config.Config.PrivateKeyType, keyBits: config.Config.PrivateKeyBits }, 'CA root rotated');
  }

  /**
   * The new provider found the root already active (a Vault whose root mount was kept, reached
   * under a new address or with a new intermediate mount): no rotation, the active root's record
   * takes the new chain, and leaves are signed by the new provider from now on.
   */
  private async keepRoot(config: CAConfig, index: number, next: CAProvider, old: CAProvider, chain: Awaited<ReturnType<CAProvider['generateRoot']>>, providerTypeChange: boolean): Promise<void> {
    const s = this.current;
    const signingCert = await next.activeLeafSigningCert();
    const roots = s.roots.map((r) => (r.Active ? rechainedRoot(r, { chain, signingCert, config, clusterId: s.clusterId, index }) : r));
    const activeRootMaxLeafTtlMs = Math.max(maxLeafTtlMs(s), leafTtlMs(config));
    await this.commit({ ...s, config, configModifyIndex: index, providerState: await next.state(), roots, index, activeRootMaxLeafTtlMs }, () => {
      this.provider = next;
    });
    this.limiter?.update(config.Config);
    await this.retire(old, providerTypeChange, config.Config);
    this.log.info({ index, activeRoot: roots.find((r) => r.Active)?.ID, provider: config.Provider }, 'CA provider reconfigured; the active root is kept');
  }

  /** Leaves a provider is signing now: it is cleaned up or closed only once they are signed. */
  private track<T>(provider: CAProvider, call: Promise<T>): Promise<T> {
    const calls = this.inFlight.get(provider) ?? new Set<Promise<void>>();
    this.inFlight.set(provider, calls);
    const settled = call.then(
      () => undefined,
      () => undefined,
    );
    calls.add(settled);
    void settled.then(() => {
      calls.delete(settled);
      if (calls.size === 0 && this.inFlight.get(provider) === calls) this.inFlight.delete(provider);
    });
    return call;
  }

  /** Resolves once every leaf `provider` was signing has been signed (or has failed). */
  private async drained(provider: CAProvider): Promise<void> {
    await Promise.all([...(this.inFlight.get(provider) ?? [])]);
  }

  /**
   * The provider replaced (already out of use) lets go of what it holds once the leaves it was
   * signing are signed: a Vault intermediate mount unmounted or a plugin shut down under a
   * signing call would fail a leaf the switch had no reason to fail.
   */
  private async retire(old: CAProvider, providerTypeChange: boolean, otherConfig: CAConfig['Config']): Promise<void> {
    await this.drained(old);
    await old.cleanup(providerTypeChange, { ...otherConfig }).catch((err: unknown) => this.log.warn({ err: String(err) }, 'old CA provider cleanup failed'));
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
    // Only when it must wait: the queue is joined in the same tick as the call otherwise.
    if (this.signingProblem() !== undefined) await this.untilSigning(opts.signal);
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
      const signed = await this.track(provider, provider.sign(der, { ttlMs }));
      const leaf = readCert(signed);
      const chain = await this.chainOf(provider, signed);
      return {
        certPem: certPem(signed) + chain.join(''),
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

  /** What a leaf signed by `provider` under the active root chains through, up to (not including) the root. */
  private async chainOf(provider: CAProvider, signed: Uint8Array): Promise<readonly string[]> {
    const active = this.current.roots.find((r) => r.Active);
    if (!active) return [];
    return this.isPrimary ? (leafChain(active, signed) ?? leafChain(active, signed, await provider.activeLeafSigningCert()) ?? []) : secondaryChain(active);
  }

  /**
   * Signs the agent's own TLS certificate (HTTPS and TLS gRPC when no cert_file is configured):
   * a CSR the agent made itself, with its agent URI (`spiffe://<trust-domain>/agent/server/dc/<dc>/id/<node>`)
   * and the DNS names and IPs it serves on, for LeafCertTTL. Not reachable over the API, so the
   * CSR is trusted; the provider must copy the CSR's DNS and IP SANs (the built-in one does), and
   * the caller checks that it did. Answers the certificate with its chain and its validity.
   */
  async signAgentCert(csr: Uint8Array, opts: SignWaitOptions = {}): Promise<{ readonly certPem: string; readonly notBefore: number; readonly notAfter: number; readonly rootId: string }> {
    if (this.signingProblem() !== undefined) await this.untilSigning(opts.signal);
    const provider = this.provider as CAProvider;
    const signed = await this.track(provider, provider.sign(csr, { ttlMs: leafTtlMs(this.current.config) }));
    const cert = readCert(signed);
    return { certPem: certPem(signed) + (await this.chainOf(provider, signed)).join(''), notBefore: cert.notBefore, notAfter: cert.notAfter, rootId: this.current.roots.find((r) => r.Active)?.ID ?? '' };
  }

  /** Whether leaves can be signed now; otherwise why not (a secondary without an intermediate). */
  signingProblem(): string | undefined {
    if (this.current.roots.some((r) => r.Active)) return undefined;
    const last = this.follower?.lastProblem();
    return `this datacenter (${this.deps.datacenter}) is a secondary, and its CA has no intermediate certificate signed by the primary datacenter (${this.primaryDatacenter}) yet${last ? `: ${last}` : ''}`;
  }

  /** Resolves once leaves can be signed (at once in a primary); rejects with the signal's reason. */
  private untilSigning(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const held: { sub?: Subscription; settled?: boolean } = {};
      const done = (fn: () => void) => {
        held.settled = true;
        held.sub?.unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = () => done(() => reject(signal?.reason));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      held.sub = this.roots$.subscribe({
        next: (r) => {
          if (r?.ActiveRootID) done(resolve);
        },
        complete: () => done(() => reject(new UnavailableError('the CA is stopping'))),
      });
      if (held.settled) held.sub.unsubscribe();
    });
  }

  /**
   * Primary only: validates a secondary's intermediate CSR (PEM) strictly and signs it with the
   * active root; answers the certificate and the root's ID.
   */
  async signIntermediate(csrPem: unknown): Promise<SignedIntermediateView> {
    if (!this.isPrimary) {
      throw new ConflictError(`this datacenter (${this.deps.datacenter}) is a secondary; intermediates are signed by the primary datacenter (${this.primaryDatacenter})`);
    }
    const { der } = validateIntermediateCsr(csrPem, this.trustDomain);
    return this.serialise(async () => {
      const active = this.current.roots.find((r) => r.Active);
      if (!active) throw new UnavailableError('the CA has no active root');
      const cert = await (this.provider as CAProvider).signIntermediate(der);
      this.log.info({ root: active.ID, serial: colonHex(readCert(cert).serial) }, 'signed an intermediate CA certificate for a secondary datacenter');
      return { IntermediatePEM: certPem(cert), RootID: active.ID };
    });
  }

  // --- Secondary ---------------------------------------------------------------------------

  /** Resumes the persisted intermediate, or starts with none; then follows the primary. */
  private async startSecondary(loaded: PersistedCAState | undefined): Promise<void> {
    if (!this.deps.primary) throw new Error(`this datacenter (${this.deps.datacenter}) is a secondary of ${this.primaryDatacenter}, but no way to reach the primary was given (retry_join_wan)`);
    const resumed = loaded?.primaryDatacenter !== undefined ? loaded : undefined;
    if (loaded && !resumed) this.log.warn({ primaryDatacenter: this.primaryDatacenter }, 'the data dir holds a primary CA; as a secondary this datacenter sets its root aside and follows the primary');
    const config = loaded?.config ?? (this.deps.initialConfig === undefined ? DEFAULT_CA_CONFIG : parseCAConfig(this.deps.initialConfig));
    this.state = resumed ?? { version: 1, clusterId: '', config, configCreateIndex: 1, configModifyIndex: 1, providerState: {}, roots: [], index: 1, primaryDatacenter: this.primaryDatacenter };
    if (resumed) {
      this.provider = await this.resumeProvider(resumed.config, resumed.providerState);
      this.log.info({ trustDomain: this.trustDomain, activeRoot: resumed.roots.find((r) => r.Active)?.ID }, 'secondary CA resumed its intermediate');
    }
    this.limiter = new CsrLimiter(this.deps.clock, this.current.config.Config);
    this.publish();
    this.follower = new SecondaryFollower({ primary: this.deps.primary, host: this, clock: this.deps.clock, logger: this.log, random: this.deps.random });
    this.follower.start();
  }

  /** The primary's root this datacenter's intermediate chains to, and that intermediate. */
  private localSigning(): LocalSigning | undefined {
    const active = this.current.roots.find((r) => r.Active);
    const pem = active?.IntermediateCerts[active.IntermediateCerts.length - 1];
    return active && pem ? { rootId: active.ID, intermediatePem: pem } : undefined;
  }

  /** SecondaryHost: mirrors the primary's roots; true when a new intermediate is needed. */
  applyPrimaryRoots(primary: CARoots): Promise<boolean> {
    return this.serialise(async () => {
      const s = this.current;
      const clusterId = primary.Roots.find((r) => r.ID === primary.ActiveRootID)?.ExternalTrustDomain ?? '';
      if (clusterId === '') throw new Error('the primary lists no active root');
      const sameDomain = s.clusterId === clusterId;
      if (!sameDomain && s.clusterId !== '') this.log.warn({ was: s.clusterId, now: clusterId }, "the primary's cluster id changed; this datacenter needs a new intermediate");
      const signing = sameDomain ? this.localSigning() : undefined;
      const index = s.index + 1;
      const roots = secondaryRoots(sameDomain ? s.roots : [], primary, signing, this.deps.clock.now(), maxLeafTtlMs(s), index);
      if (!sameDomain || !isDeepStrictEqual(roots, s.roots)) {
        await this.commit({ ...s, clusterId, roots, index });
        this.log.info({ index, primaryActiveRoot: primary.ActiveRootID, roots: roots.length }, "followed the primary's CA roots");
      }
      return signing?.rootId !== primary.ActiveRootID;
    });
  }

  /** SecondaryHost: a fresh provider's CSR for an intermediate, installed once the primary signs it. */
  async prepareIntermediate(): Promise<PendingIntermediate> {
    const { config, clusterId } = this.current;
    const provider = this.newProvider(config);
    await provider.configure({ ...this.providerConfig(config), clusterId });
    const { csr, opaque } = await provider.generateIntermediateCsr();
    return {
      csrPem: toPem('CERTIFICATE REQUEST', csr),
      install: (signed, roots) => this.serialise(() => this.installIntermediate({ provider, csr, opaque, clusterId }, signed, roots)),
      discard: () => provider.cleanup(false, { ...config.Config }).catch(() => undefined),
    };
  }

  /** SecondaryHost: half way through the intermediate's life. */
  intermediateRenewAt(): number | undefined {
    const signing = this.localSigning();
    if (!signing) return undefined;
    const cert = readCert(certDer(signing.intermediatePem));
    return cert.notBefore + (cert.notAfter - cert.notBefore) / 2;
  }

  /** Checks what the primary signed (the key asked for, a CA of this trust domain, issued by the named root), then switches to it. */
  private async installIntermediate(
    made: { provider: CAProvider; csr: Uint8Array; opaque: string; clusterId: string },
    signed: SignedIntermediate,
    primary: CARoots,
  ): Promise<void> {
    const s = this.current;
    if (s.clusterId !== made.clusterId) throw new Error("the primary's cluster id changed while the intermediate was being signed");
    const root = primary.Roots.find((r) => r.ID === signed.rootId);
    if (!root) throw new Error(`the primary signed the intermediate with root ${signed.rootId}, which it does not list`);
    const der = certDer(signed.intermediatePem);
    const cert = new X509Certificate(der);
    const problems = [
      !cert.verify(new X509Certificate(root.RootCert).publicKey) && `is not signed by root ${root.ID}`,
      !cert.ca && 'is not a CA certificate',
      !Buffer.from(readCert(der).spki).equals(Buffer.from(parseCsr(made.csr).spki)) && 'is not for the key of the CSR',
      cert.subjectAltName !== `URI:${spiffeRootUri(trustDomainFor(made.clusterId))}` && `names ${cert.subjectAltName ?? 'nothing'}, not this trust domain`,
    ].filter((p): p is string => typeof p === 'string');
    if (problems.length) throw new Error(`the intermediate the primary signed cannot be used: it ${problems.join(', ')}`);
    await made.provider.setIntermediate(der, certDer(root.RootCert), made.opaque);
    const index = s.index + 1;
    const roots = secondaryRoots(s.roots, primary, { rootId: root.ID, intermediatePem: certPem(der) }, this.deps.clock.now(), maxLeafTtlMs(s), index);
    const old = this.provider;
    await this.commit({ ...s, providerState: await made.provider.state(), roots, index, activeRootMaxLeafTtlMs: leafTtlMs(s.config) }, () => {
      this.provider = made.provider;
    });
    if (old) await this.retire(old, false, s.config.Config);
    this.log.info({ index, root: root.ID, validBefore: cert.validTo }, 'secondary CA installed an intermediate signed by the primary');
  }
}

// The Vault provider (`Provider: "vault"`): the root lives in the PKI mount RootPKIPath and the
// intermediate that signs leaves in IntermediatePKIPath; keys never leave Vault. Configuring
// mounts and tunes what is missing; the root is generated once and found again afterwards; the
// intermediate's CSR is made in Vault, signed by the root mount and set back; leaves are signed
// through the role `leaf-cert`, which takes the CSR's URI SAN (the SPIFFE ID). A secondary has no
// root mount: its intermediate is signed by the primary. Every Vault failure carries Vault's own
// message and names the provider (VaultError).
import { X509Certificate, randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { parseDuration } from '../../core/duration.js';
import { ValidationError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { spiffeRootUri, trustDomainFor } from '../../core/names.js';
import type { VaultSettings } from '../config.js';
import { certDer, certPem, fromPem, toPem } from '../pem.js';
import type { CAProvider, IntermediateCsr, LeafSignOptions, ProviderConfig, RootChain } from '../provider.js';
import { VaultClient } from './client.js';
import { VaultToken } from './token.js';

const uniqueId = (): string => randomBytes(4).toString('hex');

/** The role leaves are signed through (Consul's name). */
export const LEAF_ROLE = 'leaf-cert';

const trim = (p: string | undefined): string => (p ?? '').replace(/^\/+|\/+$/g, '');

export interface VaultProviderDeps {
  readonly clock: Clock;
  readonly logger: Logger;
}

export class VaultProvider implements CAProvider {
  private config?: ProviderConfig;
  private client?: VaultClient;
  private token?: VaultToken;
  private intermediate?: Uint8Array;
  private readonly log: Logger;

  constructor(private readonly deps: VaultProviderDeps) {
    this.log = deps.logger.child({ provider: 'vault' });
  }

  private get cfg(): ProviderConfig {
    if (!this.config) throw new Error('vault CA provider used before configure()');
    return this.config;
  }

  private get settings(): VaultSettings {
    return this.cfg.rawConfig as unknown as VaultSettings;
  }

  private get vault(): VaultClient {
    if (!this.client) throw new Error('vault CA provider used before configure()');
    return this.client;
  }

  private requireRootPath(): string {
    const p = trim(this.settings.RootPKIPath);
    if (!p) throw ValidationError.of('Config.RootPKIPath', 'is required in the primary datacenter: the PKI mount that holds the root', 'vault CA provider');
    return p;
  }

  private get rootPath(): string {
    return this.requireRootPath();
  }

  private get intermediatePath(): string {
    return trim(this.settings.IntermediatePKIPath);
  }

  private get trustDomain(): string {
    return trustDomainFor(this.cfg.clusterId);
  }

  /** Diagnostics: the token's renewals and logins so far. */
  get tokenStats(): { renewals: number; logins: number } {
    return { renewals: this.token?.renewals ?? 0, logins: this.token?.logins ?? 0 };
  }

  async configure(config: ProviderConfig): Promise<void> {
    this.token?.stop();
    this.config = config;
    const s = this.settings;
    // The primary's root lives in Vault: there is nothing to sign with without its mount.
    if (config.isPrimary) this.requireRootPath();
    this.client = new VaultClient(s.Address, s);
    this.token = new VaultToken(this.client, { token: s.Token, authMethod: s.AuthMethod }, this.deps.clock, this.log);
    await this.token.start();
    // Resuming: the role follows the configuration (its max TTL is LeafCertTTL).
    if (config.state?.intermediatePath === this.intermediatePath) await this.writeRole();
  }

  state(): Promise<Record<string, string>> {
    return Promise.resolve(this.intermediate ? { intermediatePath: this.intermediatePath } : { ...(this.config?.state ?? {}) });
  }

  private ttl(key: 'RootCertTTL' | 'IntermediateCertTTL' | 'LeafCertTTL'): string {
    return this.settings[key];
  }

  /** Mounts a PKI engine at `path` when there is none, and sets its longest lease. */
  private async ensureMount(path: string, maxLeaseTtl: string): Promise<void> {
    const mounts = (await this.vault.call('GET', 'sys/mounts')).data ?? {};
    const mount = mounts[`${path}/`] as { type?: string } | undefined;
    if (!mount) {
      await this.vault.call('POST', `sys/mounts/${path}`, { type: 'pki', description: 'Switchyard Connect CA', config: { max_lease_ttl: maxLeaseTtl } });
      this.log.info({ path }, 'mounted a PKI secrets engine');
      return;
    }
    if (mount.type !== 'pki') throw new Error(`vault CA provider: the mount ${path} is a ${mount.type ?? 'unknown'} secrets engine, not pki`);
    await this.vault.call('POST', `sys/mounts/${path}/tune`, { max_lease_ttl: maxLeaseTtl });
  }

  /** The default issuer's certificate of a mount, or undefined when it has none yet. */
  private async caOf(path: string): Promise<Uint8Array | undefined> {
    const { text } = await this.vault.call('GET', `${path}/ca/pem`, undefined, { raw: true });
    return text?.includes('-----BEGIN CERTIFICATE-----') ? certDer(text) : undefined;
  }

  private async writeRole(): Promise<void> {
    await this.vault.call('POST', `${this.intermediatePath}/roles/${LEAF_ROLE}`, {
      allow_any_name: true,
      allowed_uri_sans: [`spiffe://${this.trustDomain}/*`],
      allowed_uri_sans_template: false,
      enforce_hostnames: false,
      allow_ip_sans: false,
      allow_localhost: false,
      require_cn: false,
      use_csr_common_name: true,
      use_csr_sans: true,
      key_type: 'any',
      max_ttl: this.ttl('LeafCertTTL'),
      no_store: false,
      generate_lease: false,
      server_flag: true,
      client_flag: true,
      basic_constraints_valid_for_non_ca: true,
      not_before_duration: '60s',
    });
  }

  private keyParams(): { key_type: string; key_bits: number } {
    return { key_type: this.settings.PrivateKeyType, key_bits: this.settings.PrivateKeyBits };
  }

  /** A CSR for a new intermediate, its key made and kept in the intermediate mount. */
  private async intermediateCsr(): Promise<string> {
    const res = await this.vault.call('POST', `${this.intermediatePath}/intermediate/generate/internal`, {
      // Unique per intermediate, as Consul's: a renewal's successor is told apart by name too.
      common_name: `Switchyard Vault CA Intermediate ${this.cfg.datacenter} ${uniqueId()}`,
      uri_sans: spiffeRootUri(this.trustDomain),
      // A primary checks that an intermediate's CSR asks to be a CA.
      add_basic_constraints: true,
      exclude_cn_from_sans: true,
      ...this.keyParams(),
    });
    const csr = res.data?.csr;
    if (typeof csr !== 'string') throw new Error(`vault CA provider: ${this.intermediatePath}/intermediate/generate/internal answered no CSR`);
    return csr;
  }

  /** Installs a signed intermediate in its mount and makes it the issuer leaves are signed by. */
  private async installIntermediate(intermediate: Uint8Array): Promise<void> {
    const res = await this.vault.call('POST', `${this.intermediatePath}/intermediate/set-signed`, { certificate: certPem(intermediate) });
    const data = res.data ?? {};
    const issuer = [...((data.imported_issuers as string[] | null) ?? []), ...((data.existing_issuers as string[] | null) ?? [])][0];
    if (issuer) await this.vault.call('POST', `${this.intermediatePath}/config/issuers`, { default: issuer });
    await this.writeRole();
    this.intermediate = intermediate;
  }

  private signedByRootMount(csrPem: string, ttl: string): Promise<Uint8Array> {
    return this.vault
      .call('POST', `${this.rootPath}/root/sign-intermediate`, { csr: csrPem, use_csr_values: true, ttl, max_path_length: 0, format: 'pem' })
      .then((res) => certDer(String(res.data?.certificate ?? '')));
  }

  /** Whether `cert` was issued by `root` and lives long enough to sign a full-length leaf. */
  private usable(cert: Uint8Array, root: Uint8Array): boolean {
    const c = new X509Certificate(cert);
    const leafMs = parseDuration('Config.LeafCertTTL', this.ttl('LeafCertTTL'));
    return c.verify(new X509Certificate(root).publicKey) && Date.parse(c.validTo) > this.deps.clock.now() + leafMs;
  }

  async generateRoot(): Promise<RootChain> {
    if (!this.cfg.isPrimary) throw new Error("vault CA provider: a secondary datacenter's CA makes no root (its intermediate is signed by the primary)");
    const rootPath = this.rootPath;
    await this.ensureMount(rootPath, this.ttl('RootCertTTL'));
    let root = await this.caOf(rootPath);
    if (!root) {
      const res = await this.vault.call('POST', `${rootPath}/root/generate/internal`, {
        // Unique per root, as Consul's: a root cross-signed by another root of this cluster must not
        // look self-issued (same subject as its issuer), or chain building stops at it.
        common_name: `Switchyard Vault CA Root ${this.cfg.clusterId.slice(0, 8)} ${uniqueId()}`,
        uri_sans: spiffeRootUri(this.trustDomain),
        ttl: this.ttl('RootCertTTL'),
        ...this.keyParams(),
      });
      root = certDer(String(res.data?.certificate ?? ''));
      this.log.info({ path: rootPath }, 'generated a root in Vault');
    }
    await this.ensureMount(this.intermediatePath, this.ttl('IntermediateCertTTL'));
    const existing = await this.caOf(this.intermediatePath);
    if (existing && this.usable(existing, root)) {
      await this.writeRole();
      this.intermediate = existing;
    } else {
      const signed = await this.signedByRootMount(await this.intermediateCsr(), this.ttl('IntermediateCertTTL'));
      await this.installIntermediate(signed);
      this.log.info({ path: this.intermediatePath }, 'installed a new intermediate signed by the root mount');
    }
    return { root, intermediates: [this.intermediate as Uint8Array] };
  }

  async generateIntermediateCsr(): Promise<IntermediateCsr> {
    await this.ensureMount(this.intermediatePath, this.ttl('IntermediateCertTTL'));
    const csr = fromPem(await this.intermediateCsr()).find((b) => b.label === 'CERTIFICATE REQUEST');
    if (!csr) throw new Error(`vault CA provider: ${this.intermediatePath}/intermediate/generate/internal answered no CSR`);
    // The key stays in the mount: set-signed pairs the certificate with it.
    return { csr: csr.der, opaque: '' };
  }

  /** The root is the primary's (published by the CA); only the intermediate goes into Vault, paired with the key the CSR was made with. */
  async setIntermediate(intermediate: Uint8Array, _root?: Uint8Array, _opaque?: string): Promise<void> {
    await this.installIntermediate(intermediate);
  }

  async activeLeafSigningCert(): Promise<Uint8Array> {
    if (!this.intermediate) this.intermediate = await this.caOf(this.intermediatePath);
    if (!this.intermediate) throw new Error(`vault CA provider: the mount ${this.intermediatePath} holds no intermediate yet`);
    return this.intermediate;
  }

  /** A new intermediate (a new key in the intermediate mount), signed by the root mount, made the mount's default issuer. */
  async generateLeafSigningCert(): Promise<Uint8Array> {
    if (!this.cfg.isPrimary) throw new Error("vault CA provider: a secondary datacenter's intermediate is signed by the primary");
    const signed = await this.signedByRootMount(await this.intermediateCsr(), this.ttl('IntermediateCertTTL'));
    await this.installIntermediate(signed);
    this.log.info({ path: this.intermediatePath }, 'installed a renewed intermediate signed by the root mount');
    return signed;
  }

  async sign(csr: Uint8Array, opts: LeafSignOptions): Promise<Uint8Array> {
    const res = await this.vault.call('POST', `${this.intermediatePath}/sign/${LEAF_ROLE}`, {
      csr: toPem('CERTIFICATE REQUEST', csr),
      ttl: `${Math.floor(opts.ttlMs / 1000)}s`,
      // The identity is the URI SAN alone, as in the built-in provider's leaves.
      exclude_cn_from_sans: true,
    });
    return certDer(String(res.data?.certificate ?? ''));
  }

  signIntermediate(csr: Uint8Array): Promise<Uint8Array> {
    return this.signedByRootMount(toPem('CERTIFICATE REQUEST', csr), this.ttl('IntermediateCertTTL'));
  }

  /** Vault signs another CA's self-issued root with this root's key (root/sign-self-issued; needs sudo). */
  async crossSignCA(cert: Uint8Array): Promise<Uint8Array> {
    const res = await this.vault.call('POST', `${this.rootPath}/root/sign-self-issued`, { certificate: certPem(cert) });
    return certDer(String(res.data?.certificate ?? ''));
  }

  supportsCrossSigning(): Promise<boolean> {
    return Promise.resolve(true);
  }

  /**
   * Stops renewing the token; unmounts the intermediate when the next configuration no longer
   * uses it (another provider, or another IntermediatePKIPath), as Consul does. The root mount is
   * the operator's and is never removed.
   */
  async cleanup(providerTypeChange: boolean, otherConfig: Readonly<Record<string, unknown>>): Promise<void> {
    try {
      if (providerTypeChange || trim(otherConfig.IntermediatePKIPath as string | undefined) !== this.intermediatePath) {
        await this.vault.call('DELETE', `sys/mounts/${this.intermediatePath}`);
        this.log.info({ path: this.intermediatePath }, 'unmounted the intermediate PKI mount no longer in use');
      }
    } finally {
      this.close();
    }
  }

  close(): void {
    this.token?.stop();
  }
}

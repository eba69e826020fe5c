// The built-in ("consul") provider: keys made with WebCrypto, kept in the provider state so a
// restart resumes the same root. A primary signs leaves with its root key; a secondary with an
// intermediate signed by the primary.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { parseDuration } from '../../core/duration.js';
import { spiffeRootUri, trustDomainFor } from '../../core/names.js';
import { readCert, type CertInfo } from '../cert-info.js';
import { authorityKeyId, basicConstraints, buildCertificate, CA_KEY_USAGE, nameCN, subjectKeyId, uriSan } from '../certs.js';
import { buildCsr, parseCsr } from '../csr.js';
import { b64, unb64 } from '../pem.js';
import { generateKey, keyIdentifier, signerFor, type KeySpec, type Signer } from '../keys.js';
import type { CAProvider, IntermediateCsr, LeafSignOptions, ProviderConfig, RootChain } from '../provider.js';
import { LeafSigner } from './leaf-template.js';

const MINUTE = 60_000;

interface Active {
  readonly cert: CertInfo;
  readonly signer: Signer;
  readonly leaf: LeafSigner;
}

export class BuiltinProvider implements CAProvider {
  private config?: ProviderConfig;
  private spec: KeySpec = { type: 'ec', bits: 256 };
  private state_: Record<string, string> = {};
  private active?: Active;
  private root?: Uint8Array;
  /** Random per process: with the counter it makes every serial unique without a write per leaf. */
  private readonly serialPrefix = randomBytes(8);
  private serialCounter = 0n;

  constructor(private readonly clock: Clock) {}

  configure(config: ProviderConfig): Promise<void> {
    this.config = config;
    const raw = config.rawConfig;
    this.spec = { type: (raw.PrivateKeyType as 'ec' | 'rsa') ?? 'ec', bits: (raw.PrivateKeyBits as number) ?? 256 };
    this.state_ = { ...(config.state ?? {}) };
    if (this.state_.signingKey && this.state_.signingCert) this.activate(unb64(this.state_.signingCert), this.state_.signingKey);
    if (this.state_.rootCert) this.root = unb64(this.state_.rootCert);
    return Promise.resolve();
  }

  state(): Promise<Record<string, string>> {
    return Promise.resolve({ ...this.state_ });
  }

  private get trustDomain(): string {
    return trustDomainFor(this.cfg.clusterId);
  }

  private get cfg(): ProviderConfig {
    if (!this.config) throw new Error('CA provider used before configure()');
    return this.config;
  }

  private ttl(key: string, def: string): number {
    return parseDuration(`Config.${key}`, (this.cfg.rawConfig[key] as string | undefined) ?? def);
  }

  private activate(certDer: Uint8Array, keyB64: string): void {
    const cert = readCert(certDer);
    const signer = signerFor(this.spec, unb64(keyB64));
    this.active = { cert, signer, leaf: new LeafSigner(cert, signer) };
  }

  private nextSerial(): Uint8Array {
    const out = new Uint8Array(16);
    out.set(this.serialPrefix, 0);
    out[0] = (out[0] as number) & 0x7f;
    new DataView(out.buffer).setBigUint64(8, ++this.serialCounter);
    return out;
  }

  async generateRoot(): Promise<RootChain> {
    if (!this.cfg.isPrimary) {
      if (!this.root || !this.active) throw new Error('secondary CA has no intermediate yet');
      return { root: this.root, intermediates: [this.active.cert.der] };
    }
    if (!this.root) {
      const key = await generateKey(this.spec);
      const signer = signerFor(this.spec, key.pkcs8);
      const ski = keyIdentifier(key.spki);
      const now = this.clock.now();
      const serial = randomBytes(6);
      serial[0] = (serial[0] as number) & 0x7f;
      const name = nameCN(`Switchyard CA Root ${this.cfg.clusterId.slice(0, 8)} ${serial.toString('hex')}`);
      const der = buildCertificate(
        {
          serial,
          issuer: name,
          subject: name,
          notBefore: now - MINUTE,
          notAfter: now + this.ttl('RootCertTTL', '87600h'),
          spki: key.spki,
          extensions: [basicConstraints(true), CA_KEY_USAGE, subjectKeyId(ski), authorityKeyId(ski), uriSan([spiffeRootUri(this.trustDomain)])],
        },
        signer,
      );
      this.root = der;
      this.state_ = { rootCert: b64(der), signingCert: b64(der), signingKey: b64(key.pkcs8) };
      this.activate(der, this.state_.signingKey as string);
    }
    return { root: this.root, intermediates: [] };
  }

  async generateIntermediateCsr(): Promise<IntermediateCsr> {
    const key = await generateKey(this.spec);
    const signer = signerFor(this.spec, key.pkcs8);
    const subject = nameCN(`Switchyard CA Intermediate ${this.cfg.datacenter} ${this.clock.now()}`);
    this.state_ = { ...this.state_, pendingKey: b64(key.pkcs8) };
    return { csr: buildCsr(subject, key.spki, [spiffeRootUri(this.trustDomain)], signer, true), opaque: 'pendingKey' };
  }

  setIntermediate(intermediate: Uint8Array, root: Uint8Array, opaque: string): Promise<void> {
    const key = this.state_[opaque];
    if (!key) throw new Error('no pending intermediate key to pair with the certificate');
    const { [opaque]: _pending, ...rest } = this.state_;
    this.state_ = { ...rest, rootCert: b64(root), signingCert: b64(intermediate), signingKey: key };
    this.root = root;
    this.activate(intermediate, key);
    return Promise.resolve();
  }

  private signing(): Active {
    if (!this.active) throw new Error('CA provider has no signing key (generateRoot or setIntermediate first)');
    return this.active;
  }

  activeLeafSigningCert(): Promise<Uint8Array> {
    return Promise.resolve(this.signing().cert.der);
  }

  sign(csr: Uint8Array, opts: LeafSignOptions): Promise<Uint8Array> {
    return Promise.resolve(this.signing().leaf.sign(parseCsr(csr, { verify: false }), this.nextSerial(), this.clock.now(), opts.ttlMs));
  }

  /** A CA certificate for `subject`/`spki`, issued by the active signing cert. */
  private issueCA(subject: Uint8Array, spki: Uint8Array, notBefore: number, notAfter: number, pathLen?: number, ski?: Uint8Array): Uint8Array {
    const { cert, signer } = this.signing();
    return buildCertificate(
      {
        serial: this.nextSerial(),
        issuer: cert.subject,
        subject,
        notBefore,
        notAfter: Math.min(notAfter, cert.notAfter),
        spki,
        extensions: [
          basicConstraints(true, pathLen),
          CA_KEY_USAGE,
          subjectKeyId(ski ?? keyIdentifier(spki)),
          authorityKeyId(cert.subjectKeyId ?? keyIdentifier(cert.spki)),
          uriSan([spiffeRootUri(this.trustDomain)]),
        ],
      },
      signer,
    );
  }

  signIntermediate(csr: Uint8Array): Promise<Uint8Array> {
    const parsed = parseCsr(csr);
    const now = this.clock.now();
    return Promise.resolve(this.issueCA(parsed.subject, parsed.spki, now - MINUTE, now + this.ttl('IntermediateCertTTL', '8760h'), 0));
  }

  crossSignCA(certDer: Uint8Array): Promise<Uint8Array> {
    const other = readCert(certDer);
    // It keeps the other root's key identifier: its leaves name that one as their authority,
    // whichever way (another provider's) it was computed.
    return Promise.resolve(this.issueCA(other.subject, other.spki, this.clock.now() - MINUTE, other.notAfter, undefined, other.subjectKeyId));
  }

  supportsCrossSigning(): Promise<boolean> {
    return Promise.resolve(true);
  }

  cleanup(): Promise<void> {
    this.active = undefined;
    this.state_ = {};
    return Promise.resolve();
  }
}

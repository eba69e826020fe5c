// The agent's own TLS certificate, for HTTPS and TLS gRPC when no cert_file is configured: a
// server certificate signed by the active CA provider (the same CA as the mesh's leaves, so a
// client trusts it with the roots at /v1/connect/ca/roots or the agent's CA file), with the
// agent's SPIFFE URI and SANs for its node name, localhost, 127.0.0.1, ::1 and its bind address.
// Renewed halfway through its life and whenever the active root changes; the CA bundle handed to
// verify_incoming follows the roots.
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { Subscription } from 'rxjs';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { TlsMaterial, TlsSource } from '../core/tls.js';
import type { CAService } from './ca-service.js';
import { nameCN } from './certs.js';
import { buildCsr } from './csr.js';
import { generateKey, signerFor } from './keys.js';
import { toPem } from './pem.js';
import type { CARoots } from './types.js';

export interface AgentTlsOptions {
  readonly ca: CAService;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly node: string;
  readonly datacenter: string;
  /** The bind address (an IP, or a host name); a wildcard (0.0.0.0, ::) adds no SAN. */
  readonly bind: string;
}

/** Retry after a failed renewal (the old certificate stays in use meanwhile). */
const RETRY_MS = 30_000;

/** What the certificate is valid for: names as DNS SANs, addresses as IP SANs. */
export function agentHosts(node: string, bind: string): { dnsNames: string[]; ips: string[] } {
  const hosts = [...new Set([node, 'localhost', '127.0.0.1', '::1', bind])].filter((h) => h !== '0.0.0.0' && h !== '::');
  return { dnsNames: hosts.filter((h) => !isIP(h)), ips: hosts.filter((h) => isIP(h)) };
}

function ipBytes(ip: string): Uint8Array {
  if (isIP(ip) === 4) return Uint8Array.from(ip.split('.').map(Number));
  const [head = '', tail = ''] = ip.split('::') as [string, string?];
  const groups = (s: string) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return Uint8Array.from(all.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

/** The roots' certificates as one PEM bundle (what a client trusts, and what verify_incoming checks against). */
export function rootsBundle(roots: CARoots): string {
  return roots.Roots.map((r) => r.RootCert.trim() + '\n').join('');
}

export class AgentTls implements TlsSource {
  private material?: TlsMaterial;
  private rootId = '';
  private readonly listeners = new Set<(m: TlsMaterial) => void>();
  private cancelTimer = (): void => undefined;
  private rootsSub?: Subscription;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly opts: AgentTlsOptions) {
    this.log = opts.logger.child({ component: 'agent-tls' });
  }

  /** Issues the first certificate (rejects when the provider cannot make one that names the hosts), then keeps it fresh. */
  async start(): Promise<void> {
    await this.issue();
    this.rootsSub = this.opts.ca.watchRoots().subscribe((roots) => {
      if (!this.material || this.stopped) return;
      if (roots.ActiveRootID && roots.ActiveRootID !== this.rootId) void this.renew('the active root changed');
      else if (rootsBundle(roots) !== this.material.caPem) this.publish({ ...this.material, caPem: rootsBundle(roots) });
    });
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer();
    this.rootsSub?.unsubscribe();
  }

  current(): TlsMaterial {
    if (!this.material) throw new Error('the agent TLS certificate is not issued yet');
    return this.material;
  }

  onChange(fn: (m: TlsMaterial) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private publish(m: TlsMaterial): void {
    this.material = m;
    for (const fn of this.listeners) fn(m);
  }

  /** One issuance at a time: a timer and a root change arriving together issue twice, in turn. */
  private issuing: Promise<void> = Promise.resolve();

  private renew(why: string): Promise<void> {
    const next = this.issuing.then(() => this.renewNow(why));
    this.issuing = next;
    return next;
  }

  private async renewNow(why: string): Promise<void> {
    if (this.stopped) return;
    try {
      await this.issue();
      this.log.info({ why }, 'agent TLS certificate renewed');
    } catch (err) {
      this.log.error({ err: errorMessage(err), why, retryInMs: RETRY_MS }, 'cannot renew the agent TLS certificate; the current one stays in use');
      this.schedule(RETRY_MS);
    }
  }

  private schedule(ms: number): void {
    this.cancelTimer();
    if (!this.stopped) this.cancelTimer = this.opts.clock.setTimeout(() => void this.renew('halfway through its lifetime'), ms);
  }

  private async issue(): Promise<void> {
    const { ca, node, datacenter, bind } = this.opts;
    const spec = ca.leafKeySpec();
    const key = await generateKey(spec);
    const hosts = agentHosts(node, bind);
    const uri = `spiffe://${ca.trustDomain}/agent/server/dc/${datacenter}/id/${node}`;
    const csr = buildCsr(nameCN(node), key.spki, [uri], signerFor(spec, key.pkcs8), false, { dnsNames: hosts.dnsNames, ips: hosts.ips.map(ipBytes) });
    const signed = await ca.signAgentCert(csr);
    const leaf = new X509Certificate(signed.certPem);
    const missing = [...hosts.dnsNames.filter((h) => leaf.checkHost(h) === undefined), ...hosts.ips.filter((ip) => leaf.checkIP(ip) === undefined)];
    if (missing.length > 0) {
      throw new Error(`the CA provider signed the agent's TLS certificate without the SANs ${missing.join(', ')} (the built-in provider copies them; with another, give tls.defaults.cert_file and key_file)`);
    }
    if (this.stopped) return;
    this.rootId = signed.rootId;
    this.publish({ certPem: signed.certPem, keyPem: toPem('PRIVATE KEY', key.pkcs8), caPem: rootsBundle(ca.roots()) });
    const now = this.opts.clock.now();
    this.schedule(Math.max(0, signed.notBefore + (signed.notAfter - signed.notBefore) / 2 - now));
    this.log.info({ dnsNames: hosts.dnsNames, ips: hosts.ips, notAfter: new Date(signed.notAfter).toISOString() }, 'agent TLS certificate issued');
  }
}

// The primary's leaf-signing intermediate, for providers that keep it apart from the root (Vault:
// Consul's PrimaryUsesIntermediate): once it is half way through its life a new one, signed by
// the same root, takes over leaf signing and is appended to the active root's IntermediateCerts
// (Consul's setLeafSigningCert: appended, SigningKeyID set to its key id). The old one stays
// published until it expires (no leaf it signed outlives it), then is dropped. Pure functions over
// the root record, and a timer that asks the CA to renew when either moment comes.
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { backoffDelay } from './backoff.js';
import { readCert, type CertInfo } from './cert-info.js';
import { certDer, certPem } from './pem.js';
import { signingKeyId } from './secondary-roots.js';
import type { PersistedRoot } from './state-store.js';

/** A renewal is never tried again sooner than this (a provider whose clock disagrees must not loop). */
export const RENEW_MIN_INTERVAL_MS = 60_000;

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean => a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b));

interface Published {
  readonly pem: string;
  readonly cert: CertInfo;
}

function published(root: PersistedRoot): { rootCert: CertInfo; certs: Published[] } {
  return { rootCert: readCert(certDer(root.RootCert)), certs: root.IntermediateCerts.map((pem) => ({ pem, cert: readCert(certDer(pem)) })) };
}

/** The intermediate that signs leaves under `root`, when it is not the root's own key (undefined: the root signs). */
export function leafSigningIntermediate(root: PersistedRoot): Published | undefined {
  const { rootCert, certs } = published(root);
  return certs.find((c) => !sameBytes(c.cert.spki, rootCert.spki) && signingKeyId(c.pem) === root.SigningKeyID);
}

/** Half way through the leaf-signing intermediate's life; undefined when the root signs leaves itself. */
export function intermediateRenewAt(root: PersistedRoot): number | undefined {
  const signing = leafSigningIntermediate(root)?.cert;
  return signing && signing.notBefore + (signing.notAfter - signing.notBefore) / 2;
}

/** Former leaf-signing intermediates: not the signer, not for the root's key (a cross-signed root). */
function formerIntermediates(root: PersistedRoot): Published[] {
  const { rootCert, certs } = published(root);
  const signing = leafSigningIntermediate(root);
  return certs.filter((c) => c.pem !== signing?.pem && !sameBytes(c.cert.spki, rootCert.spki) && signingKeyId(c.pem) !== root.SigningKeyID && sameBytes(c.cert.issuer, rootCert.subject));
}

/** When the next former intermediate expires (and is to be unpublished). */
export function nextIntermediateExpiry(root: PersistedRoot): number | undefined {
  const times = formerIntermediates(root).map((c) => c.cert.notAfter);
  return times.length ? Math.min(...times) : undefined;
}

/**
 * The active root's record after `renewed` (DER) became the leaf-signing intermediate (when given)
 * and former intermediates that expired by `now` were dropped; undefined when nothing changes.
 */
export function renewedRoot(root: PersistedRoot, renewed: Uint8Array | undefined, now: number, index: number): PersistedRoot | undefined {
  const expired = new Set(formerIntermediates(root).filter((c) => c.cert.notAfter <= now).map((c) => c.pem));
  // A provider that answers with the intermediate it already had renewed nothing.
  const pem = renewed && !root.IntermediateCerts.includes(certPem(renewed)) ? certPem(renewed) : undefined;
  if (!pem && expired.size === 0) return undefined;
  const kept = root.IntermediateCerts.filter((p) => !expired.has(p));
  return {
    ...root,
    IntermediateCerts: pem ? [...kept, pem] : kept,
    SigningKeyID: pem ? signingKeyId(pem) : root.SigningKeyID,
    ModifyIndex: index,
  };
}

/**
 * The chain sent after a leaf signed under `root`: up from the leaf through the published
 * certificates that issued it (its own intermediate first), then the root cross-signed by older
 * roots. Former intermediates are left out: they are published for the leaves they signed, not
 * for these. A leaf whose issuer is not published yet (signed while a renewal commits): without
 * `signer` undefined (ask again with the provider's signing certificate); with it, `signer` when
 * that issued the leaf, else every published certificate.
 */
export function leafChain(root: PersistedRoot, leaf: Uint8Array, signer?: Uint8Array): string[] | undefined {
  const { rootCert, certs } = published(root);
  const chain: Published[] = [];
  let child = readCert(leaf);
  for (;;) {
    const issuer = certs.find((c) => !chain.includes(c) && sameBytes(c.cert.subjectKeyId, child.authorityKeyId) && !sameBytes(c.cert.spki, rootCert.spki));
    if (!issuer) break;
    chain.push(issuer);
    child = issuer.cert;
  }
  if (chain.length === 0 && !sameBytes(child.authorityKeyId, rootCert.subjectKeyId)) {
    if (!signer) return undefined;
    const s = readCert(signer);
    if (!sameBytes(s.subjectKeyId, child.authorityKeyId)) return [...root.IntermediateCerts];
    chain.push({ pem: certPem(s.der), cert: s });
  }
  const crossSigned = certs.filter((c) => !chain.includes(c) && sameBytes(c.cert.spki, rootCert.spki));
  return [...chain, ...crossSigned].map((c) => c.pem);
}

export interface IntermediateRenewerDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** When renewal (or unpublishing an expired intermediate) is next due; undefined when never. */
  readonly dueAt: () => number | undefined;
  /** Renews (or prunes) if due; rejects when the provider could not. */
  readonly renew: () => Promise<void>;
  readonly random?: () => number;
}

/** Runs `renew` when it is due, again after a failure (with backoff), never twice within RENEW_MIN_INTERVAL_MS. */
export class IntermediateRenewer {
  private cancel = (): void => undefined;
  private timerAt?: number;
  private lastRun = -Infinity;
  private failures = 0;
  private running = false;
  private stopped = false;

  constructor(private readonly deps: IntermediateRenewerDeps) {}

  /** (Re)arms the timer for the current roots. */
  schedule(): void {
    if (this.stopped || this.running) return;
    const due = this.deps.dueAt();
    const at = due === undefined ? undefined : Math.max(due, this.lastRun + RENEW_MIN_INTERVAL_MS);
    this.arm(at);
  }

  private arm(at: number | undefined): void {
    if (at === this.timerAt) return;
    this.cancel();
    this.timerAt = at;
    this.cancel = at === undefined ? () => undefined : this.deps.clock.setTimeout(() => this.fire(), at - this.deps.clock.now());
  }

  private fire(): void {
    this.timerAt = undefined;
    void this.run();
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    this.running = true;
    this.lastRun = this.deps.clock.now();
    try {
      await this.deps.renew();
      this.failures = 0;
      this.running = false;
      this.schedule();
    } catch (err) {
      this.running = false;
      this.failures++;
      const delay = Math.max(RENEW_MIN_INTERVAL_MS, backoffDelay(this.failures, { random: this.deps.random, baseMs: RENEW_MIN_INTERVAL_MS, maxMs: 3_600_000 }));
      this.deps.logger.error({ err: errorMessage(err), failures: this.failures, retryInMs: Math.round(delay) }, 'renewing the CA intermediate failed; leaves are still signed by the current one (retrying)');
      if (!this.stopped) this.arm(this.deps.clock.now() + delay);
    }
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }
}

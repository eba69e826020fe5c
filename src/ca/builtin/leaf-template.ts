// Leaf issuance from a template: everything that depends only on the signing certificate
// (issuer name, authority key id, the fixed extensions) is encoded once; per leaf only the
// serial, validity, subject, key and SAN are encoded before signing. The SAN is the CSR's: a
// service leaf's URI (validated to be alone), or an agent TLS certificate's URI, DNS names and IPs.
import type { CertInfo } from '../cert-info.js';
import { authorityKeyId, basicConstraints, buildCertificate, LEAF_EXT_KEY_USAGE, LEAF_KEY_USAGE, subjectAltName, subjectKeyId } from '../certs.js';
import type { ParsedCsr } from '../csr.js';
import { keyIdentifier, type Signer } from '../keys.js';

/** Leaves are valid from a minute ago, so a peer with a slightly slow clock accepts them. */
export const LEAF_BACKDATE_MS = 60_000;

export class LeafSigner {
  private readonly fixed: readonly Uint8Array[];

  constructor(
    private readonly issuer: CertInfo,
    private readonly signer: Signer,
  ) {
    this.fixed = [basicConstraints(false), LEAF_KEY_USAGE, LEAF_EXT_KEY_USAGE, authorityKeyId(issuer.subjectKeyId ?? keyIdentifier(issuer.spki))];
  }

  sign(csr: ParsedCsr, serial: Uint8Array, now: number, ttlMs: number): Uint8Array {
    return buildCertificate(
      {
        serial,
        issuer: this.issuer.subject,
        subject: csr.subject,
        notBefore: now - LEAF_BACKDATE_MS,
        notAfter: Math.min(now + ttlMs, this.issuer.notAfter),
        spki: csr.spki,
        // An empty subject (30 00) makes the SAN the identity, so it must be critical.
        extensions: [...this.fixed, subjectKeyId(keyIdentifier(csr.spki)), subjectAltName({ uris: csr.uris, dnsNames: csr.dnsNames, ips: csr.ips }, csr.subject.length <= 2)],
      },
      this.signer,
    );
  }
}

// What a secondary's intermediate CSR must be before the primary signs it: one PEM CSR, well
// formed and self-signed, whose only SAN is the trust domain's SPIFFE CA URI
// (`spiffe://<trust-domain>`), asking for CA:true, with a key type the CA supports. A signed
// intermediate can issue any identity of the trust domain, so nothing else is accepted.
import { ValidationError } from '../core/errors.js';
import { spiffeRootUri } from '../core/names.js';
import type { ParsedCsr } from './csr.js';
import { isSupportedKey, SUPPORTED_KEYS } from './keys.js';
import { csrKey, csrRejected, readCsr } from './leaf-validation.js';
import { fromPem } from './pem.js';

const CSR_LABELS = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);

export function validateIntermediateCsr(csrPem: unknown, trustDomain: string): { der: Uint8Array; csr: ParsedCsr } {
  if (typeof csrPem !== 'string' || csrPem.trim() === '') throw ValidationError.of('CSR', 'is required: the intermediate CSR as PEM (-----BEGIN CERTIFICATE REQUEST-----)');
  const blocks = fromPem(csrPem);
  const csrs = blocks.filter((b) => CSR_LABELS.has(b.label));
  if (csrs.length !== 1 || blocks.length !== 1) {
    throw ValidationError.of('CSR', `must be exactly one PEM CERTIFICATE REQUEST block, found ${csrs.length} CSR block(s) among ${blocks.length}`);
  }
  const der = (csrs[0] as { der: Uint8Array }).der;
  const csr = readCsr(der);
  const want = spiffeRootUri(trustDomain);
  if (csr.uris.length !== 1) throw csrRejected('CSR.URIs', `must carry exactly one URI SAN, the trust domain's CA URI "${want}", found ${csr.uris.length}`);
  if (csr.otherSans > 0) throw csrRejected('CSR.SubjectAltName', 'only the URI SAN is allowed in an intermediate CA');
  const uri = csr.uris[0] as string;
  if (uri.toLowerCase() !== want.toLowerCase()) throw csrRejected('CSR.URIs[0]', `"${uri}" is not this trust domain's CA URI "${want}"`);
  if (!csr.requestsCA) throw csrRejected('CSR.BasicConstraints', 'an intermediate CSR must ask for CA:true');
  const key = csrKey(csr);
  if (!key || !isSupportedKey(key)) {
    const supported = SUPPORTED_KEYS.map((k) => `${k.type} ${k.bits}`).join(', ');
    throw csrRejected('CSR.PublicKey', `unsupported key type${key ? ` ${key.type} ${key.bits}` : ''} (use one of ${supported})`);
  }
  return { der, csr };
}

// What a leaf CSR must be before anything is signed: well formed and self-signed, exactly one
// URI SAN naming a service identity in this trust domain and datacenter, for the service asked
// for, with a key type the mesh supports, not asking to be a CA. Each defect names its field.
import { ValidationError } from '../core/errors.js';
import { parseSpiffeServiceUri, type ServiceIdentity } from '../core/names.js';
import { parseCsr, type ParsedCsr } from './csr.js';
import { describePublicKey, type KeySpec } from './keys.js';

export interface LeafRequest {
  readonly trustDomain: string;
  readonly datacenter: string;
  /** The service the caller asked for; the CSR's identity must name it. */
  readonly service?: string;
  readonly namespace?: string;
}

const LEAF_KEYS = (t: string, bits: number) => (t === 'ec' ? bits === 256 || bits === 384 : bits >= 2048 && bits <= 8192);

/** Parses and verifies a CSR; a defect is a ValidationError on the `CSR` field. */
export function readCsr(der: Uint8Array): ParsedCsr {
  try {
    return parseCsr(der);
  } catch (err) {
    throw ValidationError.of('CSR', `malformed certificate signing request: ${(err as Error).message}`);
  }
}

export const csrRejected = (path: string, msg: string): ValidationError => ValidationError.of(path, msg, 'certificate signing request rejected');

/** The CSR's key type, or undefined when it is not EC or RSA (or unreadable). */
export function csrKey(csr: ParsedCsr): KeySpec | undefined {
  try {
    return describePublicKey(csr.spki);
  } catch {
    return undefined;
  }
}

export function validateLeafCsr(der: Uint8Array, req: LeafRequest): { csr: ParsedCsr; identity: ServiceIdentity; uri: string } {
  const csr = readCsr(der);
  const fail = csrRejected;
  if (csr.uris.length !== 1) throw fail('CSR.URIs', `must carry exactly one URI SAN (a service identity), found ${csr.uris.length}`);
  if (csr.otherSans > 0) throw fail('CSR.SubjectAltName', 'only a URI SAN is allowed in a service leaf');
  if (csr.requestsCA) throw fail('CSR.BasicConstraints', 'a leaf may not ask to be a CA');
  const uri = csr.uris[0] as string;
  const identity = parseSpiffeServiceUri(uri);
  if (!identity) throw fail('CSR.URIs[0]', `"${uri}" is not a service identity spiffe://<trust-domain>/ns/<ns>/dc/<dc>/svc/<svc>`);
  if (identity.trustDomain.toLowerCase() !== req.trustDomain.toLowerCase()) {
    throw fail('CSR.URIs[0]', `trust domain "${identity.trustDomain}" is not this cluster's "${req.trustDomain}"`);
  }
  if (identity.datacenter !== req.datacenter) throw fail('CSR.URIs[0]', `datacenter "${identity.datacenter}" is not "${req.datacenter}"`);
  if (req.service !== undefined && identity.service !== req.service) {
    throw fail('CSR.URIs[0]', `identity is for service "${identity.service}", but a certificate for "${req.service}" was requested`);
  }
  if (req.namespace !== undefined && identity.namespace !== req.namespace) {
    throw fail('CSR.URIs[0]', `identity is in namespace "${identity.namespace}", but "${req.namespace}" was requested`);
  }
  const key = csrKey(csr);
  if (!key || !LEAF_KEYS(key.type, key.bits)) {
    throw fail('CSR.PublicKey', `unsupported key type${key ? ` ${key.type} ${key.bits}` : ''} (use EC P-256/P-384 or RSA 2048+)`);
  }
  return { csr, identity, uri };
}

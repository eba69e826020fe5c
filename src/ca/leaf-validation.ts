// What a leaf CSR must be before anything is signed: well formed and self-signed, exactly one
// URI SAN naming a service identity in this trust domain and datacenter, for the service asked
// for, with a key type the mesh supports, not asking to be a CA. Each defect names its field.
import { ValidationError } from '../core/errors.js';
import { parseSpiffeServiceUri, type ServiceIdentity } from '../core/names.js';
import { parseCsr, type ParsedCsr } from './csr.js';
import { describePublicKey } from './keys.js';

export interface LeafRequest {
  readonly trustDomain: string;
  readonly datacenter: string;
  /** The service the caller asked for; the CSR's identity must name it. */
  readonly service?: string;
  readonly namespace?: string;
}

const LEAF_KEYS = (t: string, bits: number) => (t === 'ec' ? bits === 256 || bits === 384 : bits >= 2048 && bits <= 8192);

export function validateLeafCsr(der: Uint8Array, req: LeafRequest): { csr: ParsedCsr; identity: ServiceIdentity; uri: string } {
  let csr: ParsedCsr;
  try {
    csr = parseCsr(der);
  } catch (err) {
    throw ValidationError.of('CSR', `malformed certificate signing request: ${(err as Error).message}`);
  }
  const fail = (path: string, msg: string) => ValidationError.of(path, msg, 'certificate signing request rejected');
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
  let key;
  try {
    key = describePublicKey(csr.spki);
  } catch {
    key = undefined;
  }
  if (!key || !LEAF_KEYS(key.type, key.bits)) {
    throw fail('CSR.PublicKey', `unsupported key type${key ? ` ${key.type} ${key.bits}` : ''} (use EC P-256/P-384 or RSA 2048+)`);
  }
  return { csr, identity, uri };
}

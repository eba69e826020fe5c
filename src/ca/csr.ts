// Reading a PKCS#10 CSR: subject, public key, URI SANs from the extension request, and a
// check of its self-signature. Every defect is a DerError / message the caller turns into a
// ValidationError naming the CSR field.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { basicConstraints, subjectAltName, type Hosts } from './certs.js';
import { bitString, children, ctx, decodeOid, DerError, expectTag, oid, read, seq, set, smallInt, TAG, type Node } from './der.js';
import { SIGNATURE_DIGESTS, type Signer } from './keys.js';

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SAN = '2.5.29.17';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';

export interface ParsedCsr {
  /** DER of the subject Name. */
  readonly subject: Uint8Array;
  readonly spki: Uint8Array;
  readonly uris: readonly string[];
  /** Other SAN kinds present (DNS names, IPs): Consul leaves carry only the URI. */
  readonly otherSans: number;
  /** The DNS-name and IP SANs among them (an agent's own TLS certificate carries them; service leaves may not). */
  readonly dnsNames: readonly string[];
  readonly ips: readonly Uint8Array[];
  /** Whether the CSR asks for CA:true. */
  readonly requestsCA: boolean;
}

function readExtensions(attrs: Uint8Array): { uris: string[]; otherSans: number; dnsNames: string[]; ips: Uint8Array[]; requestsCA: boolean } {
  const out = { uris: [] as string[], otherSans: 0, dnsNames: [] as string[], ips: [] as Uint8Array[], requestsCA: false };
  for (const attr of children({ tag: 0xa0, raw: attrs, body: attrs })) {
    const [type, values] = children(expectTag(attr, TAG.SEQUENCE, 'attribute'));
    if (decodeOid(expectTag(type, TAG.OID, 'attribute type').body) !== OID_EXTENSION_REQUEST) continue;
    const [exts] = children(expectTag(values, TAG.SET, 'attribute values'));
    for (const ext of children(expectTag(exts, TAG.SEQUENCE, 'extensions'))) {
      const parts = children(expectTag(ext, TAG.SEQUENCE, 'extension'));
      const id = decodeOid(expectTag(parts[0], TAG.OID, 'extension id').body);
      const value = expectTag(parts[parts.length - 1], TAG.OCTET_STRING, 'extension value').body;
      if (id === OID_SAN) {
        for (const name of children(expectTag(read(value), TAG.SEQUENCE, 'subjectAltName'))) {
          if (name.tag === 0x86) out.uris.push(new TextDecoder('utf-8', { fatal: true }).decode(name.body));
          else {
            out.otherSans++;
            if (name.tag === 0x82) out.dnsNames.push(new TextDecoder('utf-8', { fatal: true }).decode(name.body));
            else if (name.tag === 0x87) out.ips.push(name.body);
          }
        }
      } else if (id === OID_BASIC_CONSTRAINTS) {
        const [ca] = children(expectTag(read(value), TAG.SEQUENCE, 'basicConstraints'));
        out.requestsCA = ca?.tag === TAG.BOOLEAN && ca.body[0] !== 0;
      }
    }
  }
  return out;
}

const CURVE_BY_POINT: Record<number, string> = { 65: 'P-256', 97: 'P-384' };
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';

/**
 * The public key of a SubjectPublicKeyInfo. Uncompressed EC points go in as JWK: OpenSSL 3's DER
 * decoder costs more than the signature check itself, and this is once per leaf.
 */
function publicKey(spki: Uint8Array): KeyObject {
  const [alg, bits] = children(read(spki)) as [Node, Node];
  const point = bits.body.subarray(1);
  const crv = CURVE_BY_POINT[point.length];
  if (crv && point[0] === 4 && decodeOid((children(alg)[0] as Node).body) === OID_EC_PUBLIC_KEY) {
    const half = (point.length - 1) / 2;
    const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
    return createPublicKey({ key: { kty: 'EC', crv, x: b64(point.subarray(1, 1 + half)), y: b64(point.subarray(1 + half)) }, format: 'jwk' });
  }
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}

function verifies(digest: string, spki: Uint8Array, signed: Uint8Array, sig: Uint8Array): boolean {
  try {
    return verify(digest, signed, publicKey(spki), sig);
  } catch {
    return false;
  }
}

/**
 * Parses a CSR and (unless the caller has already) verifies its self-signature; throws DerError
 * with what is wrong.
 */
export function parseCsr(der: Uint8Array, opts: { verify: boolean } = { verify: true }): ParsedCsr {
  const top = read(der);
  if (top.raw.length !== der.length) throw new DerError('trailing bytes after the CSR');
  const [info, sigAlg, sig] = children(expectTag(top, TAG.SEQUENCE, 'CertificationRequest'));
  const [version, subject, spki, attrs] = children(expectTag(info, TAG.SEQUENCE, 'certificationRequestInfo'));
  expectTag(version, TAG.INTEGER, 'version');
  expectTag(subject, TAG.SEQUENCE, 'subject');
  expectTag(spki, TAG.SEQUENCE, 'subjectPKInfo');
  const [algOid] = children(expectTag(sigAlg, TAG.SEQUENCE, 'signatureAlgorithm'));
  const digest = SIGNATURE_DIGESTS[decodeOid(expectTag(algOid, TAG.OID, 'signatureAlgorithm').body)];
  if (!digest) throw new DerError('unsupported signature algorithm');
  const sigBits = expectTag(sig, TAG.BIT_STRING, 'signature').body.subarray(1);
  const ok = !opts.verify || verifies(digest, (spki as Node).raw, (info as Node).raw, sigBits);
  if (!ok) throw new DerError('signature does not verify with the CSR public key');
  const ext = attrs && attrs.tag === 0xa0 ? readExtensions(attrs.body) : { uris: [], otherSans: 0, dnsNames: [], ips: [], requestsCA: false };
  return { subject: (subject as Node).raw, spki: (spki as Node).raw, ...ext };
}

/** Builds a PKCS#10 CSR asking for URI SANs (and CA:true for an intermediate, or DNS-name and IP SANs for an agent's TLS certificate). */
export function buildCsr(subject: Uint8Array, spki: Uint8Array, uris: readonly string[], signer: Signer, ca = false, hosts?: Hosts): Uint8Array {
  const exts = [subjectAltName({ uris, ...hosts }, subject.length <= 2), ...(ca ? [basicConstraints(true, 0)] : [])];
  const info = seq(smallInt(0), subject, spki, ctx(0, true, seq(oid(OID_EXTENSION_REQUEST), set(seq(...exts)))));
  return seq(info, signer.algorithm, bitString(signer.sign(info)));
}

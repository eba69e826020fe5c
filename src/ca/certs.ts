// X.509 v3 certificates built from fields (RFC 5280), for roots, intermediates, cross-signed
// CA certificates and leaves. Building the TBS by hand keeps leaf issuance at thousands per
// second; @peculiar/x509 parses what comes back in tests and at the edges.
import { bitString, bool, ctx, oid, octets, seq, set, smallInt, time, uint, utf8 } from './der.js';
import type { Signer } from './keys.js';

const OID = {
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

export function nameCN(cn: string): Uint8Array {
  return seq(set(seq(oid(OID.commonName), utf8(cn))));
}

export function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

export function basicConstraints(ca: boolean, pathLen?: number): Uint8Array {
  const body = ca ? (pathLen === undefined ? [bool(true)] : [bool(true), smallInt(pathLen)]) : [];
  return extension(OID.basicConstraints, true, seq(...body));
}

/** digitalSignature, keyEncipherment, keyAgreement: what a TLS leaf with an EC or RSA key needs. */
export const LEAF_KEY_USAGE = extension(OID.keyUsage, true, Uint8Array.of(0x03, 0x02, 0x03, 0xa8));
/** digitalSignature, keyCertSign, cRLSign. */
export const CA_KEY_USAGE = extension(OID.keyUsage, true, Uint8Array.of(0x03, 0x02, 0x01, 0x86));
/** A mesh leaf both serves (inbound) and connects (upstream). */
export const LEAF_EXT_KEY_USAGE = extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth), oid(OID.clientAuth)));

export const subjectKeyId = (ski: Uint8Array): Uint8Array => extension(OID.subjectKeyId, false, octets(ski));
export const authorityKeyId = (ski: Uint8Array): Uint8Array => extension(OID.authorityKeyId, false, seq(ctx(0, false, ski)));

/** A URI SAN; critical when the subject is empty, as RFC 5280 4.2.1.6 requires. */
export function uriSan(uris: readonly string[], critical = false): Uint8Array {
  return extension(OID.subjectAltName, critical, seq(...uris.map((u) => ctx(6, false, new TextEncoder().encode(u)))));
}

/** The DNS names and IP addresses (4 or 16 bytes) a server certificate is valid for. */
export interface Hosts {
  readonly dnsNames?: readonly string[];
  readonly ips?: readonly Uint8Array[];
}

/** A SAN of URIs, DNS names and IPs; critical when the subject is empty, as RFC 5280 4.2.1.6 requires. */
export function subjectAltName(names: Hosts & { readonly uris: readonly string[] }, critical = false): Uint8Array {
  const text = (tag: number, v: string) => ctx(tag, false, new TextEncoder().encode(v));
  const all = [...names.uris.map((u) => text(6, u)), ...(names.dnsNames ?? []).map((n) => text(2, n)), ...(names.ips ?? []).map((ip) => ctx(7, false, ip))];
  return extension(OID.subjectAltName, critical, seq(...all));
}

/** A DNS-name SAN. */
export function dnsSan(names: readonly string[]): Uint8Array {
  return extension(OID.subjectAltName, false, seq(...names.map((n) => ctx(2, false, new TextEncoder().encode(n)))));
}

export interface CertFields {
  readonly serial: Uint8Array;
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly spki: Uint8Array;
  readonly extensions: readonly Uint8Array[];
}

export function buildCertificate(fields: CertFields, signer: Signer): Uint8Array {
  const tbs = seq(
    ctx(0, true, smallInt(2)),
    uint(fields.serial),
    signer.algorithm,
    fields.issuer,
    seq(time(fields.notBefore), time(fields.notAfter)),
    fields.subject,
    fields.spki,
    ctx(3, true, seq(...fields.extensions)),
  );
  return seq(tbs, signer.algorithm, bitString(signer.sign(tbs)));
}

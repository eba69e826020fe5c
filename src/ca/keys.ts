// Key types the CA supports, key generation (WebCrypto), and signing. Signing uses node:crypto's
// synchronous one-shot sign over the same key: it is the hot path of leaf issuance, and a
// thread-pool round trip per signature (WebCrypto's subtle.sign) costs more than the signature.
import { createHash, createPrivateKey, createPublicKey, sign, webcrypto, type KeyObject } from 'node:crypto';
import { children, decodeOid, expectTag, oid, read, seq, TAG, tlv } from './der.js';

export type KeyType = 'ec' | 'rsa';

export interface KeySpec {
  readonly type: KeyType;
  readonly bits: number;
}

/** What the CA can generate and sign with (Consul also accepts these). */
export const SUPPORTED_KEYS: readonly KeySpec[] = [
  { type: 'ec', bits: 256 },
  { type: 'ec', bits: 384 },
  { type: 'rsa', bits: 2048 },
  { type: 'rsa', bits: 4096 },
];

export function isSupportedKey(spec: KeySpec): boolean {
  return SUPPORTED_KEYS.some((k) => k.type === spec.type && k.bits === spec.bits);
}

export interface GeneratedKey {
  /** PKCS#8 DER of the private key. */
  readonly pkcs8: Uint8Array;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
}

function webAlgorithm(spec: KeySpec): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams {
  return spec.type === 'ec'
    ? { name: 'ECDSA', namedCurve: `P-${spec.bits}` }
    : { name: 'RSASSA-PKCS1-v1_5', modulusLength: spec.bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
}

export async function generateKey(spec: KeySpec): Promise<GeneratedKey> {
  const pair = (await webcrypto.subtle.generateKey(webAlgorithm(spec), true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const [pkcs8, spki] = await Promise.all([
    webcrypto.subtle.exportKey('pkcs8', pair.privateKey),
    webcrypto.subtle.exportKey('spki', pair.publicKey),
  ]);
  return { pkcs8: new Uint8Array(pkcs8), spki: new Uint8Array(spki) };
}

const OID_EC_SHA256 = '1.2.840.10045.4.3.2';
const OID_EC_SHA384 = '1.2.840.10045.4.3.3';
const OID_EC_SHA512 = '1.2.840.10045.4.3.4';
const OID_RSA_SHA256 = '1.2.840.113549.1.1.11';
const OID_RSA_SHA384 = '1.2.840.113549.1.1.12';
const OID_RSA_SHA512 = '1.2.840.113549.1.1.13';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const CURVES: Record<string, number> = { '1.2.840.10045.3.1.7': 256, '1.3.132.0.34': 384, '1.3.132.0.35': 521 };

/** Signature algorithm OID -> digest, for verifying what others signed. */
export const SIGNATURE_DIGESTS: Readonly<Record<string, string>> = {
  [OID_EC_SHA256]: 'sha256',
  [OID_EC_SHA384]: 'sha384',
  [OID_EC_SHA512]: 'sha512',
  [OID_RSA_SHA256]: 'sha256',
  [OID_RSA_SHA384]: 'sha384',
  [OID_RSA_SHA512]: 'sha512',
};

/** Signs with one private key; `algorithm` is the DER AlgorithmIdentifier that goes in the cert. */
export interface Signer {
  readonly spec: KeySpec;
  readonly algorithm: Uint8Array;
  sign(data: Uint8Array): Uint8Array;
}

export function signerFor(spec: KeySpec, pkcs8: Uint8Array): Signer {
  const key: KeyObject = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  const digest = spec.type === 'ec' && spec.bits === 384 ? 'sha384' : 'sha256';
  const algorithm =
    spec.type === 'ec'
      ? seq(oid(digest === 'sha384' ? OID_EC_SHA384 : OID_EC_SHA256))
      : seq(oid(OID_RSA_SHA256), tlv(TAG.NULL));
  return { spec, algorithm, sign: (data) => new Uint8Array(sign(digest, data, key)) };
}

/** The key type and size of a SubjectPublicKeyInfo; undefined when it is neither EC nor RSA. */
export function describePublicKey(spki: Uint8Array): KeySpec | undefined {
  const [alg] = children(read(spki));
  const [algOid, param] = children(expectTag(alg, TAG.SEQUENCE, 'SubjectPublicKeyInfo.algorithm'));
  const name = decodeOid(expectTag(algOid, TAG.OID, 'algorithm').body);
  if (name === OID_EC_PUBLIC_KEY) {
    const bits = param?.tag === TAG.OID ? CURVES[decodeOid(param.body)] : undefined;
    return bits ? { type: 'ec', bits } : undefined;
  }
  if (name === OID_RSA_ENCRYPTION) {
    const details = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).asymmetricKeyDetails;
    return { type: 'rsa', bits: details?.modulusLength ?? 0 };
  }
  return undefined;
}

/** Subject key identifier: SHA-1 of the public key bits (RFC 5280 4.2.1.2 method 1). */
export function keyIdentifier(spki: Uint8Array): Uint8Array {
  const bits = children(read(spki))[1];
  const body = expectTag(bits, TAG.BIT_STRING, 'subjectPublicKey').body.subarray(1);
  return new Uint8Array(createHash('sha1').update(body).digest());
}

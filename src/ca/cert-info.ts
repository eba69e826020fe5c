// Reading the few fields of a certificate the CA needs (names, key, validity, key ids, URIs).
import { createHash } from 'node:crypto';
import { children, decodeOid, expectTag, read, TAG, type Node } from './der.js';

export interface CertInfo {
  readonly der: Uint8Array;
  readonly serial: Uint8Array;
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly spki: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly subjectKeyId?: Uint8Array;
  readonly authorityKeyId?: Uint8Array;
  readonly uris: readonly string[];
}

function parseTime(node: Node): number {
  const s = new TextDecoder().decode(node.body);
  const full = node.tag === TAG.UTC_TIME ? `${Number(s.slice(0, 2)) >= 50 ? '19' : '20'}${s}` : s;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(full);
  if (!m) throw new Error(`unsupported time "${s}"`);
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

export function readCert(der: Uint8Array): CertInfo {
  const [tbs] = children(expectTag(read(der), TAG.SEQUENCE, 'Certificate'));
  const parts = children(expectTag(tbs, TAG.SEQUENCE, 'tbsCertificate'));
  const off = parts[0]?.tag === 0xa0 ? 1 : 0;
  const [serial, , issuer, validity, subject, spki] = parts.slice(off) as Node[];
  const [nb, na] = children(validity as Node) as [Node, Node];
  let subjectKeyId: Uint8Array | undefined;
  let authorityKeyId: Uint8Array | undefined;
  const uris: string[] = [];
  const extsWrap = parts.find((p) => p.tag === 0xa3);
  for (const ext of extsWrap ? children(read(extsWrap.body)) : []) {
    const fields = children(ext);
    const id = decodeOid((fields[0] as Node).body);
    const value = (fields[fields.length - 1] as Node).body;
    if (id === '2.5.29.14') subjectKeyId = read(value).body;
    if (id === '2.5.29.35') authorityKeyId = children(read(value)).find((n) => n.tag === 0x80)?.body;
    if (id === '2.5.29.17') {
      for (const n of children(read(value))) if (n.tag === 0x86) uris.push(new TextDecoder().decode(n.body));
    }
  }
  return {
    der,
    serial: (serial as Node).body,
    issuer: (issuer as Node).raw,
    subject: (subject as Node).raw,
    spki: (spki as Node).raw,
    notBefore: parseTime(nb),
    notAfter: parseTime(na),
    subjectKeyId,
    authorityKeyId,
    uris,
  };
}

/** Consul's root ID: the SHA-1 fingerprint of the DER, colon-separated hex. */
export function certFingerprint(der: Uint8Array): string {
  return createHash('sha1').update(der).digest('hex').replace(/(..)(?!$)/g, '$1:');
}

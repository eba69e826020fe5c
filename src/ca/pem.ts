// PEM armour and Consul's colon-hex spelling of serials and key ids.

export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
}

export function fromPem(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)) {
    out.push({ label: m[1] as string, der: new Uint8Array(Buffer.from((m[2] as string).replace(/\s+/g, ''), 'base64')) });
  }
  return out;
}

export const certPem = (der: Uint8Array): string => toPem('CERTIFICATE', der);

/** The DER of the first CERTIFICATE in a PEM text; throws when there is none. */
export function certDer(pem: string): Uint8Array {
  const block = fromPem(pem).find((b) => b.label === 'CERTIFICATE');
  if (!block) throw new Error('no CERTIFICATE block in PEM');
  return block.der;
}

/** `0a:1b:2c`, as Consul prints serial numbers and key ids. */
export function colonHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').replace(/(..)(?!$)/g, '$1:');
}

export const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
export const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

// A minimal DER encoder and reader: just what building certificates from templates and reading
// CSRs needs, fast enough to sign thousands of leaves a second (no schema objects).

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

/** One TLV with `tag` around the concatenated `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const head = lengthBytes(len);
  return concat(Uint8Array.of(tag, ...head), ...parts);
}

export const seq = (...parts: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, ...parts);
export const set = (...parts: Uint8Array[]): Uint8Array => tlv(TAG.SET, ...parts);
export const octets = (b: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, b);
export const bitString = (b: Uint8Array): Uint8Array => tlv(TAG.BIT_STRING, Uint8Array.of(0), b);
export const bool = (v: boolean): Uint8Array => tlv(TAG.BOOLEAN, Uint8Array.of(v ? 0xff : 0));
export const utf8 = (s: string): Uint8Array => tlv(TAG.UTF8_STRING, new TextEncoder().encode(s));
/** Context-specific tag `n`, constructed (explicit) or primitive (implicit). */
export const ctx = (n: number, constructed: boolean, ...parts: Uint8Array[]): Uint8Array =>
  tlv((constructed ? 0xa0 : 0x80) | n, ...parts);

/** An unsigned big-endian integer as a DER INTEGER (leading zero added when the top bit is set). */
export function uint(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const body = bytes.subarray(i);
  return (body[0] ?? 0) & 0x80 ? tlv(TAG.INTEGER, Uint8Array.of(0), body) : tlv(TAG.INTEGER, body);
}

export function smallInt(n: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return uint(Uint8Array.from(bytes.length ? bytes : [0]));
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [40 * (arcs[0] as number) + (arcs[1] as number)];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(TAG.OID, Uint8Array.from(out));
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** UTCTime through 2049, GeneralizedTime after, as RFC 5280 requires. */
export function time(ms: number): Uint8Array {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const y = d.getUTCFullYear();
  const rest = `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  const enc = new TextEncoder();
  return y < 2050 ? tlv(TAG.UTC_TIME, enc.encode(pad(y % 100) + rest)) : tlv(TAG.GENERALIZED_TIME, enc.encode(pad(y, 4) + rest));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** One parsed TLV: `raw` is the whole element, `body` its contents. */
export interface Node {
  readonly tag: number;
  readonly raw: Uint8Array;
  readonly body: Uint8Array;
}

export class DerError extends Error {}

/** Reads one TLV at `off`; throws DerError on truncated or indefinite-length input. */
export function read(buf: Uint8Array, off = 0): Node {
  if (off + 2 > buf.length) throw new DerError('truncated element');
  const tag = buf[off] as number;
  let len = buf[off + 1] as number;
  let head = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError('unsupported length encoding');
    if (off + 2 + n > buf.length) throw new DerError('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[off + 2 + i] as number);
    head += n;
  }
  const end = off + head + len;
  if (end > buf.length) throw new DerError('element runs past the end of its container');
  return { tag, raw: buf.subarray(off, end), body: buf.subarray(off + head, end) };
}

/** The children of a constructed element. */
export function children(node: Node): Node[] {
  const out: Node[] = [];
  for (let off = 0; off < node.body.length; ) {
    const child = read(node.body, off);
    out.push(child);
    off += child.raw.length;
  }
  return out;
}

export function expectTag(node: Node | undefined, tag: number, what: string): Node {
  if (!node || node.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}`);
  return node;
}

export function decodeOid(body: Uint8Array): string {
  const first = body[0] ?? 0;
  const arcs = [Math.floor(first / 40), first % 40];
  let v = 0;
  for (const b of body.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}

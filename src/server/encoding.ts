// Response bytes written straight from the shared, encoded-once resources. A response is
// measured first and then written into one buffer of exactly its size: no intermediate
// `Resource` or `Any` message is built or kept per resource (keeping one per resource had every
// resource's bytes held twice), and no writer grows and copies as it goes. The bytes are those
// the generated encoders produce (encoding.test.ts compares them).
import type { EncodedResource } from '../core/resources.js';

// Field tags (field number << 3 | wire type 2), from discovery.proto and any.proto.
const DELTA = { systemVersionInfo: 10, resources: 18, typeUrl: 34, nonce: 42, removedResources: 50 } as const;
const SOTW = { versionInfo: 10, resources: 18, typeUrl: 34, nonce: 42 } as const;
const RESOURCE = { version: 10, resource: 18, name: 26 } as const;
const ANY = { typeUrl: 10, value: 18 } as const;

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** Size of a length-delimited field (one-byte tag) whose payload is `len` bytes. */
const fieldSize = (len: number) => 1 + varintSize(len) + len;

/** A writer over a buffer already sized for everything written into it. */
class ExactWriter {
  readonly buf: Buffer;
  private pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  header(tag: number, len: number): void {
    this.buf[this.pos++] = tag;
    while (len > 0x7f) {
      this.buf[this.pos++] = (len & 0x7f) | 0x80;
      len >>>= 7;
    }
    this.buf[this.pos++] = len;
  }

  string(tag: number, value: string, len: number): void {
    this.header(tag, len);
    this.pos += this.buf.write(value, this.pos, len, 'utf8');
  }

  bytes(tag: number, value: Uint8Array): void {
    this.header(tag, value.byteLength);
    this.buf.set(value, this.pos);
    this.pos += value.byteLength;
  }

  done(): Buffer {
    if (this.pos !== this.buf.length) throw new Error(`response encoding wrote ${this.pos} of ${this.buf.length} bytes`);
    return this.buf;
  }
}

/** Field sizes of one resource's wire forms (google.protobuf.Any, and the delta Resource around it). */
interface Sizes {
  readonly name: number;
  readonly version: number;
  readonly typeUrl: number;
  readonly any: number;
  readonly resource: number;
}

function sizesOf(res: EncodedResource): Sizes {
  const name = Buffer.byteLength(res.name);
  const version = Buffer.byteLength(res.version);
  const typeUrl = Buffer.byteLength(res.typeUrl);
  const any = (typeUrl > 0 ? fieldSize(typeUrl) : 0) + (res.value.byteLength > 0 ? fieldSize(res.value.byteLength) : 0);
  const resource = (name > 0 ? fieldSize(name) : 0) + (version > 0 ? fieldSize(version) : 0) + fieldSize(any);
  return { name, version, typeUrl, any, resource };
}

function writeAny(w: ExactWriter, res: EncodedResource, s: Sizes): void {
  if (s.typeUrl > 0) w.string(ANY.typeUrl, res.typeUrl, s.typeUrl);
  if (res.value.byteLength > 0) w.bytes(ANY.value, res.value);
}

export interface DeltaResponseParts {
  readonly typeUrl: string;
  readonly nonce: string;
  readonly upserts: readonly EncodedResource[];
  readonly removals: readonly string[];
}

/** An encoded DeltaDiscoveryResponse, identical on the wire to DeltaDiscoveryResponse.encode. */
export function encodeDeltaResponse(parts: DeltaResponseParts): Buffer {
  const sizes = parts.upserts.map(sizesOf);
  const typeUrl = Buffer.byteLength(parts.typeUrl);
  const nonce = Buffer.byteLength(parts.nonce);
  const removals = parts.removals.map((n) => Buffer.byteLength(n));
  let size = fieldSize(typeUrl) + fieldSize(nonce);
  for (const s of sizes) size += fieldSize(s.resource);
  for (const r of removals) size += fieldSize(r);
  const w = new ExactWriter(size);
  parts.upserts.forEach((res, i) => {
    const s = sizes[i] as Sizes;
    w.header(DELTA.resources, s.resource);
    if (s.name > 0) w.string(RESOURCE.name, res.name, s.name);
    if (s.version > 0) w.string(RESOURCE.version, res.version, s.version);
    w.header(RESOURCE.resource, s.any);
    writeAny(w, res, s);
  });
  w.string(DELTA.typeUrl, parts.typeUrl, typeUrl);
  parts.removals.forEach((name, i) => w.string(DELTA.removedResources, name, removals[i] as number));
  w.string(DELTA.nonce, parts.nonce, nonce);
  return w.done();
}

export interface SotwResponseParts {
  readonly typeUrl: string;
  readonly versionInfo: string;
  readonly nonce: string;
  readonly resources: readonly EncodedResource[];
}

/** An encoded DiscoveryResponse, identical on the wire to DiscoveryResponse.encode. */
export function encodeSotwResponse(parts: SotwResponseParts): Buffer {
  const sizes = parts.resources.map(sizesOf);
  const versionInfo = Buffer.byteLength(parts.versionInfo);
  const typeUrl = Buffer.byteLength(parts.typeUrl);
  const nonce = Buffer.byteLength(parts.nonce);
  let size = fieldSize(versionInfo) + fieldSize(typeUrl) + fieldSize(nonce);
  for (const s of sizes) size += fieldSize(s.any);
  const w = new ExactWriter(size);
  w.string(SOTW.versionInfo, parts.versionInfo, versionInfo);
  parts.resources.forEach((res, i) => {
    const s = sizes[i] as Sizes;
    w.header(SOTW.resources, s.any);
    writeAny(w, res, s);
  });
  w.string(SOTW.typeUrl, parts.typeUrl, typeUrl);
  w.string(SOTW.nonce, parts.nonce, nonce);
  return w.done();
}

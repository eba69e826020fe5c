// Response bytes built from shared, encoded-once pieces. Each EncodedResource's wire form (a delta
// `Resource`, or a SotW `Any`) is encoded the first time any stream sends it and cached in a
// WeakMap keyed by the resource object, so every stream that sends the same resource shares the
// same bytes; a response is the concatenation of those pieces and a few small fields.
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { EncodedResource } from '../core/resources.js';
import { Any } from '../gen/google/protobuf/any.js';
import { Resource } from '../gen/envoy/service/discovery/v3/discovery.js';

const resourceBytes = new WeakMap<EncodedResource, Uint8Array>();
const anyBytes = new WeakMap<EncodedResource, Uint8Array>();

/** The encoded envoy.service.discovery.v3.Resource for a resource (cached). */
export function encodedResource(res: EncodedResource): Uint8Array {
  let bytes = resourceBytes.get(res);
  if (!bytes) {
    bytes = Resource.encode({
      name: res.name,
      aliases: [],
      version: res.version,
      resource: { typeUrl: res.typeUrl, value: res.value },
    }).finish();
    resourceBytes.set(res, bytes);
  }
  return bytes;
}

/** The encoded google.protobuf.Any for a resource (cached). */
export function encodedAny(res: EncodedResource): Uint8Array {
  let bytes = anyBytes.get(res);
  if (!bytes) {
    bytes = Any.encode({ typeUrl: res.typeUrl, value: res.value }).finish();
    anyBytes.set(res, bytes);
  }
  return bytes;
}

// Field tags (field number << 3 | wire type 2) of the responses, from discovery.proto.
const DELTA = { systemVersionInfo: 10, resources: 18, typeUrl: 34, nonce: 42, removedResources: 50 } as const;
const SOTW = { versionInfo: 10, resources: 18, typeUrl: 34, nonce: 42 } as const;

export interface DeltaResponseParts {
  readonly typeUrl: string;
  readonly nonce: string;
  readonly upserts: readonly EncodedResource[];
  readonly removals: readonly string[];
}

/** An encoded DeltaDiscoveryResponse, identical on the wire to DeltaDiscoveryResponse.encode. */
export function encodeDeltaResponse(parts: DeltaResponseParts): Buffer {
  const w = new BinaryWriter();
  for (const res of parts.upserts) w.uint32(DELTA.resources).bytes(encodedResource(res));
  w.uint32(DELTA.typeUrl).string(parts.typeUrl);
  for (const name of parts.removals) w.uint32(DELTA.removedResources).string(name);
  w.uint32(DELTA.nonce).string(parts.nonce);
  return asBuffer(w.finish());
}

export interface SotwResponseParts {
  readonly typeUrl: string;
  readonly versionInfo: string;
  readonly nonce: string;
  readonly resources: readonly EncodedResource[];
}

/** An encoded DiscoveryResponse, identical on the wire to DiscoveryResponse.encode. */
export function encodeSotwResponse(parts: SotwResponseParts): Buffer {
  const w = new BinaryWriter();
  w.uint32(SOTW.versionInfo).string(parts.versionInfo);
  for (const res of parts.resources) w.uint32(SOTW.resources).bytes(encodedAny(res));
  w.uint32(SOTW.typeUrl).string(parts.typeUrl);
  w.uint32(SOTW.nonce).string(parts.nonce);
  return asBuffer(w.finish());
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

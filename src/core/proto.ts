// google.protobuf.Any packing and canonical proto JSON (the form of golden files and Envoy's
// config_dump), over the ts-proto type registry. Importing this module loads every generated type.
import '../gen/index.js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Any } from '../gen/google/protobuf/any.js';
import { messageTypeRegistry, type MessageType } from '../gen/typeRegistry.js';
import { typeNameOf, typeUrlOf } from './type-urls.js';

/** A generated message type: the static half of ts-proto's output. */
export interface ProtoType<T> {
  readonly $type: string;
  encode(message: T, writer?: BinaryWriter): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  fromJSON(object: unknown): T;
  toJSON(message: T): unknown;
  fromPartial(object: never): T;
}

export function lookupType(typeUrlOrName: string): MessageType {
  const name = typeNameOf(typeUrlOrName);
  const type = messageTypeRegistry.get(name);
  if (!type) throw new Error(`unknown proto type ${name}: not generated (add it to scripts/gen-protos.mjs)`);
  return type;
}

/**
 * One writer for every encode (encoding is synchronous and never nested): a fresh writer starts
 * at 128 bytes and doubles, copying, until the message fits, which for every Listener and
 * Cluster of a mesh-wide change was a sixth of the server's CPU. finish() copies the bytes out
 * and keeps the grown buffer; one grown past REUSE_LIMIT (a rare huge message) is dropped.
 */
let writer = new BinaryWriter();
const REUSE_LIMIT = 1 << 20;

export function encode<T>(type: ProtoType<T>, message: T): Uint8Array {
  try {
    const bytes = type.encode(message, writer).finish();
    if (bytes.byteLength > REUSE_LIMIT) writer = new BinaryWriter();
    return bytes;
  } catch (err) {
    // A message that fails half-way leaves the writer mid-message.
    writer = new BinaryWriter();
    throw err;
  }
}

export function pack<T>(type: ProtoType<T>, message: T): Any {
  return { typeUrl: typeUrlOf(type.$type), value: encode(type, message) };
}

/** Packs already-encoded bytes (shared, never re-encoded). */
export function packBytes(typeUrl: string, value: Uint8Array): Any {
  return { typeUrl, value };
}

export function unpack<T>(type: ProtoType<T>, any: Any): T {
  if (typeNameOf(any.typeUrl) !== type.$type) {
    throw new Error(`Any holds ${any.typeUrl}, expected ${type.$type}`);
  }
  return type.decode(any.value);
}

/** Canonical proto3 JSON (lowerCamel names, Any with "@type"). */
export function toJson<T>(type: ProtoType<T>, message: T): unknown {
  return type.toJSON(message);
}

export function fromJson<T>(type: ProtoType<T>, json: unknown): T {
  return type.fromJSON(json);
}

/** Canonical JSON of an Any, `{"@type": ..., ...fields}`. */
export function anyToJson(any: Any): unknown {
  return Any.toJSON(any);
}

export function anyFromJson(json: unknown): Any {
  return Any.fromJSON(json);
}

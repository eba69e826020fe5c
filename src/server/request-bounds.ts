// What the xDS port accepts of a request before it costs anything: a node id of bounded length
// without control characters, node metadata of bounded size and depth, and bytes that decode.
// grpc-js answers a request its deserializer throws on with INTERNAL ("Error deserializing
// request"), which tells the client the server is broken; these deserializers never throw, they
// hand the stream a RejectedRequest and the stream ends with INVALID_ARGUMENT naming the problem.
// node.metadata is measured on the wire, before it is decoded: a Struct nested deeper than the
// decoder's stack would otherwise be a stack overflow, and a large one a large allocation.
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { errorMessage } from '../core/errors.js';
import type { Node } from '../gen/envoy/config/core/v3/base.js';

export const MAX_NODE_ID_BYTES = 256;
/** The encoded google.protobuf.Struct of node.metadata. */
export const MAX_NODE_METADATA_BYTES = 64 * 1024;
/**
 * Nesting of node.metadata as JSON: `{}` is 1, `{"a":[{}]}` is 3. The generated decoders refuse
 * messages nested more than 100 deep, and each level of a Struct is three messages (Struct,
 * its field entry, Value) below the request and the node: 32 levels is what decodes.
 */
export const MAX_NODE_METADATA_DEPTH = 32;

/** A request the stream must refuse (with INVALID_ARGUMENT and this reason) instead of reading. */
export class RejectedRequest {
  constructor(readonly reason: string) {}
}

/** Field numbers of `node` in DiscoveryRequest and DeltaDiscoveryRequest, and of `metadata` in Node. */
export const NODE_FIELD = { sotw: 2, delta: 1 } as const;
const NODE_METADATA_FIELD = 3;

/** A request deserializer for grpc-js that checks node.metadata on the wire, then decodes, and never throws. */
export function boundedDeserializer<T>(typeName: string, nodeField: number, decode: (bytes: Uint8Array) => T): (bytes: Buffer) => T | RejectedRequest {
  return (bytes) => {
    try {
      const problem = nodeMetadataProblem(bytes, nodeField);
      return problem ? new RejectedRequest(problem) : decode(bytes);
    } catch (err) {
      return new RejectedRequest(`the request is not a valid ${typeName}: ${errorMessage(err)}`);
    }
  };
}

/** Why a first request's node cannot name a stream's proxy, naming the field; undefined when it can. */
export function nodeProblem(node: Node | undefined): string | undefined {
  if (!node?.id) return 'node.id: the first request of a stream must carry a node with an id';
  const bytes = Buffer.byteLength(node.id, 'utf8');
  if (bytes > MAX_NODE_ID_BYTES) return `node.id: must be at most ${MAX_NODE_ID_BYTES} bytes, got ${bytes}`;
  // C0 controls, DEL and C1 controls: an id is printed in logs, status and metrics.
  const control = /[\u0000-\u001f\u007f-\u009f]/.exec(node.id);
  if (control) return `node.id: must not contain control characters (U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} at offset ${control.index})`;
  return undefined;
}

/** The bytes of every occurrence of length-delimited field `field` in a message (protobuf merges them). */
function occurrences(bytes: Uint8Array, field: number): Uint8Array[] {
  const r = new BinaryReader(bytes);
  const out: Uint8Array[] = [];
  while (r.pos < r.len) {
    const [no, wireType] = r.tag();
    if (no === field && wireType === WireType.LengthDelimited) out.push(r.bytes());
    else r.skip(wireType, no);
  }
  return out;
}

/** Why a request's node.metadata is refused, or undefined. */
function nodeMetadataProblem(request: Uint8Array, nodeField: number): string | undefined {
  const structs = occurrences(request, nodeField).flatMap((node) => occurrences(node, NODE_METADATA_FIELD));
  const size = structs.reduce((n, s) => n + s.length, 0);
  if (size > MAX_NODE_METADATA_BYTES) return `node.metadata: must be at most ${MAX_NODE_METADATA_BYTES} bytes encoded, got ${size}`;
  if (structs.some((s) => structDepthExceeds(s, MAX_NODE_METADATA_DEPTH))) return `node.metadata: must be nested at most ${MAX_NODE_METADATA_DEPTH} levels deep`;
  return undefined;
}

// google.protobuf.Struct on the wire: Struct.fields (1) -> FieldsEntry.value (2) -> Value, whose
// struct_value (5) is a Struct and list_value (6) a ListValue; ListValue.values (1) -> Value.
type Part = 'struct' | 'entry' | 'value' | 'list';
const CHILDREN: Readonly<Record<Part, Readonly<Record<number, Part>>>> = {
  struct: { 1: 'entry' },
  entry: { 2: 'value' },
  value: { 5: 'struct', 6: 'list' },
  list: { 1: 'value' },
};
const LEVEL: ReadonlySet<Part> = new Set(['struct', 'list']);

/** Whether an encoded Struct nests Structs and ListValues more than `limit` deep; iterative, so any depth is safe. */
export function structDepthExceeds(bytes: Uint8Array, limit: number): boolean {
  const r = new BinaryReader(bytes);
  const open: Array<{ part: Part; end: number }> = [{ part: 'struct', end: bytes.length }];
  let depth = 1;
  while (open.length > 0) {
    const top = open[open.length - 1] as { part: Part; end: number };
    if (r.pos >= top.end) {
      if (r.pos > top.end) throw new Error('a nested message overruns its parent');
      if (LEVEL.has(top.part)) depth--;
      open.pop();
      continue;
    }
    const [no, wireType] = r.tag();
    const child = CHILDREN[top.part][no];
    if (child === undefined || wireType !== WireType.LengthDelimited) {
      r.skip(wireType, no);
      continue;
    }
    const end = r.uint32() + r.pos;
    if (end > top.end) throw new Error('a nested message overruns its parent');
    if (LEVEL.has(child) && ++depth > limit) return true;
    open.push({ part: child, end });
  }
  return false;
}

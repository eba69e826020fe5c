// A proxy kind's resources described as data: one row per resource type, and generation as one
// loop over the table (generate.ts holds one table per proxy kind).
//
// Most changes in a mesh are endpoint changes (an instance comes, goes or fails a check) and
// certificate changes (a leaf renewed, the roots rotated); one such change reaches every proxy
// upstream of that service, or every proxy of it, or all of them. So there are two sorts of row:
//
// - shared rows (Endpoints, Secrets) are built from inputs shared between proxies, once per
//   input object (one health result, one leaf, one set of roots) and name, for all proxies;
// - built rows (Clusters, Listeners, Routes) name the snapshot fields they are built from. Their
//   generator is handed those fields and nothing else, and the cache key is made of exactly
//   those fields, so a generator cannot read an input its key ignores. Proxies whose fields are
//   equal (typically the instances of one service) share the built resources, and a proxy whose
//   new snapshot differs only in endpoints or certificates keeps them: such a change costs a
//   proxy lookups.
import { encode, type ProtoType } from '../core/proto.js';
import type { EncodedResource } from '../core/resources.js';
import type { XdsTypeUrl } from '../core/type-urls.js';
import type { ResourceInterner } from './encode.js';

/** A list field's elements without their endpoints. */
type WithoutEndpoints<T> = T extends readonly (infer E extends { readonly endpoints: unknown })[] ? readonly Omit<E, 'endpoints'>[] : T;

/**
 * The inputs a built row receives: the named fields of the snapshot. A list of things with
 * endpoints (upstreams, a gateway's services and datacenters) comes without them: endpoints are a
 * shared row's input, so an endpoint change never rebuilds a cluster or a listener.
 */
export type RowInputs<S, F extends keyof S> = { readonly [K in F]: WithoutEndpoints<S[K]> };

/** A resource type built from named fields of a snapshot. */
export interface BuiltRow<S, F extends keyof S, T> {
  readonly typeUrl: XdsTypeUrl;
  readonly type: ProtoType<T>;
  /** The snapshot fields this type is built from: the whole of its cache key and its generator's input. */
  readonly fields: readonly F[];
  generate(inputs: RowInputs<S, F>): T[];
  name(message: T): string;
  /** Names of the resources of other types a message refers to (its EDS assignment, its RDS routes). */
  children(inputs: RowInputs<S, F>, message: T): readonly string[];
}

/** A resource type built from inputs shared between proxies, once per input object; looked up on every snapshot. */
export interface SharedRow<S> {
  readonly typeUrl: XdsTypeUrl;
  shared(snap: S, interner: ResourceInterner): Map<string, EncodedResource>;
}

/** A row with its fields' type kept inside it. */
export interface TableRow<S> {
  readonly typeUrl: XdsTypeUrl;
  resources(snap: S, interner: ResourceInterner): ReadonlyMap<string, EncodedResource>;
}

/** A proxy kind's rows, in xDS send order (Secrets, Clusters, Endpoints, Listeners, Routes). */
export type ResourceTable<S> = readonly TableRow<S>[];

const objectIds = new WeakMap<object, number>();
let lastObjectId = 0;

/**
 * A frozen object is shared and immutable (an intentions list, a health result): keyed by
 * identity. An empty list is equal to every other, whoever's it is (a service no intention
 * names has one of its own): keyed by value, so what is built from it is shared across services.
 */
function identity(o: object): string {
  if (Array.isArray(o) && o.length === 0) return '[]';
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = ++lastObjectId));
  return `#${id}`;
}

/** The cache key of a row's inputs: frozen objects by identity, everything else by value. */
function keyOf(inputs: object): string {
  return JSON.stringify(inputs, (_k, v: unknown) => (v !== null && typeof v === 'object' && v !== inputs && Object.isFrozen(v) ? identity(v) : v));
}

const hasEndpoints = (v: unknown): v is { readonly endpoints: unknown } => typeof v === 'object' && v !== null && 'endpoints' in v;

function withoutEndpoints(value: unknown): unknown {
  if (!Array.isArray(value) || !value.some(hasEndpoints)) return value;
  return value.map((e: unknown) => {
    if (!hasEndpoints(e)) return e;
    const { endpoints: _, ...shape } = e;
    return shape;
  });
}

/** Copies the named fields, and nothing else, out of the snapshot. */
function select<S, F extends keyof S>(snap: S, fields: readonly F[]): RowInputs<S, F> {
  const inputs: Partial<Record<F, unknown>> = {};
  for (const f of fields) inputs[f] = withoutEndpoints(snap[f]);
  return inputs as RowInputs<S, F>;
}

let lastRowId = 0;

export function builtRow<S, F extends keyof S, T>(row: BuiltRow<S, F, T>): TableRow<S> {
  // Rows of different proxy kinds' tables may name equal fields: the row's own id keeps their keys apart.
  const rowId = ++lastRowId;
  const build = (inputs: RowInputs<S, F>, interner: ResourceInterner) => {
    const byName = new Map<string, EncodedResource>();
    for (const message of row.generate(inputs)) {
      const name = row.name(message);
      byName.set(name, interner.intern(row.typeUrl, name, encode(row.type, message), row.children(inputs, message)));
    }
    return byName;
  };
  return {
    typeUrl: row.typeUrl,
    resources: (snap, interner) => {
      const inputs = select(snap, row.fields);
      return interner.shaped(`${rowId} ${keyOf(inputs)}`, () => build(inputs, interner));
    },
  };
}

/** A part of a parted row built once from named snapshot fields (its key is exactly those fields). */
export interface WholePart<S, F extends keyof S, T> {
  readonly fields: readonly F[];
  generate(inputs: RowInputs<S, F>): T[];
}

/**
 * A part of a parted row built once per element of a list in the snapshot (an upstream), from
 * named snapshot fields and the element's named fields: its key is exactly those fields.
 */
export interface EachPart<S, F extends keyof S, E, G extends keyof E, T> {
  readonly fields: readonly F[];
  elements(snap: S): readonly E[];
  readonly elementFields: readonly G[];
  generate(inputs: RowInputs<S, F>, element: Pick<E, G>): T[];
}

/** A part with its field types kept inside it: what to build for a snapshot, each unit with its key. */
export interface RowPart<S, T> {
  units(snap: S): { readonly key: string; readonly generate: () => (T | Spliced<T>)[] }[];
}

export function wholePart<S, F extends keyof S, T>(part: WholePart<S, F, T>): RowPart<S, T> {
  return {
    units: (snap) => {
      const inputs = select(snap, part.fields);
      return [{ key: keyOf(inputs), generate: () => part.generate(inputs) }];
    },
  };
}

type Unit<T> = ReturnType<RowPart<unknown, T>['units']>[number];

/** A part's units, one per element of a list in the snapshot; `unit` is given the shared fields and their key. */
function perElement<S, F extends keyof S, E, T>(snap: S, fields: readonly F[], elements: (snap: S) => readonly E[], unit: (inputs: RowInputs<S, F>, shared: string, e: E) => Unit<T>): Unit<T>[] {
  const inputs = select(snap, fields);
  const shared = keyOf(inputs);
  return elements(snap).map((e) => unit(inputs, shared, e));
}

export function eachPart<S, F extends keyof S, E, G extends keyof E, T>(part: EachPart<S, F, E, G, T>): RowPart<S, T> {
  return {
    units: (snap) =>
      perElement(snap, part.fields, part.elements, (inputs, shared, e) => {
        const picked = pick(e, part.elementFields);
        return { key: `${shared} ${keyOf(picked)}`, generate: () => part.generate(inputs, picked) };
      }),
  };
}

/**
 * A message encoded as its head (its first declared fields: a listener's name and address) and
 * the rest, encoded once per `restKey` and shared. A message's encoding is its fields' encodings
 * in declaration order, so head then rest is byte for byte the whole message's encoding (and so
 * its version).
 */
export interface Spliced<T> {
  readonly spliced: true;
  readonly head: T;
  readonly restKey: string;
  rest(): T;
  readonly children: readonly string[];
}

/**
 * A part of a parted row whose resources are alike but for a few head fields (a listener per bind
 * address): built per element from its head fields, the rest from the rest fields, each encoded
 * once per key of those (see Spliced).
 */
export interface SplicedPart<S, F extends keyof S, E, H extends keyof E, G extends keyof E, T> {
  readonly fields: readonly F[];
  elements(snap: S): readonly E[];
  readonly headFields: readonly H[];
  readonly restFields: readonly G[];
  /** Only the head fields (declared first in the message) set. */
  head(element: Pick<E, H>): T;
  /** Every field but the head's. */
  rest(inputs: RowInputs<S, F>, element: Pick<E, G>): T;
  children(inputs: RowInputs<S, F>, element: Pick<E, G>): readonly string[];
}

function pick<E, G extends keyof E>(e: E, fields: readonly G[]): Pick<E, G> {
  const picked = {} as Pick<E, G>;
  for (const f of fields) picked[f] = e[f];
  return picked;
}

export function splicedPart<S, F extends keyof S, E, H extends keyof E, G extends keyof E, T>(part: SplicedPart<S, F, E, H, G, T>): RowPart<S, T> {
  return {
    units: (snap) =>
      perElement(snap, part.fields, part.elements, (inputs, shared, e) => {
        const head = pick(e, part.headFields);
        const rest = pick(e, part.restFields);
        const restKey = `${shared} ${keyOf(rest)}`;
        const spliced = (): Spliced<T> => ({ spliced: true, head: part.head(head), restKey, rest: () => part.rest(inputs, rest), children: part.children(inputs, rest) });
        return { key: `${restKey} ${keyOf(head)}`, generate: () => [spliced()] };
      }),
  };
}

const isSpliced = <T>(m: T | Spliced<T>): m is Spliced<T> => typeof m === 'object' && m !== null && (m as Partial<Spliced<T>>).spliced === true;

/** A resource type built in parts, each cached by its own key (see PartedRow). */
export interface PartedRow<S, T> {
  readonly typeUrl: XdsTypeUrl;
  readonly type: ProtoType<T>;
  readonly parts: readonly RowPart<S, T>[];
  name(message: T): string;
  /** Names of the resources of other types a message refers to (from the message alone). */
  children(message: T): readonly string[];
}

/** What keeps a proxy's merged map's parts alive (they are cached weakly, as long as some proxy's set holds them). */
const partsOf = new WeakMap<object, readonly object[]>();
/** What keeps a spliced resource's shared rest bytes alive (cached weakly too). */
const restOf = new WeakMap<EncodedResource, Uint8Array>();

/**
 * A type whose resources are built in parts with their own keys: the resources one proxy shares
 * with proxies of other services (an upstream's clusters and routes, identical for every proxy
 * with that upstream) are built and encoded once for all of them, while the few that are the
 * proxy's own (local_app, its public listener's route) are built per proxy. A name two parts
 * build (two upstreams of one destination share its target clusters) is taken from the first.
 */
export function partedRow<S, T>(row: PartedRow<S, T>): TableRow<S> {
  const rowId = ++lastRowId;
  const splice = (m: Spliced<T>, interner: ResourceInterner) => {
    const rest = interner.bytes(`${rowId} rest ${m.restKey}`, () => encode(row.type, m.rest()));
    const head = encode(row.type, m.head);
    const value = new Uint8Array(head.byteLength + rest.byteLength);
    value.set(head);
    value.set(rest, head.byteLength);
    const name = row.name(m.head);
    const res = interner.intern(row.typeUrl, name, value, m.children);
    restOf.set(res, rest);
    return [name, res] as const;
  };
  const build = (generate: () => (T | Spliced<T>)[], interner: ResourceInterner) => {
    const byName = new Map<string, EncodedResource>();
    for (const message of generate()) {
      if (isSpliced(message)) {
        const [name, res] = splice(message, interner);
        byName.set(name, res);
        continue;
      }
      const name = row.name(message);
      byName.set(name, interner.intern(row.typeUrl, name, encode(row.type, message), row.children(message)));
    }
    return byName;
  };
  return {
    typeUrl: row.typeUrl,
    resources: (snap, interner) => {
      const units = row.parts.flatMap((part, i) => part.units(snap).map((u) => ({ key: `${rowId}.${i} ${u.key}`, generate: u.generate })));
      return interner.shaped(`${rowId} parts\n${units.map((u) => u.key).join('\n')}`, () => {
        const maps = units.map((u) => interner.shaped(u.key, () => build(u.generate, interner)));
        const merged = new Map<string, EncodedResource>();
        for (const m of maps) for (const [name, res] of m) if (!merged.has(name)) merged.set(name, res);
        const sorted = new Map(byKey([...merged]));
        partsOf.set(sorted, maps);
        return sorted;
      });
    },
  };
}

export function sharedRow<S>(row: SharedRow<S>): TableRow<S> {
  return { typeUrl: row.typeUrl, resources: (snap, interner) => row.shared(snap, interner) };
}

export const byKey = <T>(entries: (readonly [string, T])[]) => entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

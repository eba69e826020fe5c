// Decides the next delta response of a stream from the desired set and the session state.
// Pure: the stream loop calls it until it returns undefined, recording each response as sent.
import type { EncodedResource, ResourceSet } from '../../core/resources.js';
import type { XdsTypeUrl } from '../../core/type-urls.js';
import { CHILD_TYPE, PHASES } from '../order.js';
import { REMOVED, type DeltaSession, type DeltaTypeState } from './session.js';

export interface DeltaPlan {
  readonly typeUrl: XdsTypeUrl;
  readonly upserts: readonly EncodedResource[];
  readonly removals: readonly string[];
  /** Children (by type) the client must receive again because these upserts replaced their parents. */
  readonly forcedChildren: ReadonlyMap<XdsTypeUrl, readonly string[]>;
}

const NO_RESOURCES: ReadonlyMap<string, EncodedResource> = new Map();

/** Subscribed resources whose version differs from what the client holds, or that are forced. */
export function upsertsFor(desired: ResourceSet, typeUrl: XdsTypeUrl, state: DeltaTypeState): EncodedResource[] {
  const out: EncodedResource[] = [];
  const sub = state.subscription;
  const consider = (res: EncodedResource) => {
    // A forced child goes even at a version the client rejected: it dropped what it held of it.
    if (state.forced.has(res.name)) out.push(res);
    else if (state.rejected.get(res.name) !== res.version && state.acked.get(res.name) !== res.version) out.push(res);
  };
  const resources = desired.get(typeUrl) ?? NO_RESOURCES;
  if (sub.isWildcard) {
    for (const res of resources.values()) consider(res);
  } else {
    for (const name of sub.explicitNames()) {
      const res = resources.get(name);
      if (res) consider(res);
    }
  }
  return out.length > 1 ? out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) : out;
}

/**
 * Names the client holds that are no longer desired. For wildcard types the server must say so;
 * for an explicitly subscribed name the client held, the removal tells it the resource is gone.
 * A name the client subscribed to but never held is not answered (it stays waiting). A name only
 * sent in a NACKed response counts as held: Envoy applies the valid resources of a response it
 * rejects, and removing a name it does not hold is harmless.
 */
export function removalsFor(desired: ResourceSet, typeUrl: XdsTypeUrl, state: DeltaTypeState): string[] {
  const resources = desired.get(typeUrl) ?? NO_RESOURCES;
  const out: string[] = [];
  const consider = (name: string) => {
    if (!resources.has(name) && state.subscription.covers(name) && state.rejected.get(name) !== REMOVED) out.push(name);
  };
  for (const name of state.acked.keys()) consider(name);
  for (const name of state.rejected.keys()) if (!state.acked.has(name)) consider(name);
  return out.length > 1 ? out.sort() : out;
}

function childrenOf(typeUrl: XdsTypeUrl, upserts: readonly EncodedResource[]): Map<XdsTypeUrl, string[]> {
  const childType = CHILD_TYPE.get(typeUrl);
  const names = upserts.flatMap((r) => r.children ?? []);
  return childType && names.length > 0 ? new Map([[childType, names]]) : new Map();
}

/** The next response to send, in PHASES order, or undefined when there is nothing to send now. */
export function nextDeltaResponse(desired: ResourceSet, session: DeltaSession): DeltaPlan | undefined {
  // Each type's upserts are computed at most once per call: phases and holds both ask for them.
  const upsertCache = new Map<XdsTypeUrl, EncodedResource[]>();
  const upserts = (typeUrl: XdsTypeUrl, state: DeltaTypeState): EncodedResource[] => {
    let out = upsertCache.get(typeUrl);
    if (!out) upsertCache.set(typeUrl, (out = upsertsFor(desired, typeUrl, state)));
    return out;
  };
  const busy = (typeUrl: XdsTypeUrl): boolean => {
    const state = session.peek(typeUrl);
    return state !== undefined && (session.isPending(typeUrl) || upserts(typeUrl, state).length > 0);
  };
  for (const phase of PHASES) {
    const state = session.peek(phase.typeUrl);
    if (!state?.subscription.active || session.isPending(phase.typeUrl)) continue;
    if (phase.waitsFor.some(busy)) continue;
    if (phase.op === 'upsert') {
      const toSend = upserts(phase.typeUrl, state);
      // An empty first answer to a wildcard tells Envoy "none of this type" so it can finish warming.
      const firstEmpty = state.subscription.isWildcard && !state.answered && state.acked.size === 0;
      if (toSend.length > 0 || (firstEmpty && removalsFor(desired, phase.typeUrl, state).length === 0)) {
        return { typeUrl: phase.typeUrl, upserts: toSend, removals: [], forcedChildren: childrenOf(phase.typeUrl, toSend) };
      }
    } else {
      const removals = removalsFor(desired, phase.typeUrl, state);
      if (removals.length > 0) return { typeUrl: phase.typeUrl, upserts: [], removals, forcedChildren: new Map() };
    }
  }
  return undefined;
}

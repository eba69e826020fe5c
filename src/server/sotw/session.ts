// The state of one state-of-the-world stream, per type: requested names, the last response, the
// acknowledged version, and the version the client rejected. No I/O.
import { createHash } from 'node:crypto';
import type { EncodedResource, ResourceSet } from '../../core/resources.js';
import type { XdsTypeUrl } from '../../core/type-urls.js';
import { CHILD_TYPE, PHASES, WILDCARD_TYPES, type PhaseOp } from '../order.js';

export class SotwTypeState {
  readonly names = new Set<string>();
  wildcard = false;
  /**
   * Legacy wildcard (go-control-plane subscription.go): an empty name list means "everything"
   * only while every request for the type so far was empty. Once names were given, an empty
   * list is an unsubscribe, which is what gRPC clients send at shutdown.
   */
  allowLegacyWildcard: boolean | undefined;
  /** Nonce of the last response; a request carrying another nonce is stale. */
  lastNonce = '';
  /** version_info of the last response for the current subscription ('' after unsubscribing). */
  lastVersion = '';
  /** Waiting for the ACK/NACK of lastNonce. */
  pending = false;
  ackedVersion = '';
  /** A version the client NACKed: not sent again (unless forced); the next different version is. */
  rejectedVersion: string | undefined;
  /** The nonce already recorded as NACKed (grpc-js repeats it on later requests). */
  nackedNonce = '';
  /** Resources of the last response sent, and of the last one the client accepted (what it holds). */
  lastResources: readonly EncodedResource[] = [];
  heldResources: readonly EncodedResource[] = [];
  /**
   * A response of the parent type (CHILD_TYPE) was sent since the last response of this type:
   * Envoy dropped what it held of the replaced parents' children and does not ask again, so the
   * current version is sent again even though the client already has it.
   */
  forced = false;

  get active(): boolean {
    return this.wildcard || this.names.size > 0;
  }
}

export interface SotwRequestFacts {
  readonly names: readonly string[];
  readonly nonce: string;
  readonly versionInfo: string;
  readonly error: boolean;
  /** A gRPC (proxyless) client: never a wildcard. */
  readonly grpcClient: boolean;
}

export type SotwAnswer = 'ack' | 'nack' | 'repeated-nack' | 'stale' | 'none';

export interface SotwPlan {
  readonly typeUrl: XdsTypeUrl;
  readonly versionInfo: string;
  readonly resources: readonly EncodedResource[];
}

export class SotwSession {
  private readonly types = new Map<XdsTypeUrl, SotwTypeState>();

  peek(typeUrl: XdsTypeUrl): SotwTypeState | undefined {
    return this.types.get(typeUrl);
  }

  /** Applies one request. A stale nonce changes nothing and must not trigger a response. */
  request(typeUrl: XdsTypeUrl, req: SotwRequestFacts): SotwAnswer {
    let state = this.types.get(typeUrl);
    if (!state) {
      state = new SotwTypeState();
      this.types.set(typeUrl, state);
      // A client reconnecting says which version it still holds. Versions are a deterministic
      // hash of the subscription and the resources, so the same version means the same set:
      // nothing is resent until it changes (as delta does with initial_resource_versions).
      if (req.nonce === '' && req.versionInfo !== '') state.lastVersion = state.ackedVersion = req.versionInfo;
    }
    if (req.nonce !== '' && req.nonce !== state.lastNonce) return 'stale';
    let answer: SotwAnswer = 'none';
    if (req.nonce !== '' && req.error) {
      answer = state.nackedNonce === req.nonce ? 'repeated-nack' : 'nack';
      if (answer === 'nack') {
        state.nackedNonce = req.nonce;
        state.rejectedVersion = state.lastVersion;
        state.pending = false;
      }
    } else if (req.nonce !== '' && state.pending) {
      answer = 'ack';
      state.pending = false;
      state.heldResources = state.lastResources;
      state.ackedVersion = req.versionInfo;
      state.rejectedVersion = undefined;
    }
    this.subscribe(typeUrl, state, req);
    return answer;
  }

  private subscribe(typeUrl: XdsTypeUrl, state: SotwTypeState, req: SotwRequestFacts): void {
    const before = [...state.names].join('\0') + (state.wildcard ? '\0*' : '');
    if (state.allowLegacyWildcard === undefined) {
      state.allowLegacyWildcard = req.names.length === 0 && !req.grpcClient && WILDCARD_TYPES.has(typeUrl);
    }
    if (req.names.length > 0) state.allowLegacyWildcard = false;
    state.names.clear();
    state.wildcard = req.names.length === 0 ? state.allowLegacyWildcard : false;
    for (const name of req.names) {
      if (name === '*') state.wildcard = true;
      else state.names.add(name);
    }
    const after = [...state.names].join('\0') + (state.wildcard ? '\0*' : '');
    // After an unsubscribe the client holds nothing of this type: a later subscribe is answered.
    if (!state.active && before !== after) {
      state.lastVersion = '';
      state.heldResources = [];
    }
  }

  /** Records a response as sent. */
  sent(typeUrl: XdsTypeUrl, nonce: string, versionInfo: string, resources: readonly EncodedResource[]): void {
    const state = this.types.get(typeUrl);
    if (!state) return;
    state.lastNonce = nonce;
    state.lastVersion = versionInfo;
    state.lastResources = resources;
    state.pending = true;
    state.forced = false;
    const childType = CHILD_TYPE.get(typeUrl);
    const child = childType && this.types.get(childType);
    if (child) child.forced = true;
  }
}

/** The resources a response of this type carries: the full set for wildcards, else the requested names. */
export function sotwResources(desired: ResourceSet, typeUrl: XdsTypeUrl, state: SotwTypeState): EncodedResource[] {
  const all = desired.get(typeUrl);
  if (!all) return [];
  if (state.wildcard) return [...all.values()].sort(byName);
  return [...state.names].sort().flatMap((n) => {
    const r = all.get(n);
    return r ? [r] : [];
  });
}

/** Deterministic version_info: a hash of the subscription and of every resource version. */
export function sotwVersion(state: SotwTypeState, resources: readonly EncodedResource[]): string {
  const h = createHash('sha256');
  h.update(state.wildcard ? '*\n' : `${[...state.names].sort().join(',')}\n`);
  for (const r of resources) h.update(`${r.name}@${r.version}\n`);
  return h.digest('hex').slice(0, 16);
}

/**
 * For Clusters and Listeners a response is the whole set, so leaving a resource out removes it.
 * Make before break: while upserts are sent (op 'upsert'), what the client holds and is no
 * longer desired stays in the set; the set without it is sent in the removal phase, once
 * nothing is left to add and what referenced it has been replaced (PHASES).
 */
function plan(desired: ResourceSet, typeUrl: XdsTypeUrl, state: SotwTypeState, op: PhaseOp): SotwPlan | undefined {
  const wanted = sotwResources(desired, typeUrl, state);
  const names = new Set(wanted.map((r) => r.name));
  const kept = WILDCARD_TYPES.has(typeUrl) ? state.heldResources.filter((r) => !names.has(r.name) && (state.wildcard || state.names.has(r.name))) : [];
  const upsert = versioned(typeUrl, state, kept.length > 0 ? [...wanted, ...kept].sort(byName) : wanted);
  if (op === 'upsert') return upsert;
  return kept.length > 0 && upsert === undefined ? versioned(typeUrl, state, wanted) : undefined;
}

function versioned(typeUrl: XdsTypeUrl, state: SotwTypeState, resources: readonly EncodedResource[]): SotwPlan | undefined {
  const versionInfo = sotwVersion(state, resources);
  // A forced resend goes even at a version the client rejected: it dropped what it held of it.
  if (!state.forced && (versionInfo === state.rejectedVersion || versionInfo === state.lastVersion)) return undefined;
  return { typeUrl, versionInfo, resources };
}

/** The next SotW response, in the same order and with the same holds as delta; undefined when nothing is due. */
export function nextSotwResponse(desired: ResourceSet, session: SotwSession): SotwPlan | undefined {
  const busy = (typeUrl: XdsTypeUrl): boolean => {
    const state = session.peek(typeUrl);
    return state !== undefined && state.active && (state.pending || plan(desired, typeUrl, state, 'upsert') !== undefined);
  };
  for (const phase of PHASES) {
    // Other types are answered by name: a name no longer desired is the client's to drop.
    if (phase.op === 'remove' && !WILDCARD_TYPES.has(phase.typeUrl)) continue;
    const state = session.peek(phase.typeUrl);
    if (!state?.active || state.pending || phase.waitsFor.some(busy)) continue;
    const next = plan(desired, phase.typeUrl, state, phase.op);
    if (next) return next;
  }
  return undefined;
}

function byName(a: EncodedResource, b: EncodedResource): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

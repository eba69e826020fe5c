// The state of one delta stream, per type, in three separate structures (Consul agent/xds/delta.go
// mixed subscriptions and versions in one map, which was a real bug): what the client subscribes
// to, what it has acknowledged, and the updates in flight keyed by nonce. No I/O.
import type { XdsTypeUrl } from '../../core/type-urls.js';
import { WILDCARD_TYPES } from '../order.js';
import { Subscription, WILDCARD } from './subscription.js';

/** One sent, not yet answered response: exactly what an ACK of its nonce makes acknowledged. */
export interface PendingUpdate {
  readonly typeUrl: XdsTypeUrl;
  readonly nonce: string;
  /** name -> version sent. */
  readonly upserts: ReadonlyMap<string, string>;
  readonly removals: readonly string[];
}

/** Marks a removal in `rejected` (a NACKed removal is not retried either). */
export const REMOVED = '';

/** An acknowledged entry whose version the client no longer holds: resend or remove it. */
const UNKNOWN_VERSION = '';

export class DeltaTypeState {
  readonly subscription = new Subscription();
  /** name -> version the client holds (ACKed, or declared in initial_resource_versions). */
  readonly acked = new Map<string, string>();
  /** name -> version the client NACKed: not sent again until the desired version changes. */
  readonly rejected = new Map<string, string>();
  /** Children whose parent was sent: resend even though the client holds (or rejected) their version. */
  readonly forced = new Set<string>();
  /** Whether any response of this type has been sent on this stream. */
  answered = false;
}

export type AnswerResult =
  | { readonly kind: 'ack'; readonly update: PendingUpdate }
  | { readonly kind: 'nack'; readonly update: PendingUpdate }
  | { readonly kind: 'stale' }
  | { readonly kind: 'none' };

export class DeltaSession {
  private readonly types = new Map<XdsTypeUrl, DeltaTypeState>();
  /** nonce -> update: at most one per type, but an answer is always matched by its nonce. */
  private readonly pending = new Map<string, PendingUpdate>();

  type(typeUrl: XdsTypeUrl): DeltaTypeState {
    let state = this.types.get(typeUrl);
    if (!state) {
      state = new DeltaTypeState();
      this.types.set(typeUrl, state);
    }
    return state;
  }

  /** The type's state if the client ever asked for it. */
  peek(typeUrl: XdsTypeUrl): DeltaTypeState | undefined {
    return this.types.get(typeUrl);
  }

  /** Subscription changes of one request; initial versions only count on a type's first request. */
  subscribe(typeUrl: XdsTypeUrl, subscribe: readonly string[], unsubscribe: readonly string[], initial: Readonly<Record<string, string>> = {}): void {
    const state = this.type(typeUrl);
    if (!state.subscription.active) {
      for (const [name, version] of Object.entries(initial)) state.acked.set(name, version);
    } else {
      // A name subscribed again may have been forgotten by the client while it stayed subscribed
      // (xDS protocol, "Subscribing to Resources"): answer it even at the version it was sent.
      for (const name of subscribe) if (state.acked.has(name)) state.acked.set(name, UNKNOWN_VERSION);
    }
    const explicit = new Set(unsubscribe.filter((n) => state.subscription.explicitNames().has(n)));
    state.subscription.apply(subscribe, unsubscribe, WILDCARD_TYPES.has(typeUrl));
    // Unsubscribing * drops what the client held only through the wildcard (Envoy clears it).
    const dropped = unsubscribe.includes(WILDCARD) ? [...unsubscribe, ...state.acked.keys()] : unsubscribe;
    for (const name of dropped) {
      if (!state.subscription.covers(name)) {
        // The client forgets what it no longer subscribes to; a later subscribe must resend it.
        state.acked.delete(name);
        state.rejected.delete(name);
        state.forced.delete(name);
      } else if (explicit.has(name) && state.acked.has(name)) {
        // Unsubscribed by name but still under the wildcard: the client dropped it, so the server
        // answers with the resource again or its removal (as go-control-plane does).
        state.acked.set(name, UNKNOWN_VERSION);
      }
    }
  }

  /** Matches an ACK or NACK to its response by nonce; an unknown nonce is stale and changes nothing. */
  answer(typeUrl: XdsTypeUrl, nonce: string, error: boolean): AnswerResult {
    if (nonce === '') return { kind: 'none' };
    const update = this.pending.get(nonce);
    if (!update || update.typeUrl !== typeUrl) return { kind: 'stale' };
    this.pending.delete(nonce);
    const state = this.type(typeUrl);
    if (error) {
      // Keep the last good state; remember what was refused so it is not resent in a loop.
      for (const [name, version] of update.upserts) state.rejected.set(name, version);
      for (const name of update.removals) state.rejected.set(name, REMOVED);
      return { kind: 'nack', update };
    }
    for (const [name, version] of update.upserts) {
      if (state.subscription.covers(name)) state.acked.set(name, version);
      state.rejected.delete(name);
    }
    for (const name of update.removals) {
      state.acked.delete(name);
      state.rejected.delete(name);
    }
    return { kind: 'ack', update };
  }

  isPending(typeUrl: XdsTypeUrl): boolean {
    for (const update of this.pending.values()) if (update.typeUrl === typeUrl) return true;
    return false;
  }

  /** Records a response as sent: pending by nonce, and its children marked for resend. */
  sent(update: PendingUpdate, forcedChildren: ReadonlyMap<XdsTypeUrl, readonly string[]>): void {
    this.pending.set(update.nonce, update);
    const state = this.type(update.typeUrl);
    state.answered = true;
    for (const name of update.upserts.keys()) state.forced.delete(name);
    for (const [childType, names] of forcedChildren) {
      const child = this.type(childType);
      for (const name of names) child.forced.add(name);
    }
  }

  /** Number of acknowledged resources per type (for status). */
  ackedCounts(): Map<XdsTypeUrl, number> {
    return new Map([...this.types].map(([t, s]) => [t, s.acked.size]));
  }
}

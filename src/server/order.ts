// The xDS send order and the parent -> child resend rule, as data (XDS-NOTES "Warming and order").
// Delta and SotW sessions both walk PHASES in order each pass; a phase is skipped while any type
// it waits for is busy (a response unacknowledged, sent in this pass, or upserts still to send).
import { TypeUrl, type XdsTypeUrl } from '../core/type-urls.js';

export type PhaseOp = 'upsert' | 'remove';

export interface Phase {
  readonly typeUrl: XdsTypeUrl;
  readonly op: PhaseOp;
  /** Types that must be idle before this phase may send (make before break). */
  readonly waitsFor: readonly XdsTypeUrl[];
}

const { Secret, Cluster, Endpoint, Listener, Route } = TypeUrl;

/**
 * Upserts first, Secrets -> Clusters -> Endpoints -> Listeners -> Routes, holding Listeners and
 * Routes while Clusters or Endpoints are unacknowledged; then removals in reverse dependency
 * order, each waiting until what referenced it has been replaced.
 */
export const PHASES: readonly Phase[] = [
  { typeUrl: Secret, op: 'upsert', waitsFor: [] },
  { typeUrl: Cluster, op: 'upsert', waitsFor: [] },
  { typeUrl: Endpoint, op: 'upsert', waitsFor: [] },
  { typeUrl: Listener, op: 'upsert', waitsFor: [Cluster, Endpoint] },
  { typeUrl: Route, op: 'upsert', waitsFor: [Cluster, Endpoint] },
  { typeUrl: Listener, op: 'remove', waitsFor: [] },
  { typeUrl: Route, op: 'remove', waitsFor: [Listener] },
  { typeUrl: Cluster, op: 'remove', waitsFor: [Listener, Route] },
  { typeUrl: Endpoint, op: 'remove', waitsFor: [Listener, Route, Cluster] },
  { typeUrl: Secret, op: 'remove', waitsFor: [Listener, Route, Cluster] },
];

/**
 * When a resource of the key type is sent, Envoy drops and re-awaits the children its
 * EncodedResource.children names, of this type, without asking again: resend them.
 */
export const CHILD_TYPE: ReadonlyMap<XdsTypeUrl, XdsTypeUrl> = new Map([
  [Cluster, Endpoint],
  [Listener, Route],
]);

/**
 * Types whose empty first request is the legacy wildcard (an Envoy asking for everything), and
 * whose state-of-the-world response is therefore the full set (anything absent is deleted).
 * Other types are only ever subscribed by name (or with an explicit `*`).
 */
export const WILDCARD_TYPES: ReadonlySet<XdsTypeUrl> = new Set([Cluster, Listener]);

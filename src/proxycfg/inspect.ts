// What an operator needs to know about a proxy's snapshot beyond its resources: the upstreams
// whose calls will fail because the destination has no healthy instance. One rule, used by the
// proxy status report and by the once-per-upstream log line.
import type { ProxySnapshot } from './snapshot.js';

export interface UpstreamWithoutInstances {
  /** The upstream's id (its listener prefix), e.g. `server` or `db?dc=dc2`. */
  readonly upstream: string;
  readonly destinationName: string;
  readonly datacenter: string;
  /** Registered instances (all critical when more than 0). */
  readonly instances: number;
}

/** A sidecar's (or an ingress gateway's services') upstreams with no passing or warning instance (critical ones take no traffic), sorted by id. */
export function upstreamsWithoutHealthyInstances(snap: ProxySnapshot): UpstreamWithoutInstances[] {
  if (snap.kind !== 'connect-proxy' && snap.kind !== 'ingress-gateway') return [];
  return snap.upstreams
    .map((u) => ({ u, endpoints: u.endpoints.flatMap((t) => t.endpoints) }))
    .filter(({ endpoints }) => !endpoints.some((e) => e.health !== 'critical'))
    .map(({ u, endpoints }) => ({ upstream: u.id, destinationName: u.destinationName, datacenter: u.datacenter, instances: endpoints.length }));
}

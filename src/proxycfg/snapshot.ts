// The immutable, typed picture of everything one sidecar proxy's configuration depends on.
// Built by the connect-proxy pipeline (connect-proxy.ts) and consumed by the pure generators in
// src/xds. Every field is resolved and validated: the generators make no decisions about
// defaults or user input.
import type { CARoots, LeafCert } from '../ca/types.js';
import type { ConfigEntry, HealthStatus, Intention, Protocol, ServiceInstance } from '../catalog/types.js';
import type { FieldIssue } from '../core/errors.js';

/** One instance of an upstream's sidecar proxy (an EDS endpoint). */
export interface UpstreamEndpoint {
  readonly node: string;
  /** The proxy's service address, else its node's address. */
  readonly address: string;
  readonly port: number;
  /** Aggregate of the proxy's own and its node's checks. */
  readonly health: HealthStatus;
}

export interface UpstreamSnapshot {
  /** Listener prefix and route name (names.upstreamId). */
  readonly id: string;
  readonly destinationName: string;
  readonly namespace: string;
  readonly datacenter: string;
  readonly bindAddress: string;
  readonly bindPort: number;
  /** Upstream Config > the destination's service-defaults > proxy-defaults > tcp. */
  readonly protocol: Protocol;
  readonly connectTimeoutMs: number;
  /** Sorted by address then port. Empty when the destination has no proxies. */
  readonly endpoints: readonly UpstreamEndpoint[];
}

export interface ConnectProxySnapshot {
  readonly kind: 'connect-proxy';
  /** The proxy's registration (its id is the Envoy node id). */
  readonly proxy: ServiceInstance;
  /** The service this proxy fronts (Proxy.DestinationServiceName). */
  readonly service: string;
  readonly namespace: string;
  readonly datacenter: string;
  readonly trustDomain: string;
  readonly roots: CARoots;
  readonly leaf: LeafCert;
  /** Intentions whose destination is `service` (exact and wildcard), highest precedence first. */
  readonly intentions: readonly Intention[];
  readonly defaultIntentionPolicy: 'allow' | 'deny';
  readonly publicListener: {
    readonly bindAddress: string;
    readonly bindPort: number;
    /** Proxy Config > service-defaults > proxy-defaults > tcp. */
    readonly protocol: Protocol;
  };
  readonly localApp: {
    readonly address: string;
    readonly port: number;
    readonly connectTimeoutMs: number;
  };
  /** Sorted by id. */
  readonly upstreams: readonly UpstreamSnapshot[];
  /** The `mesh` config entry, when one is written (mesh-wide TLS and HTTP settings). */
  readonly mesh: ConfigEntry | undefined;
  /**
   * Problems in user config that the proxy layer found while resolving it (normally rejected at
   * registration). A snapshot with issues generates no resources: the generators report them.
   */
  readonly issues: readonly FieldIssue[];
}

// The immutable, typed pictures of everything one proxy's configuration depends on: one snapshot
// type per proxy kind, together a union keyed by `kind`. Built by each kind's pipeline (one module
// per kind, see kinds.ts) from narrow, resolved parts: no registration and no config entry is
// carried whole, so the pure generators in src/xds read only fields that were resolved and
// validated here, and make no decisions about defaults or user input.
import type { CARoots, LeafCert } from '../ca/types.js';
import type { CompiledDiscoveryChain, LoadBalancer } from '../catalog/config/chain.js';
import type { IntentionPermission } from '../catalog/intentions/schema.js';
import type { HealthStatus, Protocol } from '../catalog/types.js';
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
  /** The upstream's `connect_timeout_ms`, else the proxy's service-defaults UpstreamConfig ConnectTimeoutMs (override, then Defaults), else 5s. */
  readonly connectTimeoutMs: number;
  /** Whether the upstream sets `connect_timeout_ms` itself (it then wins over a resolver's ConnectTimeout, as in Consul). */
  readonly connectTimeoutFromUpstream: boolean;
  /** The destination's discovery chain: routes, splits, resolvers and the targets they reach. */
  readonly chain: CompiledDiscoveryChain;
  /** Circuit breakers for the upstream's clusters: the proxy's service-defaults UpstreamConfig (Overrides of this name > Defaults) `Limits`. */
  readonly limits?: UpstreamLimits;
  /** Outlier detection for the upstream's clusters: the same UpstreamConfig's `PassiveHealthCheck`, durations in ms. */
  readonly passiveHealthCheck?: PassiveHealthCheck;
  /** Exact connection balance across Envoy's worker threads on the upstream's listener (`balance_outbound_connections` "exact_balance", else UpstreamConfig BalanceOutboundConnections). */
  readonly balanceConnections?: boolean;
  /** The endpoints of every target of the chain, sorted by target id. */
  readonly endpoints: readonly TargetEndpoints[];
}

/** An address range a listener takes connections from. */
export interface SourceRange {
  readonly address: string;
  readonly prefixLen: number;
}

/** A path of the app exposed without mTLS (Expose.Paths): its own plain-HTTP listener. */
export interface ExposedPath {
  readonly path: string;
  readonly listenerPort: number;
  readonly localPathPort: number;
  readonly protocol: 'http' | 'http2';
  /** `local_app` when the path is on the app's own port, else `exposed_cluster_<port>`. */
  readonly cluster: string;
  /**
   * A path taken from a check (Expose.Checks; Consul's ParsedFromCheck): the check's ID, and the
   * only sources its listener takes connections from (loopback and the proxy's own address).
   */
  readonly fromCheck?: { readonly checkId: string; readonly sources: readonly SourceRange[] };
}

export interface UpstreamLimits {
  readonly maxConnections?: number;
  readonly maxPendingRequests?: number;
  readonly maxConcurrentRequests?: number;
}

export interface PassiveHealthCheck {
  readonly intervalMs?: number;
  readonly maxFailures?: number;
  readonly enforcingConsecutive5xx?: number;
  readonly maxEjectionPercent?: number;
  readonly baseEjectionTimeMs?: number;
}

/** One side of the mesh entry's TLS (Consul's names: TLSv1_2, TLS_AUTO, ...). */
export interface TlsSettings {
  readonly minVersion?: string;
  readonly maxVersion?: string;
  readonly cipherSuites?: readonly string[];
}

/** The mesh entry's TLS: Incoming for the public listener, Outgoing for upstream clusters. */
export interface MeshTlsSettings {
  readonly incoming?: TlsSettings;
  readonly outgoing?: TlsSettings;
}

/** proxy-defaults AccessLogs when Enabled (Type '' is stdout). */
export interface AccessLogSettings {
  readonly type: 'stdout' | 'stderr' | 'file';
  readonly path?: string;
  readonly jsonFormat?: string;
  readonly textFormat?: string;
  readonly disableListenerLogs: boolean;
}

/** One chain target's endpoints. */
export interface TargetEndpoints {
  readonly targetId: string;
  /**
   * Sorted by address then port; empty when the target has no proxies. One frozen array per
   * health result (and subset), shared by every proxy upstream of the target.
   */
  readonly endpoints: readonly UpstreamEndpoint[];
}

/** An upstream as its listener, cluster and routes are built from it: without its endpoints. */
export type UpstreamShape = Omit<UpstreamSnapshot, 'endpoints'>;

/**
 * An intention as the RBAC filters need it: whose calls, the decision, and its precedence. With
 * `permissions` (L7) the decision is made per request on HTTP listeners; on a tcp listener it
 * is `action`, which is then deny.
 */
export interface IntentionSource {
  readonly sourceName: string;
  readonly sourceNamespace: string;
  readonly action: 'allow' | 'deny';
  readonly precedence: number;
  readonly permissions?: readonly IntentionPermission[];
}

/** Who a proxy is: what every kind's snapshot starts with. */
interface ProxyIdentity {
  /** The proxy's service ID (Envoy's node id). */
  readonly proxyId: string;
  /** The service the proxy serves as (a sidecar: its destination service). */
  readonly service: string;
  readonly namespace: string;
  readonly datacenter: string;
  readonly trustDomain: string;
  /**
   * Problems in user config found while resolving it (normally refused at registration). A
   * snapshot with issues generates no resources: the generators report them.
   */
  readonly issues: readonly FieldIssue[];
}

export interface ConnectProxySnapshot extends ProxyIdentity {
  readonly kind: 'connect-proxy';
  readonly roots: CARoots;
  readonly leaf: LeafCert;
  /** Intentions whose destination is `service` (exact and wildcard). */
  readonly intentions: readonly IntentionSource[];
  readonly defaultIntentionPolicy: 'allow' | 'deny';
  readonly publicListener: {
    readonly bindAddress: string;
    readonly bindPort: number;
    /** Proxy Config > service-defaults > proxy-defaults > tcp. */
    readonly protocol: Protocol;
    /** HTTP only: the route to local_app's timeouts (Proxy Config local_request_timeout_ms > service-defaults LocalRequestTimeoutMs; local_idle_timeout_ms). */
    readonly requestTimeoutMs?: number;
    readonly idleTimeoutMs?: number;
    /** The mesh entry's HTTP.SanitizeXForwardedClientCert: the app gets no x-forwarded-client-cert. */
    readonly sanitizeXForwardedClientCert?: boolean;
    /** Exact connection balance across worker threads (Proxy Config `balance_inbound_connections` > service-defaults BalanceInboundConnections). */
    readonly balanceConnections?: boolean;
    /** Expose.Paths (the registration's, else service-defaults', else proxy-defaults') and, with Expose.Checks, the service's HTTP and gRPC check paths, each a plain-HTTP listener on the public listener's address; sorted by listener port. */
    readonly exposedPaths?: readonly ExposedPath[];
  };
  readonly localApp: {
    readonly address: string;
    readonly port: number;
    readonly connectTimeoutMs: number;
    /** Proxy Config max_inbound_connections > service-defaults MaxInboundConnections; absent when 0 or unset. */
    readonly maxInboundConnections?: number;
  };
  /** Sorted by id. */
  readonly upstreams: readonly UpstreamSnapshot[];
  /** The mesh entry's TLS parameters; absent when it sets none. */
  readonly meshTls?: MeshTlsSettings;
  /** Access logs of every listener (proxy-defaults AccessLogs); absent when they are off. */
  readonly accessLogs?: AccessLogSettings;
}

/** An address a mesh gateway listens on: `name` is `default`, `lan`, `wan` or a configured one. */
export interface GatewayListenerAddress {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

/** A service of the gateway's own datacenter: the sidecars its traffic is forwarded to. */
export interface GatewayLocalService {
  readonly name: string;
  /** A subset its service-resolver defines (its own cluster, `<subset>.<svc>...`), or '' for the whole service. */
  readonly subset: string;
  readonly namespace: string;
  /** Its sidecars and Connect-native instances, sorted; empty when it has none. */
  readonly endpoints: readonly UpstreamEndpoint[];
}

/** Another datacenter: the mesh gateways (their WAN addresses) its traffic is forwarded to. */
export interface GatewayRemoteDatacenter {
  readonly datacenter: string;
  readonly endpoints: readonly UpstreamEndpoint[];
}

/**
 * A mesh gateway: it forwards TLS by SNI, untouched. It never holds a leaf key and never
 * terminates mesh TLS, so its snapshot has no certificates.
 */
export interface MeshGatewaySnapshot extends ProxyIdentity {
  readonly kind: 'mesh-gateway';
  /** In Consul's order (default, lan, wan, then configured names); no two on one address and port. */
  readonly listeners: readonly GatewayListenerAddress[];
  /** Sorted by name. */
  readonly services: readonly GatewayLocalService[];
  /** Every other datacenter with a federation state, sorted. */
  readonly datacenters: readonly GatewayRemoteDatacenter[];
  readonly connectTimeoutMs: number;
}

/** TLS a terminating gateway originates to a linked service's instances (files on the gateway's host, read by Envoy). */
export interface OriginationTls {
  readonly caFile: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly sni?: string;
}

/** A service a terminating gateway stands in for: it presents the service's certificate and enforces its intentions. */
export interface LinkedService {
  readonly name: string;
  readonly namespace: string;
  /** The service's service-defaults > proxy-defaults > tcp. */
  readonly protocol: Protocol;
  readonly intentions: readonly IntentionSource[];
  /** Its service-resolver's subsets, sorted: each its own cluster and SNI. */
  readonly subsets: readonly string[];
  /** The resolver's ConnectTimeout, else the gateway's connect_timeout_ms, else 5s. */
  readonly connectTimeoutMs: number;
  /** HTTP: the resolver's RequestTimeout. */
  readonly requestTimeoutMs?: number;
  readonly loadBalancer?: LoadBalancer;
  readonly tls?: OriginationTls;
  /** HTTP: the Host header is rewritten to the instance's address (unless DisableAutoHostRewrite). */
  readonly autoHostRewrite: boolean;
}

/** One cluster of a terminating gateway: a linked service or one of its subsets, and its instances. */
export interface GatewayTarget {
  readonly service: string;
  readonly subset: string;
  /** Instances addressed by host name: Envoy resolves the first healthy one itself (LOGICAL_DNS), as Consul's. */
  readonly dns?: UpstreamEndpoint;
  /** Instances addressed by IP (EDS); empty when `dns` is set. */
  readonly endpoints: readonly UpstreamEndpoint[];
}

/** A terminating gateway: mesh mTLS in (as each linked service), its intentions, then out to the service's own instances. */
export interface TerminatingGatewaySnapshot extends ProxyIdentity {
  readonly kind: 'terminating-gateway';
  readonly roots: CARoots;
  readonly listeners: readonly GatewayListenerAddress[];
  readonly defaultIntentionPolicy: 'allow' | 'deny';
  /** Sorted by name; only services with instances (as Consul's). */
  readonly services: readonly LinkedService[];
  /** Every service's cluster, then its subsets', sorted by service then subset. */
  readonly targets: readonly GatewayTarget[];
  /** Each linked service's leaf, by service name (the Secrets row's only input besides the roots). */
  readonly leaves: readonly { readonly service: string; readonly leaf: LeafCert }[];
  /** How Envoy resolves host-name instances: the first healthy host name only (LOGICAL_DNS, the default) or all its addresses (STRICT_DNS; Proxy.Config envoy_dns_discovery_type). */
  readonly dnsDiscoveryType: 'LOGICAL_DNS' | 'STRICT_DNS';
  readonly meshTls?: MeshTlsSettings;
  /** The mesh entry's HTTP.SanitizeXForwardedClientCert. */
  readonly sanitizeXForwardedClientCert?: boolean;
}

/** How an ingress listener terminates TLS from its (non-mesh) clients. */
export type IngressListenerTls =
  /** The gateway's own leaf (by SDS), with the entry's or listener's versions and ciphers. */
  | { readonly source: 'leaf'; readonly params?: TlsSettings }
  /** A certificate the operator serves from `clusterName` (a cluster defined in the bootstrap), by SDS name `certResource`. */
  | { readonly source: 'sds'; readonly clusterName: string; readonly certResource: string; readonly params?: TlsSettings };

/** A service an ingress listener routes to: its hosts and header changes; its chain is the upstream `upstreamId`. */
export interface IngressListenerService {
  readonly name: string;
  readonly namespace: string;
  /** The ingress entry's Hosts; empty: Consul's default `<name>.ingress.*`. */
  readonly hosts: readonly string[];
  readonly requestHeaders?: HeaderChanges;
  readonly responseHeaders?: HeaderChanges;
  /** Its own certificate (TLS.SDS): its own filter chain, chosen by SNI among its hosts, and its own routes. */
  readonly tls?: IngressListenerTls;
  /** The id of its entry in the snapshot's `upstreams`. */
  readonly upstreamId: string;
}

/** The ingress entry's RequestHeaders / ResponseHeaders of a service. */
export interface HeaderChanges {
  readonly Add?: Readonly<Record<string, string>>;
  readonly Set?: Readonly<Record<string, string>>;
  readonly Remove?: readonly string[];
}

/** One port of an ingress gateway. */
export interface IngressListener {
  readonly address: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly tls?: IngressListenerTls;
  /** Listed services, then those `*` brings (every service of the listener's protocol not listed), each sorted by name. */
  readonly services: readonly IngressListenerService[];
}

/**
 * An ingress gateway: plain (or TLS) traffic from outside the mesh in, to services through their
 * discovery chains over mTLS with the gateway's own identity. Its services' chains and endpoints
 * are upstreams (one per listener and service, as Consul builds them), so they share every rule
 * and generator with a sidecar's upstreams.
 */
export interface IngressGatewaySnapshot extends ProxyIdentity {
  readonly kind: 'ingress-gateway';
  readonly roots: CARoots;
  readonly leaf: LeafCert;
  /** By port; empty when the gateway has no ingress-gateway entry (an issue in the gateway's status, not an error). */
  readonly listeners: readonly IngressListener[];
  /** Sorted by id (`<port>/<service>`). */
  readonly upstreams: readonly UpstreamSnapshot[];
  /** Why the gateway serves nothing yet, when it does not (no ingress-gateway entry); shown in `proxy status`. */
  readonly notice?: string;
  readonly meshTls?: MeshTlsSettings;
}

/** Every served kind's snapshot. */
export type ProxySnapshot = ConnectProxySnapshot | MeshGatewaySnapshot | TerminatingGatewaySnapshot | IngressGatewaySnapshot;

/** The proxy kinds Switchyard configures (a registration's `Kind`). */
export type ProxyKind = ProxySnapshot['kind'];

export type SnapshotOf<K extends ProxyKind> = Extract<ProxySnapshot, { readonly kind: K }>;

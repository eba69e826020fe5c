// Catalog records, in Consul's JSON shapes (PascalCase) so the HTTP API, the store and the
// proxy layer speak one vocabulary. Inputs are validated by the zod schemas in this layer
// before they become these types.

import type { ConfigKind, EntryOf } from './config/kinds.js';

export type ServiceKind = '' | 'connect-proxy' | 'mesh-gateway' | 'ingress-gateway' | 'terminating-gateway';

export type ProxyMode = '' | 'direct' | 'transparent';

/** How traffic to another datacenter goes (Consul's MeshGateway.Mode); '' means not set here. */
export type MeshGatewayMode = '' | 'none' | 'local' | 'remote';

export interface MeshGatewayConfig {
  readonly Mode?: MeshGatewayMode;
}

export interface Upstream {
  readonly DestinationType?: 'service' | 'prepared_query';
  readonly DestinationName: string;
  readonly DestinationNamespace?: string;
  readonly Datacenter?: string;
  readonly LocalBindAddress?: string;
  readonly LocalBindPort: number;
  /** Opaque per-upstream config (for example `protocol`, `connect_timeout_ms`). */
  readonly Config?: Readonly<Record<string, unknown>>;
  readonly MeshGateway?: MeshGatewayConfig;
}

export interface ProxyConfig {
  readonly DestinationServiceName: string;
  readonly DestinationServiceID?: string;
  readonly LocalServiceAddress?: string;
  readonly LocalServicePort?: number;
  readonly Mode?: ProxyMode;
  /** Opaque proxy config (for example `protocol`, `bind_address`, `bind_port`, `local_connect_timeout_ms`). */
  readonly Config?: Readonly<Record<string, unknown>>;
  readonly Upstreams?: readonly Upstream[];
  readonly MeshGateway?: MeshGatewayConfig;
  /** Paths of the app exposed without mTLS, each on a listener of its own; `Checks`: also every HTTP and gRPC check's path. */
  readonly Expose?: { readonly Checks?: boolean; readonly Paths?: readonly { readonly ListenerPort: number; readonly Path: string; readonly LocalPathPort: number; readonly Protocol?: string }[] };
}

/** Where a service is reached under one tag of its TaggedAddresses (Consul's ServiceAddress). */
export interface ServiceAddress {
  readonly Address: string;
  readonly Port: number;
}

/** A service instance registered on a node (Consul's AgentService / catalog ServiceNode). */
export interface ServiceInstance {
  readonly ID: string;
  readonly Service: string;
  readonly Kind: ServiceKind;
  readonly Tags: readonly string[];
  readonly Meta: Readonly<Record<string, string>>;
  readonly Address: string;
  readonly Port: number;
  /**
   * Tag -> address (`lan`, `wan`, `lan_ipv4`, ...). Absent on records stored before it was
   * modelled, which read as none; a gateway's LAN and WAN addresses come from gatewayAddresses.
   */
  readonly TaggedAddresses?: Readonly<Record<string, ServiceAddress>>;
  readonly Namespace: string;
  readonly Datacenter: string;
  readonly Node: string;
  readonly Proxy?: ProxyConfig;
  readonly Connect?: { readonly Native?: boolean };
  /** Consul's EnableTagOverride: catalog writers other than the agent may change the tags (kept, reported). */
  readonly EnableTagOverride?: boolean;
  readonly Locality?: Locality;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** A service a gateway routes to (Consul's GatewayService; names in the default namespace). */
export interface GatewayService {
  readonly Gateway: { readonly Name: string };
  readonly Service: { readonly Name: string };
  readonly GatewayKind: 'ingress-gateway' | 'terminating-gateway';
  readonly Port?: number;
  readonly Protocol?: string;
  readonly Hosts?: readonly string[];
  readonly CAFile?: string;
  readonly CertFile?: string;
  readonly KeyFile?: string;
  readonly SNI?: string;
  readonly FromWildcard?: boolean;
}

/** Where a node or service runs (Consul's Locality), kept and reported as given. */
export interface Locality {
  readonly Region?: string;
  readonly Zone?: string;
}

export interface CatalogNode {
  readonly ID: string;
  readonly Node: string;
  readonly Address: string;
  readonly Datacenter: string;
  /** Tag -> address (`lan`, `wan`, ...); absent on records stored before it was modelled, which read as `lan` only. */
  readonly TaggedAddresses?: Readonly<Record<string, string>>;
  readonly Meta: Readonly<Record<string, string>>;
  readonly Locality?: Locality;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export type HealthStatus = 'passing' | 'warning' | 'critical';

export interface HealthCheck {
  readonly Node: string;
  readonly CheckID: string;
  readonly Name: string;
  readonly Status: HealthStatus;
  readonly Notes: string;
  readonly Output: string;
  readonly ServiceID: string;
  readonly ServiceName: string;
  readonly Type: string;
  /** How the agent runs the check (absent for checks it does not run). */
  readonly Definition?: HealthCheckDefinition;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface HealthCheckDefinition {
  readonly TTL?: string;
  readonly HTTP?: string;
  readonly Method?: string;
  readonly Header?: Readonly<Record<string, readonly string[]>>;
  readonly Body?: string;
  readonly TLSSkipVerify?: boolean;
  readonly TCP?: string;
  readonly GRPC?: string;
  readonly GRPCUseTLS?: boolean;
  readonly Interval?: string;
  readonly Timeout?: string;
  readonly DeregisterCriticalServiceAfter?: string;
}

/** One instance with its node and checks: an element of /v1/health/service/:name. */
export interface CheckServiceNode {
  readonly Node: CatalogNode;
  readonly Service: ServiceInstance;
  readonly Checks: readonly HealthCheck[];
}

/** The aggregate status of an instance: the worst of its own and its node's checks. */
export function aggregateStatus(checks: readonly HealthCheck[]): HealthStatus {
  if (checks.some((c) => c.Status === 'critical')) return 'critical';
  if (checks.some((c) => c.Status === 'warning')) return 'warning';
  return 'passing';
}

export type IntentionAction = 'allow' | 'deny';

/** One source -> destination rule, as served by /v1/connect/intentions. */
export interface Intention {
  readonly ID: string;
  readonly SourceName: string;
  readonly SourceNS: string;
  readonly DestinationName: string;
  readonly DestinationNS: string;
  readonly SourceType: 'consul';
  readonly Action: IntentionAction;
  readonly Description: string;
  /** Absent when empty. */
  readonly Meta?: Readonly<Record<string, string>>;
  /** RFC 3339, for an intention created through the legacy API. */
  readonly CreatedAt?: string;
  readonly UpdatedAt?: string;
  /** Higher wins; exact names before wildcards, as Consul orders them. */
  readonly Precedence: number;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** The decision for one source -> destination pair. */
export interface IntentionDecision {
  readonly Allowed: boolean;
  /** Which intention (or the default policy) decided, in words. */
  readonly Reason: string;
  readonly MatchedID?: string;
}

/**
 * What one datacenter tells the others about itself (Consul's federation state): its mesh
 * gateways, through which the other datacenters reach its services.
 */
export interface FederationState {
  readonly Datacenter: string;
  /** The datacenter's mesh-gateway instances, with their checks (WAN addresses in TaggedAddresses). */
  readonly MeshGateways: readonly CheckServiceNode[];
  /** When the datacenter last sent it (RFC 3339). */
  readonly UpdatedAt: string;
}

/** The raft-style indexes of a stored record. */
export interface Indexes {
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** A stored config entry of kind `K`: its schema's type (config/kinds.ts) plus indexes. */
export type ConfigEntryOf<K extends ConfigKind> = Readonly<EntryOf<K>> & Indexes;

/** A config entry as stored, of any kind: narrow it by `Kind`. */
export type ConfigEntry = { [K in ConfigKind]: ConfigEntryOf<K> }[ConfigKind];

/** `tcp` unless set by service-defaults / proxy-defaults / proxy config. */
export type Protocol = 'tcp' | 'http' | 'http2' | 'grpc';

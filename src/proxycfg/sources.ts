// What the proxy layer watches. The catalog (src/catalog) and the CA (src/ca) implement these;
// tests implement them with subjects. Every stream emits the current value on subscribe, then
// on every change; each must be shareable (the implementations share one watch per query).
import type { Observable } from 'rxjs';
import type { CARoots, LeafCert } from '../ca/types.js';
import type { ConfigKind } from '../catalog/config/kinds.js';
import type { CheckServiceNode, ConfigEntryOf, FederationState, HealthCheck, ServiceInstance } from '../catalog/types.js';
import type { IntentionWithPermissions } from '../catalog/intentions/precedence.js';

export interface CatalogSource {
  /** Every registered proxy-kind service (connect-proxy, later gateways). */
  watchProxies(): Observable<readonly ServiceInstance[]>;
  /** One registration by service ID; undefined once deregistered. */
  watchService(serviceId: string): Observable<ServiceInstance | undefined>;
  /** Sidecar proxies (and Connect-native instances) of a destination service, with checks. */
  watchConnectHealth(service: string): Observable<readonly CheckServiceNode[]>;
  /** Intentions that apply to a destination (exact and wildcard), highest precedence first. */
  watchIntentions(destination: string): Observable<readonly IntentionWithPermissions[]>;
  /** The default decision when no intention matches. */
  watchDefaultIntentionPolicy(): Observable<'allow' | 'deny'>;
  watchConfigEntry<K extends ConfigKind>(kind: K, name: string): Observable<ConfigEntryOf<K> | undefined>;
  /** Names of services with typical (non-proxy, non-gateway) instances, sorted. */
  watchServiceNames(): Observable<readonly string[]>;
  /** Sidecars of a service in another datacenter, as that datacenter answers. */
  watchRemoteConnectHealth(datacenter: string, service: string): Observable<readonly CheckServiceNode[]>;
  /** This datacenter's mesh gateways, with checks. */
  watchMeshGateways(): Observable<readonly CheckServiceNode[]>;
  /** Every datacenter's federation state (its mesh gateways) as this agent knows it. */
  watchFederationStates(): Observable<readonly FederationState[]>;
  /** A service's own instances (not its sidecars), with checks: what a terminating gateway sends to. */
  watchServiceHealth(service: string): Observable<readonly CheckServiceNode[]>;
  /** This datacenter's terminating gateways, with checks. */
  watchTerminatingGateways(): Observable<readonly CheckServiceNode[]>;
  /** Every check registered on a node (Expose.Checks exposes its service's HTTP and gRPC checks). */
  watchNodeChecks(node: string): Observable<readonly HealthCheck[]>;
}

export interface CASource {
  watchRoots(): Observable<CARoots>;
  /** Issues on first subscription, then emits every renewal or re-issue. */
  watchLeaf(service: string): Observable<LeafCert>;
}

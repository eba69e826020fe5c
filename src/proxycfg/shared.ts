// One live watch per query, however many proxies need it: the first subscriber opens the
// source's watch, later ones share its latest value, and the last one to leave closes it
// (shareReplay with refCount: plain shareReplay(1) would never unsubscribe).
import type { Observable } from 'rxjs';
import type { CARoots, LeafCert } from '../ca/types.js';
import type { ConfigKind } from '../catalog/config/kinds.js';
import type { CheckServiceNode, ConfigEntryOf, FederationState, HealthCheck, ServiceInstance } from '../catalog/types.js';
import type { IntentionWithPermissions } from '../catalog/intentions/precedence.js';
import { SharedQueries as WatchCache } from '../store/shared.js';
import type { CASource, CatalogSource } from './sources.js';

/** One live watch per key: the store's shared-query mechanism, reused. */
export { WatchCache };

/** A CatalogSource whose watches are shared by key. */
export class SharedCatalogSource implements CatalogSource {
  constructor(
    private readonly inner: CatalogSource,
    private readonly cache = new WatchCache(),
  ) {}

  watchProxies(): Observable<readonly ServiceInstance[]> {
    return this.cache.get('proxies', () => this.inner.watchProxies());
  }
  watchService(serviceId: string): Observable<ServiceInstance | undefined> {
    return this.cache.get(`service/${serviceId}`, () => this.inner.watchService(serviceId));
  }
  watchConnectHealth(service: string): Observable<readonly CheckServiceNode[]> {
    return this.cache.get(`connect-health/${service}`, () => this.inner.watchConnectHealth(service));
  }
  watchIntentions(destination: string): Observable<readonly IntentionWithPermissions[]> {
    return this.cache.get(`intentions/${destination}`, () => this.inner.watchIntentions(destination));
  }
  watchDefaultIntentionPolicy(): Observable<'allow' | 'deny'> {
    return this.cache.get('default-intention-policy', () => this.inner.watchDefaultIntentionPolicy());
  }
  watchConfigEntry<K extends ConfigKind>(kind: K, name: string): Observable<ConfigEntryOf<K> | undefined> {
    return this.cache.get(`config-entry/${kind}/${name}`, () => this.inner.watchConfigEntry(kind, name));
  }
  watchServiceNames(): Observable<readonly string[]> {
    return this.cache.get('service-names', () => this.inner.watchServiceNames());
  }
  watchRemoteConnectHealth(datacenter: string, service: string): Observable<readonly CheckServiceNode[]> {
    return this.cache.get(`remote-connect-health/${datacenter}/${service}`, () => this.inner.watchRemoteConnectHealth(datacenter, service));
  }
  watchMeshGateways(): Observable<readonly CheckServiceNode[]> {
    return this.cache.get('mesh-gateways', () => this.inner.watchMeshGateways());
  }
  watchFederationStates(): Observable<readonly FederationState[]> {
    return this.cache.get('federation-states', () => this.inner.watchFederationStates());
  }
  watchServiceHealth(service: string): Observable<readonly CheckServiceNode[]> {
    return this.cache.get(`service-health/${service}`, () => this.inner.watchServiceHealth(service));
  }
  watchTerminatingGateways(): Observable<readonly CheckServiceNode[]> {
    return this.cache.get('terminating-gateways', () => this.inner.watchTerminatingGateways());
  }
  watchNodeChecks(node: string): Observable<readonly HealthCheck[]> {
    return this.cache.get(`node-checks/${node}`, () => this.inner.watchNodeChecks(node));
  }
  openWatches(): string[] {
    return this.cache.keys();
  }
}

/** A CASource whose watches are shared by key. */
export class SharedCASource implements CASource {
  constructor(
    private readonly inner: CASource,
    private readonly cache = new WatchCache(),
  ) {}

  watchRoots(): Observable<CARoots> {
    return this.cache.get('roots', () => this.inner.watchRoots());
  }
  watchLeaf(service: string): Observable<LeafCert> {
    return this.cache.get(`leaf/${service}`, () => this.inner.watchLeaf(service));
  }
  openWatches(): string[] {
    return this.cache.keys();
  }
}

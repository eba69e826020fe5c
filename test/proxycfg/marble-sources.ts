// Marble-test sources for the proxy layer: every watch is a cold observable (a source emits its
// current value on subscribe), looked up by key; unspecified watches emit one default value.
// Cold observables record their subscriptions, so tests can assert when watches open and close.
import type { Observable } from 'rxjs';
import type { RunHelpers } from 'rxjs/testing';
import type { CARoots, LeafCert } from '../../src/ca/types.js';
import type { ConfigKind } from '../../src/catalog/config/kinds.js';
import type { CheckServiceNode, ConfigEntryOf, FederationState, HealthCheck, Intention, ServiceInstance, Upstream } from '../../src/catalog/types.js';
import type { CASource, CatalogSource } from '../../src/proxycfg/sources.js';
import { testLeaf, testRoots } from '../support/fixed-ca.js';

export function proxy(id: string, service: string, upstreams: readonly string[], modifyIndex = 1): ServiceInstance {
  return {
    ID: id,
    Service: `${service}-sidecar-proxy`,
    Kind: 'connect-proxy',
    Tags: [],
    Meta: {},
    Address: '10.0.1.1',
    Port: 21000,
    Namespace: 'default',
    Datacenter: 'dc1',
    Node: 'node-1',
    Proxy: {
      DestinationServiceName: service,
      LocalServicePort: 8080,
      Upstreams: upstreams.map((name, i): Upstream => ({ DestinationName: name, LocalBindPort: 9000 + i })),
    },
    CreateIndex: 1,
    ModifyIndex: modifyIndex,
  };
}

/** `count` passing instances of `service`'s sidecar, ports from `firstPort`. */
export function instances(service: string, count: number, firstPort = 21000): CheckServiceNode[] {
  return Array.from({ length: count }, (_, i) => ({
    Node: { ID: `n${i}`, Node: `node-${service}-${i}`, Address: `10.9.0.${i + 1}`, Datacenter: 'dc1', Meta: {}, CreateIndex: 1, ModifyIndex: 1 },
    Service: { ...proxy(`${service}-sidecar-proxy`, service, []), Address: '', Port: firstPort + i, Node: `node-${service}-${i}` },
    Checks: [],
  }));
}

export function intention(source: string, destination: string, action: 'allow' | 'deny' = 'allow'): Intention {
  return {
    ID: `${source}->${destination}`,
    SourceName: source,
    SourceNS: 'default',
    DestinationName: destination,
    DestinationNS: 'default',
    SourceType: 'consul',
    Action: action,
    Description: '',
    Meta: {},
    Precedence: source === '*' ? 8 : 9,
    CreateIndex: 1,
    ModifyIndex: 1,
  };
}

export type Watches = Record<string, Observable<unknown>>;
type SubscriptionLogs = Parameters<RunHelpers['expectSubscriptions']>[0];

export class MarbleSources implements CatalogSource, CASource {
  readonly opened: Watches = {};

  constructor(
    private readonly h: RunHelpers,
    private readonly given: Watches,
  ) {}

  /** The cold observable behind a key (created with its default on first use). */
  watch<T>(key: string, fallback: T): Observable<T> {
    const existing = this.given[key] ?? this.opened[key];
    if (existing) {
      this.opened[key] = existing;
      return existing as Observable<T>;
    }
    const created = this.h.cold('a', { a: fallback });
    this.opened[key] = created;
    return created;
  }

  /** Subscription log of a watch made with cold(). */
  subscriptions(key: string): SubscriptionLogs {
    const w = (this.given[key] ?? this.opened[key]) as unknown as { subscriptions?: SubscriptionLogs } | undefined;
    if (!w?.subscriptions) throw new Error(`watch ${key} was never opened (or is not a cold observable)`);
    return w.subscriptions;
  }

  watchProxies() {
    return this.watch<readonly ServiceInstance[]>('proxies', []);
  }
  watchService(id: string) {
    return this.watch<ServiceInstance | undefined>(`service/${id}`, undefined);
  }
  watchConnectHealth(service: string) {
    return this.watch<readonly CheckServiceNode[]>(`health/${service}`, instances(service, 1));
  }
  watchIntentions(destination: string) {
    return this.watch<readonly Intention[]>(`intentions/${destination}`, []);
  }
  watchDefaultIntentionPolicy() {
    return this.watch<'allow' | 'deny'>('default-policy', 'deny');
  }
  watchConfigEntry<K extends ConfigKind>(kind: K, name: string) {
    return this.watch<ConfigEntryOf<K> | undefined>(`entry/${kind}/${name}`, undefined);
  }
  watchServiceNames() {
    return this.watch<readonly string[]>('service-names', []);
  }
  watchRemoteConnectHealth(datacenter: string, service: string) {
    return this.watch<readonly CheckServiceNode[]>(`remote-health/${datacenter}/${service}`, []);
  }
  watchMeshGateways() {
    return this.watch<readonly CheckServiceNode[]>('mesh-gateways', []);
  }
  watchFederationStates() {
    return this.watch<readonly FederationState[]>('federation-states', []);
  }
  watchServiceHealth(service: string) {
    return this.watch<readonly CheckServiceNode[]>(`service-health/${service}`, []);
  }
  watchTerminatingGateways() {
    return this.watch<readonly CheckServiceNode[]>('terminating-gateways', []);
  }
  watchNodeChecks(node: string) {
    return this.watch<readonly HealthCheck[]>(`node-checks/${node}`, []);
  }
  watchRoots() {
    return this.watch<CARoots>('roots', testRoots());
  }
  watchLeaf(service: string) {
    return this.watch<LeafCert>(`leaf/${service}`, testLeaf(service));
  }
}

// An ingress gateway's resources, in the names and shapes of Consul's ingress goldens: one
// listener per configured port on the gateway's address — tcp: `<svc>:<address>:<port>` with
// tcp_proxy to the one service's chain; http, http2, grpc: `<protocol>:<address>:<port>`, an HTTP
// connection manager whose routes (RDS, named after the port) hold one virtual host per service
// (`<svc>.ingress.*` and with the port, or the service's Hosts) routing by the service's discovery
// chain — and TLS from the gateway's leaf or the operator's SDS certificate when the entry or the
// listener enables it. Clusters, endpoints and Secrets are a sidecar's upstreams' own (shared
// rows and chain-clusters.ts): mTLS to the services' sidecars with the gateway's own identity.
import { ingressListenerName, ingressRouteName, ingressServiceRouteName, ingressStatPrefix, upstreamListenerName, upstreamStatPrefix } from '../core/names.js';
import { TypeUrl } from '../core/type-urls.js';
import { Cluster } from '../gen/envoy/config/cluster/v3/cluster.js';
import { TrafficDirection } from '../gen/envoy/config/core/v3/base.js';
import { Listener } from '../gen/envoy/config/listener/v3/listener.js';
import { RouteConfiguration } from '../gen/envoy/config/route/v3/route.js';
import type { VirtualHost } from '../gen/envoy/config/route/v3/route_components.js';
import type { IngressGatewaySnapshot, IngressListener, IngressListenerService, UpstreamShape } from '../proxycfg/snapshot.js';
import { socketAddress } from './address.js';
import { chainRoutes, headerChanges, tcpUpstreamCluster } from './chain-routes.js';
import { clusterChildren, upstreamClusters } from './clusters.js';
import { httpConnectionManagerFilter, isHttp, tcpProxyFilter, tlsInspectorFilter } from './filters.js';
import { builtRow, sharedRow, type ResourceTable, type RowInputs } from './resource-table.js';
import { endpointResources, secretResources } from './shared-rows.js';
import { byName } from './sort.js';
import { ingressTransportSocket } from './tls.js';

type Shapes = RowInputs<IngressGatewaySnapshot, 'upstreams'>['upstreams'];

function upstreamOf(upstreams: Shapes, s: IngressListenerService): UpstreamShape {
  const u = upstreams.find((x) => x.id === s.upstreamId);
  if (!u) throw new Error(`ingress service ${s.name} has no upstream ${s.upstreamId}`);
  return u;
}

// The gateway's own leaf is `leaf:self`: its clusters depend on neither its service nor namespace.
type ClusterInputs = RowInputs<IngressGatewaySnapshot, 'trustDomain' | 'upstreams' | 'meshTls'>;

/** Every target cluster of every service's chain, once (services of several listeners share them). */
function ingressClusters(snap: ClusterInputs): Cluster[] {
  return upstreamClusters(snap).sort(byName);
}

type ListenerInputs = RowInputs<IngressGatewaySnapshot, 'trustDomain' | 'listeners' | 'upstreams'>;

function listenerName(l: IngressListener): string {
  return isHttp(l.protocol) ? ingressListenerName(l.protocol, l.address, l.port) : upstreamListenerName(l.services[0]?.name ?? '', l.address, l.port);
}

/** Services with a certificate of their own: each gets its filter chain (by SNI) and routes (`<port>_<svc>`). */
function ownCertServices(l: IngressListener): IngressListenerService[] {
  return isHttp(l.protocol) ? l.services.filter((s) => s.tls) : [];
}

/** The RouteConfigurations an HTTP listener's chains fetch: one per service with its own certificate, then the port's. */
function routeNames(l: IngressListener): string[] {
  return [...ownCertServices(l).map((s) => ingressServiceRouteName(l.port, s.name)), ingressRouteName(l.port)];
}

function ingressListener(snap: ListenerInputs, l: IngressListener): Listener {
  const transport = (tls: IngressListener['tls']) => (tls ? { transportSocket: ingressTransportSocket(snap, tls, l.protocol) } : {});
  if (!isHttp(l.protocol)) {
    const u = upstreamOf(snap.upstreams, l.services[0] as IngressListenerService);
    const filter = tcpProxyFilter(upstreamStatPrefix(u.destinationName, u.namespace, u.datacenter), tcpUpstreamCluster(snap.trustDomain, u));
    return Listener.fromPartial({ name: listenerName(l), address: socketAddress(l.address, l.port), trafficDirection: TrafficDirection.OUTBOUND, filterChains: [{ filters: [filter], ...transport(l.tls) }] });
  }
  // A service with its own certificate is chosen by SNI (the TLS inspector reads it), as in Consul; the rest share the default chain.
  const own = ownCertServices(l);
  const chain = (statPrefix: string, rds: string, tls: IngressListener['tls'], serverNames?: readonly string[]) => ({
    ...(serverNames ? { filterChainMatch: { serverNames: [...serverNames] } } : {}),
    filters: [httpConnectionManagerFilter(statPrefix, l.protocol, { rds })],
    ...transport(tls),
  });
  const chains = [
    ...own.map((s) => chain(`${ingressStatPrefix(l.port)}_${s.name}`, ingressServiceRouteName(l.port, s.name), s.tls, s.hosts)),
    chain(ingressStatPrefix(l.port), ingressRouteName(l.port), l.tls),
  ];
  return Listener.fromPartial({
    name: listenerName(l),
    address: socketAddress(l.address, l.port),
    trafficDirection: TrafficDirection.OUTBOUND,
    ...(own.length ? { listenerFilters: [tlsInspectorFilter()] } : {}),
    filterChains: chains,
  });
}

/** A tcp listener routes to its one service; one with none (not configured yet) is left out. */
function ingressListeners(snap: ListenerInputs): Listener[] {
  return snap.listeners.filter((l) => isHttp(l.protocol) || l.services.length > 0).map((l) => ingressListener(snap, l)).sort(byName);
}

/** The domains a service answers on a port: its Hosts (`*`: every host), else Consul's `<svc>.ingress.*`; each also with `:<port>`. */
export function ingressDomains(s: Pick<IngressListenerService, 'name' | 'hosts'>, port: number): string[] {
  if (s.hosts.includes('*')) return ['*'];
  const hosts = s.hosts.length ? s.hosts : [`${s.name}.ingress.*`];
  return [...hosts, ...hosts.map((h) => `${h}:${port}`)];
}

type RouteInputs = RowInputs<IngressGatewaySnapshot, 'trustDomain' | 'listeners' | 'upstreams'>;

/**
 * A RouteConfiguration of one virtual host per service, its routes from its chain, the ingress
 * entry's header changes on it. A domain is claimed by the first service that names it (listed services come before those a
 * wildcard brings): Envoy refuses a domain twice in one RouteConfiguration.
 */
function routeConfiguration(snap: RouteInputs, name: string, port: number, services: readonly IngressListenerService[]): RouteConfiguration {
  const claimed = new Set<string>();
  const virtualHosts: VirtualHost[] = [];
  for (const s of services) {
    const domains = ingressDomains(s, port).filter((d) => !claimed.has(d));
    if (domains.length === 0) continue;
    for (const d of domains) claimed.add(d);
    const req = headerChanges(s.requestHeaders);
    const res = headerChanges(s.responseHeaders);
    virtualHosts.push({
      name: s.name,
      domains,
      routes: chainRoutes(upstreamOf(snap.upstreams, s).chain, snap.trustDomain),
      requestHeadersToAdd: req.add,
      requestHeadersToRemove: req.remove,
      responseHeadersToAdd: res.add,
      responseHeadersToRemove: res.remove,
    } as unknown as VirtualHost);
  }
  return RouteConfiguration.fromPartial({ name, virtualHosts, validateClusters: false });
}

/** The port's routes (services without a certificate of their own), and each own-certificate service's. */
function listenerRoutes(snap: RouteInputs, l: IngressListener): RouteConfiguration[] {
  return [
    ...ownCertServices(l).map((s) => routeConfiguration(snap, ingressServiceRouteName(l.port, s.name), l.port, [s])),
    routeConfiguration(snap, ingressRouteName(l.port), l.port, l.services.filter((s) => !s.tls)),
  ];
}

function ingressRoutes(snap: RouteInputs): RouteConfiguration[] {
  return snap.listeners.filter((l) => isHttp(l.protocol)).flatMap((l) => listenerRoutes(snap, l)).sort(byName);
}

/** Every type an ingress gateway receives, in xDS send order. */
export const INGRESS_GATEWAY_RESOURCES: ResourceTable<IngressGatewaySnapshot> = [
  sharedRow({ typeUrl: TypeUrl.Secret, shared: secretResources }),
  builtRow({
    typeUrl: TypeUrl.Cluster,
    type: Cluster,
    fields: ['trustDomain', 'upstreams', 'meshTls'],
    generate: ingressClusters,
    name: (c) => c.name,
    children: (_i, c) => clusterChildren(c),
  }),
  sharedRow({ typeUrl: TypeUrl.Endpoint, shared: endpointResources }),
  builtRow({
    typeUrl: TypeUrl.Listener,
    type: Listener,
    fields: ['trustDomain', 'listeners', 'upstreams'],
    generate: ingressListeners,
    name: (l) => l.name,
    children: (i, l) => {
      const listener = i.listeners.find((x) => isHttp(x.protocol) && listenerName(x) === l.name);
      return listener ? routeNames(listener) : [];
    },
  }),
  builtRow({ typeUrl: TypeUrl.Route, type: RouteConfiguration, fields: ['trustDomain', 'listeners', 'upstreams'], generate: ingressRoutes, name: (r) => r.name, children: () => [] }),
];

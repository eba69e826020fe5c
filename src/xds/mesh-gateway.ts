// A mesh gateway's resources, following Consul's mesh-gateway goldens in naming: a listener per
// address with a TLS inspector and one filter chain per SNI — each local service's SNI to a
// cluster of that service's sidecars, `*.<dc>.internal.<td>` of every other datacenter to a
// cluster of that datacenter's gateways — then Consul's last chain, which routes any other SNI
// to the cluster it names. TLS is forwarded untouched (tcp_proxy, no transport socket): the
// gateway holds no leaf key and terminates no mesh TLS. No Routes and no Secrets.
import { targetSni } from '../catalog/config/chain.js';
import {
  datacenterSni,
  datacenterWildcardSni,
  gatewayListenerName,
  MESH_GATEWAY_DEFAULT_STAT_PREFIX,
  meshGatewayLocalStatPrefix,
  meshGatewayRemoteStatPrefix,
} from '../core/names.js';
import { encode, pack } from '../core/proto.js';
import type { EncodedResource } from '../core/resources.js';
import { TypeUrl } from '../core/type-urls.js';
import { Cluster, Cluster_DiscoveryType } from '../gen/envoy/config/cluster/v3/cluster.js';
import { TrafficDirection } from '../gen/envoy/config/core/v3/base.js';
import { ClusterLoadAssignment } from '../gen/envoy/config/endpoint/v3/endpoint.js';
import { Listener } from '../gen/envoy/config/listener/v3/listener.js';
import { FilterChain } from '../gen/envoy/config/listener/v3/listener_components.js';
import { SniCluster } from '../gen/envoy/extensions/filters/network/sni_cluster/v3/sni_cluster.js';
import type { MeshGatewaySnapshot, UpstreamEndpoint } from '../proxycfg/snapshot.js';
import { millis, socketAddress } from './address.js';
import { adsConfigSource } from './config-source.js';
import type { ResourceInterner } from './encode.js';
import { clusterChildren } from './clusters.js';
import { clusterLoadAssignment } from './endpoints.js';
import { tcpProxyFilter, tlsInspectorFilter } from './filters.js';
import { builtRow, byKey, sharedRow, type ResourceTable, type RowInputs } from './resource-table.js';
import { byName } from './sort.js';

export const SNI_CLUSTER_FILTER = 'envoy.filters.network.sni_cluster';

/** What a gateway forwards to, by cluster name (the SNI it matches, or the datacenter's cluster). */
interface Route {
  readonly cluster: string;
  readonly serverName: string;
  readonly statPrefix: string;
  /** When the inputs carry them (the Endpoints row's do; the built rows' come without). */
  readonly endpoints?: readonly UpstreamEndpoint[];
}

type RouteInputs = RowInputs<MeshGatewaySnapshot, 'trustDomain' | 'datacenter' | 'namespace' | 'services' | 'datacenters'> | MeshGatewaySnapshot;

const endpointsOf = (e: object): readonly UpstreamEndpoint[] | undefined => ('endpoints' in e ? (e.endpoints as readonly UpstreamEndpoint[]) : undefined);

/** Remote datacenters first, then local services, each sorted by name. */
function routes(s: RouteInputs): Route[] {
  return [
    ...s.datacenters.map((dc) => ({
      cluster: datacenterSni(dc.datacenter, s.trustDomain),
      serverName: datacenterWildcardSni(dc.datacenter, s.trustDomain),
      statPrefix: meshGatewayRemoteStatPrefix(s.namespace, dc.datacenter),
      endpoints: endpointsOf(dc),
    })),
    ...s.services.map((svc) => {
      const sni = targetSni({ service: svc.name, subset: svc.subset, namespace: svc.namespace, datacenter: s.datacenter }, s.trustDomain);
      const statName = svc.subset ? `${svc.subset}.${svc.name}` : svc.name;
      return { cluster: sni, serverName: sni, statPrefix: meshGatewayLocalStatPrefix(statName, svc.namespace, s.datacenter), endpoints: endpointsOf(svc) };
    }),
  ];
}

type ClusterInputs = RowInputs<MeshGatewaySnapshot, 'trustDomain' | 'datacenter' | 'namespace' | 'services' | 'datacenters' | 'connectTimeoutMs'>;

function gatewayClusters(s: ClusterInputs): Cluster[] {
  return routes(s)
    .map((r) =>
      Cluster.fromPartial({
        name: r.cluster,
        altStatName: r.cluster,
        clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.EDS },
        edsClusterConfig: { edsConfig: adsConfigSource() },
        connectTimeout: millis(s.connectTimeoutMs),
        outlierDetection: {},
      }),
    )
    .sort(byName);
}

type ListenerInputs = RowInputs<MeshGatewaySnapshot, 'trustDomain' | 'datacenter' | 'namespace' | 'services' | 'datacenters' | 'listeners'>;

function gatewayListeners(s: ListenerInputs): Listener[] {
  const chains = routes(s).map((r) => FilterChain.fromPartial({ filterChainMatch: { serverNames: [r.serverName] }, filters: [tcpProxyFilter(r.statPrefix, r.cluster)] }));
  // Any other SNI goes to the cluster it names (Consul's last chain); unknown names find none.
  chains.push(
    FilterChain.fromPartial({
      filters: [{ name: SNI_CLUSTER_FILTER, configType: { $case: 'typedConfig', value: pack(SniCluster, SniCluster.fromPartial({})) } }, tcpProxyFilter(MESH_GATEWAY_DEFAULT_STAT_PREFIX, '')],
    }),
  );
  return s.listeners
    .map((l) =>
      Listener.fromPartial({
        name: gatewayListenerName(l.name, l.address, l.port),
        address: socketAddress(l.address, l.port),
        trafficDirection: TrafficDirection.UNSPECIFIED,
        listenerFilters: [tlsInspectorFilter()],
        filterChains: chains,
      }),
    )
    .sort(byName);
}

/** One ClusterLoadAssignment per cluster, built once per (endpoints list, cluster name). */
function gatewayEndpoints(s: MeshGatewaySnapshot, interner: ResourceInterner): Map<string, EncodedResource> {
  const byCluster = new Map<string, EncodedResource>();
  for (const [name, r] of byKey(routes(s).map((r) => [r.cluster, r] as const))) {
    const endpoints = r.endpoints ?? [];
    byCluster.set(name, interner.memo(endpoints, name, () => interner.intern(TypeUrl.Endpoint, name, encode(ClusterLoadAssignment, clusterLoadAssignment(name, endpoints)))));
  }
  return byCluster;
}

/** Every type a mesh gateway receives, in xDS send order. */
export const MESH_GATEWAY_RESOURCES: ResourceTable<MeshGatewaySnapshot> = [
  builtRow({
    typeUrl: TypeUrl.Cluster,
    type: Cluster,
    fields: ['trustDomain', 'datacenter', 'namespace', 'services', 'datacenters', 'connectTimeoutMs'],
    generate: gatewayClusters,
    name: (c) => c.name,
    children: (_i, c) => clusterChildren(c),
  }),
  sharedRow({ typeUrl: TypeUrl.Endpoint, shared: gatewayEndpoints }),
  builtRow({ typeUrl: TypeUrl.Listener, type: Listener, fields: ['trustDomain', 'datacenter', 'namespace', 'services', 'datacenters', 'listeners'], generate: gatewayListeners, name: (l) => l.name, children: () => [] }),
];

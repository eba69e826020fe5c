// Resources for proxyless gRPC clients dialing `xds:///<service>`: an API listener named after
// the service (HTTP connection manager with RDS and the router filter), a RouteConfiguration
// whose one virtual host matches the name, an EDS Cluster and its ClusterLoadAssignment with a
// weighted locality (gRPC drops localities without a weight). Pure: plain data in, messages out.
import { Cluster, Cluster_DiscoveryType, Cluster_LbPolicy } from '../gen/envoy/config/cluster/v3/cluster.js';
import { HealthStatus } from '../gen/envoy/config/core/v3/health_check.js';
import { ClusterLoadAssignment } from '../gen/envoy/config/endpoint/v3/endpoint.js';
import { Listener } from '../gen/envoy/config/listener/v3/listener.js';
import { RouteConfiguration } from '../gen/envoy/config/route/v3/route.js';
import { HttpConnectionManager } from '../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.js';
import { encode, pack } from '../core/proto.js';
import { serviceSni } from '../core/names.js';
import type { EncodedResource } from '../core/resources.js';
import { TypeUrl } from '../core/type-urls.js';
import type { ProxylessServiceSnapshot } from '../proxycfg/proxyless.js';
import { socketAddress } from './address.js';
import { adsConfigSource } from './config-source.js';
import { sharedInterner, type ResourceInterner } from './encode.js';
import { routerFilter } from './filters.js';

export interface ProxylessEndpoint {
  readonly address: string;
  readonly port: number;
  readonly healthy: boolean;
}

export interface ProxylessService {
  /** The name clients dial: `xds:///<name>`. */
  readonly name: string;
  /** Cluster and ClusterLoadAssignment name. */
  readonly clusterName: string;
  readonly endpoints: readonly ProxylessEndpoint[];
}

export interface ProxylessResources {
  readonly listener: Listener;
  readonly route: RouteConfiguration;
  readonly cluster: Cluster;
  readonly endpoints: ClusterLoadAssignment;
}

export function proxylessResources(svc: ProxylessService): ProxylessResources {
  const hcm = HttpConnectionManager.fromPartial({
    statPrefix: svc.name,
    routeSpecifier: { $case: 'rds', value: { configSource: adsConfigSource(), routeConfigName: svc.name } },
    httpFilters: [routerFilter()],
  });
  const listener = Listener.fromPartial({ name: svc.name, apiListener: { apiListener: pack(HttpConnectionManager, hcm) } });
  const route = RouteConfiguration.fromPartial({
    name: svc.name,
    virtualHosts: [
      {
        name: svc.name,
        domains: [svc.name],
        routes: [{ match: { pathSpecifier: { $case: 'prefix', value: '' } }, action: { $case: 'route', value: { clusterSpecifier: { $case: 'cluster', value: svc.clusterName } } } }],
      },
    ],
  });
  const cluster = Cluster.fromPartial({
    name: svc.clusterName,
    clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: adsConfigSource(), serviceName: svc.clusterName },
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
  });
  const sorted = [...svc.endpoints].sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port);
  const endpoints = ClusterLoadAssignment.fromPartial({
    clusterName: svc.clusterName,
    endpoints: sorted.length
      ? [
          {
            locality: {},
            loadBalancingWeight: 1,
            lbEndpoints: sorted.map((e) => ({
              hostIdentifier: {
                $case: 'endpoint' as const,
                value: { address: socketAddress(e.address, e.port) },
              },
              healthStatus: e.healthy ? HealthStatus.HEALTHY : HealthStatus.UNHEALTHY,
              loadBalancingWeight: 1,
            })),
          },
        ]
      : [],
  });
  return { listener, route, cluster, endpoints };
}

/** One service's four resources, encoded and interned. */
export function encodeProxylessService(snap: ProxylessServiceSnapshot, interner: ResourceInterner = sharedInterner): readonly EncodedResource[] {
  const clusterName = serviceSni(snap.service, snap.namespace, snap.datacenter, snap.trustDomain);
  const r = proxylessResources({ name: snap.service, clusterName, endpoints: snap.instances });
  return [
    interner.intern(TypeUrl.Listener, r.listener.name, encode(Listener, r.listener), [r.route.name]),
    interner.intern(TypeUrl.Route, r.route.name, encode(RouteConfiguration, r.route)),
    interner.intern(TypeUrl.Cluster, r.cluster.name, encode(Cluster, r.cluster), [r.endpoints.clusterName]),
    interner.intern(TypeUrl.Endpoint, r.endpoints.clusterName, encode(ClusterLoadAssignment, r.endpoints)),
  ];
}

// RouteConfigurations: one per HTTP upstream (served by RDS), sending everything to its cluster;
// and the public listener's inline route to local_app.
import { LOCAL_APP_CLUSTER, PUBLIC_LISTENER_ROUTE, serviceSni, upstreamRouteName } from '../core/names.js';
import { RouteConfiguration } from '../gen/envoy/config/route/v3/route.js';
import type { ConnectProxySnapshot, UpstreamSnapshot } from '../proxycfg/snapshot.js';
import { isHttp } from './filters.js';
import { byName } from './sort.js';

/** A route configuration with one catch-all virtual host routing every path to `cluster`. */
export function catchAllRoute(name: string, cluster: string): RouteConfiguration {
  return RouteConfiguration.fromPartial({
    name,
    virtualHosts: [
      {
        name,
        domains: ['*'],
        routes: [{ match: { pathSpecifier: { $case: 'prefix', value: '/' } }, action: { $case: 'route', value: { clusterSpecifier: { $case: 'cluster', value: cluster } } } }],
      },
    ],
    validateClusters: false,
  });
}

export function upstreamCluster(snap: ConnectProxySnapshot, u: UpstreamSnapshot): string {
  return serviceSni(u.destinationName, u.namespace, u.datacenter, snap.trustDomain);
}

export function publicListenerRoute(): RouteConfiguration {
  return catchAllRoute(PUBLIC_LISTENER_ROUTE, LOCAL_APP_CLUSTER);
}

export function generateRoutes(snap: ConnectProxySnapshot): RouteConfiguration[] {
  return snap.upstreams.filter((u) => isHttp(u.protocol)).map((u) => catchAllRoute(upstreamRouteName(u.id), upstreamCluster(snap, u))).sort(byName);
}

// Expose.Paths: each path of the app a caller outside the mesh may reach (a health endpoint, a
// metrics page) gets a listener of its own on the public listener's address, plain HTTP (no mTLS,
// no intentions), with one route, that exact path, to the app: `local_app` when the path is on
// the app's service port, else a static cluster for that port (`exposed_cluster_<port>`), as
// Consul's. Every other path of that listener gets a 404 from Envoy. A path taken from a check
// (Expose.Checks) takes connections only from loopback and the proxy's own address, as Consul
// limits it to localhost and the agent's address: it is for the check, not for the world.
import { exposedPathListenerName, exposedPathStatPrefix } from '../core/names.js';
import { Cluster, Cluster_DiscoveryType } from '../gen/envoy/config/cluster/v3/cluster.js';
import { TrafficDirection } from '../gen/envoy/config/core/v3/base.js';
import { Listener } from '../gen/envoy/config/listener/v3/listener.js';
import { RouteConfiguration } from '../gen/envoy/config/route/v3/route.js';
import type { ConnectProxySnapshot, ExposedPath } from '../proxycfg/snapshot.js';
import { millis, socketAddress } from './address.js';
import { httpConnectionManagerFilter } from './filters.js';
import { protocolOptions } from './protocol-options.js';

export function exposedPathListener(bindAddress: string, p: ExposedPath): Listener {
  const name = exposedPathStatPrefix(p.path, p.listenerPort);
  const route = RouteConfiguration.fromPartial({
    name,
    virtualHosts: [{ name, domains: ['*'], routes: [{ match: { pathSpecifier: { $case: 'path', value: p.path } }, action: { $case: 'route', value: { clusterSpecifier: { $case: 'cluster', value: p.cluster } } } }] }],
  });
  return Listener.fromPartial({
    name: exposedPathListenerName(p.path, bindAddress, p.listenerPort),
    address: socketAddress(bindAddress, p.listenerPort),
    trafficDirection: TrafficDirection.INBOUND,
    filterChains: [
      {
        ...(p.fromCheck ? { filterChainMatch: { sourcePrefixRanges: p.fromCheck.sources.map((r) => ({ addressPrefix: r.address, prefixLen: r.prefixLen })) } } : {}),
        filters: [httpConnectionManagerFilter(name, p.protocol, { rds: route })],
      },
    ],
  });
}

/** The static cluster of each exposed path on another port of the app, once per port. */
export function exposedPathClusters(snap: Pick<ConnectProxySnapshot, 'localApp' | 'publicListener'>): Cluster[] {
  const byName = new Map<string, Cluster>();
  for (const p of snap.publicListener.exposedPaths ?? []) {
    if (p.localPathPort === snap.localApp.port || byName.has(p.cluster)) continue;
    byName.set(
      p.cluster,
      Cluster.fromPartial({
        name: p.cluster,
        clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.STATIC },
        connectTimeout: millis(snap.localApp.connectTimeoutMs),
        loadAssignment: {
          clusterName: p.cluster,
          endpoints: [{ lbEndpoints: [{ hostIdentifier: { $case: 'endpoint', value: { address: socketAddress(snap.localApp.address, p.localPathPort) } } }] }],
        },
        typedExtensionProtocolOptions: protocolOptions(p.protocol),
      }),
    );
  }
  return [...byName.values()];
}

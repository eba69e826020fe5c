// Clusters: `local_app` (static, the service this sidecar fronts) and the clusters of every
// upstream's discovery chain (chain-clusters.ts: one EDS cluster per target, named by its SNI,
// reached over mutual TLS that checks the peer's SPIFFE ID; aggregate clusters for failover).
import { LOCAL_APP_CLUSTER } from '../core/names.js';
import { Cluster, Cluster_DiscoveryType } from '../gen/envoy/config/cluster/v3/cluster.js';
import type { ConnectProxySnapshot, UpstreamShape } from '../proxycfg/snapshot.js';
import type { TlsIdentity } from './tls.js';
import type { RowInputs } from './resource-table.js';
import { millis, socketAddress } from './address.js';
import { chainClusters, circuitBreakers } from './chain-clusters.js';
import { protocolOptions } from './protocol-options.js';

/** What a sidecar's clusters are built from. */
export type ClusterInputs = RowInputs<ConnectProxySnapshot, 'trustDomain' | 'localApp' | 'publicListener' | 'upstreams' | 'meshTls'>;

export function localAppCluster(snap: Pick<ClusterInputs, 'localApp' | 'publicListener'>): Cluster {
  const { address, port, connectTimeoutMs, maxInboundConnections } = snap.localApp;
  return Cluster.fromPartial({
    name: LOCAL_APP_CLUSTER,
    clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.STATIC },
    connectTimeout: millis(connectTimeoutMs),
    // MaxInboundConnections: at most that many connections to the app (Consul's local_app circuit breaker).
    ...(maxInboundConnections !== undefined ? { circuitBreakers: circuitBreakers({ maxConnections: maxInboundConnections }) } : {}),
    loadAssignment: {
      clusterName: LOCAL_APP_CLUSTER,
      endpoints: [{ lbEndpoints: [{ hostIdentifier: { $case: 'endpoint', value: { address: socketAddress(address, port) } } }] }],
    },
    typedExtensionProtocolOptions: protocolOptions(snap.publicListener.protocol),
  });
}

/** The assignment an EDS cluster refers to: named by the cluster (eds service_name unset); none for others. */
export function clusterChildren(c: Cluster): readonly string[] {
  return c.clusterDiscoveryType?.$case === 'type' && c.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS ? [c.edsClusterConfig?.serviceName || c.name] : [];
}

/** Every cluster of every upstream's chain, once: upstreams of one destination share its target clusters. */
export function upstreamClusters(snap: TlsIdentity & { readonly upstreams: readonly UpstreamShape[] }): Cluster[] {
  const byClusterName = new Map<string, Cluster>();
  for (const u of snap.upstreams) for (const c of chainClusters(snap, u)) if (!byClusterName.has(c.name)) byClusterName.set(c.name, c);
  return [...byClusterName.values()];
}


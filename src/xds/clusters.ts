// Clusters: `local_app` (static, the service this sidecar fronts) and one EDS cluster per
// upstream, named by the upstream's SNI, reached over mutual TLS that checks the peer's SPIFFE ID.
import type { Protocol } from '../catalog/types.js';
import { LOCAL_APP_CLUSTER, spiffeServiceUri } from '../core/names.js';
import { pack } from '../core/proto.js';
import { Cluster, Cluster_DiscoveryType } from '../gen/envoy/config/cluster/v3/cluster.js';
import type { Any } from '../gen/google/protobuf/any.js';
import { HttpProtocolOptions } from '../gen/envoy/extensions/upstreams/http/v3/http_protocol_options.js';
import type { ConnectProxySnapshot, UpstreamShape } from '../proxycfg/snapshot.js';
import type { RowInputs } from './resource-table.js';
import type { TlsIdentity } from './tls.js';
import { millis, socketAddress } from './address.js';
import { adsConfigSource } from './config-source.js';
import { upstreamCluster } from './routes.js';
import { byName } from './sort.js';
import { upstreamTransportSocket } from './tls.js';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** HTTP/2 to the cluster's endpoints when the protocol needs it (gRPC, http2). */
function protocolOptions(protocol: Protocol): { [key: string]: Any } {
  if (protocol !== 'http2' && protocol !== 'grpc') return {};
  const opts = HttpProtocolOptions.fromPartial({
    upstreamProtocolOptions: { $case: 'explicitHttpConfig', value: { protocolConfig: { $case: 'http2ProtocolOptions', value: {} } } },
  });
  return { [HTTP_PROTOCOL_OPTIONS]: pack(HttpProtocolOptions, opts) };
}

/** What a sidecar's clusters are built from. */
export type ClusterInputs = RowInputs<ConnectProxySnapshot, 'service' | 'namespace' | 'trustDomain' | 'localApp' | 'publicListener' | 'upstreams'>;

export function localAppCluster(snap: Pick<ClusterInputs, 'localApp' | 'publicListener'>): Cluster {
  const { address, port, connectTimeoutMs } = snap.localApp;
  return Cluster.fromPartial({
    name: LOCAL_APP_CLUSTER,
    clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.STATIC },
    connectTimeout: millis(connectTimeoutMs),
    loadAssignment: {
      clusterName: LOCAL_APP_CLUSTER,
      endpoints: [{ lbEndpoints: [{ hostIdentifier: { $case: 'endpoint', value: { address: socketAddress(address, port) } } }] }],
    },
    typedExtensionProtocolOptions: protocolOptions(snap.publicListener.protocol),
  });
}

export function upstreamClusterResource(snap: TlsIdentity, u: UpstreamShape): Cluster {
  const name = upstreamCluster(snap, u);
  const peer = spiffeServiceUri({ trustDomain: snap.trustDomain, namespace: u.namespace, datacenter: u.datacenter, service: u.destinationName });
  return Cluster.fromPartial({
    name,
    altStatName: name,
    clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: adsConfigSource() },
    connectTimeout: millis(u.connectTimeoutMs),
    circuitBreakers: {},
    outlierDetection: {},
    commonLbConfig: { healthyPanicThreshold: { value: 0 } },
    transportSocket: upstreamTransportSocket(snap, name, peer, u.protocol),
    typedExtensionProtocolOptions: protocolOptions(u.protocol),
  });
}

/** The assignment an EDS cluster refers to: named by the cluster (eds service_name unset); none for others. */
export function clusterChildren(c: Cluster): readonly string[] {
  return c.clusterDiscoveryType?.$case === 'type' && c.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS ? [c.name] : [];
}

export function generateClusters(snap: ClusterInputs): Cluster[] {
  return [localAppCluster(snap), ...snap.upstreams.map((u) => upstreamClusterResource(snap, u))].sort(byName);
}

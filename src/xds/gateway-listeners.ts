// What every gateway kind's listeners share (Consul's gateway listeners): one listener per address
// the gateway listens on, a TLS inspector so filter chains can match the SNI, and Consul's last
// chain, which sends any SNI no chain before it matched to the cluster that SNI names.
import { gatewayListenerName } from '../core/names.js';
import { pack } from '../core/proto.js';
import type { TrafficDirection } from '../gen/envoy/config/core/v3/base.js';
import { Listener } from '../gen/envoy/config/listener/v3/listener.js';
import { FilterChain } from '../gen/envoy/config/listener/v3/listener_components.js';
import { SniCluster } from '../gen/envoy/extensions/filters/network/sni_cluster/v3/sni_cluster.js';
import type { GatewayListenerAddress } from '../proxycfg/snapshot.js';
import { socketAddress } from './address.js';
import { tcpProxyFilter, tlsInspectorFilter } from './filters.js';
import { byName } from './sort.js';

export const SNI_CLUSTER_FILTER = 'envoy.filters.network.sni_cluster';

/** Consul's last chain: the SNI names the cluster (sni_cluster), tcp_proxy forwards to it. */
export function sniClusterChain(statPrefix: string): FilterChain {
  return FilterChain.fromPartial({
    filters: [{ name: SNI_CLUSTER_FILTER, configType: { $case: 'typedConfig', value: pack(SniCluster, SniCluster.fromPartial({})) } }, tcpProxyFilter(statPrefix, '')],
  });
}

/** One listener per address (`<name>:<address>:<port>`), each with the TLS inspector and the same chains, sorted by name. */
export function gatewayListenersAt(addresses: readonly GatewayListenerAddress[], trafficDirection: TrafficDirection, filterChains: readonly FilterChain[]): Listener[] {
  return addresses
    .map((l) =>
      Listener.fromPartial({
        name: gatewayListenerName(l.name, l.address, l.port),
        address: socketAddress(l.address, l.port),
        trafficDirection,
        listenerFilters: [tlsInspectorFilter()],
        filterChains: [...filterChains],
      }),
    )
    .sort(byName);
}

// The clusters of an upstream's discovery chain, named as Consul names them: one EDS cluster per
// target (`<subset>.<svc>.<ns>.<dc>.internal.<trust domain>`, its ClusterLoadAssignment of the
// same name), reached over mTLS checking the target service's SPIFFE ID, with the resolver's
// connect timeout and load balancer. A resolver with failover gets an aggregate cluster named
// after its primary target, over `failover-target~<i>~<target cluster>` children (EDS clusters
// whose assignment is the target's), tried in order when the earlier ones have no healthy
// endpoint.
import { targetSni, type ChainTarget, type CompiledDiscoveryChain, type LoadBalancer } from '../catalog/config/chain.js';
import { spiffeServiceUri } from '../core/names.js';
import { pack } from '../core/proto.js';
import { Cluster, Cluster_DiscoveryType, Cluster_LbPolicy } from '../gen/envoy/config/cluster/v3/cluster.js';
import { ClusterConfig } from '../gen/envoy/extensions/clusters/aggregate/v3/cluster.js';
import type { UpstreamShape } from '../proxycfg/snapshot.js';
import { millis } from './address.js';
import { adsConfigSource } from './config-source.js';
import { protocolOptions } from './protocol-options.js';
import { upstreamTransportSocket, type TlsIdentity } from './tls.js';

export const FAILOVER_CLUSTER_PREFIX = 'failover-target~';
const AGGREGATE_CLUSTER = 'envoy.clusters.aggregate';

const LB_POLICIES: Readonly<Record<string, Cluster_LbPolicy>> = {
  round_robin: Cluster_LbPolicy.ROUND_ROBIN,
  least_request: Cluster_LbPolicy.LEAST_REQUEST,
  ring_hash: Cluster_LbPolicy.RING_HASH,
  maglev: Cluster_LbPolicy.MAGLEV,
  random: Cluster_LbPolicy.RANDOM,
};

/** The cluster fields a resolver's LoadBalancer sets (none: Envoy's round robin). */
function loadBalancerFields(lb: LoadBalancer | undefined): Partial<Cluster> {
  if (!lb?.Policy) return {};
  const fields: Partial<Cluster> = { lbPolicy: LB_POLICIES[lb.Policy] ?? Cluster_LbPolicy.ROUND_ROBIN };
  if (lb.Policy === 'ring_hash' && lb.RingHashConfig) {
    const { MinimumRingSize: min, MaximumRingSize: max } = lb.RingHashConfig;
    fields.lbConfig = { $case: 'ringHashLbConfig', value: { hashFunction: 0, ...(min ? { minimumRingSize: min } : {}), ...(max ? { maximumRingSize: max } : {}) } };
  }
  if (lb.Policy === 'least_request' && lb.LeastRequestConfig?.ChoiceCount) {
    fields.lbConfig = { $case: 'leastRequestLbConfig', value: { choiceCount: lb.LeastRequestConfig.ChoiceCount } };
  }
  return fields;
}

/** A target's cluster name (also its ClusterLoadAssignment's). */
export function targetClusterName(t: ChainTarget, trustDomain: string): string {
  return targetSni(t, trustDomain);
}

function targetOf(chain: CompiledDiscoveryChain, id: string): ChainTarget {
  const t = chain.targets[id];
  if (!t) throw new Error(`chain of ${chain.serviceName} has no target ${id}`);
  return t;
}

/** The cluster a resolver node's traffic goes to: its target's, or the aggregate one when it fails over. */
export function resolverClusterName(chain: CompiledDiscoveryChain, nodeName: string, trustDomain: string): string {
  const node = chain.nodes[nodeName];
  if (node?.type !== 'resolver') throw new Error(`chain of ${chain.serviceName} has no resolver ${nodeName}`);
  return targetClusterName(targetOf(chain, node.target), trustDomain);
}

function edsCluster(snap: TlsIdentity, u: UpstreamShape, t: ChainTarget, name: string): Cluster {
  const sni = targetClusterName(t, snap.trustDomain);
  const peer = spiffeServiceUri({ trustDomain: snap.trustDomain, namespace: t.namespace, datacenter: t.datacenter, service: t.service });
  const connectTimeoutMs = u.connectTimeoutFromUpstream ? u.connectTimeoutMs : (t.connectTimeoutMs ?? u.connectTimeoutMs);
  return Cluster.fromPartial({
    name,
    altStatName: name,
    clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: adsConfigSource(), ...(name !== sni ? { serviceName: sni } : {}) },
    connectTimeout: millis(connectTimeoutMs),
    circuitBreakers: {},
    outlierDetection: {},
    commonLbConfig: { healthyPanicThreshold: { value: 0 } },
    ...loadBalancerFields(t.loadBalancer),
    transportSocket: upstreamTransportSocket(snap, sni, peer, u.protocol),
    typedExtensionProtocolOptions: protocolOptions(u.protocol),
  });
}

/** Every cluster of one upstream's chain, sorted by name. */
export function chainClusters(snap: TlsIdentity, u: UpstreamShape): Cluster[] {
  const { chain } = u;
  const out = new Map<string, Cluster>();
  const failing = new Set<string>();
  for (const node of Object.values(chain.nodes)) {
    if (node.type !== 'resolver' || node.failover.length === 0) continue;
    const primary = targetOf(chain, node.target);
    const name = targetClusterName(primary, snap.trustDomain);
    failing.add(node.target);
    const children = [node.target, ...node.failover].map((id, i) => {
      const child = edsCluster(snap, u, targetOf(chain, id), `${FAILOVER_CLUSTER_PREFIX}${i}~${targetClusterName(targetOf(chain, id), snap.trustDomain)}`);
      out.set(child.name, child);
      return child.name;
    });
    out.set(
      name,
      Cluster.fromPartial({
        name,
        altStatName: name,
        clusterDiscoveryType: { $case: 'clusterType', value: { name: AGGREGATE_CLUSTER, typedConfig: pack(ClusterConfig, ClusterConfig.fromPartial({ clusters: children })) } },
        connectTimeout: millis(u.connectTimeoutFromUpstream ? u.connectTimeoutMs : (primary.connectTimeoutMs ?? u.connectTimeoutMs)),
        lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
      }),
    );
  }
  // A resolver's target without failover: its own cluster (failover targets are reached through their aggregate cluster's children).
  for (const node of Object.values(chain.nodes)) {
    if (node.type !== 'resolver' || failing.has(node.target)) continue;
    const t = targetOf(chain, node.target);
    const name = targetClusterName(t, snap.trustDomain);
    out.set(name, edsCluster(snap, u, t, name));
  }
  return [...out.values()];
}

// The clusters of an upstream's discovery chain, named as Consul names them: one EDS cluster per
// target (`<subset>.<svc>.<ns>.<dc>.internal.<trust domain>`, its ClusterLoadAssignment of the
// same name), reached over mTLS checking the target service's SPIFFE ID, with the resolver's
// connect timeout and load balancer. A resolver with failover gets an aggregate cluster named
// after its primary target, over `failover-target~<i>~<target cluster>` children (EDS clusters
// whose assignments are named after them and hold the target's endpoints), tried in order when
// the earlier ones have no healthy endpoint.
import { targetSni, type ChainTarget, type CompiledDiscoveryChain, type LoadBalancer } from '../catalog/config/chain.js';
import { spiffeServiceUri } from '../core/names.js';
import { pack } from '../core/proto.js';
import { Cluster, Cluster_DiscoveryType, Cluster_LbPolicy } from '../gen/envoy/config/cluster/v3/cluster.js';
import { CircuitBreakers } from '../gen/envoy/config/cluster/v3/circuit_breaker.js';
import { OutlierDetection } from '../gen/envoy/config/cluster/v3/outlier_detection.js';
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
export function loadBalancerFields(lb: LoadBalancer | undefined): Partial<Cluster> {
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

/** Consul's upstream Limits as one threshold (only the limits set), else no thresholds. */
export function circuitBreakers(l: UpstreamShape['limits']): CircuitBreakers {
  if (!l) return CircuitBreakers.fromPartial({});
  return CircuitBreakers.fromPartial({
    thresholds: [
      {
        ...(l.maxConnections !== undefined ? { maxConnections: l.maxConnections } : {}),
        ...(l.maxPendingRequests !== undefined ? { maxPendingRequests: l.maxPendingRequests } : {}),
        ...(l.maxConcurrentRequests !== undefined ? { maxRequests: l.maxConcurrentRequests } : {}),
      },
    ],
  });
}

/** Consul's PassiveHealthCheck: MaxFailures consecutive 5xx eject an endpoint, checked every Interval. */
function outlierDetection(p: UpstreamShape['passiveHealthCheck']): OutlierDetection {
  if (!p) return OutlierDetection.fromPartial({});
  return OutlierDetection.fromPartial({
    ...(p.intervalMs !== undefined ? { interval: millis(p.intervalMs) } : {}),
    ...(p.maxFailures ? { consecutive5xx: p.maxFailures } : {}),
    ...(p.enforcingConsecutive5xx !== undefined ? { enforcingConsecutive5xx: p.enforcingConsecutive5xx } : {}),
    ...(p.maxEjectionPercent !== undefined ? { maxEjectionPercent: p.maxEjectionPercent } : {}),
    ...(p.baseEjectionTimeMs !== undefined ? { baseEjectionTime: millis(p.baseEjectionTimeMs) } : {}),
  });
}

/** What an upstream's clusters are built from: not its id or bind address, so proxies with the same upstream share them. */
export const CLUSTER_UPSTREAM_FIELDS = ['chain', 'protocol', 'connectTimeoutMs', 'connectTimeoutFromUpstream', 'limits', 'passiveHealthCheck'] as const;
export type ClusterUpstream = Pick<UpstreamShape, (typeof CLUSTER_UPSTREAM_FIELDS)[number]>;

function edsCluster(snap: TlsIdentity, u: ClusterUpstream, t: ChainTarget, name: string): Cluster {
  const sni = targetClusterName(t, snap.trustDomain);
  const peer = spiffeServiceUri({ trustDomain: snap.trustDomain, namespace: t.namespace, datacenter: t.datacenter, service: t.service });
  const connectTimeoutMs = u.connectTimeoutFromUpstream ? u.connectTimeoutMs : (t.connectTimeoutMs ?? u.connectTimeoutMs);
  return Cluster.fromPartial({
    name,
    altStatName: name,
    clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: adsConfigSource() },
    connectTimeout: millis(connectTimeoutMs),
    circuitBreakers: circuitBreakers(u.limits),
    outlierDetection: outlierDetection(u.passiveHealthCheck),
    commonLbConfig: { healthyPanicThreshold: { value: 0 } },
    ...loadBalancerFields(t.loadBalancer),
    transportSocket: upstreamTransportSocket(snap, sni, peer, u.protocol),
    typedExtensionProtocolOptions: protocolOptions(u.protocol),
  });
}

/** One EDS cluster of a chain: its name (also its ClusterLoadAssignment's) and the target whose endpoints it holds. */
export interface ChainEdsCluster {
  readonly name: string;
  readonly target: ChainTarget;
}

/** A failover child's name: `failover-target~<position>~<target cluster>`. */
function failoverChildName(i: number, t: ChainTarget, trustDomain: string): string {
  return `${FAILOVER_CLUSTER_PREFIX}${i}~${targetClusterName(t, trustDomain)}`;
}

/**
 * The EDS clusters of a chain: a resolver's target's own, or, for a resolver with failover, one
 * child per target in order (each child's assignment named after it, as Consul names them).
 */
export function chainEdsClusters(chain: CompiledDiscoveryChain, trustDomain: string): ChainEdsCluster[] {
  const out = new Map<string, ChainEdsCluster>();
  for (const node of Object.values(chain.nodes)) {
    if (node.type !== 'resolver') continue;
    if (node.failover.length === 0) {
      const target = targetOf(chain, node.target);
      out.set(targetClusterName(target, trustDomain), { name: targetClusterName(target, trustDomain), target });
      continue;
    }
    [node.target, ...node.failover].forEach((id, i) => {
      const target = targetOf(chain, id);
      out.set(failoverChildName(i, target, trustDomain), { name: failoverChildName(i, target, trustDomain), target });
    });
  }
  return [...out.values()];
}

/** Every cluster of one upstream's chain. */
export function chainClusters(snap: TlsIdentity, u: ClusterUpstream): Cluster[] {
  const { chain } = u;
  const out: Cluster[] = chainEdsClusters(chain, snap.trustDomain).map((c) => edsCluster(snap, u, c.target, c.name));
  for (const node of Object.values(chain.nodes)) {
    if (node.type !== 'resolver' || node.failover.length === 0) continue;
    const primary = targetOf(chain, node.target);
    const name = targetClusterName(primary, snap.trustDomain);
    const children = [node.target, ...node.failover].map((id, i) => failoverChildName(i, targetOf(chain, id), snap.trustDomain));
    out.push(
      Cluster.fromPartial({
        name,
        altStatName: name,
        clusterDiscoveryType: { $case: 'clusterType', value: { name: AGGREGATE_CLUSTER, typedConfig: pack(ClusterConfig, ClusterConfig.fromPartial({ clusters: children })) } },
        connectTimeout: millis(u.connectTimeoutFromUpstream ? u.connectTimeoutMs : (primary.connectTimeoutMs ?? u.connectTimeoutMs)),
        lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
      }),
    );
  }
  return out;
}

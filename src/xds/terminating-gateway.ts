// A terminating gateway's resources, following Consul's terminating-gateway goldens in naming: a
// listener per address with a TLS inspector and one filter chain per linked service and subset,
// matched by its SNI `[<subset>.]<svc>.<ns>.<dc>.internal.<td>`, terminating mesh mTLS with that
// service's leaf (by SDS) and enforcing its intentions (the network RBAC filter, or for http-like
// services the HTTP RBAC filter with the rules per route), then tcp_proxy (or an HTTP connection
// manager routing with auto_host_rewrite) to a cluster of the same name: EDS over the instances'
// IPs, or LOGICAL_DNS to a host name, with TLS originated from files when the entry sets CAFile.
// Consul's last chain (sni_cluster) follows; every cluster has its own chain before it.
import { targetSni } from '../catalog/config/chain.js';
import { leafSecretName, rootsSecretName, TERMINATING_GATEWAY_DEFAULT_STAT_PREFIX, upstreamStatPrefix } from '../core/names.js';
import { encode } from '../core/proto.js';
import type { EncodedResource } from '../core/resources.js';
import { TypeUrl } from '../core/type-urls.js';
import { Cluster, Cluster_DiscoveryType, Cluster_DnsLookupFamily } from '../gen/envoy/config/cluster/v3/cluster.js';
import { TrafficDirection } from '../gen/envoy/config/core/v3/base.js';
import { ClusterLoadAssignment } from '../gen/envoy/config/endpoint/v3/endpoint.js';
import { Listener } from '../gen/envoy/config/listener/v3/listener.js';
import { FilterChain } from '../gen/envoy/config/listener/v3/listener_components.js';
import { RouteConfiguration } from '../gen/envoy/config/route/v3/route.js';
import type { GatewayTarget, LinkedService, TerminatingGatewaySnapshot } from '../proxycfg/snapshot.js';
import { millis } from './address.js';
import { loadBalancerFields } from './chain-clusters.js';
import { hashPolicies } from './chain-routes.js';
import { clusterChildren } from './clusters.js';
import { adsConfigSource } from './config-source.js';
import type { ResourceInterner } from './encode.js';
import { clusterLoadAssignment } from './endpoints.js';
import { httpConnectionManagerFilter, isHttp, tcpProxyFilter } from './filters.js';
import { gatewayListenersAt, sniClusterChain } from './gateway-listeners.js';
import { protocolOptions } from './protocol-options.js';
import { httpRbacFilter, networkRbacFilter } from './rbac.js';
import { builtRow, byKey, sharedRow, type ResourceTable, type RowInputs } from './resource-table.js';
import { catchAllRoute, withIntentions } from './routes.js';
import { leafSecret, rootsSecret } from './secrets.js';
import { sharedSecret } from './shared-rows.js';
import { byName } from './sort.js';
import { namedLeafSds, originationTransportSocket, serverTransportSocket } from './tls.js';

/** How often Envoy resolves a host-name instance again (Consul's 10s). */
const DNS_REFRESH_MS = 10_000;

type Where = Pick<TerminatingGatewaySnapshot, 'trustDomain' | 'datacenter'>;

/** A service's (or subset's) cluster, SNI and, for http-like services, route name. */
function sniOf(s: Where, service: Pick<LinkedService, 'name' | 'namespace'>, subset: string): string {
  return targetSni({ service: service.name, subset, namespace: service.namespace, datacenter: s.datacenter }, s.trustDomain);
}

/** Every cluster name of a service: its own, then its subsets'. */
function clusterNames(s: Where, svc: LinkedService): string[] {
  return [sniOf(s, svc, ''), ...svc.subsets.map((subset) => sniOf(s, svc, subset))];
}

type ClusterInputs = RowInputs<TerminatingGatewaySnapshot, 'trustDomain' | 'datacenter' | 'services' | 'targets' | 'dnsDiscoveryType'>;

function targetCluster(s: ClusterInputs, svc: LinkedService, t: Omit<GatewayTarget, 'endpoints'>): Cluster {
  const name = sniOf(s, svc, t.subset);
  const discovery: Partial<Cluster> = t.dns
    ? {
        clusterDiscoveryType: { $case: 'type', value: s.dnsDiscoveryType === 'STRICT_DNS' ? Cluster_DiscoveryType.STRICT_DNS : Cluster_DiscoveryType.LOGICAL_DNS },
        dnsRefreshRate: millis(DNS_REFRESH_MS),
        dnsLookupFamily: Cluster_DnsLookupFamily.V4_ONLY,
        loadAssignment: clusterLoadAssignment(name, [t.dns]),
      }
    : { clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.EDS }, edsClusterConfig: { edsConfig: adsConfigSource(), serviceName: '' } };
  return Cluster.fromPartial({
    name,
    ...discovery,
    connectTimeout: millis(svc.connectTimeoutMs),
    // An empty config turns outlier detection on with Envoy's defaults, as Consul's gateways do.
    outlierDetection: {},
    ...loadBalancerFields(svc.loadBalancer),
    typedExtensionProtocolOptions: protocolOptions(svc.protocol),
    ...(svc.tls ? { transportSocket: originationTransportSocket(svc.tls) } : {}),
  });
}

function gatewayClusters(s: ClusterInputs): Cluster[] {
  const byService = new Map(s.services.map((svc) => [svc.name, svc]));
  return s.targets.flatMap((t) => {
    const svc = byService.get(t.service);
    return svc ? [targetCluster(s, svc, t)] : [];
  }).sort(byName);
}

type ListenerInputs = RowInputs<TerminatingGatewaySnapshot, 'trustDomain' | 'datacenter' | 'namespace' | 'services' | 'listeners' | 'defaultIntentionPolicy' | 'meshTls' | 'sanitizeXForwardedClientCert'>;

/** mTLS in as the service (its leaf), its intentions, then on to its cluster. */
function serviceChain(s: ListenerInputs, svc: LinkedService, sni: string): FilterChain {
  const statPrefix = upstreamStatPrefix(svc.name, svc.namespace, s.datacenter);
  const intentions = { intentions: svc.intentions, defaultIntentionPolicy: s.defaultIntentionPolicy, trustDomain: s.trustDomain };
  const filters = isHttp(svc.protocol)
    ? [httpConnectionManagerFilter(statPrefix, svc.protocol, { rds: sni, inbound: !s.sanitizeXForwardedClientCert }, [httpRbacFilter()])]
    : [networkRbacFilter(intentions), tcpProxyFilter(statPrefix, sni)];
  const identity = { service: svc.name, namespace: svc.namespace, trustDomain: s.trustDomain, ...(s.meshTls ? { meshTls: s.meshTls } : {}) };
  return FilterChain.fromPartial({ filterChainMatch: { serverNames: [sni] }, filters, transportSocket: serverTransportSocket(identity, svc.protocol, namedLeafSds(svc.name, svc.namespace)) });
}

function gatewayListeners(s: ListenerInputs): Listener[] {
  const chains = s.services.flatMap((svc) => clusterNames(s, svc).map((sni) => serviceChain(s, svc, sni)));
  chains.sort((a, b) => byName({ name: a.filterChainMatch?.serverNames[0] ?? '' }, { name: b.filterChainMatch?.serverNames[0] ?? '' }));
  // Consul's last chain: any other SNI to the cluster it names (every cluster has its own chain above).
  chains.push(sniClusterChain(TERMINATING_GATEWAY_DEFAULT_STAT_PREFIX));
  return gatewayListenersAt(s.listeners, TrafficDirection.INBOUND, chains);
}

/** The RDS names of the listeners' HTTP connection managers: every http-like service's clusters. */
function routeNames(s: Pick<ListenerInputs, 'trustDomain' | 'datacenter' | 'services'>): string[] {
  return s.services.filter((svc) => isHttp(svc.protocol)).flatMap((svc) => clusterNames(s, svc)).sort();
}

type RouteInputs = RowInputs<TerminatingGatewaySnapshot, 'trustDomain' | 'datacenter' | 'services' | 'defaultIntentionPolicy'>;

/** One route per cluster of an http-like service: everything to it, the Host rewritten to the instance's, its intentions per request. */
function gatewayRoutes(s: RouteInputs): RouteConfiguration[] {
  return s.services
    .filter((svc) => isHttp(svc.protocol))
    .flatMap((svc) =>
      clusterNames(s, svc).map((name) => {
        const hash = hashPolicies(svc.loadBalancer);
        const route = catchAllRoute(
          name,
          name,
          {
            ...(svc.autoHostRewrite ? { hostRewriteSpecifier: { $case: 'autoHostRewrite', value: true } } : {}),
            ...(svc.requestTimeoutMs !== undefined ? { timeout: millis(svc.requestTimeoutMs) } : {}),
            ...(hash.length ? { hashPolicy: hash } : {}),
          },
          true,
        );
        return withIntentions(route, { intentions: svc.intentions, defaultIntentionPolicy: s.defaultIntentionPolicy, trustDomain: s.trustDomain });
      }),
    )
    .sort(byName);
}

/** One ClusterLoadAssignment per EDS cluster, built once per (endpoints list, cluster name). */
function gatewayEndpoints(s: TerminatingGatewaySnapshot, interner: ResourceInterner): Map<string, EncodedResource> {
  const out = new Map<string, EncodedResource>();
  const namespaces = new Map(s.services.map((svc) => [svc.name, svc.namespace]));
  const eds = s.targets.filter((t) => !t.dns && namespaces.has(t.service));
  for (const [name, t] of byKey(eds.map((t) => [sniOf(s, { name: t.service, namespace: namespaces.get(t.service) ?? '' }, t.subset), t] as const))) {
    out.set(name, interner.memo(t.endpoints, name, () => interner.intern(TypeUrl.Endpoint, name, encode(ClusterLoadAssignment, clusterLoadAssignment(name, t.endpoints)))));
  }
  return out;
}

/** Each linked service's leaf once per (leaf, name), and the roots once per (roots, name). */
function gatewaySecrets(s: TerminatingGatewaySnapshot, interner: ResourceInterner): Map<string, EncodedResource> {
  const namespaces = new Map(s.services.map((svc) => [svc.name, svc.namespace]));
  return new Map(
    byKey([
      sharedSecret(interner, s.roots, rootsSecretName(s.trustDomain), () => rootsSecret(s)),
      ...s.leaves.map(({ service, leaf }) => {
        const name = leafSecretName(service, namespaces.get(service) ?? '');
        return sharedSecret(interner, leaf, name, () => leafSecret({ leaf }, name));
      }),
    ]),
  );
}

/** Every type a terminating gateway receives, in xDS send order. */
export const TERMINATING_GATEWAY_RESOURCES: ResourceTable<TerminatingGatewaySnapshot> = [
  sharedRow({ typeUrl: TypeUrl.Secret, shared: gatewaySecrets }),
  builtRow({ typeUrl: TypeUrl.Cluster, type: Cluster, fields: ['trustDomain', 'datacenter', 'services', 'targets', 'dnsDiscoveryType'], generate: gatewayClusters, name: (c) => c.name, children: (_i, c) => clusterChildren(c) }),
  sharedRow({ typeUrl: TypeUrl.Endpoint, shared: gatewayEndpoints }),
  builtRow({
    typeUrl: TypeUrl.Listener,
    type: Listener,
    fields: ['trustDomain', 'datacenter', 'namespace', 'services', 'listeners', 'defaultIntentionPolicy', 'meshTls', 'sanitizeXForwardedClientCert'],
    generate: gatewayListeners,
    name: (l) => l.name,
    children: (i) => routeNames(i),
  }),
  builtRow({ typeUrl: TypeUrl.Route, type: RouteConfiguration, fields: ['trustDomain', 'datacenter', 'services', 'defaultIntentionPolicy'], generate: gatewayRoutes, name: (r) => r.name, children: () => [] }),
];

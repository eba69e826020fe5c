// Listeners: the public listener (mTLS in, intentions enforced by RBAC, then to local_app) and
// one outbound listener per upstream (tcp_proxy, or HTTP with its routes by RDS).
import { PUBLIC_LISTENER_ROUTE, PUBLIC_LISTENER_STAT_PREFIX, publicListenerName, upstreamListenerName, upstreamRouteName, upstreamStatPrefix, LOCAL_APP_CLUSTER } from '../core/names.js';
import { exposedPathListener } from './exposed-paths.js';
import { TrafficDirection } from '../gen/envoy/config/core/v3/base.js';
import { Listener } from '../gen/envoy/config/listener/v3/listener.js';
import type { ConnectProxySnapshot, UpstreamShape } from '../proxycfg/snapshot.js';
import type { RowInputs } from './resource-table.js';
import { socketAddress } from './address.js';
import { httpConnectionManagerFilter, isHttp, tcpProxyFilter } from './filters.js';
import { httpRbacFilter, networkRbacFilter } from './rbac.js';
import { tcpUpstreamCluster } from './chain-routes.js';
import { byName } from './sort.js';
import { filterAccessLogs, listenerAccessLogs } from './access-logs.js';
import { downstreamTransportSocket } from './tls.js';

/** What a sidecar's listeners are built from. */
export type ListenerInputs = RowInputs<ConnectProxySnapshot, 'service' | 'namespace' | 'trustDomain' | 'publicListener' | 'intentions' | 'defaultIntentionPolicy' | 'upstreams' | 'accessLogs' | 'meshTls'>;

export function publicListener(snap: Omit<ListenerInputs, 'upstreams'>): Listener {
  const { bindAddress, bindPort, protocol } = snap.publicListener;
  // Intentions: per request for HTTP protocols, per connection for tcp.
  const accessLog = filterAccessLogs(snap.accessLogs);
  const filters = isHttp(protocol)
    ? [httpConnectionManagerFilter(PUBLIC_LISTENER_STAT_PREFIX, protocol, { rds: PUBLIC_LISTENER_ROUTE, inbound: !snap.publicListener.sanitizeXForwardedClientCert, accessLog }, [httpRbacFilter()])]
    : [networkRbacFilter(snap), tcpProxyFilter(PUBLIC_LISTENER_STAT_PREFIX, LOCAL_APP_CLUSTER, accessLog)];
  return Listener.fromPartial({
    name: publicListenerName(bindAddress, bindPort),
    address: socketAddress(bindAddress, bindPort),
    trafficDirection: TrafficDirection.INBOUND,
    accessLog: listenerAccessLogs(snap.accessLogs),
    filterChains: [{ filters, transportSocket: downstreamTransportSocket(snap) }],
    ...connectionBalance(snap.publicListener.balanceConnections),
  });
}

/** "exact_balance": Envoy hands each new connection to the least loaded worker thread. */
function connectionBalance(exact: boolean | undefined): Pick<Listener, 'connectionBalanceConfig'> {
  return exact ? { connectionBalanceConfig: { balanceType: { $case: 'exactBalance', value: {} } } } : {};
}

export function upstreamListener(snap: Pick<ListenerInputs, 'trustDomain' | 'accessLogs'>, u: UpstreamShape): Listener {
  const statPrefix = upstreamStatPrefix(u.destinationName, u.namespace, u.datacenter);
  const accessLog = filterAccessLogs(snap.accessLogs);
  const filter = isHttp(u.protocol)
    ? httpConnectionManagerFilter(statPrefix, u.protocol, { rds: upstreamRouteName(u.id), accessLog })
    : tcpProxyFilter(statPrefix, tcpUpstreamCluster(snap.trustDomain, u), accessLog);
  return Listener.fromPartial({
    name: upstreamListenerName(u.id, u.bindAddress, u.bindPort),
    address: socketAddress(u.bindAddress, u.bindPort),
    trafficDirection: TrafficDirection.OUTBOUND,
    accessLog: listenerAccessLogs(snap.accessLogs),
    filterChains: [{ filters: [filter] }],
    ...connectionBalance(u.balanceConnections),
  });
}

export function generateListeners(snap: ListenerInputs): Listener[] {
  const exposed = (snap.publicListener.exposedPaths ?? []).map((p) => exposedPathListener(snap.publicListener.bindAddress, p));
  return [publicListener(snap), ...exposed, ...snap.upstreams.map((u) => upstreamListener(snap, u))].sort(byName);
}

const routeNamesCache = new WeakMap<object, ReadonlyMap<string, readonly string[]>>();

/** The RouteConfiguration names a listener's HTTP connection manager fetches by RDS. */
export function listenerRouteNames(snap: Pick<ListenerInputs, 'publicListener' | 'upstreams'>, listenerName: string): readonly string[] {
  let byListener = routeNamesCache.get(snap);
  if (!byListener) {
    const names = new Map<string, readonly string[]>(snap.upstreams.filter((u) => isHttp(u.protocol)).map((u) => [upstreamListenerName(u.id, u.bindAddress, u.bindPort), [upstreamRouteName(u.id)]]));
    const { bindAddress, bindPort, protocol } = snap.publicListener;
    if (isHttp(protocol)) names.set(publicListenerName(bindAddress, bindPort), [PUBLIC_LISTENER_ROUTE]);
    byListener = names;
    routeNamesCache.set(snap, byListener);
  }
  return byListener.get(listenerName) ?? [];
}

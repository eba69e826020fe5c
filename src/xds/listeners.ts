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
import { filterAccessLogs, listenerAccessLogs } from './access-logs.js';
import { downstreamTransportSocket } from './tls.js';

/** What a sidecar's listeners are built from. */
export type ListenerInputs = RowInputs<ConnectProxySnapshot, 'service' | 'namespace' | 'trustDomain' | 'publicListener' | 'intentions' | 'defaultIntentionPolicy' | 'upstreams' | 'accessLogs' | 'meshTls'>;

type PublicListenerSettings = ConnectProxySnapshot['publicListener'];

/** What the public listener is built from besides its address (the same for every proxy of a service). */
export type PublicListenerRestInputs = Pick<ListenerInputs, 'trustDomain' | 'intentions' | 'defaultIntentionPolicy' | 'accessLogs' | 'meshTls'> & {
  readonly publicListener: Pick<PublicListenerSettings, 'protocol' | 'sanitizeXForwardedClientCert' | 'balanceConnections'>;
};

/** The public listener's name and address (its first declared fields: see resource-table.ts Spliced). */
export function publicListenerHead(pl: Pick<PublicListenerSettings, 'bindAddress' | 'bindPort'>): Listener {
  return Listener.fromPartial({ name: publicListenerName(pl.bindAddress, pl.bindPort), address: socketAddress(pl.bindAddress, pl.bindPort) });
}

/** Everything of the public listener but its name and address. */
export function publicListenerRest(snap: PublicListenerRestInputs): Listener {
  const { protocol } = snap.publicListener;
  // Intentions: per request for HTTP protocols, per connection for tcp.
  const accessLog = filterAccessLogs(snap.accessLogs);
  const filters = isHttp(protocol)
    ? [httpConnectionManagerFilter(PUBLIC_LISTENER_STAT_PREFIX, protocol, { rds: PUBLIC_LISTENER_ROUTE, inbound: !snap.publicListener.sanitizeXForwardedClientCert, accessLog }, [httpRbacFilter()])]
    : [networkRbacFilter(snap), tcpProxyFilter(PUBLIC_LISTENER_STAT_PREFIX, LOCAL_APP_CLUSTER, accessLog)];
  return Listener.fromPartial({
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

export function publicListener(snap: Omit<ListenerInputs, 'upstreams'>): Listener {
  const head = publicListenerHead(snap.publicListener);
  return { ...publicListenerRest(snap), name: head.name, address: head.address };
}

/** What an upstream's listener is built from besides its bind address (the same for every proxy with that upstream). */
export const UPSTREAM_LISTENER_REST_FIELDS = ['id', 'destinationName', 'namespace', 'datacenter', 'protocol', 'chain', 'balanceConnections'] as const;
export const UPSTREAM_LISTENER_HEAD_FIELDS = ['id', 'bindAddress', 'bindPort'] as const;

/** An upstream listener's name and address. */
export function upstreamListenerHead(u: Pick<UpstreamShape, (typeof UPSTREAM_LISTENER_HEAD_FIELDS)[number]>): Listener {
  return Listener.fromPartial({ name: upstreamListenerName(u.id, u.bindAddress, u.bindPort), address: socketAddress(u.bindAddress, u.bindPort) });
}

/** Everything of an upstream listener but its name and address. */
export function upstreamListenerRest(snap: Pick<ListenerInputs, 'trustDomain' | 'accessLogs'>, u: Pick<UpstreamShape, (typeof UPSTREAM_LISTENER_REST_FIELDS)[number]>): Listener {
  const statPrefix = upstreamStatPrefix(u.destinationName, u.namespace, u.datacenter);
  const accessLog = filterAccessLogs(snap.accessLogs);
  const filter = isHttp(u.protocol)
    ? httpConnectionManagerFilter(statPrefix, u.protocol, { rds: upstreamRouteName(u.id), accessLog })
    : tcpProxyFilter(statPrefix, tcpUpstreamCluster(snap.trustDomain, u), accessLog);
  return Listener.fromPartial({
    trafficDirection: TrafficDirection.OUTBOUND,
    accessLog: listenerAccessLogs(snap.accessLogs),
    filterChains: [{ filters: [filter] }],
    ...connectionBalance(u.balanceConnections),
  });
}

export function upstreamListener(snap: Pick<ListenerInputs, 'trustDomain' | 'accessLogs'>, u: UpstreamShape): Listener {
  const head = upstreamListenerHead(u);
  return { ...upstreamListenerRest(snap, u), name: head.name, address: head.address };
}

/** The RouteConfiguration an upstream's listener fetches by RDS (none for tcp). */
export function upstreamListenerRoutes(u: Pick<UpstreamShape, 'id' | 'protocol'>): readonly string[] {
  return isHttp(u.protocol) ? [upstreamRouteName(u.id)] : [];
}

/** The RouteConfiguration the public listener fetches by RDS (none for tcp). */
export function publicListenerRoutes(pl: Pick<PublicListenerSettings, 'protocol'>): readonly string[] {
  return isHttp(pl.protocol) ? [PUBLIC_LISTENER_ROUTE] : [];
}

/** The exposed paths' listeners (plain HTTP to the app, on the proxy's own address). */
export function exposedPathListeners(pl: Pick<PublicListenerSettings, 'bindAddress' | 'exposedPaths'>): Listener[] {
  return (pl.exposedPaths ?? []).map((p) => exposedPathListener(pl.bindAddress, p));
}


// The network filters that end a filter chain: tcp_proxy to a cluster, or an HTTP connection
// manager (router filter always present: gRPC C-core rejects an HCM without one).
import type { Protocol } from '../catalog/types.js';
import { pack } from '../core/proto.js';
import type { Filter } from '../gen/envoy/config/listener/v3/listener_components.js';
import type { AccessLog } from '../gen/envoy/config/accesslog/v3/accesslog.js';
import { Router } from '../gen/envoy/extensions/filters/http/router/v3/router.js';
import { FilterConfig as GrpcStatsConfig } from '../gen/envoy/extensions/filters/http/grpc_stats/v3/config.js';
import { Config as GrpcHttp1BridgeConfig } from '../gen/envoy/extensions/filters/http/grpc_http1_bridge/v3/config.js';
import { HttpConnectionManager, HttpConnectionManager_CodecType, HttpConnectionManager_ForwardClientCertDetails, type HttpFilter } from '../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.js';
import type { RouteConfiguration } from '../gen/envoy/config/route/v3/route.js';
import { TcpProxy } from '../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.js';
import type { ListenerFilter } from '../gen/envoy/config/listener/v3/listener_components.js';
import { TlsInspector } from '../gen/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.js';
import { adsConfigSource } from './config-source.js';

export const TCP_PROXY_FILTER = 'envoy.filters.network.tcp_proxy';
export const TLS_INSPECTOR_FILTER = 'envoy.filters.listener.tls_inspector';
export const HTTP_CONNECTION_MANAGER_FILTER = 'envoy.filters.network.http_connection_manager';
export const ROUTER_FILTER = 'envoy.filters.http.router';
export const GRPC_STATS_FILTER = 'envoy.filters.http.grpc_stats';
export const GRPC_HTTP1_BRIDGE_FILTER = 'envoy.filters.http.grpc_http1_bridge';

/**
 * On grpc listeners, ahead of every other HTTP filter (as Consul's): grpc_stats (stats for every
 * method, and filter state) and grpc_http1_bridge (HTTP/1.1 gRPC clients reach the service).
 */
function grpcFilters(): HttpFilter[] {
  const stats = GrpcStatsConfig.fromPartial({ emitFilterState: true, perMethodStatSpecifier: { $case: 'statsForAllMethods', value: true } });
  return [
    { name: GRPC_STATS_FILTER, isOptional: false, disabled: false, configType: { $case: 'typedConfig', value: pack(GrpcStatsConfig, stats) } },
    { name: GRPC_HTTP1_BRIDGE_FILTER, isOptional: false, disabled: false, configType: { $case: 'typedConfig', value: pack(GrpcHttp1BridgeConfig, GrpcHttp1BridgeConfig.fromPartial({})) } },
  ];
}

/** The router, last of every HTTP filter chain (gRPC C-core refuses a chain without it). */
export function routerFilter(): HttpFilter {
  return { name: ROUTER_FILTER, isOptional: false, disabled: false, configType: { $case: 'typedConfig', value: pack(Router, Router.fromPartial({})) } };
}

/** The listener filter that reads a connection's SNI, for filter chains matched by server name. */
export function tlsInspectorFilter(): ListenerFilter {
  return { name: TLS_INSPECTOR_FILTER, configType: { $case: 'typedConfig', value: pack(TlsInspector, TlsInspector.fromPartial({})) } } as ListenerFilter;
}

export function isHttp(protocol: Protocol): boolean {
  return protocol !== 'tcp';
}

export function tcpProxyFilter(statPrefix: string, cluster: string, accessLog: readonly AccessLog[] = []): Filter {
  const tcp = TcpProxy.fromPartial({ statPrefix, clusterSpecifier: { $case: 'cluster', value: cluster }, accessLog: [...accessLog] });
  return { name: TCP_PROXY_FILTER, configType: { $case: 'typedConfig', value: pack(TcpProxy, tcp) } };
}

/** Routes by RDS over ADS (or inline, for an exposed path's one route); `inbound` for the public listener. */
export interface HcmRoutes {
  readonly rds: string | RouteConfiguration;
  readonly inbound?: boolean;
  /** Per-request access logs (access-logs.ts). */
  readonly accessLog?: readonly AccessLog[];
}

/**
 * On the public listener (inline routes, mTLS from the caller) the app is told who called: the
 * caller's certificate details go in x-forwarded-client-cert, as Consul's public listener does.
 */
export function httpConnectionManagerFilter(statPrefix: string, protocol: Protocol, routes: HcmRoutes, filters: readonly HttpFilter[] = []): Filter {
  const inbound = routes.inbound === true;
  const hcm = HttpConnectionManager.fromPartial({
    statPrefix,
    codecType: HttpConnectionManager_CodecType.AUTO,
    routeSpecifier:
      typeof routes.rds === 'string' ? { $case: 'rds', value: { configSource: adsConfigSource(), routeConfigName: routes.rds } } : { $case: 'routeConfig', value: routes.rds },
    httpFilters: [...(protocol === 'grpc' ? grpcFilters() : []), ...filters, routerFilter()],
    accessLog: [...(routes.accessLog ?? [])],
    // WebSocket upgrades pass on every HTTP listener, as on Consul's.
    upgradeConfigs: [{ upgradeType: 'websocket', filters: [] }],
    ...(protocol === 'http2' || protocol === 'grpc' ? { http2ProtocolOptions: {} } : {}),
    ...(inbound
      ? {
          forwardClientCertDetails: HttpConnectionManager_ForwardClientCertDetails.APPEND_FORWARD,
          setCurrentClientCertDetails: { subject: true, cert: true, chain: true, dns: true, uri: true },
        }
      : {}),
  });
  return { name: HTTP_CONNECTION_MANAGER_FILTER, configType: { $case: 'typedConfig', value: pack(HttpConnectionManager, hcm) } };
}

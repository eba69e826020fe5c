// RouteConfigurations, all served by RDS: one per HTTP upstream, from its discovery chain
// (chain-routes.ts); and, for an HTTP public listener, the route to local_app carrying the intentions as
// the RBAC filter's per-route config. A route update applies to the next request on every open
// connection, so a new deny intention stops requests on pooled connections at once (rules in
// the listener would only reach connections opened after the listener update).
import { LOCAL_APP_CLUSTER, PUBLIC_LISTENER_ROUTE } from '../core/names.js';
import { RouteConfiguration } from '../gen/envoy/config/route/v3/route.js';
import type { RouteAction } from '../gen/envoy/config/route/v3/route_components.js';
import { pack } from '../core/proto.js';
import { RBACPerRoute } from '../gen/envoy/extensions/filters/http/rbac/v3/rbac.js';
import { HTTP_RBAC_FILTER, intentionRules, type IntentionInputs } from './rbac.js';
import type { ConnectProxySnapshot } from '../proxycfg/snapshot.js';
import type { RowInputs } from './resource-table.js';

/** What a sidecar's routes are built from. */
export type RouteInputs = RowInputs<ConnectProxySnapshot, 'trustDomain' | 'publicListener' | 'intentions' | 'defaultIntentionPolicy' | 'upstreams'>;
import { millis } from './address.js';

/**
 * The public listener's route to local_app: the intentions as the RBAC filter's per-route config,
 * and the app's request and idle timeouts (Consul's local_request_timeout_ms, local_idle_timeout_ms).
 */
export function publicListenerRoute(snap: IntentionInputs & { readonly publicListener: Pick<RouteInputs['publicListener'], 'requestTimeoutMs' | 'idleTimeoutMs'> }): RouteConfiguration {
  const { requestTimeoutMs, idleTimeoutMs } = snap.publicListener;
  const route = catchAllRoute(PUBLIC_LISTENER_ROUTE, LOCAL_APP_CLUSTER, {
    ...(requestTimeoutMs !== undefined ? { timeout: millis(requestTimeoutMs) } : {}),
    ...(idleTimeoutMs !== undefined ? { idleTimeout: millis(idleTimeoutMs) } : {}),
  });
  return withIntentions(route, snap);
}

/** A RouteConfiguration (and its one virtual host) named `name`, sending every request to `cluster`. */
export function catchAllRoute(name: string, cluster: string, action: Partial<RouteAction>, validateClusters = false): RouteConfiguration {
  return RouteConfiguration.fromPartial({
    name,
    virtualHosts: [{ name, domains: ['*'], routes: [{ match: { pathSpecifier: { $case: 'prefix', value: '/' } }, action: { $case: 'route', value: { ...action, clusterSpecifier: { $case: 'cluster', value: cluster } } } }] }],
    validateClusters,
  });
}

/** The route's virtual hosts with the intentions as the HTTP RBAC filter's per-route config (checked per request). */
export function withIntentions(route: RouteConfiguration, intentions: IntentionInputs): RouteConfiguration {
  const rbac = pack(RBACPerRoute, RBACPerRoute.fromPartial({ rbac: { rules: intentionRules(intentions, true) } }));
  return { ...route, virtualHosts: route.virtualHosts.map((vh) => ({ ...vh, typedPerFilterConfig: { [HTTP_RBAC_FILTER]: rbac } })) };
}


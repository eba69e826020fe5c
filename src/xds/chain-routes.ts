// The RouteConfiguration of an HTTP upstream, from its discovery chain (Consul's
// makeUpstreamRouteForDiscoveryChain): named after the upstream, one virtual host matching every
// domain; a router's routes in order (path exact / prefix / regex, headers, query parameters,
// methods), then the catch-all; each route to its next node's cluster, or to weighted clusters
// for a splitter (weights in hundredths of a percent, as Consul sends them); a destination's
// retries, timeouts, prefix rewrite and header changes; the resolver's hash policies.
import type { ChainRoute, CompiledDiscoveryChain, HttpRouteMatch, LoadBalancer, RouteDestination } from '../catalog/config/chain.js';
import { parseDuration } from '../core/duration.js';
import { upstreamRouteName } from '../core/names.js';
import { HeaderValueOption_HeaderAppendAction, type HeaderValueOption } from '../gen/envoy/config/core/v3/base.js';
import type { HeaderMatcher, QueryParameterMatcher, Route, RouteAction, RouteAction_HashPolicy, RouteMatch } from '../gen/envoy/config/route/v3/route_components.js';
import { RouteConfiguration } from '../gen/envoy/config/route/v3/route.js';
import type { HeaderChanges, UpstreamShape } from '../proxycfg/snapshot.js';
import { millis } from './address.js';
import { resolverClusterName } from './chain-clusters.js';

const regex = (value: string) => ({ regex: value });

/** A route's (or an L7 intention permission's) header match. */
export function headerMatcher(h: NonNullable<HttpRouteMatch['Header']>[number]): HeaderMatcher {
  const base = { name: h.Name, invertMatch: h.Invert ?? false, treatMissingHeaderAsEmpty: false };
  if (h.Exact !== undefined) return { ...base, headerMatchSpecifier: { $case: 'stringMatch', value: { matchPattern: { $case: 'exact', value: h.Exact }, ignoreCase: false } } };
  if (h.Prefix !== undefined) return { ...base, headerMatchSpecifier: { $case: 'stringMatch', value: { matchPattern: { $case: 'prefix', value: h.Prefix }, ignoreCase: false } } };
  if (h.Suffix !== undefined) return { ...base, headerMatchSpecifier: { $case: 'stringMatch', value: { matchPattern: { $case: 'suffix', value: h.Suffix }, ignoreCase: false } } };
  if (h.Regex !== undefined) return { ...base, headerMatchSpecifier: { $case: 'stringMatch', value: { matchPattern: { $case: 'safeRegex', value: regex(h.Regex) }, ignoreCase: false } } };
  return { ...base, headerMatchSpecifier: { $case: 'presentMatch', value: true } };
}

function queryMatcher(q: NonNullable<HttpRouteMatch['QueryParam']>[number]): QueryParameterMatcher {
  if (q.Exact !== undefined) return { name: q.Name, queryParameterMatchSpecifier: { $case: 'stringMatch', value: { matchPattern: { $case: 'exact', value: q.Exact }, ignoreCase: false } } };
  if (q.Regex !== undefined) return { name: q.Name, queryParameterMatchSpecifier: { $case: 'stringMatch', value: { matchPattern: { $case: 'safeRegex', value: regex(q.Regex) }, ignoreCase: false } } };
  return { name: q.Name, queryParameterMatchSpecifier: { $case: 'presentMatch', value: true } };
}

/** `:method` matching any of `methods` (Consul's regex of them joined by `|`). */
export function methodsMatcher(methods: readonly string[]): HeaderMatcher {
  return { name: ':method', invertMatch: false, treatMissingHeaderAsEmpty: false, headerMatchSpecifier: { $case: 'stringMatch', value: { matchPattern: { $case: 'safeRegex', value: regex(methods.join('|')) }, ignoreCase: false } } };
}

export function routeMatch(m: HttpRouteMatch | undefined): RouteMatch {
  const pathSpecifier: RouteMatch['pathSpecifier'] = m?.PathExact
    ? { $case: 'path', value: m.PathExact }
    : m?.PathRegex
      ? { $case: 'safeRegex', value: regex(m.PathRegex) }
      : { $case: 'prefix', value: m?.PathPrefix || '/' };
  const headers = (m?.Header ?? []).map(headerMatcher);
  if (m?.Methods?.length) headers.push(methodsMatcher(m.Methods));
  return {
    pathSpecifier,
    ...(m?.CaseInsensitive ? { caseSensitive: false } : {}),
    headers,
    queryParameters: (m?.QueryParam ?? []).map(queryMatcher),
    grpc: undefined,
    tlsContext: undefined,
    dynamicMetadata: [],
    filterState: [],
  } as RouteMatch;
}

/** Header changes: Add appends, Set overwrites, Remove removes (Consul's RequestHeaders / ResponseHeaders). */
export function headerChanges(h: HeaderChanges | undefined): { add: HeaderValueOption[]; remove: string[] } {
  const option = (key: string, value: string, appendAction: HeaderValueOption_HeaderAppendAction): HeaderValueOption =>
    ({ header: { key, value, rawValue: new Uint8Array() }, appendAction, keepEmptyValue: false }) as HeaderValueOption;
  const add = [
    ...Object.entries(h?.Add ?? {}).map(([k, v]) => option(k, v, HeaderValueOption_HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD)),
    ...Object.entries(h?.Set ?? {}).map(([k, v]) => option(k, v, HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)),
  ];
  return { add, remove: [...(h?.Remove ?? [])] };
}

export function hashPolicies(lb: LoadBalancer | undefined): RouteAction_HashPolicy[] {
  return (lb?.HashPolicies ?? []).map((p): RouteAction_HashPolicy => {
    const terminal = p.Terminal ?? false;
    if (p.SourceIP) return { terminal, policySpecifier: { $case: 'connectionProperties', value: { sourceIp: true } } };
    if (p.Field === 'cookie') {
      const c = p.CookieConfig;
      const ttl = c?.Session ? millis(0) : c?.TTL ? millis(Math.round(c.TTL / 1_000_000)) : undefined;
      return { terminal, policySpecifier: { $case: 'cookie', value: { name: p.FieldValue ?? '', path: c?.Path ?? '', attributes: [], ...(ttl ? { ttl } : {}) } } };
    }
    if (p.Field === 'query_parameter') return { terminal, policySpecifier: { $case: 'queryParameter', value: { name: p.FieldValue ?? '' } } };
    return { terminal, policySpecifier: { $case: 'header', value: { headerName: p.FieldValue ?? '' } } };
  });
}

/** Retries as Consul sets them: NumRetries, connect-failure, retriable status codes, RetryOn. */
function retryPolicy(d: RouteDestination | undefined): Partial<RouteAction> {
  if (!d) return {};
  const on = [...(d.RetryOnConnectFailure ? ['connect-failure'] : []), ...(d.RetryOnStatusCodes?.length ? ['retriable-status-codes'] : []), ...(d.RetryOn ?? [])];
  if (!d.NumRetries && on.length === 0) return {};
  return {
    retryPolicy: {
      retryOn: on.join(','),
      ...(d.NumRetries ? { numRetries: d.NumRetries } : {}),
      retriableStatusCodes: [...(d.RetryOnStatusCodes ?? [])],
    } as RouteAction['retryPolicy'],
  };
}

interface Target {
  readonly clusterSpecifier: RouteAction['clusterSpecifier'];
  /** The resolver's (first resolver's, for a split) request timeout and load balancer. */
  readonly requestTimeoutMs?: number;
  readonly loadBalancer?: LoadBalancer;
}

function nodeTarget(chain: CompiledDiscoveryChain, nodeName: string, trustDomain: string): Target {
  const node = chain.nodes[nodeName];
  if (node?.type === 'splitter') {
    const first = node.splits[0] ? chain.nodes[node.splits[0].nextNode] : undefined;
    const clusters = node.splits.map((s) => {
      const h = headerChanges(s.requestHeaders);
      const r = headerChanges(s.responseHeaders);
      return {
        name: resolverClusterName(chain, s.nextNode, trustDomain),
        weight: Math.round(s.weight * 100),
        requestHeadersToAdd: h.add,
        requestHeadersToRemove: h.remove,
        responseHeadersToAdd: r.add,
        responseHeadersToRemove: r.remove,
      };
    });
    return {
      clusterSpecifier: { $case: 'weightedClusters', value: { clusters } } as unknown as RouteAction['clusterSpecifier'],
      ...(first?.type === 'resolver' && first.loadBalancer ? { loadBalancer: first.loadBalancer } : {}),
    };
  }
  if (node?.type !== 'resolver') throw new Error(`chain of ${chain.serviceName}: ${nodeName} is not a splitter or resolver`);
  return {
    clusterSpecifier: { $case: 'cluster', value: resolverClusterName(chain, nodeName, trustDomain) },
    ...(node.requestTimeoutMs ? { requestTimeoutMs: node.requestTimeoutMs } : {}),
    ...(node.loadBalancer ? { loadBalancer: node.loadBalancer } : {}),
  };
}

function route(chain: CompiledDiscoveryChain, r: ChainRoute, trustDomain: string): Route {
  const d = r.destination;
  const target = nodeTarget(chain, r.nextNode, trustDomain);
  const timeoutMs = d?.RequestTimeout ? parseDuration('RequestTimeout', d.RequestTimeout) : target.requestTimeoutMs;
  const req = headerChanges(d?.RequestHeaders);
  const res = headerChanges(d?.ResponseHeaders);
  const hash = hashPolicies(target.loadBalancer);
  const action = {
    clusterSpecifier: target.clusterSpecifier,
    ...(timeoutMs !== undefined ? { timeout: millis(timeoutMs) } : {}),
    ...(d?.IdleTimeout ? { idleTimeout: millis(parseDuration('IdleTimeout', d.IdleTimeout)) } : {}),
    ...(d?.PrefixRewrite ? { prefixRewrite: d.PrefixRewrite } : {}),
    ...retryPolicy(d),
    ...(hash.length ? { hashPolicy: hash } : {}),
  } as RouteAction;
  return {
    match: routeMatch(r.match),
    action: { $case: 'route', value: action },
    requestHeadersToAdd: req.add,
    requestHeadersToRemove: req.remove,
    responseHeadersToAdd: res.add,
    responseHeadersToRemove: res.remove,
  } as unknown as Route;
}

/** The routes of a chain's start node: a router's, else one catch-all to its splitter or resolver. */
export function chainRoutes(chain: CompiledDiscoveryChain, trustDomain: string): Route[] {
  const start = chain.nodes[chain.startNode];
  const routes: readonly ChainRoute[] = start?.type === 'router' ? start.routes : [{ nextNode: chain.startNode }];
  return routes.map((r) => route(chain, r, trustDomain));
}

/** What an upstream's RouteConfiguration is built from: not its bind address, so proxies with the same upstream share it. */
export const ROUTE_UPSTREAM_FIELDS = ['id', 'chain', 'protocol'] as const;

export function upstreamRouteConfiguration(trustDomain: string, u: Pick<UpstreamShape, 'id' | 'chain'>): RouteConfiguration {
  const name = upstreamRouteName(u.id);
  return RouteConfiguration.fromPartial({
    name,
    virtualHosts: [{ name, domains: ['*'], routes: chainRoutes(u.chain, trustDomain) }],
    validateClusters: false,
  });
}

/** The cluster a tcp upstream's listener sends to: its start resolver's. */
export function tcpUpstreamCluster(trustDomain: string, u: Pick<UpstreamShape, 'id' | 'chain'>): string {
  const start = u.chain.nodes[u.chain.startNode];
  if (start?.type !== 'resolver') throw new Error(`upstream ${u.id}: a tcp chain starts at a resolver`);
  return resolverClusterName(u.chain, start.name, trustDomain);
}

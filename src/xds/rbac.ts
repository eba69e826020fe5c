// Intentions -> the public listener's RBAC filter: the network filter for tcp (checked once per
// connection), the HTTP filter for http, http2 and grpc (checked per request, so a new deny
// intention also stops requests on connections that are already open, as in Consul). Only the intentions that differ from
// the default policy become principals: under default deny an ALLOW policy lists the permitted
// sources, under default allow a DENY policy lists the refused ones. A wildcard intention is
// narrowed by every higher-precedence intention of the opposite action it covers, so
// `* allow` + `web deny` allows every source except web (as Consul's agent/xds/rbac.go does).
// Principals match the peer certificate's URI SAN (its SPIFFE ID) by regex: see sourcePrincipal.
import type { Intention } from '../catalog/types.js';
import { CONNECT_AUTHZ_STAT_PREFIX } from '../core/names.js';
import { pack } from '../core/proto.js';
import type { Filter } from '../gen/envoy/config/listener/v3/listener_components.js';
import { Principal, RBAC as RbacRules, RBAC_Action } from '../gen/envoy/config/rbac/v3/rbac.js';
import { RBAC as HttpRBAC } from '../gen/envoy/extensions/filters/http/rbac/v3/rbac.js';
import type { HttpFilter } from '../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.js';
import { RBAC } from '../gen/envoy/extensions/filters/network/rbac/v3/rbac.js';
import type { ConnectProxySnapshot } from '../proxycfg/snapshot.js';

export const NETWORK_RBAC_FILTER = 'envoy.filters.network.rbac';
export const HTTP_RBAC_FILTER = 'envoy.filters.http.rbac';
/** The one policy's name in the RBAC rules. */
export const INTENTIONS_POLICY = 'consul-intentions-layer4';

const WILDCARD = '*';

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The principal of an intention's source: a URI SAN regex with the names (or `[^/]+` for a
 * wildcard) and any datacenter. Intentions name services, not datacenters, and every
 * datacenter shares the trust domain: an exact-URI match on our own datacenter would refuse an
 * allowed service calling from another one and, worse, let a denied service from another
 * datacenter slip past the exclusion that narrows a wildcard allow. (Consul matches the same way.)
 */
function sourcePrincipal(i: Intention, snap: ConnectProxySnapshot): Principal {
  const ns = i.SourceNS === WILDCARD ? '[^/]+' : escapeRegex(i.SourceNS);
  const svc = i.SourceName === WILDCARD ? '[^/]+' : escapeRegex(i.SourceName);
  const regex = `^spiffe://${escapeRegex(snap.trustDomain)}/ns/${ns}/dc/[^/]+/svc/${svc}$`;
  return Principal.fromPartial({ identifier: { $case: 'authenticated', value: { principalName: { matchPattern: { $case: 'safeRegex', value: { regex } } } } } });
}

function sourceKey(i: Intention): string {
  return `${i.SourceNS}/${i.SourceName}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Does `wide`'s source cover `narrow`'s (same or wildcard namespace and name)? */
function covers(wide: Intention, narrow: Intention): boolean {
  const part = (w: string, n: string) => w === WILDCARD || w === n;
  return part(wide.SourceNS, narrow.SourceNS) && part(wide.SourceName, narrow.SourceName);
}

/** Principals of the intentions with `action`, each minus the opposite decisions that outrank it. */
export function intentionPrincipals(snap: ConnectProxySnapshot, action: Intention['Action']): Principal[] {
  // Precedence, then source: independent of intention ids, so output depends only on meaning.
  const ordered = [...snap.intentions].sort((a, b) => b.Precedence - a.Precedence || compareText(sourceKey(a), sourceKey(b)));
  const out: Principal[] = [];
  ordered.forEach((intention, index) => {
    if (intention.Action !== action) return;
    const outranking = ordered
      .slice(0, index)
      .filter((o) => o.Action !== action && o.Precedence > intention.Precedence && covers(intention, o))
      .map((o) => sourcePrincipal(o, snap));
    const own = sourcePrincipal(intention, snap);
    if (outranking.length === 0) {
      out.push(own);
      return;
    }
    const excluded: Principal = outranking.length === 1 ? outranking[0]! : { identifier: { $case: 'orIds', value: { ids: outranking } } };
    out.push({ identifier: { $case: 'andIds', value: { ids: [own, { identifier: { $case: 'notId', value: excluded } }] } } });
  });
  return out;
}

/** The RBAC rules enforcing the snapshot's intentions and default policy. */
export function intentionRules(snap: ConnectProxySnapshot): RbacRules {
  const defaultDeny = snap.defaultIntentionPolicy === 'deny';
  const principals = intentionPrincipals(snap, defaultDeny ? 'allow' : 'deny');
  return RbacRules.fromPartial({
    action: defaultDeny ? RBAC_Action.ALLOW : RBAC_Action.DENY,
    policies: principals.length === 0 ? {} : { [INTENTIONS_POLICY]: { permissions: [{ rule: { $case: 'any', value: true } }], principals } },
  });
}

/** The network RBAC filter (tcp public listeners). */
export function networkRbacFilter(snap: ConnectProxySnapshot): Filter {
  const rbac = RBAC.fromPartial({ statPrefix: CONNECT_AUTHZ_STAT_PREFIX, rules: intentionRules(snap) });
  return { name: NETWORK_RBAC_FILTER, configType: { $case: 'typedConfig', value: pack(RBAC, rbac) } };
}

/**
 * The HTTP RBAC filter (http, http2 and grpc public listeners), ahead of the router. Its rules
 * come per route from the public listener's RouteConfiguration (routes.ts); the filter-level
 * config denies everything, so a route without them (there is none) fails closed.
 */
export function httpRbacFilter(): HttpFilter {
  const rbac = HttpRBAC.fromPartial({ rules: { action: RBAC_Action.ALLOW, policies: {} }, rulesStatPrefix: `${CONNECT_AUTHZ_STAT_PREFIX}.` });
  return { name: HTTP_RBAC_FILTER, isOptional: false, disabled: false, configType: { $case: 'typedConfig', value: pack(HttpRBAC, rbac) } };
}

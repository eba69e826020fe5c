// Intentions -> the public listener's RBAC filter: the network filter for tcp (checked once per
// connection), the HTTP filter for http, http2 and grpc (checked per request, so a new deny
// intention also stops requests on connections that are already open, as in Consul). Only the intentions that differ from
// the default policy become principals: under default deny an ALLOW policy lists the permitted
// sources, under default allow a DENY policy lists the refused ones. A wildcard intention is
// narrowed by every higher-precedence intention of the opposite action it covers, so
// `* allow` + `web deny` allows every source except web (as Consul's agent/xds/rbac.go does).
// Principals match the peer certificate's URI SAN (its SPIFFE ID) by regex: see sourcePrincipal.
import { CONNECT_AUTHZ_STAT_PREFIX, spiffeServicePattern } from '../core/names.js';
import { pack } from '../core/proto.js';
import type { Filter } from '../gen/envoy/config/listener/v3/listener_components.js';
import { Principal, RBAC as RbacRules, RBAC_Action } from '../gen/envoy/config/rbac/v3/rbac.js';
import { RBAC as HttpRBAC } from '../gen/envoy/extensions/filters/http/rbac/v3/rbac.js';
import type { HttpFilter } from '../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.js';
import { RBAC } from '../gen/envoy/extensions/filters/network/rbac/v3/rbac.js';
import type { ConnectProxySnapshot, IntentionSource } from '../proxycfg/snapshot.js';

/** What the intentions' RBAC rules are built from. */
export type IntentionInputs = Pick<ConnectProxySnapshot, 'intentions' | 'defaultIntentionPolicy' | 'trustDomain'>;

export const NETWORK_RBAC_FILTER = 'envoy.filters.network.rbac';
export const HTTP_RBAC_FILTER = 'envoy.filters.http.rbac';
/** The one policy's name in the RBAC rules. */
export const INTENTIONS_POLICY = 'consul-intentions-layer4';

const WILDCARD = '*';

/**
 * The principal of an intention's source: a URI SAN regex with the names (or `[^/]+` for a
 * wildcard) and any datacenter. Intentions name services, not datacenters, and every
 * datacenter shares the trust domain: an exact-URI match on our own datacenter would refuse an
 * allowed service calling from another one and, worse, let a denied service from another
 * datacenter slip past the exclusion that narrows a wildcard allow. (Consul matches the same way.)
 */
function sourcePrincipal(i: IntentionSource, snap: Pick<IntentionInputs, 'trustDomain'>): Principal {
  const regex = spiffeServicePattern(snap.trustDomain, i.sourceNamespace === WILDCARD ? undefined : i.sourceNamespace, i.sourceName === WILDCARD ? undefined : i.sourceName);
  return Principal.fromPartial({ identifier: { $case: 'authenticated', value: { principalName: { matchPattern: { $case: 'safeRegex', value: { regex } } } } } });
}

function sourceKey(i: IntentionSource): string {
  return `${i.sourceNamespace}/${i.sourceName}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Does `wide`'s source cover `narrow`'s (same or wildcard namespace and name)? */
function covers(wide: IntentionSource, narrow: IntentionSource): boolean {
  const part = (w: string, n: string) => w === WILDCARD || w === n;
  return part(wide.sourceNamespace, narrow.sourceNamespace) && part(wide.sourceName, narrow.sourceName);
}

/** Principals of the intentions with `action`, each minus the opposite decisions that outrank it. */
export function intentionPrincipals(snap: IntentionInputs, action: IntentionSource['action']): Principal[] {
  // Precedence, then source: independent of intention ids, so output depends only on meaning.
  const ordered = [...snap.intentions].sort((a, b) => b.precedence - a.precedence || compareText(sourceKey(a), sourceKey(b)));
  const out: Principal[] = [];
  ordered.forEach((intention, index) => {
    if (intention.action !== action) return;
    const outranking = ordered
      .slice(0, index)
      .filter((o) => o.action !== action && o.precedence > intention.precedence && covers(intention, o))
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
export function intentionRules(snap: IntentionInputs): RbacRules {
  const defaultDeny = snap.defaultIntentionPolicy === 'deny';
  const principals = intentionPrincipals(snap, defaultDeny ? 'allow' : 'deny');
  return RbacRules.fromPartial({
    action: defaultDeny ? RBAC_Action.ALLOW : RBAC_Action.DENY,
    policies: principals.length === 0 ? {} : { [INTENTIONS_POLICY]: { permissions: [{ rule: { $case: 'any', value: true } }], principals } },
  });
}

/** The network RBAC filter (tcp public listeners). */
export function networkRbacFilter(snap: IntentionInputs): Filter {
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

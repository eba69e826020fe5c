// Intentions -> the public listener's RBAC filter: the network filter for tcp (checked once per
// connection), the HTTP filter for http, http2 and grpc (checked per request, so a new deny
// intention also stops requests on connections that are already open, as in Consul). Only the intentions that differ from
// the default policy become principals: under default deny an ALLOW policy lists the permitted
// sources, under default allow a DENY policy lists the refused ones. A wildcard intention is
// narrowed by every higher-precedence intention of the opposite action it covers, so
// `* allow` + `web deny` allows every source except web (as Consul's agent/xds/rbac.go does).
// L7 intentions (Permissions) on HTTP listeners: one policy per source with its permissions,
// each permission minus those before it; a request no permission matches gets the default.
// Principals match the peer certificate's URI SAN (its SPIFFE ID) by regex: see sourcePrincipal.
import { CONNECT_AUTHZ_STAT_PREFIX, spiffeServicePattern } from '../core/names.js';
import { pack } from '../core/proto.js';
import type { Filter } from '../gen/envoy/config/listener/v3/listener_components.js';
import { Policy, Principal, RBAC as RbacRules, RBAC_Action, type Permission } from '../gen/envoy/config/rbac/v3/rbac.js';
import type { StringMatcher } from '../gen/envoy/type/matcher/v3/string.js';
import type { IntentionPermission } from '../catalog/intentions/schema.js';
import { headerMatcher, methodsMatcher } from './chain-routes.js';
import { RBAC as HttpRBAC } from '../gen/envoy/extensions/filters/http/rbac/v3/rbac.js';
import type { HttpFilter } from '../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.js';
import { RBAC } from '../gen/envoy/extensions/filters/network/rbac/v3/rbac.js';
import type { ConnectProxySnapshot, IntentionSource } from '../proxycfg/snapshot.js';

/** What the intentions' RBAC rules are built from. */
export type IntentionInputs = Pick<ConnectProxySnapshot, 'intentions' | 'defaultIntentionPolicy' | 'trustDomain'>;

export const NETWORK_RBAC_FILTER = 'envoy.filters.network.rbac';
export const HTTP_RBAC_FILTER = 'envoy.filters.http.rbac';
/** The policy of the intentions decided per connection (or without permissions). */
export const INTENTIONS_POLICY = 'consul-intentions-layer4';
/** The prefix of each L7 intention's policy. */
export const INTENTIONS_L7_POLICY = 'consul-intentions-layer7';

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

/** How an intention decides on a listener: allow, deny, or per request by its permissions (L7). */
type Decision = 'allow' | 'deny' | 'l7';

function decisionOf(i: IntentionSource, http: boolean): Decision {
  // On a tcp listener an L7 intention denies (its stored Action), as Consul's.
  return http && i.permissions?.length ? 'l7' : i.action;
}

/** One permission's Envoy rule: path, headers and methods all must match (any when it has none). */
function permissionRule(p: IntentionPermission): Permission {
  const parts: Permission[] = [];
  const h = p.HTTP;
  const path = (matchPattern: StringMatcher['matchPattern']): Permission => ({ rule: { $case: 'urlPath', value: { rule: { $case: 'path', value: { matchPattern, ignoreCase: false } } } } });
  if (h?.PathExact !== undefined) parts.push(path({ $case: 'exact', value: h.PathExact }));
  else if (h?.PathPrefix !== undefined) parts.push(path({ $case: 'prefix', value: h.PathPrefix }));
  else if (h?.PathRegex !== undefined) parts.push(path({ $case: 'safeRegex', value: { regex: h.PathRegex } }));
  for (const header of h?.Header ?? []) parts.push({ rule: { $case: 'header', value: headerMatcher(header) } });
  if (h?.Methods?.length) parts.push({ rule: { $case: 'header', value: methodsMatcher(h.Methods) } });
  return andPermissions(parts);
}

function andPermissions(rules: Permission[]): Permission {
  if (rules.length === 0) return { rule: { $case: 'any', value: true } };
  if (rules.length === 1) return rules[0]!;
  return { rule: { $case: 'andRules', value: { rules } } };
}

/**
 * An L7 intention's permissions without their order: each one minus every permission listed
 * before it (the first that matches decides), keeping only those whose action differs from the
 * default policy's. Empty when every permission agrees with the default.
 */
function policyPermissions(permissions: readonly IntentionPermission[], defaultAction: 'allow' | 'deny'): Permission[] {
  const rules = permissions.map(permissionRule);
  const out: Permission[] = [];
  permissions.forEach((p, index) => {
    if (p.Action === defaultAction) return;
    const earlier = rules.slice(0, index).reverse().map((r): Permission => ({ rule: { $case: 'notRule', value: r } }));
    out.push(earlier.length === 0 ? rules[index]! : andPermissions([rules[index]!, ...earlier]));
  });
  return out;
}

interface Ranked {
  readonly intention: IntentionSource;
  readonly decision: Decision;
  readonly principal: Principal;
}

/**
 * The intentions that differ from the default policy, each with its principal minus the sources
 * of the higher-precedence intentions it covers that decide otherwise (for L7 ones: any, since
 * two L7 intentions' permissions differ), highest precedence first. A lower-precedence intention
 * whose source an earlier one already names (web -> db, then web -> *) is dropped, as in Consul.
 */
function rankedIntentions(snap: IntentionInputs, http: boolean): Ranked[] {
  const defaultAction = snap.defaultIntentionPolicy;
  // Precedence, then source: independent of intention ids, so output depends only on meaning.
  const seen = new Set<string>();
  const ordered = [...snap.intentions]
    .sort((a, b) => b.precedence - a.precedence || compareText(sourceKey(a), sourceKey(b)))
    .filter((i) => (seen.has(sourceKey(i)) ? false : (seen.add(sourceKey(i)), true)));
  const out: Ranked[] = [];
  ordered.forEach((intention, index) => {
    const decision = decisionOf(intention, http);
    if (decision === defaultAction) return;
    const outranking = ordered
      .slice(0, index)
      .filter((o) => o.precedence > intention.precedence && covers(intention, o) && (decision === 'l7' || decisionOf(o, http) !== decision))
      .map((o) => sourcePrincipal(o, snap));
    const own = sourcePrincipal(intention, snap);
    if (outranking.length === 0) {
      out.push({ intention, decision, principal: own });
      return;
    }
    const excluded: Principal = outranking.length === 1 ? outranking[0]! : { identifier: { $case: 'orIds', value: { ids: outranking } } };
    out.push({ intention, decision, principal: { identifier: { $case: 'andIds', value: { ids: [own, { identifier: { $case: 'notId', value: excluded } }] } } } });
  });
  return out;
}

/**
 * The RBAC rules enforcing the snapshot's intentions and default policy: under default deny an
 * ALLOW list, under default allow a DENY list. Plain intentions share one policy
 * (`consul-intentions-layer4`); on HTTP listeners (`http`) each L7 intention is a policy of its
 * own, `consul-intentions-layer7-<n>`, with its permissions (Consul's names; n counts the
 * policies' sources in precedence order).
 */
export function intentionRules(snap: IntentionInputs, http = false): RbacRules {
  const defaultAction = snap.defaultIntentionPolicy;
  const policies: Record<string, Policy> = {};
  const layer4: Principal[] = [];
  let n = 0;
  for (const r of rankedIntentions(snap, http)) {
    if (r.decision !== 'l7') {
      layer4.push(r.principal);
      n++;
      continue;
    }
    const permissions = policyPermissions(r.intention.permissions ?? [], defaultAction);
    if (permissions.length === 0) continue;
    policies[`${INTENTIONS_L7_POLICY}-${n++}`] = Policy.fromPartial({ permissions, principals: [r.principal] });
  }
  if (layer4.length > 0) policies[INTENTIONS_POLICY] = Policy.fromPartial({ permissions: [{ rule: { $case: 'any', value: true } }], principals: layer4 });
  return RbacRules.fromPartial({ action: defaultAction === 'deny' ? RBAC_Action.ALLOW : RBAC_Action.DENY, policies });
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
  // No rules stat prefix, as Consul's: its stats are `http.public_listener.rbac.allowed` / `.denied`.
  const rbac = HttpRBAC.fromPartial({ rules: { action: RBAC_Action.ALLOW, policies: {} } });
  return { name: HTTP_RBAC_FILTER, isOptional: false, disabled: false, configType: { $case: 'typedConfig', value: pack(HttpRBAC, rbac) } };
}

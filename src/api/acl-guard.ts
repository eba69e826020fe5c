// The HTTP side of ACLs: the request's token (X-Consul-Token, Authorization: Bearer, ?token=, in
// Consul's order; `acl.tokens.default` when it carries none), what every route requires of it
// (Route.acl, enforced by the server through `requestAcl`), and Consul's 403s: "ACL not found"
// for an unknown token, "Permission denied: token with AccessorID '…' lacks permission '…'" when
// denied. Reads that list filter silently instead, and say so in X-Consul-Results-Filtered-By-ACLs.
// With ACLs disabled every request is allowed.
import type { Resolved, TokenResolver } from '../acl/resolve.js';
import type { Resource, Want } from '../acl/authorizer.js';
import { PermissionDeniedError } from '../core/errors.js';
import type { ApiRequest, ApiResponse, RequestAcl, RouteAcl } from './route.js';

export interface AclGuard {
  readonly enabled: boolean;
  readonly resolver: TokenResolver;
  /** `acl.tokens.default`: the token of a request that carries none (else the anonymous token). */
  readonly defaultToken?: string;
}

type TokenSource = Pick<ApiRequest, 'headers' | 'query'>;

/** The secret the request presents, if any. */
export function requestToken(req: TokenSource): string | undefined {
  const header = req.headers['x-consul-token'];
  if (header) return header;
  const auth = req.headers['authorization'];
  const bearer = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
  if (bearer) return bearer;
  return req.query.get('token') || undefined;
}

/** The secret in effect: the request's, else the agent's default token. */
function effectiveToken(guard: AclGuard, req: TokenSource): string | undefined {
  return requestToken(req) ?? (guard.defaultToken || undefined);
}

/** The denial Consul writes (acl.PermissionDeniedError). */
export function deniedMessage(accessor: string, resource: Resource, want: Want, name?: string): string {
  return `Permission denied: token with AccessorID '${accessor}' lacks permission '${resource}:${want}'${name ? ` on "${name}"` : ''}`;
}

/**
 * Throws a PermissionDeniedError (403) unless the request's token allows `want` on `resource`
 * (named `name`); returns the resolution, or undefined when ACLs are disabled.
 */
export function authorize(guard: AclGuard, req: TokenSource, resource: Resource, want: Want, name?: string): Resolved | undefined {
  if (!guard.enabled) return undefined;
  const resolved = guard.resolver.resolve(effectiveToken(guard, req));
  if (!resolved.authorizer.allows(resource, want, name ?? '')) throw new PermissionDeniedError(deniedMessage(resolved.token.AccessorID, resource, want, name));
  return resolved;
}

/** Whether the request may `want` on `resource` (true with ACLs disabled); unknown tokens still 403. */
export function allowed(guard: AclGuard, req: TokenSource, resource: Resource, want: Want, name?: string): boolean {
  if (!guard.enabled) return true;
  return guard.resolver.resolve(effectiveToken(guard, req)).authorizer.allows(resource, want, name ?? '');
}

/** Everything allowed: ACLs disabled, or a request built without the server (tests, in-process callers). */
export const OPEN_ACL: RequestAcl = { enabled: false, secret: undefined, allows: () => true, require: () => undefined };

/**
 * What the request's token may do, for a route requiring `rule`: resolved at once (an unknown
 * token is 403 "ACL not found") unless the route requires nothing, and a `need` rule checked.
 */
export function requestAcl(guard: AclGuard | undefined, rule: RouteAcl, req: ApiRequest): RequestAcl {
  if (!guard?.enabled) return { ...OPEN_ACL, secret: guard ? effectiveToken(guard, req) : undefined };
  const secret = effectiveToken(guard, req);
  let resolved: Resolved | undefined;
  const get = () => (resolved ??= guard.resolver.resolve(secret));
  const acl: RequestAcl = {
    enabled: true,
    secret,
    allows: (resource, want, name) => get().authorizer.allows(resource, want, name ?? ''),
    require: (resource, want, name) => {
      if (!get().authorizer.allows(resource, want, name ?? '')) throw new PermissionDeniedError(deniedMessage(get().token.AccessorID, resource, want, name));
    },
  };
  if (rule.kind === 'none') return acl;
  get();
  if (rule.kind === 'need') acl.require(rule.resource, rule.want, rule.name?.(req));
  return acl;
}

/** What the request may do (everything when the server did not resolve it). */
export function aclOf(req: Pick<ApiRequest, 'acl'>): RequestAcl {
  return req.acl ?? OPEN_ACL;
}

/** A route that requires nothing, and why. */
export function open(why: string): RouteAcl {
  return { kind: 'none', why };
}

/** A route that requires `resource:want` (on the name the request gives, if any). */
export function need(resource: Resource, want: Want, name?: (req: ApiRequest) => string): RouteAcl {
  return name ? { kind: 'need', resource, want, name } : { kind: 'need', resource, want };
}

/** A read that answers only what the token may read. */
export const FILTERED: RouteAcl = { kind: 'filter' };

/** A route whose handler checks `what` (it depends on the body or the stored object). */
export function inHandler(what: string): RouteAcl {
  return { kind: 'handler', what };
}

/** The items the request may see, and whether any were left out. */
export function visible<T>(req: Pick<ApiRequest, 'acl'>, items: readonly T[], may: (acl: RequestAcl, item: T) => boolean): { items: T[]; hidden: boolean } {
  const acl = aclOf(req);
  if (!acl.enabled) return { items: [...items], hidden: false };
  const kept = items.filter((i) => may(acl, i));
  return { items: kept, hidden: kept.length !== items.length };
}

/** Consul's header on a read that ACLs filtered. */
export const FILTERED_HEADER = 'X-Consul-Results-Filtered-By-ACLs';

/**
 * The response, marked as filtered when `hidden` and the request carries a token (its own or
 * acl.tokens.default): Consul masks the header for unauthenticated requests, so that they learn
 * nothing of what exists (Server.maskResultsFilteredByACLs).
 */
export function markFiltered(req: Pick<ApiRequest, 'acl'>, res: ApiResponse, hidden: boolean): ApiResponse {
  return hidden && aclOf(req).secret ? { ...res, headers: { ...res.headers, [FILTERED_HEADER]: 'true' } } : res;
}

/** Consul's read filters: a service instance, a node, a check (its node, and its service if any), an instance with its node. */
export const mayRead = {
  service: (acl: RequestAcl, s: { readonly Service: string }) => acl.allows('service', 'read', s.Service),
  node: (acl: RequestAcl, n: { readonly Node: string }) => acl.allows('node', 'read', n.Node),
  check: (acl: RequestAcl, c: { readonly Node: string; readonly ServiceName: string }) => acl.allows('node', 'read', c.Node) && (c.ServiceName === '' || acl.allows('service', 'read', c.ServiceName)),
  /** The agent's own checks (Consul's agent filter): a service check by its service alone, a node check by the node. */
  agentCheck: (acl: RequestAcl, c: { readonly Node: string; readonly ServiceName: string }) => (c.ServiceName === '' ? acl.allows('node', 'read', c.Node) : acl.allows('service', 'read', c.ServiceName)),
  instance: (acl: RequestAcl, e: { readonly Node: { readonly Node: string }; readonly Service: { readonly Service: string } }) => acl.allows('node', 'read', e.Node.Node) && acl.allows('service', 'read', e.Service.Service),
};

/** A request URL as it may be logged: a `?token=` secret replaced (SecretIDs are never logged). */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(/([?&]token=)[^&]*/gi, '$1<hidden>');
}

/**
 * Consul's rule for writing a service instance: service:write on its name, on a connect proxy's
 * destination too, and on the name of the instance it replaces (same ID, another name).
 */
export function vetServiceWrite(acl: RequestAcl) {
  return (s: { readonly Service: string; readonly Kind?: string; readonly Proxy?: { readonly DestinationServiceName?: string } }, replaced?: { readonly Service: string }): void => {
    acl.require('service', 'write', s.Service);
    const destination = s.Kind === 'connect-proxy' ? s.Proxy?.DestinationServiceName : undefined;
    if (destination) acl.require('service', 'write', destination);
    if (replaced && replaced.Service !== s.Service) acl.require('service', 'write', replaced.Service);
  };
}

/** Consul's rule for changing a check: service:write on its service, node:write on its node for a node check. */
export function vetCheckWrite(acl: RequestAcl) {
  return (c: { readonly Node: string; readonly ServiceName: string }): void => {
    if (c.ServiceName) acl.require('service', 'write', c.ServiceName);
    else acl.require('node', 'write', c.Node);
  };
}

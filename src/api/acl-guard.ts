// The HTTP side of ACLs: the request's token (X-Consul-Token, Authorization: Bearer, ?token=, in
// Consul's order) and `authorize`, which answers Consul's 403s: "ACL not found" for an unknown
// token, "Permission denied: token with AccessorID '…' lacks permission '…'" when denied. With ACLs
// disabled every request is allowed. Routes call it with the permission Consul requires; so far
// only the /v1/acl/* routes do (issue 15 item 2 wires the rest).
import type { Resolved, TokenResolver } from '../acl/resolve.js';
import type { Resource, Want } from '../acl/authorizer.js';
import { PermissionDeniedError } from '../core/errors.js';
import type { ApiRequest } from './route.js';

export interface AclGuard {
  readonly enabled: boolean;
  readonly resolver: TokenResolver;
}

/** The secret the request presents, if any. */
export function requestToken(req: Pick<ApiRequest, 'headers' | 'query'>): string | undefined {
  const header = req.headers['x-consul-token'];
  if (header) return header;
  const auth = req.headers['authorization'];
  const bearer = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
  if (bearer) return bearer;
  return req.query.get('token') || undefined;
}

/** The denial Consul writes (acl.PermissionDeniedError). */
export function deniedMessage(accessor: string, resource: Resource, want: Want, name?: string): string {
  return `Permission denied: token with AccessorID '${accessor}' lacks permission '${resource}:${want}'${name ? ` on "${name}"` : ''}`;
}

/**
 * Throws a PermissionDeniedError (403) unless the request's token allows `want` on `resource`
 * (named `name`); returns the resolution, or undefined when ACLs are disabled.
 */
export function authorize(guard: AclGuard, req: Pick<ApiRequest, 'headers' | 'query'>, resource: Resource, want: Want, name?: string): Resolved | undefined {
  if (!guard.enabled) return undefined;
  const resolved = guard.resolver.resolve(requestToken(req));
  if (!resolved.authorizer.allows(resource, want, name ?? '')) throw new PermissionDeniedError(deniedMessage(resolved.token.AccessorID, resource, want, name));
  return resolved;
}

/** Whether the request may `want` on `resource` (true with ACLs disabled); unknown tokens still 403. */
export function allowed(guard: AclGuard, req: Pick<ApiRequest, 'headers' | 'query'>, resource: Resource, want: Want, name?: string): boolean {
  if (!guard.enabled) return true;
  return guard.resolver.resolve(requestToken(req)).authorizer.allows(resource, want, name ?? '');
}

/** A request URL as it may be logged: a `?token=` secret replaced (SecretIDs are never logged). */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(/([?&]token=)[^&]*/gi, '$1<hidden>');
}

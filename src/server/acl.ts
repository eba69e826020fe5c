// Who may hold an xDS stream, with ACLs enabled (issue 15 item 3), in Consul's terms
// (agent/xds/server.go `authorize`, re-checked by `checkStreamACLs` on every change):
// - an unknown token (deleted, expired, never created) is Unauthenticated "unauthenticated: ACL not found";
// - a sidecar (connect-proxy) needs `service:write` on its destination service, any other
//   registration (mesh, ingress, terminating gateway) `service:write` on its own service name,
//   so a token for A that claims the node id of B's sidecar is refused before anything is sent;
// - a terminating gateway gets only the linked services whose leaf its token may hold
//   (`service:write` on each, as Consul's leaf signing requires; mayHoldLeaf);
// - a proxyless gRPC client has no registration to check (Consul has no proxyless xDS): it needs
//   a token that resolves, and sees only the services that token may `service:read`, as Consul's
//   catalog and health endpoints filter what a token may read.
// Pure decisions; the composition root combines them with the token's and the registration's watches.
import type { Authorizer } from '../acl/authorizer.js';
import type { Resolved } from '../acl/resolve.js';
import type { ServiceInstance } from '../catalog/types.js';
import { Denied } from './source.js';

/** Consul's answer to a token it cannot find. */
export const ACL_NOT_FOUND = new Denied('unauthenticated', 'unauthenticated: ACL not found');

/** The service a registration's stream must be allowed to write: a sidecar's destination, else its own name. */
export function streamService(registration: ServiceInstance): string {
  return registration.Kind === 'connect-proxy' ? registration.Proxy?.DestinationServiceName || registration.Service : registration.Service;
}

/**
 * Whether a stream with this resolution (undefined: the token is not found) may be served as
 * `registration` (undefined: not registered yet, so nothing is sent and there is nothing to
 * check but the token); undefined when it may.
 */
export function proxyStreamDenial(resolved: Resolved | undefined, registration: ServiceInstance | undefined): Denied | undefined {
  if (!resolved) return ACL_NOT_FOUND;
  if (!registration) return undefined;
  const service = streamService(registration);
  if (resolved.authorizer.allows('service', 'write', service)) return undefined;
  return new Denied('permission-denied', `Permission denied: token with AccessorID '${resolved.token.AccessorID}' lacks permission 'service:write' on "${service}"`);
}

/**
 * Whether a stream holding `authorizer` may receive `service`'s leaf certificate and key: a
 * terminating gateway presents each linked service's identity, and Consul signs that leaf only for
 * a token with `service:write` on the service. A linked service the token may not write is served
 * by none of the gateway's resources (its leaf, chain, cluster).
 */
export function mayHoldLeaf(authorizer: Authorizer, service: string): boolean {
  return authorizer.allows('service', 'write', service);
}

/** Whether a proxyless client holding `authorizer` may see `service`. */
export function proxylessMayRead(authorizer: Authorizer, service: string): boolean {
  return authorizer.allows('service', 'read', service);
}

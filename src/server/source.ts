// The server's input port: desired resources per proxy. The composition root implements it
// (proxycfg snapshots -> xds generators); the server never reaches into proxycfg.
import type { Observable } from 'rxjs';
import type { ResourceSet } from '../core/resources.js';
import type { Node } from '../gen/envoy/config/core/v3/base.js';

/**
 * A desired set the server computes only when it gets to the stream (in its push queue, or to
 * answer a request), so a set superseded before then is never computed, and the work of one
 * change reaching many proxies is spread over the event loop. Throwing means generation failed
 * (the error's message says why, naming the fields at fault): the stream stays open and keeps
 * its current set, nothing new is sent, and the proxy's status shows the error until a later
 * set is computed.
 */
export type PendingResourceSet = () => ResourceSet;

/** Why a stream of a proxy that is not registered waits (shown in the proxy's xDS status). */
export const NOT_REGISTERED = 'proxy not registered';

/**
 * A registered proxy that cannot be served (its kind is not one the source configures): its
 * streams wait, sending nothing, and its status and the log say why.
 */
export class Waiting {
  constructor(readonly reason: string) {}
}

/**
 * The stream's token does not allow it to be served (ACLs, issue 15 item 3): the stream ends with
 * this gRPC status and message, whether or not anything was sent before. `unauthenticated` is
 * an unknown (deleted, expired) token, as Consul answers "ACL not found"; `permission-denied`
 * a token that lacks the permission the message names.
 */
export class Denied {
  constructor(
    readonly kind: 'unauthenticated' | 'permission-denied',
    readonly message: string,
  ) {}
}

/** What a stream presents about itself besides its node: its ACL token (gRPC metadata `x-consul-token`). */
export interface StreamCredentials {
  readonly token: string | undefined;
}

/** What a source emits for one stream. */
export type SourceValue = ResourceSet | PendingResourceSet | Waiting | Denied | undefined;

export interface ProxyResourceSource {
  /**
   * Desired resources of the proxy whose id is `nodeId` (Envoy's node.id). Emits a new
   * ResourceSet (or one to compute later) on every change, `undefined` while the proxy is not
   * registered, and a Waiting while it is registered but cannot be served.
   *
   * - A stream whose proxy is not registered yet (or cannot be served) waits, sending nothing,
   *   until a set arrives; its status shows the reason.
   * - A Waiting after a set (the proxy was re-registered as a kind that cannot be served) ends
   *   the stream with Aborted, as a deregistration does.
   * - `undefined` after a set (the proxy was deregistered) ends the stream with Aborted; the
   *   client keeps its last configuration and, on reconnect, waits until the proxy is back.
   * - Completing ends the stream with Aborted (source gone); an error ends it with Unavailable
   *   (the source cannot go on). A set that fails to generate is a PendingResourceSet that
   *   throws, which keeps the stream.
   *
   * - A Denied ends the stream with its status (Unauthenticated or PermissionDenied), at once:
   *   a source that checks ACLs emits it instead of any set the token may not have, and again
   *   whenever the token, its policies or the registration change so that it no longer may.
   *
   * `node` is the client's whole first-request node (user agent, metadata), for sources that
   * serve different kinds of clients (sidecars, proxyless gRPC); `credentials` what the stream
   * presented (its token).
   */
  watch(nodeId: string, node: Node, credentials: StreamCredentials): Observable<SourceValue>;
}

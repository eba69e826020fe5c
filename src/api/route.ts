// The contract every HTTP route module implements. The server (src/api/server.ts) parses the
// request, matches `pattern` (segments like `:name`, a trailing `*rest` takes the remainder),
// and maps thrown core errors to status codes (ValidationError 400, NotFoundError 404,
// ConflictError 409, RateLimitError 429, PermissionDeniedError 403). Every route declares what
// ACLs it requires (`acl`), so none can be added without one (issue 15).
import type { Resource, Want } from '../acl/authorizer.js';

export interface ApiRequest {
  readonly method: string;
  /** Path parameters from the pattern. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Parsed JSON body; undefined when the body was empty. */
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Aborted when the client goes away (ends blocking queries early). */
  readonly signal: AbortSignal;
  /** What the request's token may do (set by the server; absent: everything, as with ACLs disabled). */
  readonly acl?: RequestAcl;
}

/** The request's token, resolved: what it may do. With ACLs disabled it allows everything. */
export interface RequestAcl {
  readonly enabled: boolean;
  /** The secret in effect (the request's, else `acl.tokens.default`): sent on when the request is forwarded to another datacenter. */
  readonly secret: string | undefined;
  allows(resource: Resource, want: Want, name?: string): boolean;
  /** Throws Consul's 403 ("Permission denied: token with AccessorID '…' lacks permission '…'") unless allowed. */
  require(resource: Resource, want: Want, name?: string): void;
}

/**
 * What a route requires of the request's token (Consul's rule for the endpoint):
 * - `none`: nothing (the token is not even looked up), with the reason;
 * - `need`: one permission, checked by the server before the handler runs (`name` from the request);
 * - `filter`: a read that answers only what the token may read (an unknown token is still 403);
 * - `handler`: the handler checks, since what it needs depends on the body or the stored object.
 */
export type RouteAcl =
  | { readonly kind: 'none'; readonly why: string }
  | { readonly kind: 'need'; readonly resource: Resource; readonly want: Want; readonly name?: (req: ApiRequest) => string }
  | { readonly kind: 'filter' }
  | { readonly kind: 'handler'; readonly what: string };

export interface ApiResponse {
  readonly status?: number;
  /** Serialised as JSON unless `text` is set. */
  readonly body?: unknown;
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export type Handler = (req: ApiRequest) => Promise<ApiResponse> | ApiResponse;

export interface Route {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  readonly pattern: string;
  readonly handler: Handler;
  /** The ACL rule of the endpoint (see RouteAcl). */
  readonly acl: RouteAcl;
  /**
   * The largest body the route takes, in bytes: SMALL_BODY_BYTES when not set (reads, deletes and
   * commands carry little or nothing), `'configured'` for the agent's configured limit (config
   * entries). Never above the configured limit.
   */
  readonly maxBodyBytes?: number | 'configured';
}

/** Bodies of reads, deletes, check updates, intentions and the like: 64 KiB. */
export const SMALL_BODY_BYTES = 64 * 1024;
/** One service registration (with its checks and sidecar): 1 MiB. */
export const REGISTRATION_BODY_BYTES = 1024 * 1024;
/** The default of the configured limit (`limits.http_max_body_bytes`): 1 MiB, for config entries. Consul suggests
 * about 512 KiB per Raft entry; a valid body at the limit costs the event loop ~20 ms (validation and
 * the store write run on it), where 4 MiB cost ~90 ms and held leader pings up to 400 ms. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

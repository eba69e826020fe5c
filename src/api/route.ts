// The contract every HTTP route module implements. The server (src/api/server.ts) parses the
// request, matches `pattern` (segments like `:name`, a trailing `*rest` takes the remainder),
// and maps thrown core errors to status codes (ValidationError 400, NotFoundError 404,
// ConflictError 409, RateLimitError 429, PermissionDeniedError 403).

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
}

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

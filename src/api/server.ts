// The HTTP server: reads requests under a byte limit per route, decodes bodies off the event loop
// when they are large, matches routes, maps core errors to status codes and writes plain-text
// errors as Consul does. Route lists are plugged in by the composition root (catalog, config,
// intentions, CA, ...), at construction or later with addRoutes.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TlsListener, TlsMaterial } from '../core/tls.js';
import type { AddressInfo } from 'node:net';
import { ConflictError, NotFoundError, PermissionDeniedError, RateLimitError, UnavailableError, ValidationError, errorMessage } from '../core/errors.js';
import { nullLogger, type Logger } from '../core/logger.js';
import { redactUrl, requestAcl, type AclGuard } from './acl-guard.js';
import { BodyTooLargeError, hasBody, readBody } from './body.js';
import { BodyDecodeError, BodyDecoder } from './body-decoder.js';
import { compileRoute, matchRoute, type CompiledRoute } from './match.js';
import { DEFAULT_MAX_BODY_BYTES, SMALL_BODY_BYTES, type ApiRequest, type ApiResponse, type Route } from './route.js';

export interface ApiServerOptions {
  readonly routes?: readonly (readonly Route[])[];
  readonly logger?: Logger;
  /** The largest request body any route takes (`limits.http_max_body_bytes`); default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** ACLs: each route's `acl` rule is enforced with the request's token (none: everything is allowed). */
  readonly acl?: AclGuard;
}

export interface CloseOptions {
  /** How long replies in flight may take before their connections are cut (default 5 s). */
  readonly graceMs?: number;
  /** Aborting it ends the grace period at once (a second signal). */
  readonly cut?: AbortSignal;
}

const DEFAULT_GRACE_MS = 5000;
/** A request matched to its route (or the answer when none matches). */
type Resolved = { readonly route: Route; readonly params: Record<string, string>; readonly path: string; readonly query: URLSearchParams } | { readonly reply: ApiResponse & { status: number } };

export function statusOf(err: unknown): number {
  if (err instanceof ValidationError) return 400;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  if (err instanceof RateLimitError) return 429;
  if (err instanceof PermissionDeniedError) return 403;
  if (err instanceof UnavailableError) return 503;
  return 500;
}

export class ApiServer {
  private readonly routes: CompiledRoute[] = [];
  private readonly logger: Logger;
  private readonly inflight = new Set<AbortController>();
  /** Replies not finished yet, for the shutdown to wait on and mark `Connection: close`. */
  private readonly replies = new Set<ServerResponse>();
  private onReplyDone: (() => void) | undefined;
  private stopping = false;
  private readonly maxBodyBytes: number;
  private readonly decoder = new BodyDecoder();
  /** The listening servers: plain HTTP and/or HTTPS, one request handler. */
  private servers: Server[] = [];
  private readonly acl: AclGuard | undefined;

  constructor(opts: ApiServerOptions = {}) {
    this.logger = opts.logger ?? nullLogger;
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.acl = opts.acl;
    for (const list of opts.routes ?? []) this.addRoutes(list);
  }

  addRoutes(routes: readonly Route[]): void {
    this.routes.push(...routes.map(compileRoute));
  }

  /** Every route served, in matching order (the ACL walk test reads their rules). */
  registered(): readonly Route[] {
    return this.routes.map((r) => r.route);
  }

  /**
   * Listens and resolves to the bound address (port 0 picks a free one); with `tls`, over TLS
   * (HTTPS), swapping in each new certificate the source hands out, and with verify_incoming
   * refusing a handshake without a client certificate signed by its CA. Called once per port:
   * HTTP and HTTPS serve the same routes.
   */
  listen(port: number, host: string, tls?: TlsListener): Promise<AddressInfo> {
    const handler: RequestListener = (req, res) => {
      // Once shutting down, a request on a connection that is still open is refused: only the
      // ones whose headers arrived before the signal are in flight, and only they may write.
      if (this.stopping) return this.send(res, req, { status: 503, text: 'the agent is shutting down; retry later or against another agent\n', headers: { Connection: 'close' } });
      this.replies.add(res);
      res.once('close', () => {
        this.replies.delete(res);
        this.onReplyDone?.();
      });
      // The last line of defence: whatever a request does, it answers for itself alone. An
      // exception escaping here was an unhandled rejection, which stops the agent.
      this.handle(req, res).catch((err: unknown) => {
        this.logger.error({ err: errorMessage(err), method: req.method, path: redactUrl(req.url) }, 'request failed');
        this.send(res, req, { status: 500, text: `internal error: ${errorMessage(err)}\n` });
      });
    };
    let server: Server;
    if (tls) {
      const context = (m: TlsMaterial) => ({ cert: m.certPem, key: m.keyPem, ...(tls.verifyIncoming && { ca: m.caPem }) });
      const https = createHttpsServer({ ...context(tls.source.current()), requestCert: tls.verifyIncoming, rejectUnauthorized: tls.verifyIncoming }, handler);
      const stop = tls.source.onChange((m) => https.setSecureContext(context(m)));
      https.once('close', stop);
      server = https;
    } else server = createServer(handler);
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server.address() as AddressInfo);
      });
    });
  }

  /**
   * Shuts down within the grace period: stops accepting connections and closes idle ones, refuses
   * requests that still arrive on open connections (503, `Connection: close`), ends blocking
   * queries (they answer with the current value), and lets replies in flight finish, each with
   * `Connection: close`, until the grace period ends or `cut` aborts; then every connection left
   * is destroyed. Resolves to the number of requests cut that way.
   */
  async close(opts: CloseOptions = {}): Promise<number> {
    const servers = this.servers;
    if (servers.length === 0) return 0;
    this.servers = [];
    this.stopping = true;
    const closed = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const res of this.replies) if (!res.headersSent) res.setHeader('Connection', 'close');
    for (const c of this.inflight) c.abort();
    for (const server of servers) server.closeIdleConnections();
    const cut = await this.repliesDone(opts.graceMs ?? DEFAULT_GRACE_MS, opts.cut);
    for (const server of servers) server.closeAllConnections();
    await closed;
    await this.decoder.close();
    return cut;
  }

  /** Waits until no reply is in flight, the grace period ends or `cut` aborts; resolves to the replies left. */
  private repliesDone(graceMs: number, cut: AbortSignal | undefined): Promise<number> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        cut?.removeEventListener('abort', done);
        this.onReplyDone = undefined;
        resolve(this.replies.size);
      };
      const timer = setTimeout(done, graceMs);
      cut?.addEventListener('abort', done);
      this.onReplyDone = () => {
        if (this.replies.size === 0) done();
      };
      if (this.replies.size === 0 || cut?.aborted) done();
    });
  }

  /** Runs one request through the routes without a socket (tests, in-process callers). */
  async dispatch(method: string, url: string, body: unknown, signal = new AbortController().signal, headers: Record<string, string | undefined> = {}): Promise<ApiResponse & { status: number }> {
    const found = this.resolve(method, url);
    return 'reply' in found ? found.reply : this.run(found, method, body, signal, headers);
  }

  private resolve(method: string, url: string): Resolved {
    let parsed: URL;
    let found: ReturnType<typeof matchRoute>;
    const dots = dotSegment(url);
    if (dots !== undefined) return { reply: { status: 400, text: `invalid request path ${JSON.stringify(url)}: a "${dots}" segment is not allowed (send the path it stands for)\n` } };
    try {
      // Appended, not resolved against a base: "//host/x" stays a path instead of naming a host.
      parsed = new URL(url.startsWith('/') ? `http://local${url}` : url, 'http://local');
      found = matchRoute(this.routes, method, parsed.pathname);
    } catch (err) {
      // A malformed escape (decodeURIComponent's URIError) or URL is the client's error, and
      // must not escape: thrown from here it was an unhandled rejection that stopped the agent.
      return { reply: { status: 400, text: `invalid request path ${JSON.stringify(url)}: ${errorMessage(err)}\n` } };
    }
    if (found === 'method') return { reply: { status: 405, text: `method ${method} not allowed on ${parsed.pathname}\n` } };
    if (!found) return { reply: { status: 404, text: `unknown path ${parsed.pathname}\n` } };
    return { ...found, path: parsed.pathname, query: parsed.searchParams };
  }

  private async run(found: Exclude<Resolved, { reply: unknown }>, method: string, body: unknown, signal: AbortSignal, headers: Record<string, string | undefined>): Promise<ApiResponse & { status: number }> {
    const bare: ApiRequest = { method, params: found.params, query: found.query, body, headers, signal };
    try {
      const req: ApiRequest = { ...bare, acl: requestAcl(this.acl, found.route.acl, bare) };
      const res = await found.route.handler(req);
      const status = res.status ?? 200;
      // Consul's agent cache (`?cached`): Switchyard reads its own store, which is always current,
      // so a cached read is a hit of age 0 (Consul's clients read X-Cache and Age).
      const cache = method === 'GET' && status === 200 && found.query.has('cached') ? { 'X-Cache': 'HIT', Age: '0' } : undefined;
      return { ...res, status, ...(cache && { headers: { ...res.headers, ...cache } }) };
    } catch (err) {
      const status = statusOf(err);
      if (status === 500) this.logger.error({ err: errorMessage(err), method, path: found.path }, 'request failed');
      const retryAfter = err instanceof RateLimitError && err.retryAfterMs !== undefined ? { 'Retry-After': String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))) } : undefined;
      return { status, text: `${errorMessage(err)}\n`, ...(retryAfter && { headers: retryAfter }) };
    }
  }

  /** The route's body limit, never above the configured one. */
  private bodyLimit(route: Route): number {
    const own = route.maxBodyBytes ?? SMALL_BODY_BYTES;
    return own === 'configured' ? this.maxBodyBytes : Math.min(own, this.maxBodyBytes);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const found = this.resolve(method, req.url ?? '/');
    if ('reply' in found) {
      // The body (if any) is left unread: the connection cannot carry another request after it.
      if (hasBody(req)) res.setHeader('connection', 'close');
      return this.send(res, req, found.reply);
    }
    const abort = new AbortController();
    this.inflight.add(abort);
    res.on('close', () => abort.abort());
    try {
      const limit = this.bodyLimit(found.route);
      let bytes: Uint8Array;
      try {
        bytes = await readBody(req, limit);
      } catch (err) {
        // Anything else is the client going away while sending: there is no one to answer.
        if (!(err instanceof BodyTooLargeError)) return;
        discardRest(req, res);
        const configured = limit === this.maxBodyBytes ? ' (limits.http_max_body_bytes, -http-max-body-bytes)' : '';
        return this.send(res, req, { status: 413, text: `Request body too large: ${method} ${found.route.pattern} takes at most ${limit} bytes${configured}\n` });
      }
      let body: unknown;
      try {
        body = await this.decoder.decode(bytes);
      } catch (err) {
        if (err instanceof BodyDecodeError) return this.send(res, req, { status: 400, text: `Request decode failed: ${errorMessage(err)}\n` });
        throw err;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
      this.send(res, req, await this.run(found, method, body, abort.signal, headers));
    } finally {
      this.inflight.delete(abort);
    }
  }

  /**
   * Writes a reply. A body that cannot be serialized (a value nested deeper than the call stack
   * allows, a BigInt) is a 500 for this request, logged with what failed: thrown from here it
   * stopped the agent.
   */
  private send(res: ServerResponse, req: IncomingMessage, r: ApiResponse & { status?: number }): void {
    if (res.writableEnded || res.destroyed) return;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    let { status = 200, text, headers } = r;
    let payload: string;
    try {
      payload = text ?? JSON.stringify(r.body ?? null);
    } catch (err) {
      this.logger.error({ err: errorMessage(err), method: req.method, path: redactUrl(req.url) }, 'cannot serialize the response');
      [status, headers] = [500, {}];
      payload = text = `cannot serialize the response: ${errorMessage(err)}\n`;
    }
    res.writeHead(status, {
      'content-type': text !== undefined ? 'text/plain; charset=utf-8' : 'application/json',
      'content-length': Buffer.byteLength(payload),
      ...headers,
    });
    res.end(payload);
  }
}

/**
 * The first "." or ".." segment of the request path (also percent-encoded, `%2e%2e`), if any.
 * URL parsing would resolve it before routing, so `/v1/agent/../connect/ca/configuration`
 * reached a route its text does not name; it is refused instead, as a proxy in front may have
 * allowed or denied the path by its text.
 */
function dotSegment(url: string): string | undefined {
  const path = url.split(/[?#]/, 1)[0] as string;
  for (const segment of path.split('/')) {
    const plain = segment.replace(/%2e/gi, '.');
    if (plain === '.' || plain === '..') return segment;
  }
  return undefined;
}

/** A refused body is read and dropped up to this many bytes so the client hears the answer; past it the connection is cut. */
const DISCARD_MAX_BYTES = 64 * 1024 * 1024;

/**
 * After a 413, the client is usually still sending. Closing the connection then resets it
 * before the client reads the answer (it sees a broken pipe, not the limit), so a body of
 * bounded declared size is read and dropped (Node discards what the handler left unread) and
 * the connection stays usable, cut if it passes DISCARD_MAX_BYTES anyway. A larger one, or a
 * chunked one (reading it stopped at the limit, and it may never end), closes the connection.
 */
function discardRest(req: IncomingMessage, res: ServerResponse): void {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (!(declared <= DISCARD_MAX_BYTES)) {
    res.setHeader('connection', 'close');
    return;
  }
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DISCARD_MAX_BYTES) req.socket.destroy();
  });
}

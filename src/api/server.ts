// The HTTP server: parses requests, matches routes, maps core errors to status codes and writes
// plain-text errors as Consul does. Route lists are plugged in by the composition root
// (catalog, config, intentions, CA, ...), at construction or later with addRoutes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConflictError, NotFoundError, PermissionDeniedError, RateLimitError, ValidationError, errorMessage } from '../core/errors.js';
import { nullLogger, type Logger } from '../core/logger.js';
import { jsonBoundsIssue } from '../core/json-bounds.js';
import { compileRoute, matchRoute, type CompiledRoute } from './match.js';
import type { ApiRequest, ApiResponse, Route } from './route.js';

const MAX_BODY = 16 * 1024 * 1024;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export interface ApiServerOptions {
  readonly routes?: readonly (readonly Route[])[];
  readonly logger?: Logger;
}

export interface CloseOptions {
  /** How long replies in flight may take before their connections are cut (default 5 s). */
  readonly graceMs?: number;
  /** Aborting it ends the grace period at once (a second signal). */
  readonly cut?: AbortSignal;
}

const DEFAULT_GRACE_MS = 5000;

export function statusOf(err: unknown): number {
  if (err instanceof ValidationError) return 400;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  if (err instanceof RateLimitError) return 429;
  if (err instanceof PermissionDeniedError) return 403;
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
  private server: Server | undefined;

  constructor(opts: ApiServerOptions = {}) {
    this.logger = opts.logger ?? nullLogger;
    for (const list of opts.routes ?? []) this.addRoutes(list);
  }

  addRoutes(routes: readonly Route[]): void {
    this.routes.push(...routes.map(compileRoute));
  }

  /** Listens and resolves to the bound address (port 0 picks a free one). */
  listen(port: number, host: string): Promise<AddressInfo> {
    const server = createServer((req, res) => {
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
        this.logger.error({ err: errorMessage(err), method: req.method, path: req.url }, 'request failed');
        this.send(res, req, { status: 500, text: `internal error: ${errorMessage(err)}\n` });
      });
    });
    this.server = server;
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
    const server = this.server;
    if (!server) return 0;
    this.server = undefined;
    this.stopping = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const res of this.replies) if (!res.headersSent) res.setHeader('Connection', 'close');
    for (const c of this.inflight) c.abort();
    server.closeIdleConnections();
    const cut = await this.repliesDone(opts.graceMs ?? DEFAULT_GRACE_MS, opts.cut);
    server.closeAllConnections();
    await closed;
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
    let parsed: URL;
    let found: ReturnType<typeof matchRoute>;
    try {
      parsed = new URL(url, 'http://local');
      found = matchRoute(this.routes, method, parsed.pathname);
    } catch (err) {
      // A malformed escape (decodeURIComponent's URIError) or URL is the client's error, and
      // must not escape: thrown from here it was an unhandled rejection that stopped the agent.
      return { status: 400, text: `invalid request path ${JSON.stringify(url)}: ${errorMessage(err)}\n` };
    }
    if (found === 'method') return { status: 405, text: `method ${method} not allowed on ${parsed.pathname}\n` };
    if (!found) return { status: 404, text: `unknown path ${parsed.pathname}\n` };
    const req: ApiRequest = { method, params: found.params, query: parsed.searchParams, body, headers, signal };
    try {
      const res = await found.route.handler(req);
      return { ...res, status: res.status ?? 200 };
    } catch (err) {
      const status = statusOf(err);
      if (status === 500) this.logger.error({ err: errorMessage(err), method, path: parsed.pathname }, 'request failed');
      return { status, text: `${errorMessage(err)}\n` };
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const abort = new AbortController();
    this.inflight.add(abort);
    res.on('close', () => abort.abort());
    try {
      let body: unknown;
      try {
        body = await readJson(req);
      } catch (err) {
        return this.send(res, req, { status: 400, text: `Request decode failed: ${errorMessage(err)}\n` });
      }
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
      this.send(res, req, await this.dispatch(req.method ?? 'GET', req.url ?? '/', body, abort.signal, headers));
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
      this.logger.error({ err: errorMessage(err), method: req.method, path: req.url }, 'cannot serialize the response');
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

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error(`body larger than ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  let text: string;
  try {
    text = UTF8.decode(Buffer.concat(chunks));
  } catch {
    // Buffer#toString would swap each bad byte for U+FFFD and store what the caller never sent.
    throw new Error('the body is not valid UTF-8');
  }
  if (text.trim() === '') return undefined;
  const body = JSON.parse(text) as unknown;
  const issue = jsonBoundsIssue(body);
  if (issue) throw new Error(issue.path ? `${issue.path}: ${issue.message}` : `the body ${issue.message}`);
  return body;
}


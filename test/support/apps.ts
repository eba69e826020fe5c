// Small real applications for end-to-end tests: an HTTP server that names itself, and a caller
// that makes one request per call on a fresh connection.
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { setTimeout as pace } from 'node:timers/promises';

export interface NamedServer {
  readonly port: number;
  readonly name: string;
  hits(): number;
  /** The headers of the last request (a sidecar's x-forwarded-client-cert names the caller). */
  lastHeaders(): IncomingHttpHeaders | undefined;
  close(): Promise<void>;
}

export async function startNamedHttpServer(name: string): Promise<NamedServer> {
  let hits = 0;
  let last: IncomingHttpHeaders | undefined;
  const server: Server = createServer((req, res) => {
    hits++;
    last = req.headers;
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    res.end(name);
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
  return {
    port,
    name,
    hits: () => hits,
    lastHeaders: () => last,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export type CallResult = { ok: true; body: string } | { ok: false; error: string };

/** GET http://127.0.0.1:<port>/ on a new connection, 2 s deadline; never throws. */
export function call(port: number): Promise<CallResult> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2000, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? { ok: true, body } : { ok: false, error: `HTTP ${res.statusCode}: ${body}` }));
      res.on('error', (err) => resolve({ ok: false, error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ ok: false, error: err.message }));
    req.end();
  });
}

/** Calls `port` continuously until stopped; records every result. */
export class CallLoop {
  readonly results: CallResult[] = [];
  private running = true;
  private done: Promise<void>;

  constructor(port: number) {
    this.done = (async () => {
      while (this.running) {
        this.results.push(await call(port));
        await pace(50); // load pacing on a 2-core machine, not synchronisation
      }
    })();
  }

  failures(): CallResult[] {
    return this.results.filter((r) => !r.ok);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

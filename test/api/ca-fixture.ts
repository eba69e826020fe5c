// A started CA, leaf manager and caRoutes over a fake intention table, plus a tiny node:http
// adapter (the real server is src/api/server.ts) for tests that go over the wire.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { caRoutes } from '../../src/api/ca.js';
import type { ApiRequest, Route } from '../../src/api/route.js';
import { CAService } from '../../src/ca/ca-service.js';
import { LeafManager } from '../../src/ca/leaf-manager.js';
import { MemoryCAStateStore } from '../../src/ca/state-store.js';
import type { IntentionDecision } from '../../src/catalog/types.js';
import { ManualClock } from '../../src/core/clock.js';
import { RateLimitError, ValidationError } from '../../src/core/errors.js';
import { nullLogger } from '../../src/core/logger.js';

export interface FakeIntention {
  readonly source: string;
  readonly destination: string;
  readonly action: 'allow' | 'deny';
}

/** Consul's precedence: exact destination before wildcard, then exact source before wildcard. */
function precedence(i: FakeIntention): number {
  return (i.destination === '*' ? 0 : 2) + (i.source === '*' ? 0 : 1);
}

export function fakeIntentions(table: readonly FakeIntention[], defaultPolicy: 'allow' | 'deny') {
  return (source: string, destination: string): IntentionDecision => {
    const match = table
      .filter((i) => (i.source === '*' || i.source === source) && (i.destination === '*' || i.destination === destination))
      .sort((a, b) => precedence(b) - precedence(a))[0];
    if (!match) return { Allowed: defaultPolicy === 'allow', Reason: `Default behavior: ${defaultPolicy}` };
    return { Allowed: match.action === 'allow', Reason: `Matched L4 intention: ${match.source} => ${match.destination} (${match.action})`, MatchedID: `${match.source}>${match.destination}` };
  };
}

export async function caFixture(table: readonly FakeIntention[] = [], defaultPolicy: 'allow' | 'deny' = 'deny', config: Record<string, unknown> = { CSRMaxPerSecond: 0 }) {
  const clock = new ManualClock(Date.now());
  const ca = new CAService({ store: new MemoryCAStateStore(), clock, logger: nullLogger, datacenter: 'dc1', initialConfig: { Config: config } });
  await ca.start();
  const leaves = new LeafManager({ ca, clock, logger: nullLogger, random: () => 0.5 });
  const routes = caRoutes({ ca, leaves, checkIntention: fakeIntentions(table, defaultPolicy), clock });
  return { ca, clock, leaves, routes };
}

export function request(method: string, query = '', body?: unknown, params: Record<string, string> = {}): ApiRequest {
  return { method, params, query: new URLSearchParams(query), body, headers: {}, signal: new AbortController().signal };
}

export function route(routes: readonly Route[], method: string, pattern: string): Route {
  const r = routes.find((x) => x.method === method && x.pattern === pattern);
  if (!r) throw new Error(`no route ${method} ${pattern}`);
  return r;
}

/** Serves `routes` on 127.0.0.1 with the server's error mapping (400, 429). */
export async function serve(routes: readonly Route[]): Promise<{ server: Server; addr: string }> {
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      for (const r of routes) {
        const names: string[] = [];
        const re = new RegExp(`^${r.pattern.replace(/:(\w+)/g, (_m, n: string) => (names.push(n), '([^/]+)'))}$`);
        const m = re.exec(url.pathname);
        if (!m || r.method !== req.method) continue;
        const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1] ?? '')]));
        const apiReq: ApiRequest = { method: r.method, params, query: url.searchParams, body: data ? JSON.parse(data) : undefined, headers: {}, signal: new AbortController().signal };
        Promise.resolve(r.handler(apiReq)).then(
          (out) => {
            res.writeHead(out.status ?? 200, { 'content-type': 'application/json', ...out.headers });
            res.end(out.text ?? JSON.stringify(out.body));
          },
          (err: Error) => {
            res.writeHead(err instanceof ValidationError ? 400 : err instanceof RateLimitError ? 429 : 500);
            res.end(err.message);
          },
        );
        return;
      }
      res.writeHead(404);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, addr: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

// L7 traffic through a discovery chain, end to end: registrations and config entries written to
// the real catalog (service-defaults http, a resolver with subsets v1/v2 chosen by Service.Meta,
// a 90/10 splitter over them, a router sending /admin to another service), leaves from the real
// CA, snapshots from ProxyConfigManager, resources from the generators, and real Envoys: web's
// sidecar, a sidecar for each db instance (v1, v2, and a v3 in no subset) and one for admin.
// Requests through web's upstream reach both subsets and never v3, and /admin reaches admin; an
// upstream whose only instance is critical fails over to the service its resolver names; a header
// match picks a subset; retries on 503 turn a broken instance's calls into successful ones; an
// L7 intention at admin's sidecar denies one path to web while another is allowed; a WebSocket
// upgrade passes through web's sidecar and echo's, and the echo comes back over it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { filter, firstValueFrom } from 'rxjs';
import type { Catalog } from '../../src/catalog/catalog.js';
import { ProxyConfigManager } from '../../src/proxycfg/manager.js';
import type { ConnectProxySnapshot } from '../../src/proxycfg/snapshot.js';
import { generateResources } from '../../src/xds/generate.js';
import type { EnvoyProcess } from '../support/envoy.js';
import { TestMesh } from '../support/mesh.js';
import { startSidecarEnvoy } from '../support/traffic.js';
import { freePort, waitFor } from '../support/wait.js';

/** An app accepting WebSocket upgrades and echoing whatever the connection then carries. */
async function startEchoApp(): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.writeHead(426).end('upgrade required'));
  server.on('upgrade', (_req, socket: Duplex) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

/** Opens a WebSocket upgrade through `port`, sends `message` and resolves with the status and what came back. */
function websocketEcho(port: number, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/ws', headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
    req.on('response', (res) => {
      res.resume();
      resolve(`${res.statusCode} (no upgrade)`);
    });
    req.on('upgrade', (res, socket) => {
      let got = '';
      socket.on('data', (chunk: Buffer) => {
        got += chunk.toString();
        if (got.length >= message.length) {
          socket.destroy();
          resolve(`${res.statusCode} ${got}`);
        }
      });
      socket.write(message);
    });
    req.on('error', reject);
    req.end();
  });
}

/** An HTTP app answering every request with its name. */
async function startApp(name: string, status = 200): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.writeHead(status).end(name));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

async function registerSidecar(catalog: Catalog, id: string, service: string, localPort: number, meta: Record<string, string>, upstreams: unknown[] = []): Promise<void> {
  await catalog.registerService({
    ID: id,
    Name: `${service}-sidecar-proxy`,
    Kind: 'connect-proxy',
    Address: '127.0.0.1',
    Port: await freePort(),
    Meta: meta,
    Proxy: { DestinationServiceName: service, LocalServicePort: localPort, Config: { bind_address: '127.0.0.1' }, Upstreams: upstreams },
    Checks: [{ CheckID: `${id}-ttl`, TTL: '30s', Status: 'passing' }],
  });
}

describe('the discovery chain with real Envoys', () => {
  let mesh: TestMesh;
  const apps: Server[] = [];
  const envoys: EnvoyProcess[] = [];
  const managers: ProxyConfigManager[] = [];
  let toDb = 0;
  let toPay = 0;
  let toFlaky = 0;
  let toEcho = 0;

  before(async () => {
    mesh = await TestMesh.start();
    const web = await mesh.catalog('node-web', 'allow');
    for (const [entry, body] of [
      ['db', { Kind: 'service-defaults', Name: 'db', Protocol: 'http' }],
      ['admin', { Kind: 'service-defaults', Name: 'admin', Protocol: 'http' }],
      // An L7 intention at admin's sidecar: web may not reach /admin/secret, every other path is allowed (default allow).
      ['admin-intentions', { Kind: 'service-intentions', Name: 'admin', Sources: [{ Name: 'web', Permissions: [{ Action: 'deny', HTTP: { PathPrefix: '/admin/secret' } }] }] }],
      ['resolver', { Kind: 'service-resolver', Name: 'db', Subsets: { v1: { Filter: 'Service.Meta.version == 1' }, v2: { Filter: 'Service.Meta.version == 2' } } }],
      ['splitter', { Kind: 'service-splitter', Name: 'db', Splits: [{ Weight: 90, ServiceSubset: 'v1' }, { Weight: 10, ServiceSubset: 'v2' }] }],
      [
        'router',
        {
          Kind: 'service-router',
          Name: 'db',
          Routes: [
            { Match: { HTTP: { PathPrefix: '/admin' } }, Destination: { Service: 'admin' } },
            { Match: { HTTP: { Header: [{ Name: 'x-version', Exact: '2' }] } }, Destination: { ServiceSubset: 'v2' } },
          ],
        },
      ],
      ['flaky', { Kind: 'service-defaults', Name: 'flaky', Protocol: 'http' }],
      ['echo', { Kind: 'service-defaults', Name: 'echo', Protocol: 'http' }],
      ['retries', { Kind: 'service-router', Name: 'flaky', Routes: [{ Destination: { NumRetries: 3, RetryOnStatusCodes: [503] } }] }],
      ['pay', { Kind: 'service-defaults', Name: 'pay', Protocol: 'http' }],
      ['pay-backup', { Kind: 'service-defaults', Name: 'pay-backup', Protocol: 'http' }],
      ['failover', { Kind: 'service-resolver', Name: 'pay', Failover: { '*': { Service: 'pay-backup' } } }],
    ] as const) {
      await web.setConfigEntry(body).catch((e: unknown) => assert.fail(`${entry}: ${String(e)}`));
    }
    const backends: { node: string; id: string; service: string; app: string; meta: Record<string, string>; status?: number }[] = [
      { node: 'node-db-1', id: 'db-1-sidecar-proxy', service: 'db', app: 'db v1', meta: { version: '1' } },
      { node: 'node-db-2', id: 'db-2-sidecar-proxy', service: 'db', app: 'db v2', meta: { version: '2' } },
      // In no split: the splitter, not round robin over every db instance, decides.
      { node: 'node-db-3', id: 'db-3-sidecar-proxy', service: 'db', app: 'db v3', meta: { version: '3' } },
      { node: 'node-admin', id: 'admin-sidecar-proxy', service: 'admin', app: 'admin', meta: {} },
      { node: 'node-pay-backup', id: 'pay-backup-sidecar-proxy', service: 'pay-backup', app: 'pay-backup', meta: {} },
      // One instance of flaky always answers 503: the route's retries turn its calls into the other's answers.
      { node: 'node-flaky-1', id: 'flaky-1-sidecar-proxy', service: 'flaky', app: 'flaky broken', meta: {}, status: 503 },
      { node: 'node-flaky-2', id: 'flaky-2-sidecar-proxy', service: 'flaky', app: 'flaky ok', meta: {} },
    ];
    const snapshot = (catalog: Catalog, id: string, ready: (s: ConnectProxySnapshot) => boolean) => {
      const manager = new ProxyConfigManager({ catalog, ca: mesh.leaves, coalesceMs: 20 });
      managers.push(manager);
      return firstValueFrom(manager.snapshots(id).pipe(filter((s): s is ConnectProxySnapshot => s.kind === 'connect-proxy' && ready(s))));
    };
    for (const b of backends) {
      const app = await startApp(b.app, b.status);
      apps.push(app.server);
      const catalog = await mesh.catalog(b.node, 'allow');
      await registerSidecar(catalog, b.id, b.service, app.port, b.meta);
      const snap = await snapshot(catalog, b.id, () => true);
      envoys.push(await startSidecarEnvoy(snap, generateResources(snap)));
    }
    // echo answers WebSocket upgrades: web reaches it through its sidecar and echo's.
    const echoApp = await startEchoApp();
    apps.push(echoApp.server);
    const echoNode = await mesh.catalog('node-echo', 'allow');
    await registerSidecar(echoNode, 'echo-sidecar-proxy', 'echo', echoApp.port, {});
    const echoSnap = await snapshot(echoNode, 'echo-sidecar-proxy', () => true);
    envoys.push(await startSidecarEnvoy(echoSnap, generateResources(echoSnap)));
    // pay's only instance is critical: its traffic fails over to pay-backup.
    const payNode = await mesh.catalog('node-pay', 'allow');
    await registerSidecar(payNode, 'pay-sidecar-proxy', 'pay', await freePort(), {});
    await payNode.updateCheck('pay-sidecar-proxy-ttl', 'critical');
    toDb = await freePort();
    toPay = await freePort();
    toFlaky = await freePort();
    toEcho = await freePort();
    await registerSidecar(web, 'web-sidecar-proxy', 'web', await freePort(), {}, [
      { DestinationName: 'db', LocalBindPort: toDb, LocalBindAddress: '127.0.0.1' },
      { DestinationName: 'pay', LocalBindPort: toPay, LocalBindAddress: '127.0.0.1' },
      { DestinationName: 'flaky', LocalBindPort: toFlaky, LocalBindAddress: '127.0.0.1' },
      { DestinationName: 'echo', LocalBindPort: toEcho, LocalBindAddress: '127.0.0.1' },
    ]);
    // Ready once db's chain has its three targets (db v1, db v2, admin) and pay's its two, each with its instance, pay's critical.
    const webSnap = await snapshot(web, 'web-sidecar-proxy', (s) => {
      const [db, pay] = [s.upstreams.find((u) => u.id === 'db')?.endpoints ?? [], s.upstreams.find((u) => u.id === 'pay')?.endpoints ?? []];
      const flaky = s.upstreams.find((u) => u.id === 'flaky')?.endpoints ?? [];
      const echo = s.upstreams.find((u) => u.id === 'echo')?.endpoints ?? [];
      return (
        db.length === 3 &&
        pay.length === 2 &&
        [...db, ...pay].every((t) => t.endpoints.length === 1) &&
        pay.some((t) => t.endpoints[0]?.health === 'critical') &&
        flaky[0]?.endpoints.length === 2 &&
        echo[0]?.endpoints.length === 1
      );
    });
    envoys.push(await startSidecarEnvoy(webSnap, generateResources(webSnap)));
  });

  after(async () => {
    await Promise.all(envoys.map((e) => e.stop()));
    for (const a of apps) a.close();
    await mesh?.close();
  });

  const get = async (path: string, port = toDb, headers: Record<string, string> = {}) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
    return `${res.status} ${await res.text()}`;
  };

  it('splits 1,000 requests 90/10 between the v1 and v2 subsets (each within 3 points), none to the instance in neither', async () => {
    await waitFor('web -> db answers', async () => (await get('/').catch(() => '')).startsWith('200 db'));
    const counts = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const answer = await get('/');
      counts.set(answer, (counts.get(answer) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), ['200 db v1', '200 db v2'], `answers: ${JSON.stringify([...counts])}`);
    const v2 = counts.get('200 db v2') ?? 0;
    // 3 points of 1,000 is about 3.2 standard deviations of a fair 10% draw.
    assert.ok(v2 >= 70 && v2 <= 130, `v2 got ${v2 / 10}% of the requests, v1 ${(1000 - v2) / 10}%`);
  });

  it('routes /admin to the admin service', async () => {
    assert.equal(await get('/admin/users'), '200 admin');
    assert.match(await get('/users'), /^200 db v[12]$/);
  });

  it('enforces an L7 intention per request: one path denied (403), another allowed, on the same connection', async () => {
    for (let i = 0; i < 3; i++) {
      assert.equal(await get('/admin/users'), '200 admin');
      assert.equal(await get('/admin/secret/keys'), '403 RBAC: access denied');
    }
  });

  it('carries a WebSocket upgrade through both sidecars and echoes over it', async () => {
    assert.equal(await websocketEcho(toEcho, 'hello over the mesh'), '101 hello over the mesh');
  });

  it('fails over to another service when the first has no healthy instance', async () => {
    assert.equal(await get('/checkout', toPay), '200 pay-backup');
  });

  it('routes by a header match to a subset', async () => {
    for (let i = 0; i < 10; i++) assert.equal(await get('/', toDb, { 'x-version': '2' }), '200 db v2');
  });

  it('retries a 503 on another instance, so every call succeeds', async () => {
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await get('/', toFlaky));
    assert.deepEqual([...new Set(answers)], ['200 flaky ok']);
  });
});

// Expose.Checks through a real Envoy: a service's HTTP check registered in the real catalog, its
// sidecar with Expose.Checks, snapshots from ProxyConfigManager, resources from the generators,
// and an HTTP client reaching the check's path through the exposed listener (plain HTTP, no
// mTLS), while any other path of that listener gets Envoy's 404 and never reaches the app.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
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

function get(port: number, path: string): Promise<{ status: number; body: string; server: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, server: String(res.headers.server ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Expose.Checks through a real Envoy', () => {
  let mesh: TestMesh;
  let catalog: Catalog;
  let app: Server;
  let envoy: EnvoyProcess | undefined;
  let manager: ProxyConfigManager;
  const seen: string[] = [];
  let checkPort = 0;

  before(async () => {
    mesh = await TestMesh.start();
    catalog = await mesh.catalog('node-web');
    app = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end(req.url === '/health' ? 'web is healthy' : 'web app');
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const appPort = (app.address() as { port: number }).port;
    // A free port as the whole range, so the test never races another Envoy for 21500.
    checkPort = await freePort();
    manager = new ProxyConfigManager({ catalog, ca: mesh.leaves, coalesceMs: 20, exposeCheckPorts: { min: checkPort, max: checkPort } });
    await catalog.registerService({
      Name: 'web',
      Port: appPort,
      Check: { CheckID: 'web-health', HTTP: `http://127.0.0.1:${appPort}/health`, Interval: '10s' },
      Connect: { SidecarService: { Port: await freePort(), Proxy: { Config: { bind_address: '127.0.0.1' }, Expose: { Checks: true } } } },
    });
  });

  after(async () => {
    await envoy?.stop();
    app?.close();
    await mesh?.close();
  });

  const snapshot = (ready: (s: ConnectProxySnapshot) => boolean) =>
    firstValueFrom(manager.snapshots('web-sidecar-proxy').pipe(filter((s): s is ConnectProxySnapshot => s.kind === 'connect-proxy' && ready(s))));

  it("serves the HTTP check's path on the exposed listener, and only that path", async () => {
    const snap = await snapshot((s) => (s.publicListener.exposedPaths ?? []).length === 1);
    assert.deepEqual(snap.issues, []);
    envoy = await startSidecarEnvoy(snap, generateResources(snap));
    const health = await waitFor('the exposed check path to answer', async () => {
      const r = await get(checkPort, '/health').catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    });
    assert.equal(health.body, 'web is healthy');
    const other = await get(checkPort, '/admin');
    assert.equal(other.status, 404);
    assert.equal(other.server, 'envoy', 'the 404 is Envoy\'s');
    assert.deepEqual(seen, ['/health'], 'only the check path reached the app');
    // The stored registration is what was sent: Checks true, no paths added.
    const stored = await firstValueFrom(catalog.watchService('web-sidecar-proxy'));
    assert.deepEqual(stored?.Proxy?.Expose, { Checks: true });
  });

  it('a second HTTP check with the range used up is a problem in the snapshot, naming the check', async () => {
    await catalog.registerCheck({ CheckID: 'web-ready', Name: 'ready', ServiceID: 'web', HTTP: 'http://127.0.0.1:1/ready', Interval: '10s' });
    const snap = await snapshot((s) => s.issues.length > 0);
    assert.match(snap.issues.map((i) => `${i.path}: ${i.message}`).join('\n'), /Proxy\.Expose\.Checks: check "web-ready": no exposed-check port left on this node/);
    assert.deepEqual(
      (snap.publicListener.exposedPaths ?? []).map((p) => [p.path, p.listenerPort]),
      [['/health', checkPort]],
      'the first check keeps its port',
    );
  });
});

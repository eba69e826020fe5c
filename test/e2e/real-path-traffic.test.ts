// The whole real path, end to end: registrations and an intention written to the real catalog,
// leaves issued by the real CA, snapshots from ProxyConfigManager, resources from the
// generators, two sidecar Envoys running them, and a client whose bytes cross mutual TLS.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { filter, firstValueFrom } from 'rxjs';
import type { Catalog } from '../../src/catalog/catalog.js';
import { ProxyConfigManager } from '../../src/proxycfg/manager.js';
import type { ConnectProxySnapshot } from '../../src/proxycfg/snapshot.js';
import { generateResources } from '../../src/xds/generate.js';
import type { EnvoyProcess } from '../support/envoy.js';
import { TestMesh } from '../support/mesh.js';
import { roundTrip, startSidecarEnvoy } from '../support/traffic.js';

describe('catalog + CA -> proxycfg -> xds -> Envoy', () => {
  let mesh: TestMesh;
  const envoys: EnvoyProcess[] = [];
  let toDb = 0;

  before(async () => {
    mesh = await TestMesh.start();
    // Two agents (nodes): each serves the proxies registered with it.
    const [web, db] = [await mesh.catalog('node-web'), await mesh.catalog('node-db')];
    ({ toDb } = await mesh.webToDb(web, db));
    const snapshotOf = (catalog: Catalog, id: string, ready: (s: ConnectProxySnapshot) => boolean) =>
      firstValueFrom(
        new ProxyConfigManager({ catalog, ca: mesh.leaves, coalesceMs: 20 }).snapshots(id).pipe(filter((s): s is ConnectProxySnapshot => s.kind === 'connect-proxy' && ready(s))),
      );
    const dbSnap = await snapshotOf(db, 'db-sidecar-proxy', (s) => s.intentions.length === 1);
    const webSnap = await snapshotOf(web, 'web-sidecar-proxy', (s) => s.upstreams[0]?.endpoints[0]?.endpoints.length === 1);
    envoys.push(await startSidecarEnvoy(dbSnap, generateResources(dbSnap)));
    envoys.push(await startSidecarEnvoy(webSnap, generateResources(webSnap)));
  });

  after(async () => {
    await Promise.all(envoys.map((e) => e.stop()));
    await mesh?.close();
  });

  it('carries web -> db over mutual TLS with CA-issued identities', async () => {
    assert.equal(await roundTrip(toDb, 'hello through the real path'), 'echo hello through the real path\n');
  });
});

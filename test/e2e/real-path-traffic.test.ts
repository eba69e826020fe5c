// The whole real path, end to end: registrations and an intention written to the real catalog,
// leaves issued by the real CA, snapshots from ProxyConfigManager, resources from the
// generators, two sidecar Envoys running them, and a client whose bytes cross mutual TLS.
import assert from 'node:assert/strict';
import type { Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { firstValueFrom, filter } from 'rxjs';
import { CAService } from '../../src/ca/ca-service.js';
import { LeafManager } from '../../src/ca/leaf-manager.js';
import { MemoryCAStateStore } from '../../src/ca/state-store.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { systemClock } from '../../src/core/clock.js';
import { nullLogger } from '../../src/core/logger.js';
import { ProxyConfigManager } from '../../src/proxycfg/manager.js';
import type { ConnectProxySnapshot } from '../../src/proxycfg/snapshot.js';
import type { SqliteStore } from '../../src/store/sqlite.js';
import { openStore } from '../../src/store/sqlite.js';
import { generateResources } from '../../src/xds/generate.js';
import type { EnvoyProcess } from '../support/envoy.js';
import { roundTrip, startEcho, startSidecarEnvoy } from '../support/traffic.js';
import { freePort } from '../support/wait.js';

describe('catalog + CA -> proxycfg -> xds -> Envoy', () => {
  let store: SqliteStore;
  let ca: CAService;
  let leaves: LeafManager;
  let echo: Server;
  const envoys: EnvoyProcess[] = [];
  let toDb = 0;

  before(async () => {
    store = openStore(undefined);
    ca = new CAService({ store: new MemoryCAStateStore(), clock: systemClock, logger: nullLogger, datacenter: 'dc1', initialConfig: { Config: { CSRMaxPerSecond: 0 } } });
    await ca.start();
    leaves = new LeafManager({ ca, clock: systemClock, logger: nullLogger });
    const app = await startEcho();
    echo = app.server;
    const [dbPublic, webPublic] = [await freePort(), await freePort()];
    toDb = await freePort();

    const web = new Catalog(store, { datacenter: 'dc1', node: 'node-web', defaultIntentionPolicy: 'deny' });
    const db = new Catalog(store, { datacenter: 'dc1', node: 'node-db' });
    await web.registerNode('127.0.0.1');
    await db.registerNode('127.0.0.1');
    const sidecar = (service: string, port: number, localPort: number, upstreams: object[]) => ({
      ID: `${service}-sidecar-proxy`,
      Name: `${service}-sidecar-proxy`,
      Kind: 'connect-proxy',
      Address: '127.0.0.1',
      Port: port,
      Proxy: { DestinationServiceName: service, LocalServicePort: localPort, Config: { bind_address: '127.0.0.1' }, Upstreams: upstreams },
      Checks: [{ CheckID: `${service}-ttl`, TTL: '30s', Status: 'passing' }],
    });
    await db.registerService(sidecar('db', dbPublic, app.port, []));
    await web.registerService(sidecar('web', webPublic, await freePort(), [{ DestinationName: 'db', LocalBindPort: toDb, LocalBindAddress: '127.0.0.1' }]));
    await db.putIntention('web', 'db', { Action: 'allow' });

    const snapshotOf = (catalog: Catalog, id: string, ready: (s: ConnectProxySnapshot) => boolean) =>
      firstValueFrom(new ProxyConfigManager({ catalog, ca: leaves, coalesceMs: 20 }).snapshots(id).pipe(filter(ready)));
    const dbSnap = await snapshotOf(db, 'db-sidecar-proxy', (s) => s.intentions.length === 1);
    const webSnap = await snapshotOf(web, 'web-sidecar-proxy', (s) => s.upstreams[0]?.endpoints.length === 1);
    envoys.push(await startSidecarEnvoy(dbSnap, generateResources(dbSnap)));
    envoys.push(await startSidecarEnvoy(webSnap, generateResources(webSnap)));
  });

  after(async () => {
    await Promise.all(envoys.map((e) => e.stop()));
    echo?.close();
    leaves?.stop();
    ca?.stop();
    store?.close();
  });

  it('carries web -> db over mutual TLS with CA-issued identities', async () => {
    assert.equal(await roundTrip(toDb, 'hello through the real path'), 'echo hello through the real path\n');
  });
});

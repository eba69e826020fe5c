// A small real mesh for end-to-end tests: an in-memory store, the real CA and leaf manager, an
// echo app, and agent catalogs on 127.0.0.1 where `webToDb` registers the canonical pair:
// db's sidecar in front of the echo app, web's sidecar with db as upstream, and `web -> db allow`.
import type { Server } from 'node:net';
import { CAService } from '../../src/ca/ca-service.js';
import { LeafManager } from '../../src/ca/leaf-manager.js';
import { MemoryCAStateStore } from '../../src/ca/state-store.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { systemClock } from '../../src/core/clock.js';
import { nullLogger } from '../../src/core/logger.js';
import { openStore, type SqliteStore } from '../../src/store/sqlite.js';
import { startEcho } from './traffic.js';
import { freePort } from './wait.js';

function sidecar(service: string, port: number, localPort: number, upstreams: object[]) {
  return {
    ID: `${service}-sidecar-proxy`,
    Name: `${service}-sidecar-proxy`,
    Kind: 'connect-proxy',
    Address: '127.0.0.1',
    Port: port,
    Proxy: { DestinationServiceName: service, LocalServicePort: localPort, Config: { bind_address: '127.0.0.1' }, Upstreams: upstreams },
    Checks: [{ CheckID: `${service}-ttl`, TTL: '30s', Status: 'passing' }],
  };
}

export class TestMesh {
  private constructor(
    readonly store: SqliteStore,
    readonly ca: CAService,
    readonly leaves: LeafManager,
    readonly echo: { readonly server: Server; readonly port: number },
  ) {}

  static async start(): Promise<TestMesh> {
    const store = openStore(undefined);
    const ca = new CAService({ store: new MemoryCAStateStore(), clock: systemClock, logger: nullLogger, datacenter: 'dc1', initialConfig: { Config: { CSRMaxPerSecond: 0 } } });
    await ca.start();
    const leaves = new LeafManager({ ca, clock: systemClock, logger: nullLogger });
    return new TestMesh(store, ca, leaves, await startEcho());
  }

  /** An agent catalog for `node` (address 127.0.0.1). */
  async catalog(node: string, defaultIntentionPolicy: 'allow' | 'deny' = 'deny'): Promise<Catalog> {
    const catalog = new Catalog(this.store, { datacenter: 'dc1', node, defaultIntentionPolicy });
    await catalog.registerNode('127.0.0.1');
    return catalog;
  }

  /** Registers db's and web's sidecars and `web -> db allow`; returns web's local port for db. */
  async webToDb(web: Catalog, db: Catalog): Promise<{ readonly toDb: number }> {
    const toDb = await freePort();
    await db.registerService(sidecar('db', await freePort(), this.echo.port, []));
    await web.registerService(sidecar('web', await freePort(), await freePort(), [{ DestinationName: 'db', LocalBindPort: toDb, LocalBindAddress: '127.0.0.1' }]));
    await db.putIntention('web', 'db', { Action: 'allow' });
    return { toDb };
  }

  async close(): Promise<void> {
    this.echo.server.close();
    this.leaves.stop();
    this.ca.stop();
    await this.store.drain();
    this.store.close();
  }
}

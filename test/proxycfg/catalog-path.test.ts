// The live path with the real catalog: registrations, health changes and deregistration flow
// through Catalog -> ProxyConfigManager as snapshots, and deregistration releases every watch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom } from 'rxjs';
import { Catalog } from '../../src/catalog/catalog.js';
import { ProxyConfigManager } from '../../src/proxycfg/manager.js';
import type { ConnectProxySnapshot } from '../../src/proxycfg/snapshot.js';
import { openStore } from '../../src/store/sqlite.js';
import { fixedCASource } from '../support/fixed-ca.js';
import { waitFor } from '../support/wait.js';

function sidecar(service: string, address: string, upstreams: { DestinationName: string; LocalBindPort: number }[] = []) {
  return {
    ID: `${service}-sidecar-proxy`,
    Name: `${service}-sidecar-proxy`,
    Kind: 'connect-proxy',
    Address: address,
    Port: 21000,
    Proxy: { DestinationServiceName: service, DestinationServiceID: service, LocalServicePort: 8080, Upstreams: upstreams },
    Checks: [{ CheckID: `${service}-sidecar-ttl`, TTL: '30s', Status: 'passing' }],
  };
}

describe('proxycfg over the real catalog', () => {
  it('follows registrations and health, and lets go of everything on deregistration', async () => {
    const store = openStore(undefined);
    const web = new Catalog(store, { datacenter: 'dc1', node: 'node-web', defaultIntentionPolicy: 'deny' });
    const db = new Catalog(store, { datacenter: 'dc1', node: 'node-db' });
    await web.registerNode('10.0.1.1');
    await db.registerNode('10.0.2.1');
    await web.registerService(sidecar('web', '10.0.1.1', [{ DestinationName: 'db', LocalBindPort: 9191 }]));

    const manager = new ProxyConfigManager({ catalog: web, ca: fixedCASource(), coalesceMs: 20 });
    const seen: ConnectProxySnapshot[] = [];
    let completed = false;
    const sub = manager.snapshots('web-sidecar-proxy').subscribe({ next: (s) => s.kind === 'connect-proxy' && seen.push(s), complete: () => (completed = true) });
    const latest = () => seen[seen.length - 1];
    try {
      await waitFor('a first snapshot with no db endpoints', () => latest()?.upstreams[0]?.endpoints[0]?.endpoints.length === 0);
      assert.deepEqual(await firstValueFrom(manager.proxyIds()), ['web-sidecar-proxy']);

      await db.registerService(sidecar('db', '10.0.2.1'));
      await waitFor('db endpoint, healthy', () => latest()?.upstreams[0]?.endpoints[0]?.endpoints[0]?.health === 'passing');

      await db.updateCheck('db-sidecar-ttl', 'critical');
      await waitFor('db endpoint critical', () => latest()?.upstreams[0]?.endpoints[0]?.endpoints[0]?.health === 'critical');

      await web.putIntention('api', 'web', { Action: 'allow' });
      await waitFor('the intention', () => latest()?.intentions.some((i) => i.sourceName === 'api'));
      assert.ok(manager.openWatches().includes('connect-health/db'));

      await web.deregisterService('web-sidecar-proxy');
      await waitFor('the stream to complete', () => completed);
      assert.deepEqual(manager.openWatches(), []);
    } finally {
      sub.unsubscribe();
      store.close();
    }
  });

  it('follows an upstream discovery chain as its entries are written: subsets, splits, redirects, and their instances', async () => {
    const store = openStore(undefined);
    const web = new Catalog(store, { datacenter: 'dc1', node: 'node-web' });
    await web.registerNode('10.0.1.1');
    await web.registerService(sidecar('web', '10.0.1.1', [{ DestinationName: 'db', LocalBindPort: 9191 }]));
    for (const [i, version] of ['1', '2'].entries()) {
      const node = new Catalog(store, { datacenter: 'dc1', node: `node-db-${version}` });
      await node.registerNode(`10.0.2.${i + 1}`);
      await node.registerService({ ...sidecar('db', `10.0.2.${i + 1}`), Meta: { version } });
    }
    const cacheNode = new Catalog(store, { datacenter: 'dc1', node: 'node-cache' });
    await cacheNode.registerNode('10.0.3.1');
    await cacheNode.registerService(sidecar('cache', '10.0.3.1'));

    const manager = new ProxyConfigManager({ catalog: web, ca: fixedCASource(), coalesceMs: 20 });
    const seen: ConnectProxySnapshot[] = [];
    const sub = manager.snapshots('web-sidecar-proxy').subscribe((s) => s.kind === 'connect-proxy' && seen.push(s));
    /** Each target of the upstream's chain with the addresses of its endpoints. */
    const targets = () => {
      const u = seen[seen.length - 1]?.upstreams[0];
      return u ? Object.fromEntries(u.endpoints.map((t) => [t.targetId, t.endpoints.map((e) => e.address)])) : undefined;
    };
    try {
      await waitFor('the default chain', () => JSON.stringify(targets()) === JSON.stringify({ 'db.default.default.dc1': ['10.0.2.1', '10.0.2.2'] }));
      await web.setConfigEntry({ Kind: 'service-defaults', Name: 'db', Protocol: 'http' });
      await web.setConfigEntry({ Kind: 'service-resolver', Name: 'db', Subsets: { v1: { Filter: 'Service.Meta.version == 1' }, v2: { Filter: 'Service.Meta.version == 2' } } });
      await web.setConfigEntry({ Kind: 'service-splitter', Name: 'db', Splits: [{ Weight: 50, ServiceSubset: 'v1' }, { Weight: 50, ServiceSubset: 'v2' }] });
      await waitFor('one target per subset, each with its own instance', () => JSON.stringify(targets()) === JSON.stringify({ 'v1.db.default.default.dc1': ['10.0.2.1'], 'v2.db.default.default.dc1': ['10.0.2.2'] }));
      assert.equal(seen[seen.length - 1]?.upstreams[0]?.chain.startNode, 'splitter:db.default.default');

      // A split to another service opens that service's entries and instances; its resolver's redirect is followed too.
      await web.setConfigEntry({ Kind: 'service-defaults', Name: 'cache', Protocol: 'http' });
      await web.setConfigEntry({ Kind: 'service-defaults', Name: 'api', Protocol: 'http' });
      await web.setConfigEntry({ Kind: 'service-resolver', Name: 'api', Redirect: { Service: 'cache' } });
      await web.setConfigEntry({ Kind: 'service-splitter', Name: 'db', Splits: [{ Weight: 50, ServiceSubset: 'v1' }, { Weight: 50, Service: 'api' }] });
      await waitFor('the split to api, redirected to cache', () => JSON.stringify(targets()) === JSON.stringify({ 'cache.default.default.dc1': ['10.0.3.1'], 'v1.db.default.default.dc1': ['10.0.2.1'] }));
      assert.ok(manager.openWatches().includes('config-entry/service-resolver/api'));

      await web.deleteConfigEntry('service-splitter', 'db');
      await web.deleteConfigEntry('service-resolver', 'db');
      await waitFor('the default chain again', () => JSON.stringify(targets()) === JSON.stringify({ 'db.default.default.dc1': ['10.0.2.1', '10.0.2.2'] }));
      assert.ok(!manager.openWatches().includes('config-entry/service-resolver/api'), 'the watches of a service no longer reached stay open');
    } finally {
      sub.unsubscribe();
      store.close();
    }
  });
});

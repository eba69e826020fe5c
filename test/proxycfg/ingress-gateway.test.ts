// The ingress-gateway kind over the real catalog: its entry appearing gives it listeners, `*`
// follows the services of the listener's protocol as registrations and service-defaults change,
// a service's instances and limits reach its upstream, and deregistration releases every watch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Catalog } from '../../src/catalog/catalog.js';
import { ProxyConfigManager } from '../../src/proxycfg/manager.js';
import type { IngressGatewaySnapshot } from '../../src/proxycfg/snapshot.js';
import { openStore } from '../../src/store/sqlite.js';
import { fixedCASource } from '../support/fixed-ca.js';
import { waitFor } from '../support/wait.js';

function service(name: string, address: string) {
  return [
    { ID: name, Name: name, Port: 8080, Address: address },
    { ID: `${name}-sidecar-proxy`, Name: `${name}-sidecar-proxy`, Kind: 'connect-proxy', Address: address, Port: 21000, Proxy: { DestinationServiceName: name, LocalServicePort: 8080 } },
  ];
}

describe('the ingress-gateway kind over the real catalog', () => {
  it('follows its entry, the services a wildcard brings, their instances, and lets go on deregistration', async () => {
    const store = openStore(undefined);
    const gw = new Catalog(store, { datacenter: 'dc1', node: 'node-gw' });
    await gw.registerNode('10.0.0.20');
    await gw.registerService({ ID: 'ingress-gateway', Name: 'ingress-gateway', Kind: 'ingress-gateway', Address: '10.0.0.20', Port: 8443 });
    const apps = new Catalog(store, { datacenter: 'dc1', node: 'node-apps' });
    await apps.registerNode('10.0.1.1');
    for (const s of service('web', '10.0.1.1')) await apps.registerService(s);
    await gw.setConfigEntry({ Kind: 'service-defaults', Name: 'web', Protocol: 'http' });

    const manager = new ProxyConfigManager({ catalog: gw, ca: fixedCASource(), coalesceMs: 20 });
    const seen: IngressGatewaySnapshot[] = [];
    let completed = false;
    const sub = manager.snapshots('ingress-gateway').subscribe({ next: (s) => s.kind === 'ingress-gateway' && seen.push(s), complete: () => (completed = true) });
    const latest = () => seen[seen.length - 1];
    const names = () => latest()?.listeners[0]?.services.map((s) => s.name) ?? [];
    try {
      await waitFor('a snapshot without listeners, saying why', () => latest()?.notice?.includes('no ingress-gateway config entry') === true);
      assert.deepEqual(latest()?.listeners, []);
      assert.deepEqual(latest()?.issues, []);

      await gw.setConfigEntry({ Kind: 'ingress-gateway', Name: 'ingress-gateway', Defaults: { MaxConnections: 100 }, Listeners: [{ Port: 8080, Protocol: 'http', Services: [{ Name: '*' }] }] });
      await waitFor('web brought by the wildcard', () => names().join() === 'web');
      assert.equal(latest()?.notice, undefined);
      const web = latest()?.upstreams.find((u) => u.id === '8080/web');
      assert.deepEqual(web?.limits, { maxConnections: 100 });
      assert.deepEqual(web?.endpoints.flatMap((t) => t.endpoints.map((e) => `${e.address}:${e.port}`)), ['10.0.1.1:21000']);

      // A tcp service is no match for an http listener until its service-defaults says http.
      for (const s of service('db', '10.0.1.1')) await apps.registerService(s);
      await gw.setConfigEntry({ Kind: 'service-defaults', Name: 'cache', Protocol: 'http' });
      for (const s of service('cache', '10.0.1.1')) await apps.registerService(s);
      await waitFor('cache joins, db (tcp) does not', () => names().join() === 'cache,web');
      await gw.setConfigEntry({ Kind: 'service-defaults', Name: 'db', Protocol: 'http' });
      await waitFor('db joins once it is http', () => names().join() === 'cache,db,web');
      await apps.deregisterService('cache');
      await waitFor('cache leaves with its last instance', () => names().join() === 'db,web');

      await gw.deregisterService('ingress-gateway');
      await waitFor('the stream to complete', () => completed);
      assert.deepEqual(manager.openWatches(), []);
    } finally {
      sub.unsubscribe();
      store.close();
    }
  });
});

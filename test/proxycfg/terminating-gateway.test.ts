// A terminating gateway over the real catalog: `*` links every service that is not in the mesh
// (named links keep their own settings), a linked service appears once it has an instance and
// goes with its last, and a sidecar's upstream to a linked service is sent to the gateway while
// one to a mesh service keeps its sidecars.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Catalog } from '../../src/catalog/catalog.js';
import { ProxyConfigManager } from '../../src/proxycfg/manager.js';
import type { ConnectProxySnapshot, TerminatingGatewaySnapshot } from '../../src/proxycfg/snapshot.js';
import { openStore } from '../../src/store/sqlite.js';
import { fixedCASource } from '../support/fixed-ca.js';
import { waitFor } from '../support/wait.js';

describe('terminating gateways over the real catalog', () => {
  it('links every non-mesh service by *, and sends sidecars to the gateway for them only', async () => {
    const store = openStore(undefined);
    const catalog = new Catalog(store, { datacenter: 'dc1', node: 'node-1', defaultIntentionPolicy: 'allow' });
    await catalog.registerNode('10.0.0.1');
    await catalog.registerService({ ID: 'tgw', Name: 'tgw', Kind: 'terminating-gateway', Address: '10.0.0.9', Port: 8443, Proxy: { Config: { envoy_dns_discovery_type: 'strict_dns' } } });
    // web is in the mesh (a sidecar); billing and api are outside it.
    await catalog.registerService({ ID: 'web', Name: 'web', Port: 8080, Connect: { SidecarService: { Port: 21000, Proxy: { Upstreams: [{ DestinationName: 'billing', LocalBindPort: 9001 }, { DestinationName: 'api', LocalBindPort: 9002 }] } } } });
    await catalog.registerService({ ID: 'db', Name: 'db', Port: 8081, Connect: { SidecarService: { Port: 21001, Proxy: { Upstreams: [{ DestinationName: 'web', LocalBindPort: 9003 }] } } } });
    await catalog.registerService({ ID: 'billing', Name: 'billing', Address: 'billing.example.com', Port: 443 });
    await catalog.setConfigEntry({ Kind: 'terminating-gateway', Name: 'tgw', Services: [{ Name: '*', CAFile: 'wild.pem' }, { Name: 'billing', CAFile: 'billing.pem', SNI: 'billing.example.com' }] });

    const manager = new ProxyConfigManager({ catalog, ca: fixedCASource(), coalesceMs: 10 });
    let gw: TerminatingGatewaySnapshot | undefined;
    let web: ConnectProxySnapshot | undefined;
    let db: ConnectProxySnapshot | undefined;
    const subs = [
      manager.snapshots('tgw').subscribe((s) => s.kind === 'terminating-gateway' && (gw = s)),
      manager.snapshots('web-sidecar-proxy').subscribe((s) => s.kind === 'connect-proxy' && (web = s)),
      manager.snapshots('db-sidecar-proxy').subscribe((s) => s.kind === 'connect-proxy' && (db = s)),
    ];
    const upstreamEndpoints = (s: ConnectProxySnapshot | undefined, name: string) => s?.upstreams.find((u) => u.destinationName === name)?.endpoints[0]?.endpoints.map((e) => `${e.address}:${e.port}`);
    try {
      await waitFor('billing linked (named settings win over the wildcard), web not (a mesh service)', () => gw?.services.map((s) => `${s.name}:${s.tls?.caFile}:${s.tls?.sni ?? ''}`).join() === 'billing:billing.pem:billing.example.com');
      assert.deepEqual(gw!.targets.map((t) => [t.service, t.dns?.address]), [['billing', 'billing.example.com']]);
      assert.equal(gw!.dnsDiscoveryType, 'STRICT_DNS', "the gateway's envoy_dns_discovery_type, in any case");
      await waitFor("web's upstream billing sent to the gateway", () => upstreamEndpoints(web, 'billing')?.join() === '10.0.0.9:8443');
      assert.deepEqual(upstreamEndpoints(web, 'api'), [], 'api has no instance yet: the gateway links it only through *, and it is not served');

      // api gets an instance: the wildcard reaches it, with the wildcard's settings.
      await catalog.registerService({ ID: 'api', Name: 'api', Address: '10.9.0.1', Port: 9000 });
      await waitFor('api linked by *', () => gw?.services.some((s) => s.name === 'api' && s.tls?.caFile === 'wild.pem'));
      assert.deepEqual(gw!.targets.find((t) => t.service === 'api')?.endpoints.map((e) => `${e.address}:${e.port}`), ['10.9.0.1:9000']);
      await waitFor("web's upstream api sent to the gateway", () => upstreamEndpoints(web, 'api')?.join() === '10.0.0.9:8443');
      // web is a mesh service: its callers keep its sidecar.
      await waitFor("db's upstream web at web's sidecar", () => upstreamEndpoints(db, 'web')?.length === 1);
      assert.notEqual(upstreamEndpoints(db, 'web')?.[0], '10.0.0.9:8443');

      // api's last instance goes: the gateway stops serving it.
      await catalog.deregisterService('api');
      await waitFor('api no longer served', () => gw?.services.every((s) => s.name !== 'api'));
    } finally {
      for (const s of subs) s.unsubscribe();
      store.close();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gatewayAddresses } from '../../src/catalog/services/gateway-address.js';
import type { ServiceInstance } from '../../src/catalog/types.js';
import { TestAgent } from '../support/agent.js';

describe('mesh-gateway registrations', () => {
  let a: TestAgent;
  before(async () => (a = await TestAgent.start()));
  after(() => a.close());

  const gateway = (over: Record<string, unknown> = {}) => ({ Kind: 'mesh-gateway', Name: 'gw', Port: 8443, Address: '10.0.0.9', ...over });

  it('stores a gateway in Consul\'s shape and gives its LAN and WAN addresses through one helper', async () => {
    const Config = { envoy_gateway_bind_addresses: { extra: { Address: '10.0.0.9', Port: 9443 } }, connect_timeout_ms: 2000, custom: 'kept' };
    const body = gateway({
      TaggedAddresses: { lan: { Address: '10.0.0.9', Port: 8443 }, wan: { Address: '198.51.100.4', Port: 443 } },
      Meta: { 'consul-wan-federation': '1' },
      Proxy: { Config },
    });
    const r = await a.put('/v1/agent/service/register', body);
    assert.equal(r.status, 200, r.text);
    const got = (await a.get('/v1/agent/service/gw')).json as Record<string, unknown>;
    assert.deepEqual([got.Kind, got.ID, got.Service, got.Address, got.Port], ['mesh-gateway', 'gw', 'gw', '10.0.0.9', 8443]);
    assert.deepEqual((got.Proxy as { Config: unknown }).Config, Config);
    const stored = a.catalog.store.read((tx) => tx.get<ServiceInstance>('services', 'node1/gw'))?.value as ServiceInstance;
    assert.deepEqual(gatewayAddresses(stored, '192.0.2.50'), { lan: { Address: '10.0.0.9', Port: 8443 }, wan: { Address: '198.51.100.4', Port: 443 } });

    // Without tags: LAN is the service's Address and Port, WAN the LAN address; no Address: the node's.
    assert.equal((await a.put('/v1/agent/service/register', gateway({ ID: 'gw2', Address: '10.0.0.10', Port: 8444 }))).status, 200);
    const plain = a.catalog.store.read((tx) => tx.get<ServiceInstance>('services', 'node1/gw2'))?.value as ServiceInstance;
    assert.deepEqual(gatewayAddresses(plain, '192.0.2.50'), { lan: { Address: '10.0.0.10', Port: 8444 }, wan: { Address: '10.0.0.10', Port: 8444 } });
    assert.deepEqual(gatewayAddresses({ Address: '', Port: 8445 }, '192.0.2.50'), { lan: { Address: '192.0.2.50', Port: 8445 }, wan: { Address: '192.0.2.50', Port: 8445 } });
    assert.deepEqual(gatewayAddresses({ Address: '', Port: 8445, TaggedAddresses: { lan: { Address: '10.0.0.11', Port: 8446 } } }, '192.0.2.50').wan, { Address: '10.0.0.11', Port: 8446 }, 'WAN defaults to the LAN tag');
  });

  it('refuses what Consul refuses on a gateway, and what no Envoy could bind, with 400 naming the field, storing nothing', async () => {
    const before = a.agent.store.currentIndex();
    const cases: [unknown, RegExp][] = [
      [gateway({ Port: undefined }), /Port: must be set for a mesh-gateway/],
      [gateway({ Proxy: { Upstreams: [{ DestinationName: 'db', LocalBindPort: 9000 }] } }), /Proxy\.Upstreams: are not valid for a mesh-gateway/],
      [gateway({ Proxy: { DestinationServiceName: 'web' } }), /Proxy\.DestinationServiceName: is not valid for a mesh-gateway/],
      [gateway({ Proxy: { DestinationServiceID: 'web' } }), /Proxy\.DestinationServiceID: is not valid for a mesh-gateway/],
      [gateway({ Proxy: { LocalServiceAddress: '127.0.0.1' } }), /Proxy\.LocalServiceAddress: is not valid for a mesh-gateway/],
      [gateway({ Proxy: { LocalServicePort: 8080 } }), /Proxy\.LocalServicePort: is not valid for a mesh-gateway/],
      [gateway({ Connect: { SidecarService: {} } }), /Connect\.SidecarService: is only valid for a typical service, not a mesh-gateway/],
      [gateway({ Address: 'gw.example.com' }), /^[^\n]*Address: must be an IPv4 or IPv6 address/],
      [gateway({ Proxy: { Config: { envoy_gateway_bind_tagged_addresses: 'yes' } } }), /Proxy\.Config\.envoy_gateway_bind_tagged_addresses: .*expected boolean/],
      [gateway({ Proxy: { Config: { envoy_gateway_no_default_bind: 1 } } }), /Proxy\.Config\.envoy_gateway_no_default_bind: .*expected boolean/],
      [gateway({ Proxy: { Config: { connect_timeout_ms: 0 } } }), /Proxy\.Config\.connect_timeout_ms: must be at least 1/],
      [gateway({ Proxy: { Config: { envoy_gateway_bind_addresses: { x: { Address: 'gw.example.com', Port: 9443 } } } } }), /Proxy\.Config\.envoy_gateway_bind_addresses\.x\.Address: must be an IPv4 or IPv6 address/],
      [gateway({ Proxy: { Config: { envoy_gateway_bind_addresses: { x: { Address: '10.0.0.9', Port: 0 } } } } }), /Proxy\.Config\.envoy_gateway_bind_addresses\.x\.Port: must be between 1 and 65535/],
      [gateway({ Proxy: { Config: { protocol: 'HTTP' } } }), /Proxy\.Config\.protocol: Invalid option/],
      [gateway({ Proxy: { Config: { envoy_gateway_bind_tagged_addresses: true } }, TaggedAddresses: { wan: { Address: 'gw.example.com', Port: 443 } } }), /TaggedAddresses\.wan\.Address: must be an IPv4 or IPv6 address when Proxy\.Config\.envoy_gateway_bind_tagged_addresses is set/],
      [gateway({ TaggedAddresses: { wan: { Address: '198.51.100.4', Port: 0 } } }), /TaggedAddresses\.wan\.Port: must be between 1 and 65535/],
      [{ Kind: 'terminating-gateway', Name: 'tgw', Port: 8443, Proxy: { Upstreams: [{ DestinationName: 'db', LocalBindPort: 9000 }] } }, /Proxy\.Upstreams: are not valid for a terminating-gateway/],
    ];
    for (const [body, message] of cases) {
      const r = await a.put('/v1/agent/service/register', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
      assert.match(r.text, message);
    }
    assert.equal(a.agent.store.currentIndex(), before, 'nothing was written');
    // Empty values are what Consul takes as unset, and a WAN host name is fine when nothing binds it.
    const ok = gateway({ ID: 'gw3', Proxy: { LocalServiceAddress: '', LocalServicePort: 0, Upstreams: [] }, TaggedAddresses: { wan: { Address: 'gw.example.com', Port: 443 } } });
    assert.equal((await a.put('/v1/agent/service/register', ok)).status, 200);
  });
});
